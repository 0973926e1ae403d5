"""Citations: the sources an article cites, read from the article region of the page.

A link is a citation by where it stands, not by what trafilatura kept of it:

- ``inline``: a link in a paragraph of the article's text (the text the extraction kept);
- ``source_list``: a link in a list introduced by a lead-in ("Sources:", "Quellen",
  "Sumber:", "References"; ``source_headings`` in boilerplate.toml, per language), a heading
  or paragraph of its own or the start of the paragraph that holds the list;
- ``footnote``: a link in a footnote or endnote: the target of a short in-text marker
  (``<sup><a href="#fn1">1</a></sup>``), a list introduced by "Notes" / "Anmerkungen", or an
  element marked ``role="doc-endnotes"``;
- ``plain_url``: a URL written as text in any of these places ("- Reuters: https://...").

Not citations: anything in navigation, header, footer, asides, forms, figures (photo
credits) and comment sections, embedded posts, lists introduced by "Related" / "Mehr zum
Thema" / "Baca juga", lists of bare links nobody introduced (teasers), share links, tag,
topic and author pages, and the site's own section pages.

The article region is found from the extracted text: the smallest element holding most of
the paragraphs the extraction kept. Lead-ins are looked for there and after it, inside the
region's parent (source lists often follow the body in a box of their own). A document
without extracted text (``crawler ingest --from-document``) is its own article region.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.cleaning.rules import Rules, is_share_link, normalise

# A URL in running text; trailing punctuation that closes a sentence or bracket is not part of it.
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'«»“”‘’]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}>'\"”’»"

BLOCK_TAGS = frozenset(
    {"p", "li", "dd", "dt", "blockquote", "td", "th", "pre", "div", "section",
     "h1", "h2", "h3", "h4", "h5", "h6"}
)
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# containers whose links are never the article's citations
EXCLUDED_TAGS = frozenset(
    {"nav", "header", "footer", "aside", "form", "figure", "figcaption", "button", "select",
     "menu", "dialog", "iframe", "noscript", "template"}
)
EXCLUDED_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "menu", "toolbar"}
)
# embedded posts (tweets, Instagram, TikTok...) quote a post; the link is the embed's own
EMBED_MARKER = re.compile(r"twitter-tweet|instagram-media|tiktok-embed|fb-post|reddit-embed|bluesky-embed|embed", re.IGNORECASE)
# navigation by name: a custom element (<bsp-nav>) or a box whose class says so
NAV_MARKER = re.compile(r"navigation|breadcrumb|(?<![a-z])(?:nav|menu)(?![a-z])", re.IGNORECASE)
SHARE_SEGMENTS = frozenset({"share", "sharer", "sharing"})  # .../embed/123/share: a share action
# a call to subscribe or follow holds at least this many links (platforms), a source list too
PROMO_LINKS = 2
COMMENT_MARKER = re.compile(r"(?<![a-z])(?:comments?|disqus)(?![a-z])", re.IGNORECASE)  # not "commentary"
FOOTNOTE_ROLES = frozenset({"doc-endnotes", "doc-footnote", "doc-endnote", "doc-bibliography"})
# paths of tag, topic, author and category pages
TAXONOMY_PATH = re.compile(
    r"/(?:tags?|topics?|hubs?|thema|themen|authors?|autor(?:en|in)?|penulis|reporter|kategori|category|categories|"
    r"label|schlagworte?|stichworte?|profil(?:e)?)(?:/|$)", re.IGNORECASE
)
LANGUAGE_SEGMENT = re.compile(r"^[a-z]{2}(?:-[a-z]{2})?$", re.IGNORECASE)
# a section is named in a word or two (/politik/, /rhein-main/), or a word under a word
# (/aktuell/politik/); more words, a number or a file name make an article (/gallery/best-mattresses/)
SECTION_WORDS = 2
# a footnote marker is a number, a letter or a symbol, maybe in brackets: "1", "[12]", "*", "†"
FOOTNOTE_MARKER = re.compile(r"^[\[(]?(?:\d{1,3}|[a-z]|[*†‡§])[\])]?$", re.IGNORECASE)
# an inline paragraph shorter than this must be a whole paragraph of the text to count
# (short link blocks such as "Home" would otherwise match inside any text)
SHORT_BLOCK = 25
# the article region is the smallest element holding this share of the kept text
REGION_SHARE = 0.8
# a list of this many items or more, each (almost) only a link, is a teaser list unless a
# lead-in says it lists sources
LINK_LIST_ITEMS = 3
LINK_LIST_DENSITY = 0.8
# a lead-in is short: a heading or a label, never a paragraph of prose
LEAD_IN_CHARS = 60
# the elements after a lead-in that still belong to its list (stops earlier at a heading,
# another lead-in, or a paragraph with no link or URL)
LIST_SCOPE_ELEMENTS = 60
# plain str results (lxml's "smart strings" hold their element and are not JSON types)
NORMALISED_TEXT = etree.XPath("normalize-space()", smart_strings=False)
# the paragraphs that place the article region, and the elements of a document's region
PROSE_BLOCKS = etree.XPath(".//p | .//li | .//dd | .//blockquote | .//pre | .//div[text()[normalize-space()]]")
PARAGRAPHS = etree.XPath(".//p[string-length(normalize-space()) >= $chars]")  # SHORT_BLOCK
# the blocks whose links may be inline citations (libxml2 is fastest with one path per tag)
LINK_BLOCKS = etree.XPath(
    ".//p[.//a[@href]] | .//li[.//a[@href]] | .//dd[.//a[@href]] | .//blockquote[.//a[@href]]"
    " | .//div[text()[normalize-space()]][.//a[@href]]"
)
PARAGRAPH_TAGS = frozenset({"p", "li", "dd", "blockquote", "pre"})
ARTICLE_ELEMENTS = etree.XPath(".//article | .//main")
# short headings, paragraphs and labels may be lead-ins; longer paragraphs may start with one
# (not h1: it titles the page or document, "# Notes" introduces no list)
LEAD_IN_CANDIDATES = etree.XPath(
    "descendant-or-self::*[self::h2 or self::h3 or self::h4 or self::h5 or self::h6 or self::p"
    " or self::div or self::dt or self::strong or self::b or self::span or self::li or self::dd or self::section]"
    "[string-length(normalize-space()) <= $short or contains(substring(normalize-space(), 1, $head), ':')]"
)
TEXT_WITH_URL = etree.XPath(".//text()[contains(., '://')][not(ancestor::script or ancestor::style)]")
WHOLE_TEXT = etree.XPath("string()", smart_strings=False)
# what a reader does not see in a paragraph or link: icons (an <svg>'s title), and text for
# screen readers only, a clipped 1px box or a class saying so ("opens new tab", "external link")
UNSEEN_PATH = (
    ".//svg | .//span[contains(@style, 'clip') and contains(@style, 'absolute')]"
    " | .//span[contains(@class, 'sr-only') or contains(@class, 'visually-hidden')"
    " or contains(@class, 'screen-reader') or contains(@class, 'visuallyhidden')]"
)
UNSEEN = etree.XPath(UNSEEN_PATH)
HAS_UNSEEN = etree.XPath(f"boolean({UNSEEN_PATH})")
FRAGMENT_LINKS = etree.XPath(".//a[starts-with(@href, '#')]")
WITH_ID = etree.XPath(".//*[@id]")
FOOTNOTE_ROLE = etree.XPath(
    ".//*[@role='doc-endnotes' or @role='doc-footnote' or @role='doc-endnote' or @role='doc-bibliography']"
)
# a footnote is a short note: a target bigger than this is a section the marker jumps to
FOOTNOTE_CHARS = 2000
INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
LIST_MARKERS = " \t-–—•*·|:;,()[]"

SOURCE, FOOTNOTE, RELATED = "source_list", "footnote", "related"
SECOND_LEVELS = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go", "gv"})


# what normalize-space() leaves that flat() changes: invisible characters, non-ASCII spaces
ODD_CHARACTERS = re.compile("[\u00a0\u00ad\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]")


def flat(text: str) -> str:
    return " ".join(INVISIBLE.sub("", text).split())


def _visible_text(element: Any) -> str:
    """The element's text without what a reader does not see (UNSEEN)."""
    unseen = set(UNSEEN(element))
    parts: list[str] = []

    def collect(node: Any) -> None:
        parts.append(node.text or "")
        for child in node:
            if isinstance(child.tag, str) and child not in unseen:
                collect(child)
            parts.append(child.tail or "")

    collect(element)
    return flat("".join(parts))


def _link_list(parent: Any) -> bool:
    """A list of LINK_LIST_ITEMS or more items, each (almost) only a link."""
    items = [li for li in parent if getattr(li, "tag", None) == "li"]
    if len(items) < LINK_LIST_ITEMS:
        return False
    for li in items:
        text = len(_normalised(li))
        linked = sum(len(_normalised(a)) for a in li.iter("a"))
        if not text or linked < LINK_LIST_DENSITY * text:
            return False
    return True


def _anchor_text(anchor: Any) -> str:
    return _visible_text(anchor) if len(anchor) and HAS_UNSEEN(anchor) else _normalised(anchor)


def _normalised(element: Any) -> str:
    """flat() of an element's text; cheap when there is nothing more to do than normalize-space()."""
    text = NORMALISED_TEXT(element)
    return text if text.isascii() or not ODD_CHARACTERS.search(text) else flat(text)


def clean_url(url: str) -> str:
    """A URL found in text without the punctuation that closes the sentence around it."""
    while url and url[-1] in TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a balanced parenthesis belongs to the URL (Wikipedia style)
        url = url[:-1]
    return url


def find_citations(
    tree: HtmlElement, base: str, rules: Rules, text: str | None = None
) -> list[dict[str, str]]:
    """The citations of the article in ``tree``, in page order, each URL once.

    ``text`` is the article text the extraction kept (paragraphs separated by blank lines);
    without it (a local document) the whole document is the article.
    """
    return _Finder(tree, base, rules, text).citations()


class _Finder:
    def __init__(self, tree: HtmlElement, base: str, rules: Rules, text: str | None):
        self.base = base
        self.page = base.split("#")[0]
        self.site = _site(base)
        self.rules = rules
        self.kept = None if text is None else _Kept(text)
        body = tree.find(".//body") if tree.tag != "body" else tree
        self.root = body if body is not None else tree
        self.context: dict[Any, str] = {}  # element -> source_list / footnote / related
        self.kept_blocks: dict[Any, str] = {}  # block -> its text if part of the article, else ""
        self.promos: dict[Any, bool] = {}  # block -> is it a call to subscribe
        self.teasers: dict[Any, bool] = {}  # list -> is it a list of bare links
        self.around_region: set[Any] = set()  # set below; _region() asks _excluded() already
        self.region = self._region()
        # the region and what holds it: a class naming navigation there (<body class="sticky-
        # navigation">) says nothing of the article's links
        self.around_region = {self.region, *self.region.iterancestors()} if self.region is not None else set()

    # -- where the article is --------------------------------------------------------------
    def _region(self) -> HtmlElement | None:
        if self.kept is None:
            found = [el for el in ARTICLE_ELEMENTS(self.root) if not self._excluded(el)]
            return max(found, key=lambda el: len(NORMALISED_TEXT(el))) if found else self.root
        # the paragraphs place the article; pages without <p> are looked at block by block
        weights, total = self._weigh(PARAGRAPHS(self.root, chars=SHORT_BLOCK))
        if not total:
            weights, total = self._weigh(PROSE_BLOCKS(self.root))
        if not total:
            return None
        deepest, depth = None, -1
        for element, weight in weights.items():
            if weight >= REGION_SHARE * total:
                element_depth = _depth(element)
                if element_depth > depth:
                    deepest, depth = element, element_depth
        return deepest

    def _weigh(self, blocks: list[Any]) -> tuple[dict[Any, int], int]:
        """How much of the kept text each ancestor of these blocks holds, and in all."""
        weights: dict[Any, int] = {}
        total = 0
        for block in blocks:
            text = self._kept_text(block)
            if len(text) < SHORT_BLOCK:
                continue
            total += len(text)
            for ancestor in block.iterancestors():
                weights[ancestor] = weights.get(ancestor, 0) + len(text)
        return weights, total

    def _kept_text(self, block: Any) -> str:
        """The block's text if the extraction kept it ("" if not); remembered per block."""
        known = self.kept_blocks.get(block)
        if known is not None:
            return known
        text = _normalised(block)
        assert self.kept is not None
        kept = text if text and self.kept.holds(text, whole=len(text) < SHORT_BLOCK) else ""
        if not kept and len(text) >= SHORT_BLOCK and HAS_UNSEEN(block):
            # an icon's title or a label for screen readers is in the markup, not in what a
            # reader (and the extraction) sees: ", opens new tab"
            text = _visible_text(block)
            kept = text if self.kept.holds(text) else ""
        self.kept_blocks[block] = kept
        return kept

    def _scope(self) -> HtmlElement:
        """Where lead-ins and their lists may stand: the region's parent (a source box beside
        the body), unless that is the whole page."""
        region = self.region
        parent = region.getparent()
        if parent is None or parent.tag in ("body", "html") or region is self.root:
            return region
        return parent

    # -- the walk --------------------------------------------------------------------------
    def citations(self) -> list[dict[str, str]]:
        if self.region is None:
            return []
        scope = self._scope()
        scope_text = WHOLE_TEXT(scope)
        self.may_cite_in_lists = _has_lead_in(scope_text, self.rules)
        self._mark_lead_ins(scope)
        self._mark_footnotes()
        found: list[tuple[tuple[int, int], dict[str, str]]] = []
        anchors = list(self.root.iter("a"))
        candidates = self._inline_anchors()
        candidates.update(self._listed_anchors())
        for index, anchor in enumerate(anchors):
            kind = candidates.get(anchor)
            if kind is None:
                continue
            href = (anchor.get("href") or "").strip()
            if not href or href[0] == "#" or href[:11].lower().startswith(("javascript:", "mailto:", "tel:")):
                continue
            if self._excluded(anchor):
                continue
            citation = self._link(anchor, href, kind)
            if citation:
                found.append(((index, 0), citation))
        if "://" in scope_text:
            found.extend(self._plain_urls(anchors, scope))
        found.sort(key=lambda pair: pair[0])
        unique: dict[str, dict[str, str]] = {}
        for _, citation in found:
            unique.setdefault(citation["url"], citation)
        return list(unique.values())

    def _listed_anchors(self) -> dict[Any, str]:
        """The anchors inside lists a lead-in introduced, with the innermost list's kind."""
        listed: dict[Any, str] = {}
        for element, kind in self.context.items():
            for anchor in element.iter("a"):
                known = listed.get(anchor)
                if known is None or self._innermost_kind(anchor) == kind:
                    listed[anchor] = kind
        return {anchor: kind for anchor, kind in listed.items() if kind != RELATED}

    def _innermost_kind(self, element: Any) -> str | None:
        for ancestor in _self_and_ancestors(element, self.root):
            if ancestor in self.context:
                return self.context[ancestor]
        return None

    def _inline_anchors(self) -> dict[Any, str]:
        """The anchors in the article's paragraphs: those the extraction kept (a page), or
        the paragraphs of the article region (a document)."""
        if self.kept is None:
            blocks = PROSE_BLOCKS(self.region)
            self.kept_blocks = dict.fromkeys(blocks, "document")
        else:
            blocks = [block for block in LINK_BLOCKS(self.root) if self._kept_text(block)]
        inline: dict[Any, str] = {}
        for block in blocks:
            for anchor in block.iter("a"):
                if anchor not in inline and self._inline(anchor):
                    inline[anchor] = "inline"
        return inline

    def _inline(self, element: Any, written_in: bool = False) -> bool:
        """Whether ``element`` (a link; or with ``written_in``, the element whose own text is
        asked about) stands in a paragraph of the article, and not in a teaser list or a list
        a "Related" lead-in introduced."""
        start = element if written_in else element.getparent()
        if self.kept is not None and written_in:
            # text written in a block: look at its paragraph (anchors' blocks are known already)
            nearest = _block_of(start, self.root, PARAGRAPH_TAGS)
            if nearest is not None:
                self._kept_text(nearest)
        # the blocks looked at (the page's paragraphs, the blocks holding links) are the only
        # ones asked: the text of every container up to <body> would cost more than the rest
        block = next((a for a in _self_and_ancestors(start, self.root) if self.kept_blocks.get(a)), None)
        if block is None:
            return False
        # teasers the extraction kept by mistake; a document (notes, a brief) is all article
        item = _block_of(start, block, frozenset({"li"})) if self.kept is not None else None
        if item is not None and item.tag == "li" and self._teaser_item(item):
            return False
        return self._innermost_kind(block) != RELATED and not self._promo(block)

    def _promo(self, block: HtmlElement) -> bool:
        """A call to subscribe or follow ("Abonnieren Sie den Podcast bei Spotify, Apple ..."):
        a paragraph that says so and links several platforms."""
        known = self.promos.get(block)
        if known is None:
            text = _normalised(block).lower()
            known = self.promos[block] = bool(self.rules.subscribe.search(text)) and len(
                block.findall(".//a")) >= PROMO_LINKS
        return known

    def _link(self, anchor: HtmlElement, href: str, kind: str) -> dict[str, str] | None:
        rel = (anchor.get("rel") or "").lower().split()
        if "tag" in rel or "author" in rel:
            return None
        url = self._cited_url(href)
        if url is None:
            return None
        text = _anchor_text(anchor)
        if not text or URL_IN_TEXT.fullmatch(text):
            text = _label_before(anchor) or text or (urlsplit(url).hostname or "")
        return {"url": url, "text": text, "kind": kind}

    def _plain_urls(self, anchors: list[Any], scope: HtmlElement) -> Iterator[tuple[tuple[int, int], dict[str, str]]]:
        """URLs written as text in the article's paragraphs and in its source lists (in the
        article region and beside it: a URL written out elsewhere is a page's furniture)."""
        pieces = []
        for piece in TEXT_WITH_URL(scope):
            holder = piece.getparent()
            if piece.is_tail:
                holder = holder.getparent()
            if holder is None or holder.tag == "a" or _inside_link(holder):
                continue
            kind = self._innermost_kind(holder)
            if kind is None and self._inline(holder, written_in=True):
                kind = "inline"
            if kind is None or kind == RELATED or self._excluded(holder):
                continue
            pieces.append((holder, piece))
        if not pieces:
            return
        # page order: an anchor's index among the page's anchors, a text by the anchors before it
        anchor_index = {anchor: i for i, anchor in enumerate(anchors)}
        seen = 0
        before: dict[Any, int] = {}
        wanted = {holder for holder, _ in pieces}
        for element in self.root.iter():
            if element in anchor_index:
                seen = anchor_index[element] + 1
            if element in wanted:
                before[element] = seen
        for n, (holder, piece) in enumerate(pieces):
            position = _piece_position(holder, piece)
            for match in URL_IN_TEXT.finditer(piece):
                url = self._cited_url(clean_url(match.group(0)))
                if url is None:
                    continue
                label = _line_label(_text_before(holder, position) + piece[: match.start()])
                order = (before.get(holder, 0) - 1, n * 100_000 + match.start() + 1)
                yield (order, {"url": url, "text": label or (urlsplit(url).hostname or ""), "kind": "plain_url"})

    # -- what the page says around the links --------------------------------------------------
    def _mark_lead_ins(self, scope: HtmlElement) -> None:
        """Lead-ins in the region and after it (not before: a page's header is no source list)."""
        if not self.may_cite_in_lists:
            return  # no page without a source or footnote lead-in pays for the search below
        candidates = LEAD_IN_CANDIDATES(scope, short=LEAD_IN_CHARS, head=LEAD_IN_CHARS + 1)
        if scope is not self.region and candidates:
            order = {element: i for i, element in enumerate(scope.iter())}
            start = order[self.region]
            candidates = [el for el in candidates if order.get(el, -1) >= start]
        for element in candidates:
            text = _normalised(element)
            if len(text) <= LEAD_IN_CHARS:
                whole = self._lead_in(text)
                if whole:
                    block = _block_of(element, scope)
                    if block is None or block.tag == "li" or _normalised(block) != text:
                        continue  # a label inside a longer paragraph introduces nothing after it
                    self._mark_after(block, whole, scope)
                    continue
            if element.tag in BLOCK_TAGS and ":" in text[: LEAD_IN_CHARS + 1]:
                kind = _introduced_list(element, self._lead_in)
                if kind:  # "Sources: <a>..</a>, <a>..</a>" or "Quellen:<br>- Reuters: https://..."
                    self.context.setdefault(element, kind)

    def _lead_in(self, text: str) -> str | None:
        label = normalise(text).strip(LIST_MARKERS + ".").lower()
        if not label:
            return None
        if self.rules.source_heading.match(label):
            return SOURCE
        if self.rules.footnote_heading.match(label):
            return FOOTNOTE
        if self.rules.related_heading.match(label):
            return RELATED
        return None

    def _mark_after(self, lead_in: HtmlElement, kind: str, scope: HtmlElement) -> None:
        """Mark the list a lead-in introduces: its following siblings, up to a heading, another
        lead-in or a paragraph without links; climbing out of a wrapper the lead-in ends."""
        element = lead_in
        while element.getnext() is None and element.getparent() is not None and element.getparent() is not scope:
            element = element.getparent()
        count = 0
        for sibling in element.itersiblings():
            if not isinstance(sibling.tag, str) or sibling.tag in ("script", "style"):
                continue
            count += 1
            if count > LIST_SCOPE_ELEMENTS or sibling.tag in HEADING_TAGS:
                break
            text = _normalised(sibling)
            if len(text) <= LEAD_IN_CHARS and self._lead_in(text):
                break
            has_links = sibling.tag == "a" or sibling.find(".//a[@href]") is not None or "://" in text
            if not has_links:
                if text:
                    break
                continue
            self.context.setdefault(sibling, kind)

    def _mark_footnotes(self) -> None:
        """Footnotes by structure: the targets of short in-text markers, and ARIA roles."""
        if self.may_cite_in_lists:
            for element in FOOTNOTE_ROLE(self.root):
                self.context.setdefault(element, FOOTNOTE)
        markers = [a for a in FRAGMENT_LINKS(self.region) if FOOTNOTE_MARKER.match(_normalised(a))]
        if not markers:
            return
        ids = {element.get("id"): element for element in WITH_ID(self.root)}
        for anchor in markers:
            target = ids.get(anchor.get("href", "")[1:])
            if target is None or target.tag in HEADING_TAGS:
                continue
            item = target if target.tag in ("li", "p", "dd", "div") else _block_of(target, self.root)
            if item is not None and item is not self.region and len(NORMALISED_TEXT(item)) < FOOTNOTE_CHARS:
                self.context.setdefault(item, FOOTNOTE)

    # -- filters -----------------------------------------------------------------------------
    def _cited_url(self, href: str) -> str | None:
        url = urljoin(self.base, href).split("#")[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or url == self.page:
            return None
        if is_share_link(url, self.rules) or parts.path.rstrip("/").rsplit("/", 1)[-1].lower() in SHARE_SEGMENTS:
            return None
        if _site(url) == self.site and (TAXONOMY_PATH.search(parts.path) or _is_section(parts)):
            return None
        return url

    def _excluded(self, element: Any) -> bool:
        for ancestor in _self_and_ancestors(element, self.root):
            tag = ancestor.tag
            if tag in EXCLUDED_TAGS or ancestor.get("role") in EXCLUDED_ROLES:
                return True
            if tag == "blockquote" and EMBED_MARKER.search(ancestor.get("class") or ""):
                return True
            if "-" in tag and NAV_MARKER.search(tag):
                return True
            marker = ancestor.get("class") or ancestor.get("id")
            if marker and ancestor not in self.around_region:  # names of boxes beside the article
                marker = f"{ancestor.get('id') or ''} {marker}"
                if COMMENT_MARKER.search(marker) or NAV_MARKER.search(marker):
                    return True
        return False

    def _teaser_item(self, block: HtmlElement) -> bool:
        """A list item of a list of bare links (teasers, "more on this") that no lead-in introduced."""
        if block.tag != "li":
            return False
        parent = block.getparent()
        known = self.teasers.get(parent)
        if known is None:
            known = self.teasers[parent] = _link_list(parent)
        return known


class _Kept:
    """The extracted text, to ask whether a block of the page made it into the article."""

    def __init__(self, text: str):
        self.flat = flat(text)
        self.paragraphs = {flat(p) for p in text.split("\n\n")}

    def holds(self, text: str, whole: bool = False) -> bool:
        return text in self.paragraphs or (not whole and text in self.flat)


def _self_and_ancestors(element: Any, top: HtmlElement) -> Iterator[Any]:
    while element is not None:
        yield element
        if element is top:
            return
        element = element.getparent()


def _block_of(element: HtmlElement, top: HtmlElement, tags: frozenset[str] = BLOCK_TAGS) -> HtmlElement | None:
    """The nearest ancestor-or-self of ``element`` with one of ``tags``, up to ``top``."""
    for ancestor in _self_and_ancestors(element, top):
        if ancestor.tag in tags:
            return ancestor
    return None


def _inside_link(element: HtmlElement) -> bool:
    return any(a.tag == "a" for a in element.iterancestors())


def _has_lead_in(text: str, rules: Rules) -> bool:
    lowered = text.lower()
    if not rules.lead_in_prefilter.search(lowered):
        return False
    if len(lowered) != len(text):  # a few letters change length in lower case ("İ")
        text = lowered
    return any(rules.lead_in_at.match(text, at) for at in rules.lead_in_prefilter.positions(lowered))


def _piece_position(holder: HtmlElement, piece: Any) -> int:
    """0 for the text of ``holder``, n for the tail of its child n-1."""
    if not piece.is_tail:
        return 0
    return list(holder).index(piece.getparent()) + 1


def _depth(element: HtmlElement) -> int:
    return sum(1 for _ in element.iterancestors())


def _site(url: str) -> str:
    """The registrable domain, near enough: the last two labels, three under a two-letter
    country code's own second level (bbc.co.uk, people.com.cn); and the port, if any."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    labels = [label for label in host.split(".") if label]
    if not labels or labels[-1].isdigit() or ":" in host:  # an IP address is a site of its own
        return host + port
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVELS:
        return ".".join(labels[-3:]) + port
    return ".".join(labels[-2:]) + port


def _is_section(parts: Any) -> bool:
    """The site's home or one of its sections (/politik/, /en/business): no article."""
    if parts.query:
        return False
    segments = [s for s in parts.path.split("/") if s]
    if segments and LANGUAGE_SEGMENT.match(segments[0]):
        segments = segments[1:]
    words = [re.split(r"[-_]", segment) for segment in segments]
    plain = not any(ch.isdigit() or ch in ".!=" for segment in segments for ch in segment)
    return plain and (len(segments) == 0 or (len(segments) == 1 and len(words[0]) <= SECTION_WORDS)
                      or (len(segments) == 2 and all(len(w) == 1 for w in words)))


def _line_label(before: str) -> str:
    """The words before a URL on its own line: the outlet in "- Reuters: https://..."."""
    line = before.rsplit("\n", 1)[-1]
    line = URL_IN_TEXT.split(line)[-1]
    label = " ".join(line.split()).strip(LIST_MARKERS)
    return label if len(label) <= 120 else ""


def _introduced_list(element: HtmlElement, lead_in: Any) -> str | None:
    """The kind of list a paragraph is when it starts with a lead-in and a colon and goes on
    with links or URLs: "Sources: <a>Reuters</a>, <a>AP</a>", "Quellen:<br>- dpa: https://..".
    Not a credit line that names a source in words ("Quelle: F.A.Z." and a rights link)."""
    text = _marked_text(element)
    head, colon, rest = text.partition(":")
    if not colon or "\n" in head.strip() or LINK_MARK in head:
        return None
    kind = lead_in(head)
    if kind is None:
        return None
    first_url = URL_IN_TEXT.search(rest)
    first_link = rest.find(LINK_MARK)
    ends = [i for i in (first_link, first_url.start() if first_url else -1) if i >= 0]
    if not ends:
        return None
    residue = rest[: min(ends)].strip(LIST_MARKERS + "\n")
    label_then_url = first_url is not None and min(ends) == first_url.start() and len(residue) <= LEAD_IN_CHARS
    return kind if not residue or rest[: min(ends)].rstrip().endswith(":") or label_then_url else None


LINK_MARK = "\x00"


def _marked_text(element: HtmlElement) -> str:
    """The text of ``element`` with each link as LINK_MARK and each <br> as a line break."""
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str):
            pass
        elif child.tag == "a":
            parts.append(LINK_MARK)
        elif child.tag == "br":
            parts.append("\n")
        else:
            parts.append(_marked_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _text_before(element: HtmlElement, position: int) -> str:
    """The text of ``element`` before its text piece number ``position`` (0: its own text,
    n: the tail of child n-1); line breaks kept."""
    if position == 0:
        return ""
    parts = [element.text or ""]
    for n, child in enumerate(list(element)[:position]):
        parts.append("\n" if child.tag == "br" else NORMALISED_TEXT(child))
        if n < position - 1:
            parts.append(child.tail or "")
    return "".join(parts)


def _label_before(anchor: HtmlElement) -> str:
    """For a link whose text is its URL: the label written before it in its line."""
    parent = anchor.getparent()
    if parent is None:
        return ""
    index = list(parent).index(anchor)
    before = _text_before(parent, index) + (parent[index - 1].tail or "" if index else "")
    if index == 0:
        before = parent.text or ""
    return _line_label(before)
