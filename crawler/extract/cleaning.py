"""Boilerplate removal in two layers around trafilatura.

DOM layer (``clean_tree``, before trafilatura): removes consent managers, newsletter and
comment forms, share bars, "recommended" blocks and paywall boxes, found by markup:
attribute markers (id, class, aria-label, data-*), roles, forms with e-mail inputs or
text areas, buttons that say "accept all" / "subscribe", headings that say "related".
From a form or button it climbs to the smallest enclosing box that holds little text, so
boxes with meaningless class names go too.

Text layer (``clean_paragraphs``, on trafilatura's output): drops paragraphs that are
boilerplate by what they say, with phrase lists per language (``boilerplate.toml``). A
paragraph goes only when it is short and the phrases cover most of it, so real sentences
that mention cookies or newsletters stay. Bylines become authors.
"""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ahocorasick_rs import AhoCorasick
from lxml import etree
from lxml.html import HtmlElement

RULES_FILE = Path(__file__).with_name("boilerplate.toml")
LANGUAGES = ("en", "de", "id", "fr", "es")
DOM_CATEGORIES = ("consent", "newsletter", "comments", "share", "related", "paywall")
TEXT_CATEGORIES = (
    "consent",
    "newsletter",
    "comments",
    "recommended",
    "reading_time",
    "credits",
    "paywall",
    "article_id",
    "misc",
)
# attributes whose values name what an element is for
MARKER_ATTRIBUTES = (
    "id",
    "class",
    "aria-label",
    "data-testid",
    "data-component",
    "data-module",
    "data-type",
    "data-qa",
    "data-block",
    "data-section",
    "data-widget",
)
NEVER_REMOVE = frozenset({"html", "body", "head"})
# elements trafilatura drops anyway: not worth a marker check
INERT_TAGS = frozenset(
    {"script", "style", "noscript", "template", "link", "meta", "svg", "path", "title"}
)
# inline elements sit inside sentences (winfuture's class="newslink" on links in the text):
# a marker on them says nothing about a box
INLINE_TAGS = frozenset(
    {
        "a",
        "span",
        "em",
        "strong",
        "b",
        "i",
        "small",
        "sup",
        "sub",
        "time",
        "abbr",
        "label",
        "mark",
        "u",
    }
)
SKIP_MARKED = NEVER_REMOVE | INERT_TAGS | INLINE_TAGS
# climbing from a form/button stops at these: they hold the article, not a box
CLIMB_STOP = frozenset({"html", "body", "main", "article"})

# Size limits of a box found by climbing from a form or button (characters of text).
# Measured on the dev corpus and the fixtures: newsletter boxes held up to 670 characters,
# comment boxes up to 1,150, consent banners up to 310 (the IAB TCF first-layer texts
# that other sites show run to ~2,000, hence the consent headroom); a climb stops earlier
# anyway at two paragraphs of article prose (see _Pruner.box).
NEWSLETTER_BOX_CHARS = 1200
COMMENT_BOX_CHARS = 1500
CONSENT_BOX_CHARS = 3000
PAYWALL_BOX_CHARS = 800
# paywall-marked elements bigger than this are content, not the offer box (the largest
# offer box in the dev corpus, badische-zeitung's register wall with its offer texts,
# holds ~10,300 characters and not one long paragraph)
PAYWALL_MARKED_CHARS = 12000
# a paywall box says more than its button label ("Abonnieren" links are on every page)
PAYWALL_BOX_MIN_CHARS = 40
RELATED_BOX_CHARS = 2500
# share of a box's text inside links above which it is a list of teasers (see _by_headings)
RELATED_LINK_DENSITY = 0.35
# An element holding at least this many prose paragraphs (>= PROSE_CHARS characters) is
# article content whatever its markers say (e.g. class="article-body paywall-art").
PROSE_PARAGRAPHS = 3
PROSE_CHARS = 120
# ...and so is one holding this share of the page's text (consent markers included), once
# it holds more than PAGE_SHARE_MIN_CHARS (on a tiny page every box is a big share)
MAX_PAGE_SHARE = 0.5
PAGE_SHARE_MIN_CHARS = 2000
# Text layer: a paragraph is dropped when it has at most MAX_WORDS words and the matched
# phrases cover at least MIN_COVERAGE of its characters. Measured on the dev corpus and
# fixtures: dropped paragraphs had <= 68 words and coverage >= 0.85; kept paragraphs with
# some matched phrase had coverage <= 0.05. The word limit leaves room for long consent
# texts; the coverage threshold sits between the two groups.
MAX_WORDS = 120
MIN_COVERAGE = 0.5
# bylines are looked for among the first and last few paragraphs only
BYLINE_HEAD, BYLINE_TAIL = 4, 2
BYLINE_MAX_WORDS = 16

# str.translate with a mapping looks up every character in a dict; replacing only the
# characters present is ~20x faster on long texts
QUOTES = re.compile("[„“”«»‘’]")
QUOTE_MAP = {"„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'"}
NEWSLETTER_WORDS = re.compile(
    r"newsletter|inbox|e-?mail|postfach|posteingang|kotak masuk|buletin|boîte|correo|bandeja|"
    r"digest|briefing",
    re.IGNORECASE,
)
PAYWALL_WORDS = re.compile(
    r"\b(?:subscri\w*|abonn\w*|abos?|anmelden|einloggen|log ?in|sign ?in|registr\w*|langganan|"
    r"berlangganan|trial|testen|offers?|angebot\w*|premium|suscri\w*|unlock|freischalten|"
    r"weiterlesen|continue reading|paywall)\b",
    re.IGNORECASE,
)
CONSENT_WORDS = re.compile(
    r"cookie|consent|privacy|datenschutz|einwilligung|zustimm|privasi|confidentialité|"
    r"privacidad|tracking|partner",
    re.IGNORECASE,
)
EMAIL_INPUT = etree.XPath(
    ".//input[@type='email' or contains(translate(@name, 'EMAIL', 'email'), 'email')"
    " or contains(translate(@placeholder, 'EMAIL', 'email'), 'mail')"
    " or contains(translate(@id, 'EMAIL', 'email'), 'email')]"
)
FORM_XPATH = etree.XPath(".//form")
TEXTAREA_XPATH = etree.XPath(".//textarea")
PASSWORD_XPATH = etree.XPath(".//input[@type='password']")
# short controls only: the longest button/heading phrase in the rules has < 50 characters
BUTTON_MAX_CHARS = 60
HEADING_CHARS = (4, 50)
HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6", "strong", "b"})
# ...and these when they hold text only (no child element)
TEXT_HEADING_TAGS = frozenset({"p", "div", "span"})
HEADING_LIKE_TAGS = HEADING_TAGS | TEXT_HEADING_TAGS
IFRAME_XPATH = etree.XPath(".//iframe[@src]")
H1_XPATH = etree.XPath(".//h1")
NEWSLETTER_IFRAME = re.compile(r"newsletter|sign-?up|subscribe|optin|mailchimp", re.IGNORECASE)
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


@dataclass(frozen=True)
class Rules:
    """Compiled boilerplate rules (from ``boilerplate.toml``)."""

    languages: tuple[str, ...]
    # one group per DOM category: match.lastgroup names the category
    dom_marker: re.Pattern[str]
    marker_prefilter: Prefilter
    dialog_roles: frozenset[str]
    share_link: re.Pattern[str]
    share_prefilter: Prefilter
    consent_button: re.Pattern[str]
    newsletter_button: re.Pattern[str]
    comment_button: re.Pattern[str]
    paywall_button: re.Pattern[str]
    related_heading: re.Pattern[str]
    # (category, patterns anchored at the start, patterns matching anywhere)
    paragraph: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]
    paragraph_prefilter: Prefilter
    prose: re.Pattern[str]
    byline: re.Pattern[str]
    byline_anywhere: re.Pattern[str]
    agencies: frozenset[str]


@dataclass
class DomReport:
    """What the DOM layer removed, by category, and whether a paywall box was seen."""

    removed: dict[str, int] = field(default_factory=dict)
    paywall: bool = False


@dataclass
class TextReport:
    """What the text layer dropped, by category; authors found in bylines."""

    dropped: dict[str, int] = field(default_factory=dict)
    authors: list[str] = field(default_factory=list)
    paywall: bool = False


def _marker(pattern: str) -> str:
    # "^x$" means a whole class/id token; short markers must start a token ("cky-" is not
    # "sticky-"); long ones may sit inside camelCase or compound names
    if pattern.startswith("^") and pattern.endswith("$"):
        return rf"(?<!\S){pattern[1:-1]}(?!\S)"
    if len(pattern) < 6:
        return rf"(?<![a-z0-9]){pattern}"
    return pattern


def _anchored(pattern: str) -> bool:
    return pattern.startswith("^") and len(_split_alternatives(pattern)) == 1


def _alternation(patterns: list[str], full: bool = False) -> re.Pattern[str]:
    body = "|".join(f"(?:{p})" for p in patterns) or r"(?!x)x"
    return re.compile(rf"^(?:{body})$" if full else body)


REGEX_META = frozenset(".^$*+?{}[]|()")


def _literal_prefixes(pattern: str) -> list[str]:
    """Literal texts one of which starts every match of ``pattern`` ([] when unknown)."""
    alternatives = _split_alternatives(pattern)
    if len(alternatives) > 1:
        expanded = [_literal_prefixes(alternative) for alternative in alternatives]
        return [p for group in expanded for p in group] if all(expanded) else []
    pattern = pattern.lstrip("^")
    if pattern.startswith(("(?<!", "(?<=")):
        pattern = pattern[_group_end(pattern) + 1 :]
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("(?:", i):
            end = _group_end(pattern, i)
            if end < 0 or (end + 1 < len(pattern) and pattern[end + 1] in "?*{"):
                break
            head = "".join(out)
            inner = _split_alternatives(pattern[i + 3 : end])
            if all(_is_literal(alt) for alt in inner):
                tails = _literal_prefixes(pattern[end + 1 :]) if end + 1 < len(pattern) else [""]
                tails = tails or [""]
                found = [head + _unescape(alt) + tail for alt in inner for tail in tails]
            else:
                heads = [_literal_prefixes(alt) for alt in inner]
                if not all(heads):
                    break
                found = [head + h for group in heads for h in group]
            return found if len(found) <= 64 else [head]
        if char == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1].isalnum():
                break
            char, i = pattern[i + 1], i + 2
        elif char in REGEX_META:
            break
        else:
            i += 1
        if i < len(pattern) and pattern[i] in "?*{":
            break  # the char is optional
        out.append(char.lower())
    return ["".join(out)] if out else []


def _is_literal(text: str) -> bool:
    return not any(c in REGEX_META for c in re.sub(r"\\\W", "", text)) and not re.search(
        r"\\\w", text
    )


def _unescape(text: str) -> str:
    return re.sub(r"\\(\W)", r"\1", text).lower()


def _group_end(pattern: str, start: int = 0) -> int:
    depth = 0
    for i in range(start, len(pattern)):
        char = pattern[i]
        if char == "\\" or (i > 0 and pattern[i - 1] == "\\"):
            continue
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return i
    return -1


def _split_alternatives(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(body):
        if i > 0 and body[i - 1] == "\\":
            continue
        depth += char == "("
        depth -= char == ")"
        if char == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


def _trie(words: set[str]) -> list[str]:
    """Top-level branches of a trie regex matching any of ``words``.

    Kept as separate branches, each starting with a literal, so that re can skip ahead
    with a first-character set (sre's charset prefix) instead of trying every position.
    """
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True

    def emit(node: dict) -> str:
        if "" in node:
            return ""  # a shorter word already matches: longer ones add nothing to a prefilter
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return [re.escape(char) + emit(child) for char, child in sorted(tree.items())]


# shorter literal prefixes ("the ", "die ") would let most prose through the text prefilter;
# class names are short tokens, 3 letters ("cmp", "nl-") are selective enough there
MIN_PREFIX = 5


@dataclass(frozen=True)
class Prefilter:
    """A fast test for "could any of these patterns match here?".

    Python's re tries every branch of an alternation at every position. Most patterns
    start with a literal word: a trie of those words (one regex) rejects most text after
    a character comparison, and ``positions`` finds them all in one Aho-Corasick pass.
    ^-anchored patterns without a literal start are only tried at the start.
    """

    anywhere: re.Pattern[str]
    at_start: re.Pattern[str]
    words: tuple[str, ...]
    start_words: tuple[str, ...]
    others: re.Pattern[str] | None
    start_others: re.Pattern[str] | None
    # words, then start_words: a match's index tells which list it came from
    finder: AhoCorasick | None

    @classmethod
    def build(cls, patterns: list[str], min_prefix: int = MIN_PREFIX) -> Prefilter:
        words: dict[bool, set[str]] = {True: set(), False: set()}
        others: dict[bool, list[str]] = {True: [], False: []}
        for pattern in patterns:
            anchored = _anchored(pattern)
            prefixes = _literal_prefixes(pattern)
            if prefixes and all(len(prefix) >= min_prefix for prefix in prefixes):
                words[anchored].update(prefixes)
            else:
                others[anchored].append(pattern)

        def compile_(anchored: bool, branches: list[str]) -> re.Pattern[str] | None:
            if not branches:
                return None
            # MULTILINE: ^ also matches after each "\n" of a joined batch (see _hits)
            body = "|".join(branches)
            return re.compile(f"^(?:{body})", re.MULTILINE) if anchored else re.compile(body)

        never = re.compile(r"(?!x)x")
        anywhere_words = tuple(sorted(_minimal(words[False])))
        start_words = tuple(sorted(_minimal(words[True])))
        return cls(
            anywhere=compile_(False, _trie(words[False]) + others[False]) or never,
            at_start=compile_(True, _trie(words[True]) + others[True]) or never,
            words=anywhere_words,
            start_words=start_words,
            others=compile_(False, others[False]),
            start_others=compile_(True, others[True]),
            finder=AhoCorasick(anywhere_words + start_words) if anywhere_words or start_words else None,
        )

    def search(self, text: str) -> bool:
        return bool(self.anywhere.search(text) or self.at_start.match(text))

    def positions(self, text: str) -> Iterator[int]:
        """Where matches may start in ``text`` (lines count as starts for ^-patterns)."""
        if self.finder is not None:
            anywhere = len(self.words)
            for index, at, _end in self.finder.find_matches_as_indexes(text, overlapping=True):
                if index < anywhere or at == 0 or text[at - 1] == "\n":
                    yield at
        for pattern in (self.others, self.start_others):
            if pattern is not None:
                yield from (match.start() for match in pattern.finditer(text))


def _minimal(words: set[str]) -> set[str]:
    """Drop words that contain a shorter word of the set (the shorter one finds them)."""
    kept: set[str] = set()
    for word in sorted(words, key=len):
        if not any(other in word for other in kept):
            kept.add(word)
    return kept


UPPER_LITERAL = re.compile(r"(?<!\\)[A-ZÀ-Þ]")


def _check_lowercase(data: dict, where: str = "") -> None:
    # text is lowercased before matching (case-insensitive regexes are ~5x slower)
    for key, value in data.items():
        if isinstance(value, dict):
            _check_lowercase(value, f"{where}{key}.")
        elif isinstance(value, list) and key != "agencies":
            for pattern in value:
                if UPPER_LITERAL.search(pattern):
                    raise ValueError(
                        f"{RULES_FILE.name}: {where}{key}: write {pattern!r} in lower case"
                    )


@functools.cache
def load_rules(languages: tuple[str, ...] = LANGUAGES) -> Rules:
    """Compile the rules for these languages (cached: built once per process)."""
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    _check_lowercase(data)
    dom = data["dom"]
    texts = [data["text"][lang] for lang in languages]

    def merged(key: str) -> list[str]:
        return [pattern for text in texts for pattern in text.get(key, [])]

    markers = "|".join(
        f"(?P<{cat}>" + "|".join(_marker(p) for p in dom[cat]) + ")" for cat in DOM_CATEGORIES
    )
    prefixes = "|".join(f"(?:{p})" for p in merged("byline_prefixes")) or r"(?!x)x"
    return Rules(
        languages=languages,
        dom_marker=re.compile(markers),
        marker_prefilter=Prefilter.build(
            [_marker(p) for cat in DOM_CATEGORIES for p in dom[cat]], min_prefix=3
        ),
        dialog_roles=frozenset(dom["roles"]),
        share_link=_alternation(dom["share_links"]),
        share_prefilter=Prefilter.build(dom["share_links"], min_prefix=3),
        consent_button=_alternation(merged("consent_buttons"), full=True),
        newsletter_button=_alternation(merged("newsletter_buttons"), full=True),
        comment_button=_alternation(merged("comment_buttons"), full=True),
        paywall_button=_alternation(merged("paywall_buttons"), full=True),
        related_heading=_alternation(merged("related_headings"), full=True),
        paragraph=tuple(
            (
                cat,
                _alternation([p for p in merged(cat) if _anchored(p)]),
                _alternation([p for p in merged(cat) if not _anchored(p)]),
            )
            for cat in TEXT_CATEGORIES
            if merged(cat)
        ),
        paragraph_prefilter=Prefilter.build([p for cat in TEXT_CATEGORIES for p in merged(cat)]),
        prose=_alternation(merged("prose")),
        byline=re.compile(rf"^(?:{prefixes})\s+(?P<rest>.+)$", re.IGNORECASE),
        byline_anywhere=re.compile(rf"\b(?:{prefixes})\s+(?=[A-ZÀ-Þ])", re.IGNORECASE),
        agencies=frozenset(a.casefold() for a in data["names"]["agencies"]),
    )


def normalise(text: str) -> str:
    """Collapse whitespace and fold typographic quotes (what the rules are written against)."""
    text = " ".join(text.split())
    return QUOTES.sub(lambda m: QUOTE_MAP[m.group()], text) if QUOTES.search(text) else text


def is_share_link(url: str, rules: Rules | None = None) -> bool:
    rules = rules or load_rules()
    url = url.lower()
    return rules.share_prefilter.search(url) and bool(rules.share_link.search(url))


# --- DOM layer --------------------------------------------------------------------------------


TEXT_LEN = etree.XPath("string-length(normalize-space())")
NORMALISED_TEXT = etree.XPath("normalize-space()")
PROSE_PARAGRAPHS_XPATH = etree.XPath(".//p[string-length(normalize-space()) >= $chars]")
PROSE_COUNT = etree.XPath(
    "count(descendant-or-self::p[string-length(normalize-space()) >= $chars])"
)
HREF_VALUES = etree.XPath(".//a/@href")
IN_BODY = etree.XPath("boolean(ancestor::body)")
XML_SPACE = re.compile(r"[ \t\r\n]+")


def _text_len(elem: etree._Element) -> int:
    return int(TEXT_LEN(elem))


def _heading_length(text: str) -> bool:
    """Whether a text is as long as a heading that names a box, after XPath's normalize-space."""
    shortest, longest = HEADING_CHARS
    if len(text) < shortest:
        return False
    if len(text) > longest:
        spaces = text.count(" ") + text.count("\n") + text.count("\t") + text.count("\r")
        if len(text) - spaces > longest:
            return False  # a paragraph: its characters other than spaces are too many already
    return shortest <= len(XML_SPACE.sub(" ", text).strip(" ")) <= longest


def _has_child_element(elem: etree._Element) -> bool:
    return isinstance(elem[0].tag, str) or next(elem.iterchildren("*"), None) is not None


def _text(elem: etree._Element) -> str:
    return normalise(NORMALISED_TEXT(elem))


def _attributes(elem: etree._Element) -> str:
    return " ".join(v for k, v in elem.items() if k in MARKER_ATTRIBUTES).lower()


def _hits(values: list[str], prefilter: Prefilter) -> list[int]:
    """Indexes of the values the prefilter may match, in order.

    One scan over all values joined costs far less than a regex call per element.
    """
    if not values:
        return []
    starts, offset = [], 0
    for value in values:
        starts.append(offset)
        offset += len(value) + 1
    joined = "\n".join(values).lower()
    return sorted({bisect.bisect_right(starts, at) - 1 for at in prefilter.positions(joined)})


MARKER_NAMES = frozenset(MARKER_ATTRIBUTES)
# byline markup (dom_authors): rel/itemprop "author", or these attributes containing
# "author" or "byline"
BYLINE_MARKED = frozenset({"class", "id", "data-testid"})
NO_BYLINE_TAGS = frozenset({"meta", "link", "script", "style", "img"})


@dataclass
class PageScan:
    """The candidates of every DOM rule, in document order, found in one pass over the
    page's elements (a Python pass costs about half of the XPath queries it replaces:
    libxml2 evaluates attribute predicates slowly). A rule filters its candidates against
    the tree as it is when the rule runs, as its query would have."""

    dialogs: list[etree._Element] = field(default_factory=list)
    # one entry per marker attribute (id, class, data-* ...): its element and its value
    marked: list[etree._Element] = field(default_factory=list)
    marker_values: list[str] = field(default_factory=list)
    headings: list[etree._Element] = field(default_factory=list)
    buttons: list[etree._Element] = field(default_factory=list)
    bylines: list[etree._Element] = field(default_factory=list)


def scan_page(tree: etree._Element, rules: Rules | None = None) -> PageScan:
    """Collect the candidates of the DOM rules below the root of ``tree``."""
    dialog_roles = (rules or load_rules()).dialog_roles
    scan = PageScan()
    # (bound once: this loop runs for every element of every page)
    mark, note_value = scan.marked.append, scan.marker_values.append
    marker_names, byline_marked, heading_like = MARKER_NAMES, BYLINE_MARKED, HEADING_LIKE_TAGS
    for elem in tree.iterdescendants():
        tag = elem.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        role, modal, byline = None, False, False
        for name, value in elem.items():
            if name in marker_names:
                mark(elem)
                note_value(value)
                if name in byline_marked and (
                    "author" in value
                    or "byline" in value
                    or (name == "data-testid" and value == "AuthorCard")
                ):
                    byline = True
            elif name == "role":
                role = value
            elif name == "aria-modal":
                modal = value == "true"
            elif name in ("rel", "itemprop") and value == "author":
                byline = True
        if modal or role in dialog_roles:
            scan.dialogs.append(elem)
        if tag in heading_like or role == "heading":
            if not len(elem):
                # the text of an element without children stays as it is: measured now
                if _heading_length(elem.text or ""):
                    scan.headings.append(elem)
            elif tag in HEADING_TAGS or role == "heading" or not _has_child_element(elem):
                scan.headings.append(elem)  # measured when the rule runs: boxes in it may go
        if tag == "button" or role == "button" or (
            tag == "input" and elem.get("type") in ("submit", "button")
        ):
            scan.buttons.append(elem)
        if byline and tag not in NO_BYLINE_TAGS:
            scan.bylines.append(elem)
    return scan


def _within(elem: etree._Element, root: etree._Element) -> bool:
    return any(ancestor is root for ancestor in elem.iterancestors())


class _Pruner:
    """Removes elements from one tree, refusing to remove what holds the article."""

    def __init__(self, tree: HtmlElement, report: DomReport, rules: Rules) -> None:
        self.root = tree
        self.report = report
        self.rules = rules
        self._page_chars: int | None = None

    @property
    def page_chars(self) -> int:
        if self._page_chars is None:
            body = self.root.find("body")
            self._page_chars = max(_text_len(body if body is not None else self.root), 1)
        return self._page_chars

    def prose_outside(self, parent: etree._Element, box: etree._Element) -> int:
        """Paragraphs of ``parent`` outside ``box`` that read like article text (long enough
        and not boilerplate by the text rules, unlike a box's blurb and disclaimer)."""
        inside = set(box.iter("p"))
        count = 0
        for p in PROSE_PARAGRAPHS_XPATH(parent, chars=PROSE_CHARS):
            if p not in inside and paragraph_category(NORMALISED_TEXT(p), self.rules) is None:
                count += 1
                if count >= 2:
                    break
        return count

    def attached(self, elem: etree._Element) -> bool:
        # a removed element's subtree stays in the same lxml document (getroottree() still
        # finds <html>), but it has lost its <body> ancestor; <head> content is left alone
        return bool(IN_BODY(elem))

    def protected(
        self, elem: etree._Element, prose_check: bool = True, chars: int | None = None
    ) -> bool:
        if not isinstance(elem.tag, str) or elem.tag in NEVER_REMOVE:
            return True
        if H1_XPATH(elem):
            return True
        chars = _text_len(elem) if chars is None else chars
        if chars < PROSE_CHARS:
            return False
        if chars > PAGE_SHARE_MIN_CHARS and chars > MAX_PAGE_SHARE * self.page_chars:
            return True
        return prose_check and PROSE_COUNT(elem, chars=PROSE_CHARS) >= PROSE_PARAGRAPHS

    def remove(self, elem: etree._Element, category: str) -> bool:
        parent = elem.getparent()
        if parent is None or not self.attached(elem):
            return False
        # keep the tail: it is text of the parent that follows the removed element
        if elem.tail and elem.tail.strip():
            prev = elem.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + elem.tail
            else:
                parent.text = (parent.text or "") + elem.tail
        parent.remove(elem)
        self.report.removed[category] = self.report.removed.get(category, 0) + 1
        return True

    def box(self, elem: etree._Element, max_chars: int) -> etree._Element:
        """The largest ancestor-or-self of ``elem`` that still looks like a small box."""
        box = elem
        parent = elem.getparent()
        while parent is not None and parent.tag not in CLIMB_STOP:
            chars = _text_len(parent)
            if chars > max_chars or self.protected(parent, prose_check=False, chars=chars):
                break
            if self.prose_outside(parent, box) >= 2:
                break  # article prose beside the box: the parent is the article
            box = parent
            parent = box.getparent()
        return box


def clean_tree(
    tree: HtmlElement, rules: Rules | None = None, scan: PageScan | None = None
) -> DomReport:
    """Remove boilerplate boxes from ``tree`` in place (run before trafilatura).

    ``scan``: ``scan_page(tree)``, when the caller has it already."""
    rules = rules or load_rules()
    scan = scan or scan_page(tree, rules)
    report = DomReport()
    pruner = _Pruner(tree, report, rules)
    _by_roles(pruner, scan)
    _by_markers(pruner, scan, rules)
    _by_forms(pruner, tree)
    _by_buttons(pruner, scan, rules)
    _by_headings(pruner, scan, rules)
    _by_share_links(pruner, tree, rules)
    return report


def _by_roles(pruner: _Pruner, scan: PageScan) -> None:
    for elem in scan.dialogs:
        if pruner.attached(elem) and not pruner.protected(elem):
            category = "consent" if CONSENT_WORDS.search(_attributes(elem)) else "dialog"
            pruner.remove(elem, category)


def _by_markers(pruner: _Pruner, scan: PageScan, rules: Rules) -> None:
    seen: set[etree._Element] = set()
    for index in _hits(scan.marker_values, rules.marker_prefilter):
        elem = scan.marked[index]
        if elem in seen or elem.tag in SKIP_MARKED or not pruner.attached(elem):
            continue
        seen.add(elem)
        found = rules.dom_marker.search(_attributes(elem))
        category = found.lastgroup if found else None
        if category is None or pruner.protected(elem):
            continue
        if elem.tag == "p" and _text_len(elem) >= 2 * PROSE_CHARS:
            continue  # a marker on a long paragraph names its context, not the paragraph
        if category == "paywall":
            # sites also mark the content *behind* the paywall (class="paywall" on every
            # <p> at wired.com, "piano-inline-content" at businessinsider.com): only a box
            # that asks for a subscription, with no prose in it, is a paywall
            if (
                _text_len(elem) > PAYWALL_MARKED_CHARS
                or PROSE_COUNT(elem, chars=2 * PROSE_CHARS)
                or not PAYWALL_WORDS.search(_text(elem))
            ):
                continue
            pruner.report.paywall = (
                pruner.report.paywall or _text_len(elem) >= PAYWALL_BOX_MIN_CHARS
            )
        pruner.remove(elem, category)


def _by_forms(pruner: _Pruner, tree: HtmlElement) -> None:
    for form in FORM_XPATH(tree):
        if not pruner.attached(form):
            continue
        if TEXTAREA_XPATH(form):
            pruner.remove(pruner.box(form, COMMENT_BOX_CHARS), "comments")
        elif EMAIL_INPUT(form) or PASSWORD_XPATH(form):
            pruner.remove(pruner.box(form, NEWSLETTER_BOX_CHARS), "newsletter")
    for field_ in EMAIL_INPUT(tree):  # e-mail fields outside any form (JS-submitted boxes)
        if pruner.attached(field_):
            pruner.remove(pruner.box(field_, NEWSLETTER_BOX_CHARS), "newsletter")
    for frame in IFRAME_XPATH(tree):
        if pruner.attached(frame) and NEWSLETTER_IFRAME.search(frame.get("src", "")):
            pruner.remove(pruner.box(frame, NEWSLETTER_BOX_CHARS), "newsletter")


def _control_text(elem: etree._Element) -> str:
    if elem.tag == "input":
        return normalise(elem.get("value") or elem.get("aria-label") or "")
    return _text(elem) or normalise(elem.get("aria-label") or elem.get("title") or "")


def _by_buttons(pruner: _Pruner, scan: PageScan, rules: Rules) -> None:
    controls = [c for c in scan.buttons if _text_len(c) <= BUTTON_MAX_CHARS]
    for control in controls:
        if not pruner.attached(control):
            continue
        text = _control_text(control).rstrip(" .!→›>»").strip().lower()
        if not text or len(text) > 60:
            continue
        if rules.consent_button.match(text):
            box = pruner.box(control, CONSENT_BOX_CHARS)
            if box is not control and CONSENT_WORDS.search(_text(box)):
                pruner.remove(box, "consent")
        elif rules.newsletter_button.match(text):
            box = pruner.box(control, NEWSLETTER_BOX_CHARS)
            if box is not control and NEWSLETTER_WORDS.search(_text(box)):
                pruner.remove(box, "newsletter")
        elif rules.comment_button.match(text):
            pruner.remove(pruner.box(control, COMMENT_BOX_CHARS), "comments")
        elif rules.paywall_button.match(text):
            # no paywall flag from here: every page of a subscription site has such a button
            box = pruner.box(control, PAYWALL_BOX_CHARS)
            if box is not control:
                pruner.remove(box, "paywall")


LINK_TEXTS = etree.XPath(".//a//text()", smart_strings=False)
LINK_COUNT = etree.XPath("count(.//a)")


def _link_density(elem: etree._Element, skip: etree._Element | None = None) -> tuple[float, int]:
    """Share of ``elem``'s text inside links, and its number of links (``skip`` excluded)."""
    total = _text_len(elem)
    linked = len(" ".join("".join(LINK_TEXTS(elem)).split()))
    count = int(LINK_COUNT(elem))
    if skip is not None:
        total -= _text_len(skip)
        linked -= len(" ".join("".join(LINK_TEXTS(skip)).split()))
        count -= int(LINK_COUNT(skip))
    return (linked / total if total > 0 else 0.0), count


def _by_headings(pruner: _Pruner, scan: PageScan, rules: Rules) -> None:
    headings = [
        elem
        for elem in scan.headings
        if not len(elem) or HEADING_CHARS[0] <= _text_len(elem) <= HEADING_CHARS[1]
    ]
    for heading in headings:
        text = NORMALISED_TEXT(heading).rstrip(" :.»›>").lower()
        if not rules.related_heading.match(normalise(text)) or not pruner.attached(heading):
            continue
        # RELATED_LINK_DENSITY: on the dev corpus and fixtures the teaser lists and menus
        # above such headings measured 0.36-1.0; article containers reached by a climb
        # measured <= 0.20; teaser lists with long summaries (0.23-0.31) stay for trafilatura
        box = heading
        parent = heading.getparent()
        while parent is not None and parent.tag not in CLIMB_STOP:
            if _text_len(parent) > RELATED_BOX_CHARS:
                break
            density, count = _link_density(parent, skip=heading)
            if count < 2 or density < RELATED_LINK_DENSITY or pruner.protected(parent):
                break
            box = parent
            parent = box.getparent()
        if box is heading:
            sibling = heading.getnext()
            if sibling is not None and isinstance(sibling.tag, str):
                density, count = _link_density(sibling)
                if count >= 2 and density >= RELATED_LINK_DENSITY and not pruner.protected(sibling):
                    pruner.remove(sibling, "related")
        pruner.remove(box, "related")


def _by_share_links(pruner: _Pruner, tree: HtmlElement, rules: Rules) -> None:
    hrefs = HREF_VALUES(tree)
    for href in (hrefs[index] for index in _hits(hrefs, rules.share_prefilter)):
        link = href.getparent()
        if rules.share_link.search(href.lower()) and pruner.attached(link):
            parent = link.getparent()
            target = (
                parent if parent is not None and parent.tag == "li" and len(parent) == 1 else link
            )
            pruner.remove(target, "share")


# --- text layer -------------------------------------------------------------------------------


def paragraph_category(text: str, rules: Rules | None = None) -> str | None:
    """The boilerplate category of one paragraph, or None when it is article text."""
    rules = rules or load_rules()
    text = normalise(text).lower()
    if not text:
        return None
    if len(text.split()) > MAX_WORDS or not rules.paragraph_prefilter.search(text):
        return None
    if rules.prose.search(text):
        return None  # "..., the minister said": reporting, whatever words it quotes
    chars = len(text) - text.count(" ")
    spans: list[tuple[int, int]] = []
    best, best_cover = None, 0
    for category, at_start, anywhere in rules.paragraph:
        found = [m.span() for m in anywhere.finditer(text) if m.end() > m.start()]
        first = at_start.match(text)
        if first and first.end() > 0:
            found.append(first.span())
        cover = sum(end - start - text.count(" ", start, end) for start, end in found)
        if cover > best_cover:
            best, best_cover = category, cover
        spans.extend(found)
    if best is None:
        return None
    covered, reach = 0, 0
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            covered += end - start - text.count(" ", start, end)
            reach = end
    return best if covered >= MIN_COVERAGE * chars else None


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
    for elem in [elem for elem in candidates if _within(elem, tree)][:12]:
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


LIST_MARKER = re.compile(r"^(?:[-*•]|\d+\.)\s+")


def clean_paragraphs(
    paragraphs: list[str], rules: Rules | None = None, *, title: str | None = None
) -> tuple[list[str], TextReport]:
    """Drop boilerplate paragraphs (as rendered from trafilatura's output), keep the rest."""
    rules = rules or load_rules()
    report = TextReport()
    title_key = normalise(title).casefold() if title else None
    kept: list[str] = []
    last = len(paragraphs) - 1
    for index, paragraph in enumerate(paragraphs):
        # list items render as "- text": judge the text
        text = LIST_MARKER.sub("", normalise(paragraph))
        category = None
        if not text:
            category = "empty"
        elif index < 3 and title_key and text.casefold() == title_key:
            category = "title"
        elif index < BYLINE_HEAD or index > last - BYLINE_TAIL:
            names = parse_byline(text, rules)
            if names:
                category = "byline"
                report.authors.extend(n for n in names if n not in report.authors)
        if category is None:
            category = paragraph_category(text, rules)
        if category is None:
            kept.append(paragraph)
            continue
        report.paywall = report.paywall or category == "paywall"
        report.dropped[category] = report.dropped.get(category, 0) + 1
    return kept, report
