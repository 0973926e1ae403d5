"""The sources a local document cites (`crawler ingest --from-document`): text, Markdown or HTML.

One implementation with pages: text and Markdown become HTML (markdown-it, CommonMark: a
line "Quellen:" before a list is a lead-in, bare URLs stay text), and the HTML goes through
`find_citations` as a document without extracted text, so the whole document is the article
region: its paragraphs' links, source lists, footnotes and URLs written out are cited; its
navigation, asides, footers and "Related" lists are not.
"""

from __future__ import annotations

import functools
from pathlib import Path

import lxml.html
from markdown_it import MarkdownIt

from crawler.extract.citations import find_citations
from crawler.extract.cleaning.rules import load_rules

HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@functools.cache
def _markdown() -> MarkdownIt:
    # html off: a "<" in notes is text; breaks on: each line of a plain-text list stays a line
    return MarkdownIt("commonmark", {"html": False, "breaks": True})


def document_citations(raw: bytes, name: str = "document.txt") -> list[dict[str, str]]:
    """The citations of one document, in order, each URL once."""
    text = raw.decode("utf-8", errors="replace")
    looks_html = name.lower().endswith(HTML_SUFFIXES) or text.lstrip()[:1] == "<"
    markup = text if looks_html else _markdown().render(text)
    if not markup.strip():
        return []
    tree = lxml.html.document_fromstring(markup)
    return find_citations(tree, Path(name).absolute().as_uri(), load_rules())


def cited_urls(path: Path) -> list[str]:
    """Every http(s) URL the document at ``path`` cites, in order of appearance, each once."""
    return [citation["url"] for citation in document_citations(path.read_bytes(), str(path))]
