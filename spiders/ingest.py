"""Manual ingestion: archive the given URLs now, optionally following the pages they cite."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterable

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import BaseSettings

from crawler import meta
from crawler.pipeline.items import unfetched_item
from spiders.base import ArchiveSpider
from spiders.registry import source_for_url, source_slots


class IngestSpider(ArchiveSpider):
    name = "ingest"

    def __init__(self, urls: Iterable[str] = (), depth: int | str = 0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(urls, str):
            urls = [u for u in urls.split() if u]
        self.urls = list(urls)
        self.max_depth = int(depth)
        self.expected_pages = len(self.urls)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # a cited page on a known source waits that source's delay between requests
        settings.set("DOWNLOAD_SLOTS", source_slots(settings.getdict("DOWNLOAD_SLOTS")), priority="spider")

    async def start(self) -> AsyncIterator[Request | dict[str, Any]]:
        # Scrapy's URL length filter drops a longer request with a log line only: a URL given
        # gets its line instead.
        limit = self.crawler.settings.getint("URLLENGTH_LIMIT") if hasattr(self, "crawler") else 0
        for url in self.urls:
            if limit and len(url) > limit:
                yield unfetched_item(url, self.name, "url_too_long",
                                     f"the URL has {len(url)} characters, more than URLLENGTH_LIMIT ({limit})")
            else:
                yield self.page_request(url, depth=0)

    def page_request(self, url: str, depth: int) -> Request:
        """A URL on a known source is fetched under that source's rules: its name, robots.txt
        decision, and (DOWNLOAD_SLOTS, see update_settings) delay and parallel requests."""
        facts: dict[str, Any] = {meta.DEPTH: depth, meta.SOURCE: self.name}
        source = source_for_url(url)
        if source is not None:
            facts[meta.SOURCE] = source.name
            if not source.obey_robots:
                facts[meta.DONT_OBEY_ROBOTS] = True
        if self.runs is not None:
            self.runs.discovered(facts[meta.SOURCE], url)
        return Request(url, callback=self.parse, errback=self.failed, meta=facts)

    def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        return self.archive_page(response, response.meta.get(meta.SOURCE, self.name))

    def cited_requests(self, record: dict[str, Any]) -> list[Request]:
        """Requests for the pages an archived article cites, while within --depth."""
        depth = record.get("depth", 0)
        if depth >= self.max_depth or record.get("reason"):
            return []
        return [self.page_request(link, depth + 1) for link in record.get("links") or []]
