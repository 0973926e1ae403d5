"""Authors: bylines split into names, organisations told from people, and the choice between
the byline the page shows, its JSON-LD and its meta tags."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from crawler.extract.cleaning.dom import NORMALISED_TEXT, PageScan, scan_page, within
from crawler.extract.cleaning.rules import Rules, load_rules, normalise

BYLINE_MAX_WORDS = 16
NAME_PARTICLES = frozenset(
    {
        "van",
        "von",
        "de",
        "der",
        "den",
        "da",
        "di",
        "du",
        "la",
        "le",
        "del",
        "della",
        "dos",
        "das",
        "bin",
        "binti",
        "al",
        "el",
        "ter",
        "zu",
        "ten",
        "dela",
    }
)
NAME_SPLIT = re.compile(
    r"\s*(?:,|;|&|\||\+|/|\band\b|\bund\b|\bdan\b|\bet\b|\by\b|\bsowie\b)\s*", re.IGNORECASE
)


def split_authors(value: str) -> list[str]:
    """trafilatura's "A; B" author string (or any list-like string) as a list of names."""
    names: list[str] = []
    for part in re.split(r"\s*;\s*", value):
        part = " ".join(part.split()).strip(" ,")
        if part and part not in names:
            names.append(part)
    return names


ORG_WORDS = re.compile(
    r"\b(?:gmbh|ag|ltd|inc|llc|plc|s\.a\.|online|nachrichten|redaktion|newsroom|developer|nast|media|"
    r"verlag|zeitung|news|staff|team|desk|agency|agentur)\b",
    re.IGNORECASE,
)


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def is_organisation(name: str, publishers: Iterable[str | None] = ()) -> bool:
    """True for "authors" that name the publisher (site name, host, publisher meta) or an
    organisation, not a person."""
    key = _key(name)
    for other in publishers:
        other_key = _key(other or "")
        if other_key and len(other_key) > 2 and (other_key in key or key in other_key):
            return True
    return bool(ORG_WORDS.search(name))


def dom_authors(
    tree: etree._Element, rules: Rules | None = None, scan: PageScan | None = None
) -> list[str]:
    """Authors named in byline markup (rel=author, class*=author/byline), first match wins.

    ``scan``: ``scan_page`` of this tree, made before ``clean_tree`` took boxes out of it."""
    rules = rules or load_rules()
    candidates = scan.bylines if scan else scan_page(tree, rules).bylines
    for elem in [elem for elem in candidates if within(elem, tree)][:12]:
        text = normalise(NORMALISED_TEXT(elem))
        if not 2 < len(text) <= 120:
            continue
        names = parse_byline(text, rules) or parse_byline(_from_prefix(text, rules), rules)
        if names:
            return names
        chunks = [c.strip(" .:") for c in NAME_SPLIT.split(text) if c.strip(" .:")]
        if chunks and all(_is_name(c, rules.agencies) for c in chunks):
            return chunks
    return []


def _from_prefix(text: str, rules: Rules) -> str:
    # "Capital Von Jemima Kelly", "Ein Artikel von X": start at the byline word
    match = rules.byline_anywhere.search(text)
    return text[match.start() :] if match else ""


def choose_authors(
    declared: list[str], byline: list[str], markup: list[str], publishers: Iterable[str | None]
) -> list[str]:
    """People first: declared names that are not the publisher, else byline names, else
    byline markup; organisations only when no person is named anywhere."""
    publishers = list(publishers)
    people = [a for a in declared if not is_organisation(a, publishers)]
    for candidates in (people, byline, markup):
        if candidates:
            return candidates
    return declared


def _is_name(chunk: str, agencies: frozenset[str]) -> bool:
    words = chunk.split()
    if chunk.casefold() in agencies:
        return True
    if not 2 <= len(words) <= 5:
        return False
    capitalised = 0
    for word in words:
        if word.casefold() in NAME_PARTICLES:
            continue
        if not word[0].isupper() or not any(c.isalpha() for c in word):
            return False
        capitalised += 1
    return capitalised >= 2


def parse_byline(text: str, rules: Rules | None = None) -> list[str] | None:
    """Names in a byline ("Von Anna Muster und Max Mustermann, Berlin"), or None."""
    rules = rules or load_rules()
    text = normalise(text)
    if len(text.split()) > BYLINE_MAX_WORDS:
        return None
    match = rules.byline.match(text)
    if not match:
        return None
    rest = re.split(r"\s+[|•·–—-]\s+|\s*\(", match.group("rest"))[0]
    names: list[str] = []
    for chunk in NAME_SPLIT.split(rest):
        chunk = chunk.strip(" .:")
        if not chunk:
            continue
        if _is_name(chunk, rules.agencies):
            names.append(chunk)
        elif names:
            break  # a place or a date after the names: "Von Anna Muster, Berlin"
        else:
            return None
    return names or None
