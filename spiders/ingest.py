"""Manual ingestion: archive the given URLs now, optionally following the pages they cite."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterable

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.pipeline.records import failure_item, page_item
from spiders.registry import source_for_url


class IngestSpider(Spider):
    name = "ingest"
    def __init__(self, urls: Iterable[str] = (), depth: int | str = 0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(urls, str):
            urls = [u for u in urls.split() if u]
        self.urls = list(urls)
        self.max_depth = int(depth)
        self.expected_pages = len(self.urls)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield self.page_request(url, depth=0)

    def page_request(self, url: str, depth: int) -> Request:
        """A URL on a known source is fetched under that source's rules (robots, name)."""
        meta: dict[str, Any] = {"depth": depth, "source": self.name}
        source = source_for_url(url)
        if source is not None:
            meta["source"] = source.name
            if not source.obey_robots:
                meta["dont_obey_robotstxt"] = True
        return Request(url, callback=self.parse, errback=self.failed, meta=meta)

    def parse(self, response: Response) -> Iterable[dict[str, Any]]:
        yield page_item(response, response.meta.get("source", self.name))

    def failed(self, failure: Failure) -> Iterable[dict[str, Any]]:
        request = failure.request  # type: ignore[attr-defined]
        source = request.meta.get("source", self.name)
        yield failure_item(failure, request.url, source, request.meta.get("depth", 0))

    def cited_requests(self, record: dict[str, Any]) -> list[Request]:
        """Requests for the pages an archived article cites, while within --depth."""
        depth = record.get("depth", 0)
        if depth >= self.max_depth or record.get("reason"):
            return []
        return [self.page_request(link, depth + 1) for link in record.get("links") or []]
