"""Item pipelines: extraction in worker processes, then the normalised, validated JSON line."""

from __future__ import annotations

from typing import Any

import structlog
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.capture.session import STORAGE_ERRORS, ArchiveSession, session_of
from crawler.config import RequisitesConfig, WorkerConfig, extract_options
from crawler.extract.options import EXTRACTOR_VERSION, ExtractOptions
from crawler.pipeline.items import WANTS_REQUISITES, record_written
from crawler.pipeline.records import (
    analyse_item,
    build_record,
    capture_metadata,
    extractor_info,
    outcome_of,
)
from crawler.pipeline.workers import WorkerPool
from storage.reader import read_record
from storage.schema import schema_errors

log = structlog.get_logger()


class ExtractionPipeline:
    """Turns a page item's body into article fields; drops the body afterwards."""

    def __init__(self, crawler: Crawler, options: ExtractOptions, workers: WorkerConfig, session: ArchiveSession,
                 requisites: RequisitesConfig | None = None):
        self.stats = crawler.stats
        # the page requisites the workers look for (spiders/requisites.py fetches them)
        self.requisites = requisites.kinds if requisites is not None and requisites.enabled else None
        self.session = session
        self.warc_dir = session.archive.warc_dir
        self.options = options
        self.workers = workers
        self.pool: WorkerPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractionPipeline:
        return cls(
            crawler,
            extract_options(crawler.settings),
            WorkerConfig.from_settings(crawler.settings),
            session_of(crawler),
            RequisitesConfig.from_settings(crawler.settings),
        )

    def open_spider(self) -> None:
        self.pool = WorkerPool(self.workers.workers, self.workers.timeout)

    def close_spider(self) -> None:
        if self.pool:
            self.pool.close()

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("kind") != "page" or self.session.failure is not None:
            return item
        body: bytes = item.pop("body", b"")
        capture = item.get("capture") or {}
        if capture.get("kind") == "revisit":
            if capture.get("json_done"):
                item["unchanged"] = True  # same payload, its article already written: nothing to do
                return item
            if item.get("status") == 304:
                # Its article was never written (a crash): extract from the archived payload.
                body, item["content_type"], item["status"] = await deferred_to_future(
                    deferToThread(self.archived_payload, item["warc"]))
        assert self.pool is not None
        await analyse_item(self.pool, item, body, item.pop("headers", None), self.options,
                           self.requisites if item.get(WANTS_REQUISITES) else None)
        assert self.stats is not None
        self.stats.inc_value("extract/pages")
        return item

    def archived_payload(self, pointer: dict[str, Any]) -> tuple[bytes, str | None, int]:
        archived = read_record(self.warc_dir / pointer["filename"], pointer["offset"])
        return archived.decoded_body(), archived.header("Content-Type"), archived.status or 0


class RecordPipeline:
    """Builds the JSON record, validates it against the schema and writes it."""

    def __init__(self, crawler: Crawler, session: ArchiveSession):
        self.stats = crawler.stats
        self.session = session
        self.extractor = extractor_info(EXTRACTOR_VERSION)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler, session_of(crawler))

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        record = None
        if self.session.failure is not None:  # nothing can be stored: no line, no false failure
            record_written(item, None)
            return {"url": item.get("url"), "outcome": "not_stored", "reason": None}
        try:
            result, record = await self._record(item)
            return result
        except STORAGE_ERRORS as exc:
            self.session.storage_failed(exc)
            return {"url": item.get("url"), "outcome": "not_stored", "reason": None}
        finally:
            record_written(item, record)  # the spider's callback follows the record's citations

    async def _record(self, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        assert self.stats is not None
        if item.get("unchanged"):
            return self._unchanged(item), None
        capture = item.get("capture") or {}
        extraction = item.get("extraction") or {}
        text_digest = extraction.get("text_digest") if not item.get("reason") and not extraction.get("reason") else None
        previous = capture.get("version") or 0
        if text_digest and previous:
            if capture.get("text_digest") == text_digest:
                self.session.state.mark_json_done(item["final_url"])
                return self._unchanged(item), None  # new bytes, same article text
            item["version"], item["previous_fetched_at"] = previous + 1, capture.get("version_fetched_at")
        record = build_record(item, self.extractor)
        errors = schema_errors(record)
        if errors:
            # A bug of ours, not of the page: keep the line, say what is wrong.
            log.error("schema_violation", url=record["url"], errors=errors[:5])
            assert self.stats is not None
            self.stats.inc_value("records/schema_errors")
        line = self.session.json.write(record)
        self.session.article_written(record)
        if record["warc"] and text_digest:
            self.session.state.record_version(record["final_url"], version=record["version"], text_digest=text_digest,
                                              fetched_at=record["fetched_at"], json_file=self.session.json.name,
                                              json_line=line)
        elif record["warc"]:
            self.session.state.mark_json_done(record["final_url"])
        if record["warc"] and (item.get("capture") or {}).get("record_id"):
            await self.session.run_io(self.session.warc.write_metadata, record["final_url"],
                                      item["capture"]["record_id"],
                                      capture_metadata(record, (item.get("extraction") or {}).get("requisites")))
        outcome = outcome_of(record)
        self.session.outcomes.add(outcome, record["url"], record["reason"], record.get("error") or "")
        if item.get("discovery"):
            self.session.runs.discovery(record["source"], record["url"], record["reason"] if outcome != "new" else None)
        else:
            self.session.runs.page(record, outcome, extraction.get("text_words", 0))
        assert self.stats is not None
        self.stats.inc_value(f"records/{outcome}")
        if record["reason"]:
            self.stats.inc_value(f"records/reason/{record['reason'].split(':', 1)[0]}")
            log.info("no_article", url=record["url"], reason=record["reason"], status=record["status"],
                     **({"error": record["error"]} if record.get("error") else {}))
        return {"url": record["url"], "outcome": outcome, "reason": record["reason"]}, record

    def _unchanged(self, item: dict[str, Any]) -> dict[str, Any]:
        url = item["final_url"]
        assert self.stats is not None
        self.session.outcomes.add("unchanged", url)
        self.session.runs.unchanged(item.get("source"), item.get("url") or url)
        self.stats.inc_value("records/unchanged")
        return {"url": url, "outcome": "unchanged", "reason": None}
