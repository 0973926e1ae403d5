"""Discovery: the articles a news sitemap, a sitemap index or an RSS/Atom/RDF feed lists, with
what the listing says of each (dates, title). Pure parsing of fetched bodies; the fetching is
Scrapy's, so every listing is archived like any other response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable
from urllib.parse import urljoin

from lxml import etree
from scrapy.utils.gz import gunzip


@dataclass(frozen=True)
class Listing:
    """An article URL found in a sitemap or feed, with what the listing says about it."""

    url: str
    published: datetime | None = None
    modified: datetime | None = None
    title: str | None = None

    @property
    def date(self) -> datetime | None:
        return self.published or self.modified


def parse_date(text: str | None) -> datetime | None:
    """W3C datetime (sitemaps, Atom) or RFC 822 (RSS) to an aware UTC datetime."""
    if not text:
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _xml_root(body: bytes) -> etree._Element | None:
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=True)
    try:
        return etree.fromstring(body.lstrip(), parser=parser)
    except etree.XMLSyntaxError:
        return None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str, ns: str | None = None) -> str | None:
    for child in element:
        if _local(child.tag) == name and (ns is None or etree.QName(child.tag).namespace == ns):
            return (child.text or "").strip() or None
    return None


def parse_sitemap(body: bytes) -> tuple[list[Listing], list[Listing]]:
    """(sitemaps listed by an index, URLs listed by a urlset), keeping Google News fields
    (news:publication_date, news:title) that Scrapy's own sitemap parser drops."""
    root = _xml_root(body)
    if root is None:
        return [], []
    sitemaps, urls = [], []
    for entry in root:
        kind = _local(entry.tag)
        if kind not in ("url", "sitemap"):
            continue
        loc = _child_text(entry, "loc")
        if not loc:
            continue
        news = next((c for c in entry if _local(c.tag) == "news"), None)
        listing = Listing(
            url=loc,
            modified=parse_date(_child_text(entry, "lastmod")),
            published=parse_date(_child_text(news, "publication_date")) if news is not None else None,
            title=_child_text(news, "title") if news is not None else None,
        )
        (sitemaps if kind == "sitemap" else urls).append(listing)
    return sitemaps, urls


def parse_feed(body: bytes, base_url: str) -> list[Listing]:
    """RSS 2.0, RSS 1.0 (RDF) and Atom items."""
    root = _xml_root(body)
    if root is None:
        return []
    listings = []
    for item in root.iter():
        kind = _local(item.tag)
        if kind not in ("item", "entry"):
            continue
        link = _child_text(item, "link")
        if kind == "entry" or not link:
            for child in item:
                if _local(child.tag) == "link" and child.get("href") and child.get("rel", "alternate") == "alternate":
                    link = child.get("href")
                    break
        if not link and item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"):
            link = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
        if not link:
            continue
        published = (_child_text(item, "pubDate") or _child_text(item, "published")
                     or _child_text(item, "date"))
        listings.append(Listing(
            url=urljoin(base_url, link.strip()),
            published=parse_date(published),
            modified=parse_date(_child_text(item, "updated")),
            title=_child_text(item, "title"),
        ))
    return listings


def newest_first(listings: Iterable[Listing]) -> list[Listing]:
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(listings, key=lambda item: item.date or oldest, reverse=True)
