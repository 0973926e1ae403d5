"""Page requisites: what a browser fetches to show an archived page as its readers saw it.

From an HTML page: stylesheets (``<link rel=stylesheet>``, ``@import`` and ``url()`` in
``<style>`` blocks and ``style`` attributes), scripts, images (``src``, every ``srcset``
candidate, ``<picture><source>``, the lazy-loading attributes news CMSs use: ``data-src``,
``data-srcset``, ``data-lazy-src``, ``data-original``...; ``poster``; ``<input type=image>``),
icons (``rel=icon``, ``apple-touch-icon``, ``mask-icon``), preloaded fonts and styles; on
request the documents of ``<iframe>``s and audio/video files. From a stylesheet: ``@import``
and ``url()`` (fonts, background images).

Pure: bytes or a tree and a base URL in, ``(url, kind)`` pairs out, absolute http(s), each
once, in page order. No I/O: the crawler fetches them (spiders/requisites.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

KINDS = ("stylesheet", "script", "image", "icon", "font", "iframe", "media")
STYLESHEET, SCRIPT, IMAGE, ICON, FONT, IFRAME, MEDIA = KINDS

# lazy-loading attributes that hold an image URL (or a srcset) instead of src
LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src",
            "data-full-src", "data-image", "data-img-src", "data-echo")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "data-original-set")
ICON_RELS = frozenset({"icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"})
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".otf", ".eot")

CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(?:"([^"]*)"|'([^']*)'|([^)'"\s;]+))""", re.IGNORECASE)
IMPORT_STATEMENT = re.compile(r"@import[^;]*;?", re.IGNORECASE)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CSS_CHARSET = re.compile(rb'^@charset\s+"([^"]+)"')

ELEMENTS = etree.XPath(
    "//link[@href] | //script[@src] | //img | //video | //audio | //source | //track"
    " | //input[@type='image'] | //iframe[@src] | //embed[@src] | //object[@data] | //style"
    " | //*[@style][contains(@style, 'url(')] | //*[@data-src or @data-srcset or @data-lazy-src"
    " or @data-original or @data-bg or @data-background-image]"
)


@dataclass(frozen=True)
class RequisiteKinds:
    """Which optional kinds to find: iframe documents and audio/video files are off by default."""

    iframes: bool = False
    media: bool = False


def page_requisites(body: bytes | HtmlElement, base: str, kinds: RequisiteKinds = RequisiteKinds()) -> list[tuple[str, str]]:
    """The requisites of an HTML page, in page order, each URL once."""
    tree = body if isinstance(body, HtmlElement) else _parse(body)
    if tree is None:
        return []
    found: dict[str, str] = {}
    base = _document_base(tree, base)
    for url, kind in _from_tree(tree, kinds):
        absolute = _absolute(url, base)
        if absolute and absolute not in found:
            found[absolute] = kind
    return list(found.items())


def css_requisites(body: bytes | str, base: str) -> list[tuple[str, str]]:
    """The requisites of a stylesheet: imported stylesheets, fonts and images, each once."""
    text = _decode_css(body) if isinstance(body, bytes) else body
    found: dict[str, str] = {}
    for url, kind in _from_css(text):
        absolute = _absolute(url, base)
        if absolute and absolute not in found:
            found[absolute] = kind
    return list(found.items())


def looks_like_css(content_type: str | None, body: bytes) -> bool:
    """A stylesheet that came back as a stylesheet (not an HTML error or login page)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "text/css":
        return True
    head = body.lstrip()[:64].lower()
    return not mime.startswith(("text/html", "application/xhtml")) and not head.startswith((b"<!doctype", b"<html"))


def _parse(body: bytes) -> HtmlElement | None:
    try:
        return lxml.html.fromstring(body) if body and body.strip() else None
    except (ValueError, etree.LxmlError):
        return None


def _document_base(tree: HtmlElement, base: str) -> str:
    for element in tree.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            return urljoin(base, href)
    return base


def _absolute(url: str, base: str) -> str | None:
    url = url.strip()
    if not url or url.startswith(("data:", "#", "javascript:", "about:", "blob:", "mailto:")):
        return None
    absolute = urljoin(base, url).split("#")[0]
    parts = urlsplit(absolute)
    return absolute if parts.scheme in ("http", "https") and parts.hostname else None


def _from_tree(tree: HtmlElement, kinds: RequisiteKinds) -> Iterator[tuple[str, str]]:
    for element in ELEMENTS(tree):
        tag = element.tag
        if tag == "link":
            kind = _link_kind(element)
            if kind:
                yield element.get("href", ""), kind
        elif tag == "script":
            yield element.get("src", ""), SCRIPT
        elif tag == "style":
            yield from _from_css(element.text or "")
        elif tag in ("img", "input"):
            yield from _image_sources(element)
        elif tag == "source":
            parent = element.getparent()
            if parent is not None and parent.tag in ("video", "audio"):
                if kinds.media:
                    yield element.get("src", ""), MEDIA
            else:
                yield from _image_sources(element)
        elif tag in ("video", "audio"):
            if element.get("poster"):
                yield element.get("poster", ""), IMAGE
            if kinds.media and element.get("src"):
                yield element.get("src", ""), MEDIA
        elif tag == "track":
            if kinds.media:
                yield element.get("src", ""), MEDIA
        elif tag in ("iframe", "embed", "object"):
            if kinds.iframes:
                yield element.get("src") or element.get("data") or "", IFRAME
        else:
            yield from _image_sources(element)
        style = element.get("style")
        if style and "url(" in style:
            yield from _from_css(style)


def _link_kind(element: HtmlElement) -> str | None:
    rels = set((element.get("rel") or "").lower().split())
    if "stylesheet" in rels:
        return STYLESHEET
    if rels & ICON_RELS:
        return ICON
    if rels & {"preload", "prefetch", "modulepreload"}:
        kind = (element.get("as") or "").lower()
        return {"style": STYLESHEET, "script": SCRIPT, "font": FONT, "image": IMAGE}.get(
            kind, SCRIPT if "modulepreload" in rels else None)
    return None


def _image_sources(element: HtmlElement) -> Iterator[tuple[str, str]]:
    for name in ("src", *LAZY_SRC, "data-bg", "data-background-image"):
        value = element.get(name)
        if value and not value.startswith("data:"):
            yield value, IMAGE
    for name in ("srcset", *LAZY_SRCSET):
        value = element.get(name)
        if value:
            for candidate in _srcset(value):
                yield candidate, IMAGE


def _srcset(value: str) -> Iterator[str]:
    """The URLs of a srcset: "a.jpg 1x, b.jpg 2x" (a URL may hold commas: split on ", ")."""
    for candidate in re.split(r",\s+|,(?=\S+\s+\d)", value.strip()):
        url = candidate.strip().split()[0] if candidate.strip() else ""
        if url:
            yield url


def _from_css(text: str) -> Iterator[tuple[str, str]]:
    text = CSS_COMMENT.sub("", text)
    for match in CSS_IMPORT.finditer(text):
        yield next(group for group in match.groups() if group is not None), STYLESHEET
    for match in CSS_URL.finditer(IMPORT_STATEMENT.sub("", text)):
        url = next((group for group in match.groups() if group is not None), "")
        path = urlsplit(url).path.lower()
        yield url, FONT if path.endswith(FONT_SUFFIXES) else IMAGE


def _decode_css(body: bytes) -> str:
    declared = CSS_CHARSET.match(body)
    for encoding in ([declared.group(1).decode("ascii", "replace")] if declared else []) + ["utf-8"]:
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("latin-1")
