"""Authors: bylines split into names, organisations told from people, editors told from
authors, and the choice between the byline the page shows, its JSON-LD and its meta tags."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lxml import etree

from crawler.extract.cleaning.dom import NORMALISED_TEXT, PageScan, scan_page, within
from crawler.extract.cleaning.rules import Rules, load_rules, normalise, text_key

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
    r"\s*(?:,|;|&|\||\+|/|、|，|\band\b|\bund\b|\bdan\b|\bet\b|\by\b|\bsowie\b)\s*",
    re.IGNORECASE,
)
# Chinese names: two to four Han characters, written without spaces
HAN_NAME = re.compile("^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]{2,4}$")
# a role glued before a name in German bylines ("FOCUS-Online-Experte Robin Tschöpe")
ROLE_PREFIX = re.compile(
    r"^(?:[\w-]+-)?(?:experte|expertin|autor|autorin|gastautor|gastautorin|redakteur|redakteurin|"
    r"korrespondent|korrespondentin|kolumnist|kolumnistin)\s+(?=[A-ZÀ-Þ])",
    re.IGNORECASE,
)


# the author's short code after the name ("Elena Oberholzer (obe)" at nzz.ch)
INITIALS_SUFFIX = re.compile(r"\s+\([a-z]{2,5}\.?\)$")


def split_authors(value: str) -> list[str]:
    """A list-like author string ("A; B", "A, B and C") as a list of names. A part is split
    at commas, "&", "and" ... only when every piece is a name of two words or more (or an
    agency): "Mac & i" and "Deutsche Welle (www.dw.com)" stay whole."""
    agencies = load_rules().agencies
    names: list[str] = []
    for part in re.split(r"\s*;\s*", value):
        part = " ".join(part.split()).strip(" ,")
        if not part:
            continue
        chunks = [c.strip(" .") for c in NAME_SPLIT.split(part) if c.strip(" .")]
        whole = len(chunks) < 2 or not all(
            len(c.split()) >= 2 or c.casefold() in agencies or HAN_NAME.match(c) for c in chunks
        )
        for name in [part] if whole else chunks:
            if name not in names:
                names.append(name)
    return names


def clean_name(name: str, rules: Rules | None = None) -> str:
    """A name without the byline word or the role before it, agencies spelt as they spell
    themselves: "Von FOCUS-Online-Experte Robin Tschöpe" -> "Robin Tschöpe", "Dpa" -> "dpa"."""
    rules = rules or load_rules()
    name = " ".join(name.split()).strip(" ,.:")
    match = rules.byline.match(name)
    if match:
        name = match.group("rest")
    name = INITIALS_SUFFIX.sub("", ROLE_PREFIX.sub("", name))
    return rules.agency_spelling.get(name.casefold(), name)


@dataclass
class AuthorSources:
    """What the page declares about its authors, read with its metadata (before cleaning)."""

    ld_people: list[str] = field(default_factory=list)  # JSON-LD author/creator of @type Person
    ld_organisations: list[str] = field(default_factory=list)  # ... of another @type
    ld_editors: list[str] = field(default_factory=list)  # JSON-LD editor
    meta: list[str] = field(default_factory=list)  # author meta tags


ORG_WORDS = re.compile(
    r"\b(?:gmbh|ag|ltd|inc|llc|plc|s\.a\.|online|nachrichten|redaktion|newsroom|developer|nast|media|"
    r"verlag|zeitung|news|staff|team|desk|agency|agentur)\b",
    re.IGNORECASE,
)


def is_organisation(name: str, publishers: Iterable[str | None] = ()) -> bool:
    """True for "authors" that name the publisher (site name, host, publisher meta) or an
    organisation, not a person."""
    return _is_publisher(name, list(publishers)) or bool(ORG_WORDS.search(name))


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
        chunks = [c.strip(" .:") for c in NAME_SPLIT.split(BYLINE_TAIL.sub("", text)) if c.strip(" .:")]
        names = [c for c in chunks if not ROLE_WORDS.search(c)]  # "X, Senior Correspondent"
        if names and all(_is_name(c, rules.agencies) for c in names):
            return names
    return []


def _from_prefix(text: str, rules: Rules) -> str:
    # "Capital Von Jemima Kelly", "Ein Artikel von X": start at the byline word
    match = rules.byline_anywhere.search(text)
    return text[match.start() :] if match else ""


def choose_authors(
    sources: AuthorSources,
    shown: tuple[Callable[[], list[str]], ...],
    editors: Iterable[str],
    publishers: Iterable[str | None],
    rules: Rules | None = None,
) -> list[str]:
    """The article's authors, people first.

    1. JSON-LD ``author`` nodes of @type Person (structured, and typed), unless the page
       labels the name as its editor ("Editor: X", "责编：X") or it is the publisher's name;
    2. else the byline the page shows: ``shown`` gives its sources in order of trust (the
       byline paragraph, a labelled "Autor:" line, a signed last paragraph, byline markup),
       each called only when the ones before found no person; the author meta tags come
       before the last of them, the byline markup, whose text runs the name into a role
       ("Nicole OpitzRedakteurin" at taz.de);
    then, when no person is named anywhere, the organisations named as author (JSON-LD,
    byline, meta): an agency ("dpa") or the publisher itself ("BBC News").
    Agencies keep their own spelling (dpa, AFP, Reuters)."""
    rules = rules or load_rules()
    publishers = list(publishers)
    editor_keys = {text_key(e) for e in [*editors, *sources.ld_editors]}

    def names(candidates: Iterable[str]) -> list[str]:
        out: list[str] = []
        for name in candidates:
            name = clean_name(name, rules)
            if (name and "@" not in name and text_key(name) not in editor_keys and name not in out
                    and not _role_only(name)):
                out.append(name)
        return out

    def person(name: str) -> bool:
        return not is_organisation(name, publishers) and not ROLE_WORDS.search(name)

    declared = names(sources.ld_people)
    ld_people = [n for n in declared if not _is_publisher(n, publishers)]
    if ld_people:
        return ld_people
    # a Person node that names the publisher (euronews.com) counts as an organisation
    organisations = names(sources.ld_organisations) or declared
    meta = names(sources.meta)
    for source in (*shown[:-1], lambda: meta, shown[-1]):
        found = names(source())
        if any(person(n) for n in found):
            return [n for n in found if person(n)]
        organisations = organisations or found
    return organisations


# what a desk or a role is called around the role word ("Political Editor", "Staff Reporter")
DESK_WORDS = frozenset({"political", "politics", "business", "economics", "foreign", "sports", "digital",
                        "news", "online", "web", "the", "our", "a", "an", "of", "and"})


def _role_only(name: str) -> bool:
    """A role or a desk given as the author's name ("Staff Reporter", "Political Editor")."""
    return bool(ROLE_WORDS.search(name)) and all(
        ROLE_WORDS.fullmatch(word) or word.casefold() in DESK_WORDS for word in name.split()
    )


def _is_publisher(name: str, publishers: list[str | None]) -> bool:
    """The publisher's own name ("Krautreporter" for "Krautreporter eG" or krautreporter.de)."""
    key = text_key(name)
    return any(
        len(other) > 2 and (other in key or key in other)
        for other in (text_key(p or "") for p in publishers)
    )


# a role after the name ("Jane Smith, Senior Correspondent", "Anna Muster, Redakteurin"): a
# byline's description of the author, not a second author
ROLE_WORDS = re.compile(
    r"\b(?:correspondent|writer|editor|reporter|columnist|contributor|journalist|producer|analyst|"
    r"staff|bureau|chief|senior|deputy|contributing|"
    r"(?:chef)?redakteur(?:in)?|korrespondent(?:in)?|autor(?:in)?|kolumnist(?:in)?|volontär(?:in)?)\b",
    re.IGNORECASE,
)
# where the author wrote from, or whose material was used, after the names: "By Jane Smith in
# London", "Von Anna Muster aus Kiew", "Von Anna Muster mit Material von dpa", "... with
# additional reporting by ..."
BYLINE_TAIL = re.compile(
    r"\s+(?:(?:in|aus|from|reporting from)\s+(?=[A-ZÀ-Þ])|mit material\b|with (?:additional )?reporting\b"
    r"|additional reporting\b).*$",
    re.IGNORECASE,
)


def _is_name(chunk: str, agencies: frozenset[str]) -> bool:
    words = chunk.split()
    if chunk.casefold() in agencies or HAN_NAME.match(chunk):
        return True
    if not 2 <= len(words) <= 5 or ROLE_WORDS.search(chunk):
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
    rest = BYLINE_TAIL.sub("", re.split(r"\s+[|•·–—-]\s+|\s*\(", match.group("rest"))[0])
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


def credit_names(
    tree: etree._Element, rules: Rules | None = None, scan: PageScan | None = None
) -> tuple[list[str], list[str]]:
    """(authors, editors) named in credit lines: a label alone in its element followed by the
    names (DW: "<strong>Autorin/Autor</strong> Roman Goncharenko"), or a label and the names
    in one text ("Editor : Heryadi", "Auteur : Kossivi Tiassou", "(责编：牛镛、岳弘彬)").
    Credit lines count wherever they are on the page (a sidebar too); first author line wins.

    ``scan``: ``scan_page`` of this tree, made before ``clean_tree`` took boxes out of it."""
    rules = rules or load_rules()
    credits = scan.credits if scan else scan_page(tree, rules).credits
    authors: list[str] = []
    editors: list[str] = []
    for elem in credits[:20]:
        text = normalise(elem.text or "")
        match = rules.credit_label.match(text)
        if match and not match.group("rest"):  # the label alone: the names follow it
            text += " " + normalise(elem.tail or "")
            if len(elem) and elem[0].tag in ("a", "span", "strong", "b"):
                text += " " + normalise(NORMALISED_TEXT(elem[0]))
        credit = credit_line(text, rules)
        if credit is None:
            continue
        kind, names = credit
        if kind == "editor":
            editors.extend(n for n in names if n not in editors)
        elif not authors:
            authors = names
    return authors, editors


def credit_line(text: str, rules: Rules | None = None) -> tuple[str, list[str]] | None:
    """("author" or "editor", names) for a credit line such as "Editor : Heryadi", or None."""
    rules = rules or load_rules()
    match = rules.credit_label.match(normalise(text))
    if not match:
        return None
    names = _names_in(match.group("rest"), rules)
    if not names:
        return None
    return ("editor" if match.group("editor") else "author"), names


def _names_in(text: str, rules: Rules, single: bool = True) -> list[str]:
    """The names a credit line starts with (a place or a date after them ends the list).
    ``single``: a label vouches for one-word names too ("Editor : Heryadi")."""
    names: list[str] = []
    for chunk in NAME_SPLIT.split(text.strip(" .;")):
        chunk = chunk.strip(" .:")
        if not chunk:
            continue
        if not (_is_name(chunk, rules.agencies) or single and SINGLE_NAME.match(chunk)):
            break
        names.append(chunk)
    return names


# a one-word name (Indonesian and other mononyms), after a credit label only
SINGLE_NAME = re.compile(r"^[A-ZÀ-Þ][\w'-]{2,30}$")


# a paragraph aligned right that holds nothing but bold text: the sign-off of sites that name
# the author after the article (vnexpress.net: <p style="text-align:right;"><strong>Lê Phương
# </strong></p>); it would otherwise end the text as a paragraph of its own
SIGNOFF_XPATH = etree.XPath(
    ".//p[contains(translate(@style, ' ', ''), 'text-align:right')][strong or b]"
)


def take_signoff(tree: etree._Element, rules: Rules | None = None) -> list[str]:
    """The names in the article's sign-off paragraph, removed from ``tree`` (see above)."""
    rules = rules or load_rules()
    candidates = SIGNOFF_XPATH(tree)
    if not candidates:
        return []
    paragraph = candidates[-1]
    text = normalise(NORMALISED_TEXT(paragraph))
    bold = normalise(" ".join(NORMALISED_TEXT(b) for b in paragraph if b.tag in ("strong", "b")))
    names = _names_in(text, rules, single=False) if text == bold and len(text) <= 80 else []
    if not names or len(names) != len([c for c in NAME_SPLIT.split(text) if c.strip(" .:")]):
        return []  # not names only
    if paragraph.getparent() is not None:
        paragraph.drop_tree()  # its tail stays: text of the parent that follows it
    return names
