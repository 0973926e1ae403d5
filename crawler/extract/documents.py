"""URLs cited by a local document (text or HTML): inline links and "Sources:" lists."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import html as lxml_html

# A URL in running text; trailing punctuation that closes a sentence or bracket is not part of it.
_URL_RE = re.compile(r"https?://[^\s<>\"'«»“”‘’]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"”’»"


def _clean(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a balanced parenthesis belongs to the URL (Wikipedia style)
        url = url[:-1]
    return url


def urls_in_text(text: str) -> list[str]:
    return [_clean(m.group(0)) for m in _URL_RE.finditer(text)]


def urls_in_html(markup: str | bytes) -> list[str]:
    tree = lxml_html.fromstring(markup)
    found = [a.get("href", "").strip() for a in tree.iter("a")]
    found = [href for href in found if href.lower().startswith(("http://", "https://"))]
    return found + urls_in_text(tree.text_content())


def cited_urls(path: Path) -> list[str]:
    """Every http(s) URL the document cites, in order of appearance, each once."""
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    looks_html = path.suffix.lower() in (".html", ".htm") or text.lstrip()[:1] == "<"
    urls = urls_in_html(raw) if looks_html and text.strip() else urls_in_text(text)
    return list(dict.fromkeys(u for u in urls if u))
