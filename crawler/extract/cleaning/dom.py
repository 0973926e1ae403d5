"""The DOM layer (``clean_tree``, before trafilatura): removes consent managers, newsletter and
comment forms, share bars, "recommended" blocks and paywall boxes, found by markup: attribute
markers (id, class, aria-label, data-*), roles, forms with e-mail inputs or text areas,
buttons that say "accept all" / "subscribe", headings that say "related". From a form or
button it climbs to the smallest enclosing box that holds little text, so boxes with
meaningless class names go too."""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.cleaning.rules import (
    Prefilter,
    Rules,
    label_word,
    load_rules,
    normalise,
    paragraph_category,
    text_key,
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
# ...unless this share of its text is inside links (see _teaser_list)
TEASER_LIST_DENSITY = 0.9
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
# h1 too: pages with a heading per box give the "You might also like" box an h1 as well
# (taipeitimes.com); a box heading is matched as a whole, never an article's headline
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "strong", "b"})
# ...and these when they hold text only (no child element)
TEXT_HEADING_TAGS = frozenset({"p", "div", "span"})
HEADING_LIKE_TAGS = HEADING_TAGS | TEXT_HEADING_TAGS
IFRAME_XPATH = etree.XPath(".//iframe[@src]")
# the headline that marks the article's box: an h1 inside a link heads a teaser card
# (taipeitimes.com's "You might also like" cards: <a><h1>..</h1><p>summary</p></a>)
H1_XPATH = etree.XPath(".//h1[not(ancestor::a)]")
NEWSLETTER_IFRAME = re.compile(r"newsletter|sign-?up|subscribe|optin|mailchimp", re.IGNORECASE)


@dataclass
class DomReport:
    """What the DOM layer removed, by category, and whether a paywall box was seen."""

    removed: dict[str, int] = field(default_factory=dict)
    paywall: bool = False


TEXT_LEN = etree.XPath("string-length(normalize-space())")
NORMALISED_TEXT = etree.XPath("normalize-space()")
PROSE_PARAGRAPHS_XPATH = etree.XPath(".//p[string-length(normalize-space()) >= $chars]")
# paragraphs of prose; one inside a link is a teaser's summary, never the article's
PROSE_COUNT = etree.XPath(
    "count(descendant-or-self::p[not(ancestor::a)][string-length(normalize-space()) >= $chars])"
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


def _hits(values: list[str], prefilter: Prefilter, joined: _Joined | None = None) -> list[int]:
    """Indexes of the values the prefilter may match, in order.

    One scan over all values joined costs far less than a regex call per element.
    """
    if not values:
        return []
    joined = joined or _Joined(values)
    return joined.indexes(prefilter.positions(joined.text))


class _Joined:
    """Values joined in one lower-cased text, and where each starts."""

    def __init__(self, values: list[str]) -> None:
        self.starts, offset = [], 0
        for value in values:
            self.starts.append(offset)
            offset += len(value) + 1
        self.text = "\n".join(values).lower()

    def indexes(self, positions: Iterable[int]) -> list[int]:
        return sorted({bisect.bisect_right(self.starts, at) - 1 for at in positions})

    def find(self, words: tuple[str, ...]) -> list[int]:
        """Indexes of the values that contain one of ``words``."""
        positions = []
        for word in words:
            at = self.text.find(word)
            while at >= 0:
                positions.append(at)
                at = self.text.find(word, at + 1)
        return self.indexes(positions)


MARKER_NAMES = frozenset(MARKER_ATTRIBUTES)
# byline markup (dom_authors): rel/itemprop "author", or these attributes containing
# "author" or "byline"
BYLINE_MARKED = frozenset({"class", "id", "data-testid"})
NO_BYLINE_TAGS = frozenset({"meta", "link", "script", "style", "img"})


# elements that hold a credit line ("Autor: X" in a <p>, <strong>Autorin/Autor</strong> X)
CREDIT_TAGS = frozenset(
    {"p", "div", "span", "li", "strong", "b", "em", "dt", "dd", "small", "address", "figcaption"}
)
CREDIT_MAX_CHARS = 120


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
    # links styled as buttons (class "button", "btn"): candidates of the appeal rule only
    link_buttons: list[etree._Element] = field(default_factory=list)
    bylines: list[etree._Element] = field(default_factory=list)
    # elements whose own text starts with a credit label ("Autor:", "Editor :", "责编：")
    credits: list[etree._Element] = field(default_factory=list)

    @functools.cached_property
    def joined_markers(self) -> _Joined:
        return _Joined(self.marker_values)


def scan_page(tree: etree._Element, rules: Rules | None = None) -> PageScan:
    """Collect the candidates of the DOM rules below the root of ``tree``."""
    rules = rules or load_rules()
    dialog_roles, label_words = rules.dialog_roles, rules.label_words
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
                if tag == "a" and name == "class" and ("button" in value or "btn" in value):
                    scan.link_buttons.append(elem)
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
        if (
            tag == "button"
            or role == "button"
            or (tag == "input" and elem.get("type") in ("submit", "button"))
        ):
            scan.buttons.append(elem)
        if byline and tag not in NO_BYLINE_TAGS:
            scan.bylines.append(elem)
        text = elem.text
        if (
            text is not None
            and tag in CREDIT_TAGS
            and len(text) <= CREDIT_MAX_CHARS
            and not text.isspace()
            and label_word(text) in label_words
        ):
            scan.credits.append(elem)
    return scan


def within(elem: etree._Element, root: etree._Element) -> bool:
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
        self,
        elem: etree._Element,
        prose_check: bool = True,
        chars: int | None = None,
        heading: etree._Element | None = None,
    ) -> bool:
        """``heading``: the box heading a rule climbs from (an h1 on some pages) does not
        count as the article's headline."""
        if not isinstance(elem.tag, str) or elem.tag in NEVER_REMOVE:
            return True
        if any(h1 is not heading for h1 in H1_XPATH(elem)):
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
        elem.drop_tree()  # its tail stays: text of the parent that follows it
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
    _by_appeals(pruner, scan, rules)
    _by_headings(pruner, scan, rules)
    _by_share_links(pruner, tree, rules)
    _join_initials(scan)
    return report


# a drop cap: the first letter of a paragraph set in its own element ("<span
# class='initial-letter'>N</span> <span>a endlich!</span>": taz.de, magazines' layouts),
# which the markup's whitespace would cut off its word ("N a endlich!")
DROP_CAP = re.compile(r"\binitial\b|drop-?cap|first-?letter|versal", re.IGNORECASE)
DROP_CAP_WORDS = ("initial", "dropcap", "drop-cap", "firstletter", "first-letter", "versal")


def _short_text(elem: etree._Element, limit: int) -> str | None:
    """The element's text if it has at most ``limit`` characters (read no further)."""
    found = ""
    for piece in elem.itertext():
        found += piece.strip()
        if len(found) > limit:
            return None
    return found


def _join_initials(scan: PageScan) -> None:
    for index in scan.joined_markers.find(DROP_CAP_WORDS):
        elem, value = scan.marked[index], scan.marker_values[index]
        if not DROP_CAP.search(value) or elem.getparent() is None:
            continue
        letter = _short_text(elem, 2)
        if not (letter and letter.isalpha()):
            continue
        top = elem
        while (
            (parent := top.getparent()) is not None
            and len(parent) == 1
            and not ((parent.text or "").strip() or (top.tail or "").strip())
        ):
            top = parent
        if top.tail and not top.tail.strip():
            top.tail = None
        if top.tail:
            top.tail = top.tail.lstrip()
        elif (after := top.getnext()) is not None and after.text:
            after.text = after.text.lstrip()


def _by_roles(pruner: _Pruner, scan: PageScan) -> None:
    for elem in scan.dialogs:
        if pruner.attached(elem) and not pruner.protected(elem):
            category = "consent" if CONSENT_WORDS.search(_attributes(elem)) else "dialog"
            pruner.remove(elem, category)


def _by_markers(pruner: _Pruner, scan: PageScan, rules: Rules) -> None:
    seen: set[etree._Element] = set()
    for index in _hits(scan.marker_values, rules.marker_prefilter, scan.joined_markers):
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


# a call to support the publisher and what it says around its button: the appeal boxes of
# reader-funded sites after the article (taz.de's "Jetzt unterstützen", "Support us",
# "Donate"); as large as a newsletter box
APPEAL_BOX_CHARS = 1500


def _by_appeals(pruner: _Pruner, scan: PageScan, rules: Rules) -> None:
    for control in [*scan.buttons, *scan.link_buttons]:
        if not pruner.attached(control) or _text_len(control) > BUTTON_MAX_CHARS:
            continue
        text = _control_text(control).rstrip(" .!→›>»").strip().lower()
        if text and rules.appeal_button.match(text):
            box = pruner.box(control, APPEAL_BOX_CHARS)
            if box is not control:
                pruner.remove(box, "appeal")


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


def _teaser_list(elem: etree._Element, heading: etree._Element) -> bool:
    """A box whose text is all but wholly links: teaser cards with their summaries, however
    long (taipeitimes.com: four cards, 3,400 characters, 99.9% linked); an article's box
    holds its paragraphs outside links."""
    density, count = _link_density(elem, skip=heading)
    return count >= 2 and density >= TEASER_LIST_DENSITY


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
            long = _text_len(parent) > RELATED_BOX_CHARS
            if long and not _teaser_list(parent, heading):
                break
            density, count = _link_density(parent, skip=heading)
            if (
                count < 2
                or density < RELATED_LINK_DENSITY
                or pruner.protected(parent, heading=heading)
            ):
                break
            box = parent
            parent = box.getparent()
        label_of = heading.getparent()
        if box is heading and label_of is not None and label_of.tag in ("p", "li"):
            # a label inline before its one link ("<p><b>Read more:</b> <a>...</a></p>"):
            # the paragraph is the pointer, not the label alone
            density, count = _link_density(label_of, skip=heading)
            if count >= 1 and density >= TEASER_LIST_DENSITY and not pruner.protected(label_of):
                box = label_of
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


# --- the standfirst ---------------------------------------------------------------------------

# where the words of a standfirst are not: a teaser link, menus, the page's footer, a caption
NOT_STANDFIRST = frozenset({"a", "nav", "footer", "aside", "figcaption", "button", "form"})
STANDFIRST_START = etree.XPath(
    ".//body//text()[contains(., $start)][not(parent::script or parent::style)]", smart_strings=True
)
PARAGRAPH_WITH = etree.XPath(".//body//p[contains(normalize-space(), $start)]")
# the dek shown under the headline, named by its class, where it words the summary otherwise
# than og:description (washingtonpost.com's h2.subheadline, stern.de's div.intro,
# boersen-zeitung.de's div.excerpt; WordPress "entry-excerpt", "standfirst", "dek")
DEK_CLASS = re.compile(
    r"(?<![a-z0-9])(?:standfirst|dek|sub-?headline|excerpt|intro|teaser-?text|lead-?text)(?![\w-])",
    re.IGNORECASE,
)
# elements after the headline searched for it, and the dek's length in characters
AFTER_HEADLINE = 40
DEK_CHARS = (40, 400)
DEK_TAGS = frozenset({"p", "div", "h2", "h3", "span", "section"})


def shown_standfirst(
    tree: HtmlElement, description: str | None, body_paragraph: str | None = None
) -> str | None:
    """The standfirst (dek, teaser text, Vorspann) as the page shows it above the body: an
    element whose whole text is the page's own summary (og:description / meta description)
    and that comes before ``body_paragraph`` (one from the middle of the text).
    trafilatura often leaves it out, in a header box above the body (theguardian.com's
    standfirst, telegraph.co.uk's e-standfirst, dw.com's teaser-text, spiegel.de,
    netzpolitik.org's entry-excerpt); a summary the page does not show, or shows after the
    body start (a card of the article in a list further down: techcrunch.com), is not taken.
    Where the page words its dek otherwise than its summary, the dek is the element under
    the headline whose class names it one (DEK_CLASS)."""
    found = None
    if description and len(description) >= 40:
        found = _element_with_text(tree, description)
    dek = _dek_after_headline(tree)
    if dek is not None and (found is None or _before(tree, dek, found)):
        found = dek  # the summary is a paragraph of the body further down (washingtonpost.com)
    if found is None:
        return None
    if body_paragraph and len(body_paragraph) >= 30:
        body = _element_with_text(tree, body_paragraph, whole=False)
        if body is not None and not _before(tree, found, body):
            return None
    return " ".join(found.text_content().split())


def _following(elem: etree._Element) -> Iterator[etree._Element]:
    """The elements after ``elem`` in document order (its descendants excluded)."""
    while elem is not None:
        for sibling in elem.itersiblings():
            yield sibling
            yield from sibling.iterdescendants()
        elem = elem.getparent()


def _dek_after_headline(tree: HtmlElement) -> etree._Element | None:
    headline = next(
        (h1 for h1 in tree.iter("h1") if not any(a.tag == "a" for a in h1.iterancestors())), None
    )
    if headline is None:
        return None
    for elem in itertools.islice(_following(headline), AFTER_HEADLINE):
        if not isinstance(elem.tag, str):
            continue  # a comment
        if elem.tag == "h1":
            return None  # the next article's headline
        if elem.tag not in DEK_TAGS or not DEK_CLASS.search(elem.get("class") or ""):
            continue
        if not DEK_CHARS[0] <= _text_len(elem) <= DEK_CHARS[1]:
            continue
        if any(a.tag in NOT_STANDFIRST for a in elem.iterancestors()) or LINK_COUNT(elem):
            continue
        return elem
    return None


def _element_with_text(tree: HtmlElement, text: str, whole: bool = True) -> etree._Element | None:
    """The first element of the body whose text is ``text`` (``whole``), or where it starts;
    not in a link, a menu, a footer, a caption."""
    wanted = text_key(text)
    for node in STANDFIRST_START(tree, start=text[:30]):
        elem = node.getparent()
        if elem is None:
            continue
        if node.is_tail:
            elem = elem.getparent()
        if not whole:
            return elem
        for _ in range(3):  # the text's element, or a wrapper of its inline parts
            if elem is None or elem.tag in NOT_STANDFIRST:
                break
            shown = text_key(elem.text_content() or "")
            if shown == wanted:
                if any(a.tag in NOT_STANDFIRST for a in elem.iterancestors()):
                    break
                return elem
            if not wanted.startswith(shown):
                break
            elem = elem.getparent()
    if not whole:  # the start split by inline markup ("<a>", "&nbsp;"): the paragraph holding it
        found = PARAGRAPH_WITH(tree, start=text[:30])
        return found[0] if found else None
    return None


def _before(tree: HtmlElement, first: etree._Element, second: etree._Element) -> bool:
    """Whether ``first`` starts before ``second`` in the page (an ancestor counts as before)."""
    for elem in tree.iter():
        if elem is first:
            return True
        if elem is second:
            return False
    return False
