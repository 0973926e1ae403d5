"""Item pipelines: extraction in worker processes, then the normalised, validated JSON line."""

from __future__ import annotations

from typing import Any

import structlog
from scrapy.crawler import Crawler

from crawler.blocking import BODY_HEAD_BYTES, detect_block
from crawler.config import WorkerConfig
from crawler.extraction import EXTRACTOR_VERSION, ExtractOptions, extract
from crawler.records import build_record, extractor_info, outcome_of
from crawler.session import ArchiveSession, session_for
from crawler.workers import WorkerCrashed, WorkerPool, WorkerTimeout
from storage.schema import schema_errors

log = structlog.get_logger()


class ExtractionPipeline:
    """Turns a page item's body into article fields; drops the body afterwards."""

    def __init__(self, crawler: Crawler, options: ExtractOptions, workers: WorkerConfig):
        self.stats = crawler.stats
        self.options = options
        self.workers = workers
        self.pool: WorkerPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractionPipeline:
        return cls(
            crawler,
            ExtractOptions.from_settings(crawler.settings),
            WorkerConfig.from_settings(crawler.settings),
        )

    def open_spider(self) -> None:
        self.pool = WorkerPool(self.workers.workers, self.workers.timeout)

    def close_spider(self) -> None:
        if self.pool:
            self.pool.close()

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("kind") != "page":
            return item
        body: bytes = item.pop("body", b"")
        status = item.get("status") or 0
        blocked = detect_block(status, item.pop("headers", None), body[:BODY_HEAD_BYTES])
        if blocked:
            item["reason"] = f"blocked:{blocked}"
            return item
        if not 200 <= status < 300:
            item["reason"] = f"error_status:{status}" if status >= 400 else f"no_content:{status}"
            return item
        assert self.pool is not None
        try:
            item["extraction"] = await self.pool.run(
                extract, body, item["final_url"], content_type=item.get("content_type"), options=self.options
            )
        except WorkerTimeout as exc:
            item["reason"], item["error"] = "extract_timeout", str(exc)
        except WorkerCrashed as exc:
            item["reason"], item["error"] = "extract_crashed", str(exc)
        assert self.stats is not None
        self.stats.inc_value("extract/pages")
        return item


class RecordPipeline:
    """Builds the JSON record, validates it against the schema and writes it."""

    def __init__(self, crawler: Crawler, session: ArchiveSession):
        self.crawler = crawler
        self.stats = crawler.stats
        self.session = session
        self.extractor = extractor_info(EXTRACTOR_VERSION)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler, session_for(crawler))

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        record = build_record(item, self.extractor)
        errors = schema_errors(record)
        if errors:
            # A bug of ours, not of the page: keep the line, say what is wrong.
            log.error("schema_violation", url=record["url"], errors=errors[:5])
            assert self.stats is not None
            self.stats.inc_value("records/schema_errors")
        self.session.json.write(record)
        outcome = outcome_of(record)
        self.session.outcomes.add(outcome, record["url"], record["reason"], record.get("error") or "")
        assert self.stats is not None
        self.stats.inc_value(f"records/{outcome}")
        if record["reason"]:
            self.stats.inc_value(f"records/reason/{record['reason'].split(':', 1)[0]}")
            log.info("no_article", url=record["url"], reason=record["reason"], status=record["status"])
        self._follow_citations(record)
        return {"url": record["url"], "outcome": outcome, "reason": record["reason"]}

    def _follow_citations(self, record: dict[str, Any]) -> None:
        cited = getattr(self.crawler.spider, "cited_requests", None)
        if cited is None or self.crawler.engine is None:
            return
        for request in cited(record):
            self.crawler.engine.crawl(request)
