"""The text layer (``clean_paragraphs``, on trafilatura's output): drops paragraphs that are
boilerplate by what they say, with the phrase lists per language. A paragraph goes only when
it is short and the phrases cover most of it, so real sentences that mention cookies or
newsletters stay. Bylines become authors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.extract.cleaning.authors import credit_line, parse_byline
from crawler.extract.cleaning.rules import (
    Rules,
    label_word,
    load_rules,
    normalise,
    paragraph_category,
    text_key,
)

CREDIT_MAX_CHARS = 120

# bylines are looked for among the first and last few paragraphs only
BYLINE_HEAD, BYLINE_TAIL = 4, 2
LIST_MARKER = re.compile(r"^(?:[-*•]|\d+\.)\s+")


@dataclass
class TextReport:
    """What the text layer dropped, by category; authors found in bylines."""

    dropped: dict[str, int] = field(default_factory=dict)
    authors: list[str] = field(default_factory=list)
    # names a credit line in the text gives as editors ("Editor : Heryadi"): never authors
    editors: list[str] = field(default_factory=list)
    paywall: bool = False


# a kicker before the headline, when the headline block comes out as one paragraph
KICKER_MAX_CHARS = 60


def clean_paragraphs(
    paragraphs: list[str],
    rules: Rules | None = None,
    *,
    title: str | None = None,
    headlines: tuple[str | None, ...] = (),
) -> tuple[list[str], TextReport]:
    """Drop boilerplate paragraphs (as rendered from trafilatura's output), keep the rest.

    ``title`` and ``headlines`` (the page's h1): the headline is no body text."""
    rules = rules or load_rules()
    report = TextReport()
    title_key = normalise(title).casefold() if title else None
    headline_keys = {text_key(h) for h in (title, *headlines) if h and len(text_key(h)) >= 10}
    kept: list[str] = []
    last = len(paragraphs) - 1
    for index, paragraph in enumerate(paragraphs):
        # list items render as "- text": judge the text
        text = LIST_MARKER.sub("", normalise(paragraph))
        category = None
        if not text or not any(c.isalnum() for c in text):
            category = "empty"  # markup left without its words: "()", "|", "•"
        elif index < 3 and (
            (title_key and text.casefold() == title_key) or _is_headline(text, headline_keys)
        ):
            category = "title"
        elif len(text) <= CREDIT_MAX_CHARS and label_word(text) in rules.label_words:
            category = _credit(text, rules, report)
        if category is None and (index < BYLINE_HEAD or index > last - BYLINE_TAIL):
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


def _is_headline(text: str, headline_keys: set[str]) -> bool:
    """The headline at the top of the text: the title or the h1 when they differ (an
    og:title reworded for social media: independent.co.uk, techradar.com), or the headline
    after its kicker in one block ('Angebliche "Dekolonisierung" :Warum Putin ...', zdf.de).
    A prefix with a number is a dateline of the body ("新华社北京4月24日电 题：<headline>")."""
    if not headline_keys or len(text) > 400:
        return False
    key = text_key(text)
    for headline in headline_keys:
        kicker = key[: len(key) - len(headline)]
        if (
            key.endswith(headline)
            and len(kicker) <= KICKER_MAX_CHARS
            and not any(c.isdigit() for c in kicker)
        ):
            return True
    return False


def _credit(text: str, rules: Rules, report: TextReport) -> str | None:
    """A credit line ("Editor : X", "Autor: X") is no text: its names go to the report."""
    credit = credit_line(text, rules)
    if credit is None:
        return None
    kind, names = credit
    target = report.editors if kind == "editor" else report.authors
    target.extend(n for n in names if n not in target)
    return "credits" if kind == "editor" else "byline"
