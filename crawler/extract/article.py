"""Article extraction: raw HTTP payload in, article fields (or a reason) out.

trafilatura does the main-content detection; around it we
1. decode the bytes the way Scrapy does (so archived bytes give the same result),
2. read metadata from meta tags, JSON-LD and htmldate (offline) on the raw tree,
3. strip boilerplate from the DOM before trafilatura (``clean_tree``),
4. drop boilerplate paragraphs from trafilatura's output (``clean_paragraphs``),
5. render paragraphs, find what the article cites (crawler/extract/citations.py), detect the language.

``extract`` is a pure function of its arguments: it runs in worker processes and must
give the same JSON when re-run on archived bytes.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from charset_normalizer import from_bytes
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from trafilatura import bare_extraction
from trafilatura.json_metadata import extract_json, extract_json_parse_error, normalize_json
from trafilatura.metadata import examine_meta
from trafilatura.settings import Document, Extractor
from trafilatura.utils import is_dubious_html, repair_faulty_html
from trafilatura.xml import xmltotxt
from w3lib.encoding import html_to_unicode, resolve_encoding

from crawler.extract.citations import find_citations
from crawler.extract.cleaning.authors import (
    choose_authors,
    dom_authors,
    is_organisation,
    split_authors,
)
from crawler.extract.cleaning.dom import DomReport, clean_tree, scan_page
from crawler.extract.cleaning.rules import load_rules
from crawler.extract.cleaning.text import TextReport, clean_paragraphs
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
) -> dict:
    """Extract the article from one HTTP payload (after Content-Encoding decoding).

    Pure function: no I/O, no globals mutated. Never raises on bad input: a page without
    an article gets ``text=None`` and a ``reason``, with whatever metadata was found.
    """
    result = _result()
    try:
        _extract(body, url, content_type, options, result)
    except Exception:  # noqa: BLE001 - a crawler must survive any page; the reason says what happened
        result.update(
            text=None, word_count=0, text_digest=None, links=[], citations=[], reason="extraction_error"
        )
    return result


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
    result.update(authors=[], tags=[], links=[], citations=[], word_count=0, paywalled=False)
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
    # rules and the byline markup (without the DOM layer, dom_authors scans when it is needed)
    scan = scan_page(tree, rules) if options.clean_dom else None
    dom = clean_tree(tree, rules, scan) if options.clean_dom else DomReport()

    extractor = copy.copy(_trafilatura_options(options))
    extractor.url = extractor.source = result["canonical_url"] or url
    doc = bare_extraction(tree, options=extractor)
    if not isinstance(doc, Document) and dom.removed:
        # safety net: if our DOM layer took too much, extract from the page as it came
        tree, scan = parse_html(html), None
        doc = bare_extraction(tree, options=extractor)
    if not isinstance(doc, Document) or doc.body is None:
        result["paywalled"] = meta.not_free or dom.paywall
        result["reason"] = "paywalled" if result["paywalled"] else "no_article"
        return

    paragraphs = render_paragraphs(doc.body)
    if options.clean_text:
        paragraphs, text_report = clean_paragraphs(
            paragraphs, rules, title=result["title"]
        )
    else:
        text_report = TextReport()
    text = "\n\n".join(paragraphs)

    publishers = (*meta.publishers, urlsplit(url).hostname)
    declared = result["authors"]
    named = text_report.authors or any(
        not is_organisation(a, publishers) for a in declared
    )
    markup = [] if named else dom_authors(tree, rules, scan)
    result["authors"] = choose_authors(declared, text_report.authors, markup, publishers)
    words = count_words(text)

    if options.detect_language and not result["language"]:
        result["language"] = detect_language(text)
        result["language_source"] = "detected" if result["language"] else None

    teaser = words < options.teaser_words
    result["paywalled"] = bool(
        (teaser and (meta.not_free or dom.paywall or text_report.paywall))
        or (text_report.paywall and dom.paywall)
    )
    if words < options.min_words:
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
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
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


# --- metadata ---------------------------------------------------------------------------------


@dataclass
class Metadata:
    fields: dict[str, Any]
    not_free: bool = False
    # names the publisher goes by (og:site_name, publisher/copyright meta, JSON-LD publisher)
    publishers: tuple[str, ...] = ()


LD_JSON_XPATH = etree.XPath('.//script[@type="application/ld+json"]')
CANONICAL_XPATH = etree.XPath('.//head//link[@rel="canonical"]/@href')
OG_URL_XPATH = etree.XPath('.//head//meta[@property="og:url"]/@content')
H1_XPATH = etree.XPath(".//h1")
META_CONTENT_XPATH = etree.XPath(".//head//meta[@content]")
JSON_MINIFY = re.compile(r'("(?:\\.|[^"\\])*")|\s')
ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "reviewnewsarticle",
    "blogposting",
    "liveblogposting",
    "socialmediaposting",
    "techarticle",
    "scholarlyarticle",
    "webpage",
    "report",
    "creativework",
    "medicalwebpage",
    "posting",
}
META_PUBLISHED = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
    "citation_publication_date",
)
META_MODIFIED = (
    "article:modified_time",
    "og:updated_time",
    "og:article:modified_time",
    "datemodified",
    "last-modified",
    "dcterms.modified",
    "lastmod",
)
META_LANGUAGE = ("content-language", "language", "dc.language", "og:locale", "inlanguage")
LANG_CODE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$", re.IGNORECASE)
TITLE_SEPARATORS = re.compile(r"\s+[|–—•·:\-/»«]\s+|\s+::\s+")
DATE_LIKE = re.compile(
    r"^\W*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\W*$|^\W*\d{1,2}\.?\s+\w+\.?\s+\d{4}\W*$"
)


def read_metadata(tree: HtmlElement, url: str, options: ExtractOptions) -> Metadata:
    """Metadata from the raw tree (before any cleaning): meta tags, JSON-LD, htmldate."""
    doc = examine_meta(tree)
    ld = _json_ld(tree, doc)
    names = _meta_names(tree)

    canonical = _canonical_url(tree, url)
    site_name = _clean(doc.sitename)
    if site_name:
        site_name = site_name.lstrip("@")
    raw_title = _clean(doc.title)
    h1 = _h1(tree)
    title = clean_title(raw_title or h1, site_name, canonical or url, h1)

    precise = _iso(ld.get("datePublished")) or _iso(_first(names, META_PUBLISHED))
    found = None if precise else _find_date(tree, canonical or url, options.date_extensive)
    # The article's own JSON-LD/meta timestamp wins; then a date the CMS appends to the
    # title ("... | DW | 28.04.2023"); htmldate only when the page declares nothing (its
    # original_date mode picks the oldest date on the page, often a related teaser's).
    published = precise or _title_date(raw_title) or found
    modified = _iso(ld.get("dateModified")) or _iso(_first(names, META_MODIFIED))

    language, language_source = _declared_language(tree, names, ld)
    authors = split_authors(doc.author) if doc.author else []
    tags = _tags(doc.tags, ld.get("keywords"))
    fields = {
        "title": title,
        "authors": authors,
        "published": published,
        "modified": modified,
        "language": language,
        "language_source": language_source,
        "site_name": site_name,
        "description": _clean(doc.description),
        "tags": tags,
        "canonical_url": canonical,
    }
    publishers = tuple(
        p
        for p in (
            site_name,
            names.get("publisher"),
            names.get("copyright"),
            names.get("application-name"),
        )
        if p
    )
    return Metadata(
        fields=fields, not_free=ld.get("isAccessibleForFree") is False, publishers=publishers
    )


def _find_date(tree: HtmlElement, url: str, extensive: bool) -> str | None:
    """htmldate on the tree (offline: given a tree, it never fetches anything)."""
    max_date = date.today().isoformat()
    found = find_date(
        tree, url=url, original_date=True, extensive_search=extensive, max_date=max_date
    )
    if found and extensive and found.endswith("-01-01"):
        # the extensive search falls back to a bare year ("© 2024") and reports it as
        # January 1st: only keep that day when the focused search finds it too
        found = find_date(
            tree, url=url, original_date=True, extensive_search=False, max_date=max_date
        )
    return found


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _first(names: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if names.get(key):
            return names[key]
    return None


def _meta_names(tree: HtmlElement) -> dict[str, str]:
    names: dict[str, str] = {}
    for elem in META_CONTENT_XPATH(tree):
        key = (
            elem.get("property")
            or elem.get("name")
            or elem.get("itemprop")
            or elem.get("http-equiv")
            or ""
        )
        key = key.strip().lower()
        if key and key not in names:
            names[key] = elem.get("content", "").strip()
    return names


def _json_ld(tree: HtmlElement, doc: Document) -> dict[str, Any]:
    """Walk JSON-LD once: feed trafilatura's reader (authors, title, site name) and keep
    what it ignores (dates, paywall flag, keywords, language) from the first article node."""
    found: dict[str, Any] = {}
    for elem in LD_JSON_XPATH(tree):
        if not elem.text or not elem.text.strip():
            continue
        try:
            # trafilatura minifies first (a regex pass over the whole block, ~0.6 ms a page on
            # the corpus); whitespace between JSON tokens changes nothing for json.loads
            schema = json.loads(normalize_json(elem.text), strict=False)
        except ValueError:
            # its reader of broken JSON-LD, though, works on the minified text
            extract_json_parse_error(normalize_json(JSON_MINIFY.sub(r"\1", elem.text)), doc)
            continue
        with contextlib.suppress(Exception):  # trafilatura's reader trips on odd shapes
            extract_json(schema, doc)
        for node in _ld_nodes(schema):
            types = node.get("@type")
            types = types if isinstance(types, list) else [types]
            if not any(isinstance(t, str) and t.lower() in ARTICLE_TYPES for t in types):
                continue
            for key in ("datePublished", "dateModified", "keywords", "inLanguage"):
                if key in node and key not in found:
                    found[key] = node[key]
            free = node.get("isAccessibleForFree")
            if isinstance(free, str):
                free = {"false": False, "true": True}.get(free.strip().lower())
            if isinstance(free, bool) and "isAccessibleForFree" not in found:
                found["isAccessibleForFree"] = free
    return found


def _ld_nodes(schema: Any, depth: int = 0) -> list[dict]:
    if depth > 3:
        return []
    nodes: list[dict] = []
    for item in schema if isinstance(schema, list) else [schema]:
        if isinstance(item, dict):
            nodes.append(item)
            if "@graph" in item:
                nodes.extend(_ld_nodes(item["@graph"], depth + 1))
            if isinstance(item.get("mainEntity"), (dict, list)):
                nodes.extend(_ld_nodes(item["mainEntity"], depth + 1))
        elif isinstance(item, list):
            nodes.extend(_ld_nodes(item, depth + 1))
    return nodes


def _iso(value: Any) -> str | None:
    """Normalise a date string to ISO-8601 (keeps the time and zone when given)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(
            value.replace("Z", "+00:00") if value.endswith("Z") else value
        )
    except ValueError:
        return None
    if parsed.year < 1990:
        return None
    if len(value) <= 10:
        return parsed.date().isoformat()
    return parsed.isoformat()


def _canonical_url(tree: HtmlElement, url: str) -> str | None:
    for href in [*CANONICAL_XPATH(tree), *OG_URL_XPATH(tree)]:
        href = href.strip()
        if not href:
            continue
        absolute = urljoin(url, href)
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return url if urlsplit(url).scheme in ("http", "https") else None


def _h1(tree: HtmlElement) -> str | None:
    for h1 in H1_XPATH(tree):
        text = _clean(h1.text_content())
        if text and len(text) > 5:
            return text
    return None


def clean_title(
    title: str | None, site_name: str | None, url: str, h1: str | None = None
) -> str | None:
    """Strip site-name and date segments that CMSs append to (or put before) the headline.

    "Russland-Wahl: ... Putin-Ära – DW – 30.01.2024" -> "Russland-Wahl: ... Putin-Ära"
    """
    if not title:
        return None
    if (
        h1
        and len(h1) >= 10
        and title != h1
        and title.startswith(h1)
        and TITLE_SEPARATORS.match(title[len(h1) :])
    ):
        return h1
    parts = TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    seps = TITLE_SEPARATORS.findall(title)
    site_keys = _site_keys(site_name, url)

    def is_noise(part: str) -> bool:
        key = _key(part)
        return (
            bool(DATE_LIKE.match(part))
            or key in site_keys
            or any(
                len(k) > 3 and (key.startswith(k) or k.startswith(key)) and len(key) > 3
                for k in site_keys
            )
        )

    start, end = 0, len(parts)
    while end - start > 1 and is_noise(parts[end - 1]):
        end -= 1
    while end - start > 1 and is_noise(parts[start]) and ":" not in seps[start]:
        start += 1
    if (start, end) == (0, len(parts)):
        return title
    rebuilt = parts[start]
    for i in range(start + 1, end):
        rebuilt += seps[i - 1] + parts[i]
    return rebuilt.strip() or title


TITLE_DATE = re.compile(r"^\s*(?:(\d{1,2})\.(\d{1,2})\.(\d{4})|(\d{4})-(\d{2})-(\d{2}))\s*$")


def _title_date(title: str | None) -> str | None:
    """A date segment of the raw title ("... – DW – 30.01.2024") as YYYY-MM-DD."""
    if not title:
        return None
    for part in reversed(TITLE_SEPARATORS.split(title)[1:]):
        match = TITLE_DATE.match(part)
        if match:
            day, month, year = (
                (match[1], match[2], match[3]) if match[1] else (match[6], match[5], match[4])
            )
            try:
                return date(int(year), int(month), int(day)).isoformat()
            except ValueError:
                return None
    return None


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _site_keys(site_name: str | None, url: str) -> set[str]:
    keys: set[str] = set()
    if site_name:
        keys.add(_key(site_name))
        initials = "".join(w[0] for w in re.findall(r"\w+", site_name) if w[0].isupper())
        if len(initials) >= 2:
            keys.add(initials.casefold())
    host = urlsplit(url).hostname or ""
    labels = [lab for lab in host.split(".") if lab not in ("www", "m", "amp")]
    if labels:
        keys.add(_key(".".join(labels)))
        keys.add(_key(".".join(labels[-2:])))
        if len(labels) >= 2:
            keys.add(_key(labels[-2]))
    keys.discard("")
    return keys


def _tags(meta_tags: list[str] | None, keywords: Any) -> list[str]:
    values: list[str] = []
    for chunk in meta_tags or []:
        values.extend(chunk.split(","))
    if isinstance(keywords, str):
        values.extend(keywords.split(","))
    elif isinstance(keywords, list):
        values.extend(k for k in keywords if isinstance(k, str))
    seen: dict[str, str] = {}
    for value in values:
        value = " ".join(value.split()).strip("#")
        if value and value.casefold() not in seen and len(value) < 100:
            seen[value.casefold()] = value
    return list(seen.values())


def _normalise_language(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    if not isinstance(value, str):
        return None
    match = LANG_CODE.match(value.strip())
    return match.group(1).lower() if match else None


def _declared_language(
    tree: HtmlElement, names: dict[str, str], ld: dict
) -> tuple[str | None, str | None]:
    lang = _normalise_language(
        tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    )
    if lang:
        return lang, "html"
    lang = _normalise_language(_first(names, META_LANGUAGE)) or _normalise_language(
        ld.get("inLanguage")
    )
    if lang:
        return lang, "meta"
    return None, None


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
