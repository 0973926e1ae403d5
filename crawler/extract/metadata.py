"""Article metadata from the raw page (before any cleaning): meta tags, JSON-LD, microdata,
htmldate. Title, dates with their time of day and offset, language, site name, tags, the
canonical URL, the author candidates each source gives (chosen in cleaning/authors.py, once
the byline the page shows is known) and the publisher's paywall declaration."""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.json_metadata import extract_json, extract_json_parse_error, normalize_json
from trafilatura.metadata import examine_meta
from trafilatura.settings import Document

from crawler.extract.cleaning.authors import AuthorSources, split_authors
from crawler.extract.cleaning.rules import load_rules, text_key
from crawler.extract.cleaning.text import KICKER_MAX_CHARS
from crawler.extract.options import ExtractOptions


@dataclass
class Metadata:
    fields: dict[str, Any]
    # the publisher declares the article not free (JSON-LD isAccessibleForFree false on the
    # article or on one of its hasPart sections), whether or not the text is in the page
    not_free: bool = False
    # names the publisher goes by (og:site_name, publisher/copyright meta, JSON-LD publisher)
    publishers: tuple[str, ...] = ()
    authors: AuthorSources = field(default_factory=AuthorSources)
    # the page's h1 as a reader sees it and as it runs in the markup
    headlines: tuple[str, ...] = ()


LD_JSON_XPATH = etree.XPath('.//script[@type="application/ld+json"]')
CANONICAL_XPATH = etree.XPath('.//head//link[@rel="canonical"]/@href')
OG_URL_XPATH = etree.XPath('.//head//meta[@property="og:url"]/@content')
H1_XPATH = etree.XPath(".//h1")
META_CONTENT_XPATH = etree.XPath(".//head//meta[@content]")
LD_WRAPPER = re.compile(r"^\s*(?://\s*)?<!(?:\[CDATA\[|--)|(?://\s*)?(?:\]\]|--)>\s*$")
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
    "article:published:time",
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
    "article:modified:time",
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
# a segment before the headline ends in a separator, or a colon ("Topic: headline")
TITLE_PREFIX_END = re.compile(r"(?:\s[|–—•·\-/»«]|:)\s+$")
DATE_LIKE = re.compile(
    r"^\W*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\W*$|^\W*\d{1,2}\.?\s+\w+\.?\s+\d{4}\W*$"
)


def read_metadata(tree: HtmlElement, url: str, options: ExtractOptions) -> Metadata:
    """Metadata from the raw tree (before any cleaning): meta tags, JSON-LD, htmldate."""
    doc = examine_meta(tree)
    ld = _json_ld(tree, doc)
    names = _meta_names(tree)

    canonical = _canonical_url(tree, url)
    site_name = _site_name(doc.sitename, ld.get("publisher"), canonical or url)
    raw_title = _clean(doc.title)
    h1, h1_plain, kicked = _h1(tree)
    if h1 != h1_plain and raw_title and text_key(raw_title) == text_key(h1_plain):
        raw_title = h1  # trafilatura took the h1 as it runs, its kicker glued to the headline
    elif kicked and text_key(kicked) in text_key(raw_title or _document_title(tree) or ""):
        h1 = kicked  # the title names the kicker above the h1 with the headline (orf.at)
    title = clean_title(raw_title or h1, site_name, canonical or url, h1)

    declared = _declared_dates(
        tree, [_iso(ld.get("datePublished")), _iso(_first(names, META_PUBLISHED))], MICRODATA_PUBLISHED
    )
    precise = next((d for d in declared if d), None)
    found = None if precise else _find_date(tree, canonical or url, options.date_extensive)
    # The article's own JSON-LD/meta/microdata timestamp wins; then a date the CMS appends to
    # the title ("... | DW | 28.04.2023"); htmldate only when the page declares nothing (its
    # original_date mode picks the oldest date on the page, often a related teaser's).
    published = _with_time(tree, precise or _title_date(raw_title) or found, declared)
    declared = _declared_dates(
        tree, [_iso(ld.get("dateModified")), _iso(_first(names, META_MODIFIED))], MICRODATA_MODIFIED
    )
    modified = _with_time(tree, next((d for d in declared if d), None), declared, time_elements=False)

    language, language_source = _declared_language(tree, names, ld)
    tags = _tags(doc.tags, ld.get("keywords"))
    sources = AuthorSources(
        ld_people=ld.get("people", []),
        ld_organisations=ld.get("organisations", []),
        ld_editors=ld.get("editors", []),
        meta=_meta_authors(names),
    )
    fields = {
        "title": title,
        "authors": [],  # chosen in article.py, once the byline the page shows is known
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
            _clean(doc.sitename),
            ld.get("publisher"),
            names.get("publisher"),
            names.get("copyright"),
            names.get("application-name"),
        )
        if p
    )
    return Metadata(
        fields=fields,
        # the Open Graph tier Facebook and Google read: "locked" is behind the paywall
        # ("metered" pages are free up to a count, "free" ones always)
        not_free=ld.get("not_free", False) or names.get("article:content_tier", "").lower() == "locked",
        publishers=publishers,
        authors=sources,
        headlines=tuple(h for h in (h1, h1_plain) if h),
    )


# a copyright line is not a name: "人民网版权所有", "© 2023 Example GmbH", "Hak cipta ..."
COPYRIGHT = re.compile(
    r"©|\(c\)|copyright|all rights reserved|alle rechte|版权所有|版權所有|hak cipta|無断転載",
    re.IGNORECASE,
)


def _site_name(declared: str | None, ld_publisher: str | None, url: str) -> str | None:
    """og:site_name (or what trafilatura reads as the site name), else the JSON-LD publisher,
    else the host: never a copyright line."""
    for candidate in (_clean(declared), _clean(ld_publisher)):
        if candidate and not COPYRIGHT.search(candidate):
            return candidate.lstrip("@")
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


META_AUTHORS = (
    "author",
    "article:author",
    "og:article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "cxenseparse:author",
    "citation_author",
    "byl",
)
URL_OR_NUMBER = re.compile(r"^(?:https?://.*|[\d\W]+)$")
# a user handle ("aligharib" in article:author): one lower-case token (agencies aside)
HANDLE = re.compile(r"^@[\w.]+$|^[a-z0-9_.-]+$")  # a social handle or a login, not a name


def _meta_authors(names: dict[str, str]) -> list[str]:
    """The names of the author meta tags, in the order of META_AUTHORS, each once."""
    agencies = load_rules().agencies
    found: list[str] = []
    for key in META_AUTHORS:
        value = _clean(names.get(key))
        if not value or URL_OR_NUMBER.match(value) or COPYRIGHT.search(value):
            continue
        if HANDLE.match(value) and value.casefold() not in agencies:
            continue
        found.extend(name for name in split_authors(value) if name not in found)
    return found


MICRODATA_PUBLISHED = etree.XPath(
    './/*[@itemprop="datePublished"]/@datetime | .//*[@itemprop="datePublished"]/@content'
)
MICRODATA_MODIFIED = etree.XPath(
    './/*[@itemprop="dateModified"]/@datetime | .//*[@itemprop="dateModified"]/@content'
)
TIME_ELEMENTS = etree.XPath(".//body//time/@datetime")


def _first_value(values: list[str]) -> str | None:
    return next((v for v in values if v.strip()), None)


def _declared_dates(tree: HtmlElement, declared: list[str | None], microdata: etree.XPath) -> list[str | None]:
    """The timestamps JSON-LD and meta tags give, then microdata's when none of those has a
    time of day (a search of the whole tree: only when it can add something)."""
    if any(d and len(d) > 10 for d in declared):
        return declared
    return [*declared, *(_iso(v) for v in microdata(tree)[:5])]


def _with_time(
    tree: HtmlElement,
    day: str | None,
    declared: Sequence[str | None] = (),
    *,
    time_elements: bool = True,
) -> str | None:
    """A bare date made precise by another timestamp the page gives for the same day: a
    second declaration (JSON-LD with the date only, article:published_time with the time),
    or the first ``<time datetime>`` (pages such as faz.net's put the time only there)."""
    if not day or len(day) > 10:
        return day
    candidates = [d for d in declared if d]
    if time_elements:
        candidates += [_iso(value) for value in TIME_ELEMENTS(tree)[:20]]
    for precise in candidates:
        if precise and len(precise) > 10 and precise[:10] == day:
            return precise
    return day


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
    """Walk JSON-LD once: feed trafilatura's reader (title, site name, description) and keep
    what it ignores or mixes up from the first article node: dates, keywords, language, the
    authors by type (Person or Organization, @id references resolved), editors, the
    publisher's name; and whether any article node or part of one is declared not free."""
    found: dict[str, Any] = {}
    article = None
    nodes: list[dict] = []
    for elem in LD_JSON_XPATH(tree):
        text = elem.text
        if not text or not text.strip():
            continue
        if "<!" in text[:40]:  # wrapped for old browsers: "//<![CDATA[ {...} //]]>", "<!-- -->"
            text = LD_WRAPPER.sub("", text)
        try:
            # as the page wrote it first: trafilatura's normalize_json turns escapes such as
            # \u0022 into the characters, which breaks valid JSON (euronews.com)
            schema = json.loads(text, strict=False)
        except ValueError:
            try:
                schema = json.loads(normalize_json(text), strict=False)
            except ValueError:
                # trafilatura's reader of broken JSON-LD works on the minified text
                extract_json_parse_error(normalize_json(JSON_MINIFY.sub(r"\1", text)), doc)
                continue
        with contextlib.suppress(Exception):  # trafilatura's reader trips on odd shapes
            extract_json(schema, doc)
        nodes.extend(_ld_nodes(schema))
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str) and len(n) > 1}
    articles = [node for node in nodes if _is_article(node)]
    # the article itself before the page around it (zeit.de lists its WebPage node first)
    articles.sort(key=lambda node: _is_page(node))
    for node in articles:
        if _declares_not_free(node):
            found["not_free"] = True
        if article is None and (node.get("author") or node.get("creator")):
            article = node
        for key in ("datePublished", "dateModified", "keywords", "inLanguage"):
            if key in node and key not in found:
                found[key] = node[key]
    if article is None and articles:
        article = articles[0]
    if article is not None:
        people, organisations = _ld_names(article.get("author") or article.get("creator"), by_id)
        found["people"], found["organisations"] = people, organisations
        editors, _ = _ld_names(article.get("editor"), by_id)
        found["editors"] = editors
        publisher = _ld_names(article.get("publisher"), by_id, organisation=True)[1]
        if publisher:
            found["publisher"] = publisher[0]
    return {k: v for k, v in found.items() if v is not None}


def _is_article(node: dict) -> bool:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.lower() in ARTICLE_TYPES for t in types)


PAGE_TYPES = frozenset({"webpage", "creativework", "medicalwebpage"})


def _is_page(node: dict) -> bool:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return all(isinstance(t, str) and t.lower() in PAGE_TYPES for t in types)


def _free(value: Any) -> bool | None:
    if isinstance(value, str):
        return {"false": False, "true": True}.get(value.strip().lower())
    return value if isinstance(value, bool) else None


def _declares_not_free(node: dict) -> bool:
    if _free(node.get("isAccessibleForFree")) is False:
        return True
    parts = node.get("hasPart")
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, dict) and _free(part.get("isAccessibleForFree")) is False:
            return True
    return False


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


PERSON_TYPES = frozenset({"person"})


def _ld_names(
    value: Any, by_id: dict[str, dict], organisation: bool = False
) -> tuple[list[str], list[str]]:
    """Names in a JSON-LD author/editor/publisher value: (people, organisations). A plain
    string counts as a person unless ``organisation``; a node without a type as a person."""
    people: list[str] = []
    organisations: list[str] = []
    for item in (value if isinstance(value, list) else [value])[:20]:
        if isinstance(item, dict) and set(item) <= {"@id", "@type"} and item.get("@id") in by_id:
            item = by_id[item["@id"]]
        if isinstance(item, str):
            name, is_person = item, not organisation
        elif isinstance(item, dict):
            name = item.get("name")
            name = name[0] if isinstance(name, list) and name else name
            if not name and isinstance(item.get("familyName"), str):  # derstandard.at
                name = f"{item.get('givenName') or ''} {item['familyName']}"
            types = item.get("@type")
            types = {
                t.lower()
                for t in (types if isinstance(types, list) else [types])
                if isinstance(t, str)
            }
            is_person = not organisation and (not types or bool(types & PERSON_TYPES))
        else:
            continue
        name = _clean(html.unescape(name)) if isinstance(name, str) else None
        if not name or URL_OR_NUMBER.match(name):
            continue
        target = people if is_person else organisations
        for part in split_authors(name):
            if part not in target:
                target.append(part)
    return people, organisations


SPACED_OFFSET = re.compile(r"(?<=\d)\s+([+-]\d{2}:?\d{2})$")


def _iso(value: Any) -> str | None:
    """Normalise a date string to ISO-8601 (keeps the time and zone when given)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    value = SPACED_OFFSET.sub(r"\1", value.strip())
    has_time = ":" in value
    try:
        parsed = datetime.fromisoformat(
            value.replace("Z", "+00:00") if value.endswith("Z") else value
        )
        has_time = len(value) > 10
    except ValueError:
        # RFC 2822, as feeds and some CMSs write it: "Wed, 01 May 2024 19:20:00 +0200"
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        # a zone it cannot read ("Fri Apr 28 19:20:36 CEST 2023", Java's default format):
        # the day only, so that a timestamp with its offset elsewhere on the page wins
        has_time = has_time and parsed.tzinfo is not None
    if parsed.year < 1990:
        return None
    return parsed.isoformat() if has_time else parsed.date().isoformat()


def _canonical_url(tree: HtmlElement, url: str) -> str | None:
    for href in [*CANONICAL_XPATH(tree), *OG_URL_XPATH(tree)]:
        href = href.strip()
        if not href:
            continue
        absolute = urljoin(url, href)
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return url if urlsplit(url).scheme in ("http", "https") else None


# the kicker (topline, Dachzeile) a page sets in the h1 above the headline, as its own element:
# tagesschau.de, zeit.de, golem.de, taz.de, tagesspiegel.de
KICKER_CLASS = re.compile(r"kicker|topline|overline|dachzeile|eyebrow|roofline", re.IGNORECASE)


def _h1(tree: HtmlElement) -> tuple[str | None, str | None, str | None]:
    """The first h1 as a reader sees it (a kicker set apart joined as "Kicker: Headline"),
    its text as it runs in the markup, and the headline joined to a kicker just above the h1."""
    for h1 in H1_XPATH(tree):
        plain = _clean(h1.text_content())
        if plain and len(plain) > 5:
            return _with_kicker(h1) or plain, plain, _after_kicker(h1, plain)
    return None, None, None


def _document_title(tree: HtmlElement) -> str | None:
    title = tree.find(".//head/title")
    return _clean(title.text_content()) if title is not None else None


# the kicker as the h1's own sibling just above it: the same class names, or orf.at's
# <div class="keyword">
SIBLING_KICKER_CLASS = re.compile(f"{KICKER_CLASS.pattern}|^keyword$", re.IGNORECASE)


def _after_kicker(h1: HtmlElement, headline: str) -> str | None:
    before = h1.getprevious()
    while before is not None and not isinstance(before.tag, str):
        before = before.getprevious()
    if before is None or not SIBLING_KICKER_CLASS.search(before.get("class") or "") or before.find(".//a") is not None:
        return None
    kicker = _clean(before.text_content())
    if not kicker or len(kicker) > KICKER_MAX_CHARS:
        return None
    return f"{kicker.rstrip(' :')}: {headline.lstrip(' :')}"


def _with_kicker(h1: HtmlElement) -> str | None:
    children = [child for child in h1 if isinstance(child.tag, str)]
    for i, child in enumerate(children):
        if not KICKER_CLASS.search(child.get("class") or ""):
            continue
        kicker = _clean(child.text_content())
        rest = _clean(
            (child.tail or "")
            + "".join(
                etree.tostring(c, method="text", encoding="unicode") for c in children[i + 1 :]
            )
        )
        if kicker and rest:
            return f"{kicker.rstrip(' :')}: {rest.lstrip(' :')}"
    return None


def clean_title(
    title: str | None, site_name: str | None, url: str, h1: str | None = None
) -> str | None:
    """Strip site-name and date segments that CMSs append to (or put before) the headline.

    "Russland-Wahl: ... Putin-Ära – DW – 30.01.2024" -> "Russland-Wahl: ... Putin-Ära"
    """
    if not title:
        return None
    # the h1 inside the title, set apart by separators: what the title adds around the
    # headline the page shows is the site, the section or an SEO topic ("Infant Abandonment
    # Cases In India: <h1> | Bhopal News - The Times of India", "<h1> | Europa")
    at = title.find(h1) if h1 and len(h1) >= 10 and title != h1 else -1
    if at >= 0:
        before, after = title[:at], title[at + len(h1) :]
        if (not before or TITLE_PREFIX_END.search(before)) and (
            not after or TITLE_SEPARATORS.match(after)
        ):
            return h1
    parts = TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    seps = TITLE_SEPARATORS.findall(title)
    site_keys = _site_keys(site_name, url)

    def is_noise(part: str) -> bool:
        key = text_key(part)
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


def _site_keys(site_name: str | None, url: str) -> set[str]:
    keys: set[str] = set()
    if site_name:
        keys.add(text_key(site_name))
        initials = "".join(w[0] for w in re.findall(r"\w+", site_name) if w[0].isupper())
        if len(initials) >= 2:
            keys.add(initials.casefold())
    host = urlsplit(url).hostname or ""
    labels = [lab for lab in host.split(".") if lab not in ("www", "m", "amp")]
    if labels:
        keys.add(text_key(".".join(labels)))
        keys.add(text_key(".".join(labels[-2:])))
        if len(labels) >= 2:
            keys.add(text_key(labels[-2]))
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
