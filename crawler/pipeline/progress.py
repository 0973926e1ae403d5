"""A progress line every few seconds while a crawl runs (and one at the end)."""

from __future__ import annotations

import time

import structlog
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.meta import OUTCOMES
from crawler.config import progress_interval

log = structlog.get_logger()


class CrawlProgress:
    def __init__(self, crawler: Crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self._task: task.LoopingCall | None = None
        self._started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        interval = progress_interval(crawler.settings)
        if interval <= 0:
            raise NotConfigured("ARCHIVE_PROGRESS_INTERVAL is 0")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self._started = time.monotonic()
        self._task = task.LoopingCall(self.report)
        self._task.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self._task and self._task.running:
            self._task.stop()

    def report(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        counts = {name: stats.get_value(f"records/{name}", 0) for name in OUTCOMES}
        done = sum(counts.values())
        total = getattr(self.crawler.spider, "expected_pages", None)
        elapsed = time.monotonic() - self._started
        log.info(
            "progress",
            done=done,
            total=total,
            pages_per_s=round(done / elapsed, 1) if elapsed else None,
            responses=stats.get_value("archive/responses", 0),
            **counts,
        )
