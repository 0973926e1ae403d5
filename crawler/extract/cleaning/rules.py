"""The boilerplate rules: phrase lists per language and category (``boilerplate.toml``, beside
this module), compiled once into regexes and a literal prefilter, and ``paragraph_category``, the
phrase test both layers apply to a paragraph, with its calibrated thresholds."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ahocorasick_rs import AhoCorasick

RULES_FILE = Path(__file__).with_name("boilerplate.toml")
LANGUAGES = ("en", "de", "id", "fr", "es", "zh")
DOM_CATEGORIES = (
    "consent",
    "newsletter",
    "comments",
    "share",
    "related",
    "author_bio",
    "error_report",
    "paywall",
)
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
# Text layer: a paragraph is dropped when it has at most MAX_WORDS words and the matched
# phrases cover at least MIN_COVERAGE of its characters. Measured on the dev corpus and
# fixtures: dropped paragraphs had <= 68 words and coverage >= 0.85; kept paragraphs with
# some matched phrase had coverage <= 0.05. The word limit leaves room for long consent
# texts; the coverage threshold sits between the two groups.
MAX_WORDS = 120
MIN_COVERAGE = 0.5

# str.translate with a mapping looks up every character in a dict; replacing only the
# characters present is ~20x faster on long texts
QUOTES = re.compile("[„“”«»‘’]")
QUOTE_MAP = {"„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'"}


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
    appeal_button: re.Pattern[str]
    related_heading: re.Pattern[str]
    source_heading: re.Pattern[str]
    footnote_heading: re.Pattern[str]
    subscribe: re.Pattern[str]
    # could a text hold a source or footnote lead-in? (before looking for one)
    lead_in_prefilter: Prefilter
    lead_in_at: re.Pattern[str]
    # (category, patterns anchored at the start, patterns matching anywhere)
    paragraph: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]
    paragraph_prefilter: Prefilter
    prose: re.Pattern[str]
    byline: re.Pattern[str]
    byline_anywhere: re.Pattern[str]
    # a credit line: "Autor: X", "Editor : X", "(责编：X、Y)"; groups author/editor, rest
    credit_label: re.Pattern[str]
    # the first words of the credit labels (a cheap test before credit_label)
    label_words: frozenset[str]
    agencies: frozenset[str]
    # agencies as they spell themselves ("dpa", "AFP", "Reuters"), by their casefolded name
    agency_spelling: dict[str, str]


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
            finder=AhoCorasick(anywhere_words + start_words)
            if anywhere_words or start_words
            else None,
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


def _literals(texts: list[str]) -> str:
    # longest first: "autorin/autor" before "autor"
    return "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)) or r"(?!x)x"


def _label_word(label: str) -> str:
    """The first word of a credit label: its first two characters in scripts without spaces."""
    word = label.split()[0]
    return word if word.isascii() or word[0].isalpha() and ord(word[0]) < 0x2E80 else word[:2]


def label_word(text: str) -> str:
    """The word of a text to look up in Rules.label_words (see _label_word)."""
    text = text.lstrip(" \t\n([（").lower()
    word = re.split(r"[\s:：]", text, maxsplit=1)[0]
    return word if not word or ord(word[0]) < 0x2E80 else word[:2]


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
        appeal_button=_alternation(merged("appeal_buttons"), full=True),
        related_heading=_alternation(merged("related_headings"), full=True),
        source_heading=_alternation(merged("source_headings"), full=True),
        footnote_heading=_alternation(merged("footnote_headings"), full=True),
        subscribe=re.compile(r"\b(?:" + _alternation(merged("subscribe_phrases")).pattern + r")\b"),
        lead_in_prefilter=Prefilter.build(
            merged("source_headings") + merged("footnote_headings"), min_prefix=4
        ),
        # a lead-in word is a label: a colon, the end, or (a heading run into the next text)
        # a capital letter or number follows it; "sources said" is no lead-in
        lead_in_at=re.compile(
            "(?i:"
            + _alternation(merged("source_headings") + merged("footnote_headings")).pattern
            + ")"
            r"(?=\s*:|\s*$|[A-Z0-9\[(])"
        ),
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
        credit_label=re.compile(
            r"^[(（\[]?\s*(?:(?P<editor>"
            + _literals(merged("editor_labels"))
            + r")|(?P<author>"
            + _literals(merged("author_labels"))
            + r"))(?:\s*[:：]\s*|\s+|$)(?P<rest>.*?)[)）\]]?$",
            re.IGNORECASE,
        ),
        label_words=frozenset(
            _label_word(label) for label in merged("author_labels") + merged("editor_labels")
        ),
        agencies=frozenset(a.casefold() for a in data["names"]["agencies"]),
        agency_spelling={a.casefold(): a for a in data["names"]["agencies"]},
    )


def normalise(text: str) -> str:
    """Collapse whitespace and fold typographic quotes (what the rules are written against)."""
    text = " ".join(text.split())
    return QUOTES.sub(lambda m: QUOTE_MAP[m.group()], text) if QUOTES.search(text) else text


NON_WORD = re.compile(r"\W+")


def text_key(text: str) -> str:
    """Text as compared with other text: case folded, only its letters and digits (a headline,
    a name or a summary matches whatever its spacing, punctuation and quotes)."""
    return NON_WORD.sub("", text.casefold())


def is_share_link(url: str, rules: Rules | None = None) -> bool:
    rules = rules or load_rules()
    url = url.lower()
    return rules.share_prefilter.search(url) and bool(rules.share_link.search(url))


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
