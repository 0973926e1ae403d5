"""The spider of `crawler worker`: serves whatever work was enqueued in the shared Redis queue.

Requests in Redis carry their callback by name (Scrapy's `Request.to_dict`), so one spider
must own every callback a request may name. This one owns the callbacks of the ingestion
spider and of the source spiders, and hands each response to the spider that made the
request, named in `meta["delegate"]` ("ingest" or a source name). Those delegates are plain
instances of IngestSpider and of each SourceSpider: their parsing code is reused as is. What
they yield is rebound to this spider (same callback names), keeps its delegate, and inherits
`allow_private` from the request it came from: work enqueued with `--allow-private` may reach
private addresses, and so may the pages found from it; nothing else may.

Per-source politeness (delay, parallel requests) becomes DOWNLOAD_SLOTS for the source's
hosts; a source that does not obey robots.txt marks its requests `dont_obey_robotstxt`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler import meta
from crawler.config import RequisitesConfig
from spiders.base import SourceSpider
from spiders.ingest import IngestSpider
from spiders.registry import SPIDERS, source_slots
from spiders.requisites import RequisiteFetcher

INGEST = "ingest"


class WorkerSpider(Spider):
    name = "worker"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._delegates: dict[str, Spider] = {}
        self.expected_pages = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> WorkerSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # the delegates' requisites come back to this spider's methods of the same names
        spider.requisites = RequisiteFetcher(RequisitesConfig.from_settings(crawler.settings), crawler, None,
                                             (spider.requisite_fetched, spider.requisite_failed))
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        settings.set("DOWNLOAD_SLOTS", source_slots(settings.getdict("DOWNLOAD_SLOTS")), priority="spider")
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        # Just before the address guard (50): robots.txt of hosts that allowed work may reach.
        middlewares.setdefault("crawler.distributed.allow.RobotsAllowPrivateMiddleware", 49)
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")

    async def start(self) -> AsyncIterator[Request]:
        """Nothing of its own: the work comes from the Redis queue (`crawler enqueue`)."""
        return
        yield  # an async generator that yields nothing

    # -- building enqueued work -----------------------------------------------------------------
    def delegate(self, name: str) -> Spider:
        spider = self._delegates.get(name)
        if spider is None:
            if name == INGEST:
                spider = IngestSpider()
            elif name in SPIDERS:
                spider = SPIDERS[name]()
            else:
                raise ValueError(f"unknown source {name!r} (known: {', '.join(sorted(SPIDERS))})")
            if hasattr(self, "requisites") and hasattr(spider, "requisites"):
                spider.requisites = self.requisites
            self._delegates[name] = spider
        return spider

    def url_request(self, url: str, *, allow_private: bool = False) -> Request:
        """A page to archive, as `crawler ingest` would fetch it."""
        ingest = self.delegate(INGEST)
        assert isinstance(ingest, IngestSpider)
        return self.adopt(ingest.page_request(url, depth=0), INGEST, allow_private)

    async def source_requests(self, name: str, *, allow_private: bool = False) -> list[Request]:
        """A source's discovery requests (robots.txt sitemaps, sitemaps, feeds, sections). They
        bypass the duplicate filter, so each enqueue of a source looks for new articles."""
        spider = self.delegate(name)
        requests = [request async for request in spider.start()]
        return [self.adopt(request, name, allow_private).replace(dont_filter=True) for request in requests]

    def adopt(self, request: Request, delegate: str, allow_private: bool) -> Request:
        """A delegate's request, with its callbacks rebound to this spider's same-named methods."""
        request.meta[meta.DELEGATE] = delegate
        if allow_private:
            request.meta[meta.ALLOW_PRIVATE] = True
        spider = self._delegates[delegate]
        if isinstance(spider, SourceSpider) and not spider.source.obey_robots:
            request.meta[meta.DONT_OBEY_ROBOTS] = True
        callback = getattr(self, request.callback.__name__) if callable(request.callback) else None
        errback = getattr(self, request.errback.__name__) if callable(request.errback) else None
        return request.replace(callback=callback, errback=errback)

    # -- callbacks (the names the delegates use) ------------------------------------------------
    async def _run(self, response_or_failure: Response | Failure, method: str) -> AsyncIterator[Any]:
        request = getattr(response_or_failure, "request", None)
        facts = request.meta if request is not None else {}
        name = facts.get(meta.DELEGATE, INGEST)
        allow_private = bool(facts.get(meta.ALLOW_PRIVATE))
        output: Iterable[Any] | AsyncIterator[Any] | None = getattr(self.delegate(name), method)(response_or_failure)
        if output is None:
            return
        results = output if isinstance(output, AsyncIterator) else _as_async(output)
        async for result in results:
            yield self.adopt(result, name, allow_private) if isinstance(result, Request) else result

    def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        return self._run(response, "parse")

    def failed(self, failure: Failure) -> AsyncIterator[Any]:
        return self._run(failure, "failed")

    def parse_robots(self, response: Response) -> AsyncIterator[Any]:
        return self._run(response, "parse_robots")

    def parse_sitemap(self, response: Response) -> AsyncIterator[Any]:
        return self._run(response, "parse_sitemap")

    def parse_feed(self, response: Response) -> AsyncIterator[Any]:
        return self._run(response, "parse_feed")

    def parse_section(self, response: Response) -> AsyncIterator[Any]:
        return self._run(response, "parse_section")

    def parse_article(self, response: Response) -> AsyncIterator[Any]:
        return self._run(response, "parse_article")

    def requisite_fetched(self, response: Response) -> AsyncIterator[Any]:
        return self._run(response, "requisite_fetched")

    def requisite_failed(self, failure: Failure) -> AsyncIterator[Any]:
        return self._run(failure, "requisite_failed")


async def _as_async(results: Iterable[Any]) -> AsyncIterator[Any]:
    for result in results:
        yield result
