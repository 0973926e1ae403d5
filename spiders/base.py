"""A news source declared as data, and the one spider that turns a declaration into requests.

Discovery (robots.txt sitemaps, news sitemaps, sitemap indexes, RSS/Atom/RDF feeds, section
pages) goes through Scrapy like every other fetch, so all of it is archived in the WARC too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, ClassVar, Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure

from crawler.pipeline.records import failure_item, page_item

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


@dataclass(frozen=True)
class Source:
    """What we know about a publisher: where new articles are listed and which URLs are articles."""

    name: str
    title: str
    domains: tuple[str, ...]
    languages: tuple[str, ...]
    home: str
    article: str  # regex an article URL's path (and query) must match
    exclude: tuple[str, ...] = ()  # regexes of paths that are never articles (video, tags, login)
    sitemaps: tuple[str, ...] = ()  # news sitemaps and sitemap indexes
    robots_sitemaps: bool = True  # also follow the Sitemap: lines of robots.txt
    sitemap_follow: str = r""  # regex a sitemap URL from an index or robots.txt must match ("" = all)
    feeds: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    # Obeying robots.txt is the default and an operator's decision per source: turn it off
    # only with the publisher's permission.
    obey_robots: bool = True
    delay: float = 1.0  # seconds between requests to one host (robots.txt Crawl-delay wins if larger)
    concurrency: int = 2  # parallel requests per host
    checked: str = ""  # which parts were checked against recorded real pages, and which were not
    _article_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _exclude_re: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_article_re", re.compile(self.article))
        object.__setattr__(self, "_exclude_re", tuple(re.compile(p) for p in self.exclude))

    def owns(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def is_article(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not self.owns(url):
            return False
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if any(p.search(target) for p in self._exclude_re):
            return False
        return bool(self._article_re.search(target))

    def discovery_urls(self) -> list[str]:
        robots = [urljoin(self.home, "/robots.txt")] if self.robots_sitemaps else []
        return [*robots, *self.sitemaps, *self.feeds, *self.sections]


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


class SourceSpider(Spider):
    """Crawls one declared Source: discovery pages first, then the articles they list."""

    source: ClassVar[Source]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "source"):
            cls.name = cls.source.name
            cls.allowed_domains = list(cls.source.domains)
            cls.custom_settings = {
                "ROBOTSTXT_OBEY": cls.source.obey_robots,
                "DOWNLOAD_DELAY": cls.source.delay,
                "CONCURRENT_REQUESTS_PER_DOMAIN": cls.source.concurrency,
                "AUTOTHROTTLE_ENABLED": True,
                "AUTOTHROTTLE_START_DELAY": max(cls.source.delay, 1.0),
                **(cls.custom_settings or {}),
            }

    def __init__(self, since: str | datetime | None = None, max_pages: int | str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(since, str):
            parsed = parse_date(since)
            if parsed is None:
                raise ValueError(f"--since: not a date: {since!r} (use YYYY-MM-DD)")
            since = parsed
        self.since: datetime | None = since
        self.max_pages = int(max_pages) if max_pages not in (None, "") else None
        self.articles_requested = 0
        self.expected_pages = self.max_pages

    async def start(self) -> AsyncIterator[Request]:
        src = self.source
        if src.robots_sitemaps:
            yield Request(urljoin(src.home, "/robots.txt"), callback=self.parse_robots,
                          errback=self.failed, meta={"discovery": "robots"}, priority=100)
        for url in src.sitemaps:
            yield self.discovery_request(url, self.parse_sitemap, "sitemap")
        for url in src.feeds:
            yield self.discovery_request(url, self.parse_feed, "feed")
        for url in src.sections:
            yield self.discovery_request(url, self.parse_section, "section")

    def discovery_request(self, url: str, callback: Any, kind: str) -> Request:
        return Request(url, callback=callback, errback=self.failed, meta={"discovery": kind}, priority=50)

    def article_request(self, listing: Listing, priority: int = 0) -> Request | None:
        if self.max_pages is not None and self.articles_requested >= self.max_pages:
            return None
        if self.since and listing.date and listing.date < self.since:
            return None
        self.articles_requested += 1
        meta: dict[str, Any] = {"depth": 0}
        if listing.title or listing.date:
            meta["listing"] = {"title": listing.title,
                               "published": listing.published.isoformat() if listing.published else None}
        return Request(listing.url, callback=self.parse_article, errback=self.failed, meta=meta,
                       priority=priority)

    def _articles(self, listings: Iterable[Listing]) -> Iterator[Request]:
        ordered = newest_first(listing for listing in listings if self.source.is_article(listing.url))
        for rank, listing in enumerate(ordered):
            request = self.article_request(listing, priority=-rank)
            if request is not None:
                yield request

    def _follow_sitemap(self, url: str) -> bool:
        pattern = self.source.sitemap_follow
        return self.source.owns(url) and (not pattern or re.search(pattern, url) is not None)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if response.status != 200:
            return
        for line in response.text.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "sitemap" and value.strip():
                url = urljoin(response.url, value.strip())
                if self._follow_sitemap(url):
                    yield self.discovery_request(url, self.parse_sitemap, "sitemap")

    def parse_sitemap(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        if response.status >= 400:
            yield page_item(response, self.name)
            return
        sitemaps, urls = parse_sitemap(response.body)
        for entry in newest_first(sitemaps):
            if self.since and entry.modified and entry.modified < self.since:
                continue
            if self._follow_sitemap(entry.url):
                yield self.discovery_request(entry.url, self.parse_sitemap, "sitemap")
        yield from self._articles(urls)

    def parse_feed(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        if response.status >= 400:
            yield page_item(response, self.name)
            return
        yield from self._articles(parse_feed(response.body, response.url))

    def parse_section(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        if response.status >= 400 or not hasattr(response, "css"):
            yield page_item(response, self.name)
            return
        links = [Listing(urljoin(response.url, href)) for href in response.css("a::attr(href)").getall()]
        seen: set[str] = set()
        unique = [link for link in links if not (link.url in seen or seen.add(link.url))]
        yield from self._articles(unique)

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        yield page_item(response, self.name)

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = failure.request  # type: ignore[attr-defined]
        yield failure_item(failure, request.url, self.name, request.meta.get("depth", 0))
