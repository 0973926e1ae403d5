"""Manual ingestion: archive the given URLs now, optionally following the pages they cite."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterable

from scrapy import Request
from scrapy.http import Response

from crawler import meta
from spiders.base import ArchiveSpider
from spiders.registry import source_for_url


class IngestSpider(ArchiveSpider):
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
        facts: dict[str, Any] = {meta.DEPTH: depth, meta.SOURCE: self.name}
        source = source_for_url(url)
        if source is not None:
            facts[meta.SOURCE] = source.name
            if not source.obey_robots:
                facts[meta.DONT_OBEY_ROBOTS] = True
        return Request(url, callback=self.parse, errback=self.failed, meta=facts)

    def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        return self.archive_page(response, response.meta.get(meta.SOURCE, self.name))

    def cited_requests(self, record: dict[str, Any]) -> list[Request]:
        """Requests for the pages an archived article cites, while within --depth."""
        depth = record.get("depth", 0)
        if depth >= self.max_depth or record.get("reason"):
            return []
        return [self.page_request(link, depth + 1) for link in record.get("links") or []]
