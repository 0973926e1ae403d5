"""What every spider of ours shares (`ArchiveSpider`), a news source declared as data
(`Source`), and the one spider that turns a declaration into requests (`SourceSpider`).

Discovery (robots.txt sitemaps, news sitemaps, sitemap indexes, RSS/Atom/RDF feeds, section
pages; parsed in spiders/discovery.py) goes through Scrapy like every other fetch, so all of
it is archived in the WARC too.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, ClassVar, Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import meta
from crawler.capture.session import ArchiveSession
from crawler.config import FollowConfig, RequisitesConfig
from crawler.dates import parse_when
from crawler.pipeline.items import RECORDED, WANTS_REQUISITES, failure_item, page_item, record_written
from spiders.discovery import Listing, newest_first, parse_feed, parse_sitemap
from spiders.requisites import RequisiteFetcher


class ArchiveSpider(Spider):
    """A fetched page becomes one page item, a failed fetch one failure item; and when the spider
    follows citations (`max_depth` > 0), the pages an archived article cites come back from the
    page's own callback as requests, so they pass the spider middlewares like any other.

    The callback yields the page item with a future the record pipeline sets to the JSON
    record it wrote (crawler/pipeline/items.py), awaits it, then yields `cited_requests(record)`.
    Scrapy processes a callback's outputs concurrently with pulling the next one, so the wait
    holds nothing else up.
    """

    max_depth = 0
    follow = FollowConfig(max_per_page=0, max_per_crawl=0)
    cited_pages = 0  # cited pages requested so far in this crawl
    requisites = RequisiteFetcher(RequisitesConfig(enabled=False, iframes=False, media_bytes=0, max_bytes=1,
                                                   page_bytes=1, per_page=0, obey_robots=True))

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.follow = FollowConfig.from_settings(crawler.settings)
        spider.requisites = RequisiteFetcher(RequisitesConfig.from_settings(crawler.settings), crawler,
                                             spider._note, (spider.requisite_fetched, spider.requisite_failed))
        # An item dropped or failed in a pipeline gets no record: its callback must not wait.
        for signal in (signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._no_record, signal=signal)
        return spider

    @staticmethod
    def _no_record(item: Any, **_: Any) -> None:
        if isinstance(item, dict):
            record_written(item, None)

    async def archive_page(self, response: Response, source: str) -> AsyncIterator[Any]:
        item = page_item(response, source)
        follow = item["depth"] < self.max_depth
        item[WANTS_REQUISITES] = self.requisites.enabled and response.status < 300
        if not follow and not item[WANTS_REQUISITES]:
            yield item
            return
        recorded = item[RECORDED] = asyncio.get_running_loop().create_future()
        yield item
        record = await recorded
        found = (item.get("extraction") or {}).get("requisites") or ()
        for request in self.requisites.for_page(response.url, found, source):
            yield request  # first: a page's requisites are fetched soon after it
        if record is not None and follow:
            for request in self._capped(self.cited_requests(record), record["url"]):
                yield request

    def _capped(self, requests: list[Request], url: str) -> list[Request]:
        """The cited pages within ARCHIVE_MAX_CITATIONS_PER_PAGE and ARCHIVE_MAX_CITED_PAGES;
        a limit reached is said once in the run summary."""
        per_page, per_crawl = self.follow.max_per_page, self.follow.max_per_crawl
        if per_page and len(requests) > per_page:
            self._note("citations_per_page", f"citations: only the first {per_page} cited links of a page were "
                       f"followed (ARCHIVE_MAX_CITATIONS_PER_PAGE; {url} cites {len(requests)})")
            requests = requests[:per_page]
        if per_crawl and self.cited_pages + len(requests) > per_crawl:
            requests = requests[:max(0, per_crawl - self.cited_pages)]
            self._note("cited_pages", f"citations: the crawl stopped following citations after {per_crawl} "
                       "cited pages (ARCHIVE_MAX_CITED_PAGES)")
        self.cited_pages += len(requests)
        return requests

    @property
    def session(self) -> ArchiveSession | None:
        """The archive session of this crawl (None before the spider is bound to a crawler)."""
        return self.crawler.get_extension(ArchiveSession) if hasattr(self, "crawler") else None

    @property
    def runs(self) -> Any:
        """This run's figures per source (crawler report), when an archive session records them."""
        return self.session.runs if self.session is not None else None

    def _note(self, key: str, text: str) -> None:
        session = self.session
        if session is not None and key not in session.outcomes.notes:
            session.outcomes.note(key, text)
            self.logger.warning(text)

    def requisite_fetched(self, response: Response) -> Iterator[Request]:
        return self.requisites.fetched(response)

    def requisite_failed(self, failure: Failure) -> None:
        self.requisites.failed(failure)

    def failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = failure.request  # type: ignore[attr-defined]
        yield failure_item(failure, request, request.meta.get(meta.SOURCE, self.name))

    def cited_requests(self, record: dict[str, Any]) -> list[Request]:
        """Requests for the pages an archived article cites (none unless the spider follows them)."""
        return []


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


class SourceSpider(ArchiveSpider):
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
        if isinstance(since, str):  # `scrapy crawl SOURCE -a since=...`
            since = parse_when(since)
        self.since: datetime | None = since
        self.max_pages = int(max_pages) if max_pages not in (None, "") else None
        self.articles_requested = 0
        self.expected_pages = self.max_pages
        self.listed: set[str] = set()  # article URLs discovery listed in this run

    async def start(self) -> AsyncIterator[Request]:
        src = self.source
        if src.robots_sitemaps:
            yield Request(urljoin(src.home, "/robots.txt"), callback=self.parse_robots,
                          errback=self.failed, meta={meta.DISCOVERY: "robots"}, priority=100)
        for url in src.sitemaps:
            yield self.discovery_request(url, self.parse_sitemap, "sitemap")
        for url in src.feeds:
            yield self.discovery_request(url, self.parse_feed, "feed")
        for url in src.sections:
            yield self.discovery_request(url, self.parse_section, "section")

    def discovery_request(self, url: str, callback: Any, kind: str) -> Request:
        return Request(url, callback=callback, errback=self.failed, meta={meta.DISCOVERY: kind}, priority=50)

    def article_request(self, listing: Listing, priority: int = 0) -> Request | None:
        if self.max_pages is not None and self.articles_requested >= self.max_pages:
            return None
        if self.since and listing.date and listing.date < self.since:
            return None
        self.articles_requested += 1
        facts: dict[str, Any] = {meta.DEPTH: 0}
        if listing.title or listing.date:
            facts[meta.LISTING] = {"title": listing.title,
                               "published": listing.published.isoformat() if listing.published else None}
        return Request(listing.url, callback=self.parse_article, errback=self.failed, meta=facts,
                       priority=priority)

    def _articles(self, listings: Iterable[Listing]) -> Iterator[Request]:
        ordered = newest_first(listing for listing in listings if self.source.is_article(listing.url))
        listed = [listing.url for listing in ordered if listing.url not in self.listed]
        self.listed.update(listed)
        if listed and self.runs is not None:
            self.runs.discovered(self.name, self.source.home, len(listed))
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
        self._discovery_fetched(response)
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
        self._discovery_fetched(response)
        yield from self._articles(parse_feed(response.body, response.url))

    def parse_section(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        if response.status >= 400 or not hasattr(response, "css"):
            yield page_item(response, self.name)
            return
        self._discovery_fetched(response)
        links = [Listing(urljoin(response.url, href)) for href in response.css("a::attr(href)").getall()]
        seen: set[str] = set()
        unique = [link for link in links if not (link.url in seen or seen.add(link.url))]
        yield from self.requisites.for_response(response, self.name)
        yield from self._articles(unique)

    def _discovery_fetched(self, response: Response) -> None:
        if self.runs is not None:
            self.runs.discovery(self.name, response.url)

    def parse_article(self, response: Response) -> AsyncIterator[Any]:
        return self.archive_page(response, self.name)
