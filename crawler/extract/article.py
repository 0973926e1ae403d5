"""Article extraction: raw HTTP payload in, article fields (or a reason) out.

trafilatura does the main-content detection; around it we
1. decode the bytes the way Scrapy does (so archived bytes give the same result),
2. read metadata from meta tags, JSON-LD, microdata and htmldate (offline) on the raw tree
   (crawler/extract/metadata.py),
3. strip boilerplate from the DOM before trafilatura (``clean_tree``),
4. drop boilerplate paragraphs from trafilatura's output (``clean_paragraphs``),
5. render paragraphs, find what the article cites (crawler/extract/citations.py), detect the language.

``extract`` is a pure function of its arguments: it runs in worker processes and must
give the same JSON when re-run on archived bytes.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from trafilatura import bare_extraction
from trafilatura.settings import Document, Extractor
from trafilatura.utils import is_dubious_html, repair_faulty_html
from trafilatura.xml import xmltotxt
from w3lib.encoding import html_to_unicode, resolve_encoding

from crawler.extract.citations import find_citations
from crawler.extract.cleaning.authors import (
    choose_authors,
    credit_names,
    dom_authors,
    take_signoff,
)
from crawler.extract.cleaning.dom import DomReport, clean_tree, scan_page, shown_standfirst
from crawler.extract.cleaning.rules import load_rules, text_key
from crawler.extract.cleaning.text import TextReport, clean_paragraphs
from crawler.extract.metadata import read_metadata
from crawler.extract.options import EXTRACTOR_VERSION, RESULT_KEYS, ExtractOptions  # noqa: F401 (the API)

HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")
# magic numbers of payloads that are certainly not HTML (pdf, zip, gzip, png, gif, jpeg, webp/riff)
BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"RIFF")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")


DEFAULT_OPTIONS = ExtractOptions()


def extract(
    body: bytes,
    url: str,
    *,
    content_type: str | None = None,
    options: ExtractOptions = DEFAULT_OPTIONS,
    measured: dict | None = None,
) -> dict:
    """Extract the article from one HTTP payload (after Content-Encoding decoding).

    Pure function: no I/O, no globals mutated. Never raises on bad input: a page without
    an article gets ``text=None`` and a ``reason``, with whatever metadata was found.
    ``measured``, if given, gets "words": the words of the text found, also when too few to
    make an article (a teaser, consent text: the capture-quality report counts them).
    """
    result = _result()
    try:
        _extract(body, url, content_type, options, result)
        if measured is not None:
            measured["words"] = result["word_count"]
        if result["reason"]:
            result["word_count"] = 0
    except Exception as exc:  # noqa: BLE001 - a crawler must survive any page; reason and error say what happened
        result.update(
            text=None,
            word_count=0,
            text_digest=None,
            links=[],
            citations=[],
            reason="extraction_error",
            error=describe_error(exc),
        )
    return result


def describe_error(exc: BaseException) -> str:
    """The exception's type and message, as the JSON line and the log keep them."""
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    message = " ".join(str(exc).split())
    return f"{name}: {message}"[:500] if message else name


@functools.lru_cache(maxsize=16)
def _trafilatura_options(options: ExtractOptions) -> Extractor:
    """trafilatura's settings for our knobs, built once per set of options."""
    extractor = Extractor(
        output_format="python",
        fast=not options.fallback,
        precision=options.focus == "precision",
        recall=options.focus == "recall",
        comments=False,
        tables=options.include_tables,
        # links=False as in plain trafilatura: with <ref> kept its link-density
        # heuristics let teaser lists through; cited links are mapped back instead
        links=False,
    )
    extractor.max_file_size = options.max_bytes
    return extractor


def _result() -> dict[str, Any]:
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(
        authors=[], tags=[], links=[], citations=[], word_count=0, paywalled=False, teaser=False
    )
    return result


def _extract(
    body: bytes, url: str, content_type: str | None, options: ExtractOptions, result: dict
) -> None:
    if not isinstance(body, (bytes, bytearray)) or not body.strip():
        result["reason"] = "empty"
        return
    if len(body) > options.max_bytes:
        result["reason"] = "too_large"
        return
    if not _may_be_html(bytes(body), content_type):
        result["reason"] = "not_html"
        return
    html = decode(bytes(body), content_type)
    if len(CONTROL_CHARS.findall(html[:4096])) > 40:  # binary garbage decoded as text
        result["reason"] = "not_html"
        return
    try:
        tree = parse_html(html)
    except Exception:  # noqa: BLE001 - lxml raises several types on hostile input
        tree = None
    if tree is None or not isinstance(tree, HtmlElement):
        result["reason"] = "parse_error"
        return

    meta = read_metadata(tree, url, options)
    result.update(meta.fields)
    rules = load_rules(options.boilerplate_languages)
    # one pass over the page, before the DOM layer changes it, finds the candidates of its
    # rules, the byline markup and the credit lines (without the DOM layer, the author
    # readers scan when they need to)
    scan = scan_page(tree, rules) if options.clean_dom else None
    dom = clean_tree(tree, rules, scan) if options.clean_dom else DomReport()
    credited, editors = credit_names(tree, rules, scan)
    signoff = take_signoff(tree, rules) if options.clean_dom else []

    extractor = copy.copy(_trafilatura_options(options))
    extractor.url = extractor.source = result["canonical_url"] or url
    doc = bare_extraction(tree, options=extractor)
    if not isinstance(doc, Document) and dom.removed:
        # safety net: if our DOM layer took too much, extract from the page as it came
        tree, scan = parse_html(html), None
        doc = bare_extraction(tree, options=extractor)
    # the publisher's declaration, or a paywall the page shows: a box offering a subscription
    # and a paywall line in the text, or either of them with a body too short to be whole
    shown = dom.paywall or meta.not_free
    if not isinstance(doc, Document) or doc.body is None:
        result["paywalled"] = result["teaser"] = shown
        result["reason"] = "paywalled" if shown else "no_article"
        return

    paragraphs = render_paragraphs(doc.body)
    if options.clean_text:
        paragraphs, text_report = clean_paragraphs(
            paragraphs, rules, title=result["title"], headlines=meta.headlines
        )
    else:
        text_report = TextReport()
    standfirst = (
        shown_standfirst(
            tree, result["description"], paragraphs[len(paragraphs) // 2] if paragraphs else None
        )
        if options.clean_text
        else None
    )
    if standfirst and text_key(standfirst) not in text_key(" ".join(paragraphs)):
        paragraphs.insert(0, standfirst)  # the standfirst the page shows is the article's
    text = "\n\n".join(paragraphs)

    result["authors"] = choose_authors(
        meta.authors,
        (
            lambda: text_report.authors,
            lambda: credited,
            lambda: signoff,
            lambda: dom_authors(tree, rules, scan),
        ),
        [*editors, *text_report.editors],
        (*meta.publishers, urlsplit(url).hostname),
        rules,
    )
    words = count_words(text)

    if options.detect_language and not result["language"]:
        result["language"] = detect_language(text)
        result["language_source"] = "detected" if result["language"] else None

    # a teaser: the part a paywall leaves public (the publisher's declaration or a paywall
    # shown, and a body too short to be the whole article); calibration in options.py
    short = words < options.teaser_words
    result["teaser"] = bool(
        (short and (shown or text_report.paywall)) or (text_report.paywall and dom.paywall)
    )
    result["paywalled"] = bool(meta.not_free or result["teaser"])
    if words < options.min_words:
        result["word_count"] = words  # extract() hands it to who asks, then says 0: no article
        result["reason"] = (
            "paywalled" if result["paywalled"] else ("empty" if not words else "too_short")
        )
        return
    citations = find_citations(tree, extractor.url, rules, text)
    result.update(
        text=text,
        links=[citation["url"] for citation in citations],
        citations=citations,
        word_count=words,
        text_digest="sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest(),
    )


# --- bytes to tree ---------------------------------------------------------------------------


def _may_be_html(body: bytes, content_type: str | None) -> bool:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime not in HTML_TYPES and not mime.endswith("+xml"):
        return False
    head = body.lstrip()[:8]
    return not head.startswith(BINARY_MAGIC)


def _auto_detect(data: bytes) -> str | None:
    # the same guesses as scrapy.http.TextResponse._auto_detect_fun
    for enc in ("ascii", "utf-8"):
        try:
            data.decode(enc)
        except UnicodeError:
            continue
        return resolve_encoding(enc)
    match = from_bytes(data).best()
    return resolve_encoding(match.encoding) if match else None


def _html_parser() -> lxml.html.HTMLParser:
    # trafilatura's parser options; but lxml.html's own class lookup runs Python code for every
    # element Python touches (to hand out its form-element classes, which nothing here uses):
    # a C-level lookup to HtmlElement builds the same tree and makes the whole extraction
    # about 7% cheaper (measured on the corpus pages)
    parser = lxml.html.HTMLParser(
        collect_ids=False,
        default_doctype=False,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
    )
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement,
            comment=HtmlComment,
            pi=HtmlProcessingInstruction,
            entity=HtmlEntity,
        )
    )
    return parser


HTML_PARSER = _html_parser()


def parse_html(html: str) -> HtmlElement | None:
    """``trafilatura.utils.load_html`` for a decoded page, with our parser."""
    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    # libxml2 parses UTF-8 bytes about 20% faster than a str (0.85 ms on a news page, for a
    # 0.3 ms encoding); the parser is told the bytes are UTF-8, so declarations do not matter
    tree = None
    for source in (html.encode("utf-8", "surrogatepass"), html):
        try:
            tree = lxml.html.fromstring(source, parser=HTML_PARSER)
        except (ValueError, etree.LxmlError):
            continue
        if len(tree) >= 1:
            break
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not HTML at all
    return tree


def decode(body: bytes, content_type: str | None) -> str:
    """Decode like Scrapy; but valid UTF-8 with non-ASCII bytes stays UTF-8.

    Pages re-saved as UTF-8 keep their old charset declaration (and servers lie); a
    non-ASCII byte sequence that is valid UTF-8 is almost never legacy-encoded text.
    """
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_auto_detect)
    if encoding not in ("utf-8", "ascii") and not body.isascii():
        try:
            return body.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            pass
    return text


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """Detect the language of the article text (py3langid, bundled model: no download)."""
    sample = text[:3000]
    if len(sample) < 40:
        return None
    lang, confidence = _identifier().classify(sample)
    # 0.5: below this, short or mixed-language texts gave wrong guesses while testing
    return lang if confidence >= 0.5 else None


# --- body -------------------------------------------------------------------------------------


# scripts written without spaces: each character counts as a word
CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def count_words(text: str) -> int:
    cjk = len(CJK.findall(text))
    return len((CJK.sub(" ", text) if cjk else text).split()) + cjk


def render_paragraphs(body: etree._Element) -> list[str]:
    """trafilatura's plain-text rendering: one paragraph (or list item, table row) per line."""
    lines = (" ".join(line.split()) for line in xmltotxt(body, False).splitlines())
    return [line for line in lines if line]
