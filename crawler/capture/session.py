"""One archive session per crawler: the open WARC and JSON Lines files, written from one thread.

A Scrapy extension (EXTENSIONS), made from the crawler's settings before the engine and its
components; the capture middleware, the incremental middleware and the pipelines reach it with
`crawler.get_extension(ArchiveSession)` (`session_of`). It closes its files when the engine
stops (or when the command that ran the crawl closes it after a failed crawl).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import structlog
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import load_object

from crawler import software_version
from crawler.capture.shipping import shipper_for
from crawler.config import ArchiveConfig, progress_interval
from storage.archive import LocalArchive, local_root
from storage.archive_index import index_closed_warc
from storage.backends.spool import Shipper
from storage.cdxj import index_written
from storage.files import repair_open_files
from storage.jsonl import JsonLinesWriter
from storage.recovery import recover_state
from storage.runstats import RunStats
from storage.search_index import SearchIndexError, update_search_index
from storage.similarity import signature
from storage.state import StateStore
from storage.warc import RotatingWarcWriter, WarcInfo, WrittenRecord
from storage.warcread import ArchiveReadError

log = structlog.get_logger()
T = TypeVar("T")



@dataclass
class Outcomes:
    """Counts of what happened to each URL, plus a bounded sample of failures to show."""

    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failures: deque[tuple[str, str, str, str]] = field(default_factory=lambda: deque(maxlen=500))
    bytes: int = 0  # payload bytes written to WARC response records
    notes: dict[str, str] = field(default_factory=dict)  # limits reached and the like, for the summary
    seconds: float = 0.0  # how long the crawl ran (Scrapy's elapsed time, start-up excluded)
    requisites: Counter[str] = field(default_factory=Counter)  # fetched, unchanged, failed
    requisite_reasons: Counter[str] = field(default_factory=Counter)

    def note(self, key: str, text: str) -> None:
        self.notes[key] = text

    def add(self, outcome: str, url: str, reason: str | None = None, detail: str = "") -> None:
        self.counts[outcome] += 1
        if reason:
            self.reasons[reason] += 1
        if outcome in ("failed", "rejected", "blocked"):
            self.failures.append((outcome, url, reason or outcome, detail))

    def add_requisite(self, outcome: str, url: str, reason: str | None = None, detail: str = "") -> None:
        """A page requisite fetched, unchanged (a revisit) or failed: counted apart from pages,
        each failure logged (JSON logs; below a terminal's warning level: a 404 icon is no news)."""
        self.requisites[outcome] += 1
        if reason:
            self.requisite_reasons[reason] += 1
            log.info("requisite_failed", url=url, reason=reason, detail=detail[:200])


SIGNATURES_KEPT = 50_000  # signatures made during a run, at most (512 bytes each); the rest at its end
RUNS_CHECKPOINT_SECONDS = 60.0  # when progress lines are off (ARCHIVE_PROGRESS_INTERVAL = 0)
# What a full or failing disk raises where the session writes (files, and the SQLite state).
STORAGE_ERRORS = (OSError, sqlite3.Error)


class ArchiveSession:
    def __init__(self, config: ArchiveConfig, on_file_closed: Callable[[Path], None] | None = None,
                 spool: Path | None = None, state: Any = None):
        self.config = config
        self._on_file_closed = on_file_closed
        self.archive = LocalArchive(local_root(config.location, spool))
        self.shipper: Shipper | None = None  # ships closed files to a remote archive (storage.backends.spool)
        self.outcomes = Outcomes()
        self.runs = RunStats()  # per source, for `crawler report`: written to runs/ when the run ends
        self.runs_every = RUNS_CHECKPOINT_SECONDS  # ... and this often while it runs
        self._runs_timer: Any = None
        # MinHash signatures of the run's articles, made on the archive thread while the crawl
        # waits for pages, by text digest: the full-text index takes them when the run ends.
        self._signatures: dict[str, bytes | None] = {}
        repaired = {folder: self._repair(folder) for folder in (self.archive.warc_dir, self.archive.json_dir)}
        # Index lines of the WARC file being written, made as its records are written (about
        # 300 bytes a capture): when it closes they join the index without reading it back.
        # None: a capture could not be indexed that way, the file is read when it closes.
        self._index_lines: dict[str, list[str] | None] = {}
        info = WarcInfo(
            software=f"newsarchive/{software_version()}",
            user_agent=config.user_agent,
            robots=config.robots_policy,
            operator=config.operator or None,
        )
        self.warc = RotatingWarcWriter(
            self.archive.warc_dir,
            info,
            prefix=config.prefix,
            max_bytes=config.warc_max_bytes,
            gzip_level=config.warc_gzip_level,
            on_closed=self._warc_closed,
            on_written=self._index_written,
        )
        self.json = JsonLinesWriter(
            self.archive.json_dir, prefix=config.prefix, compress=config.json_gzip, on_closed=on_file_closed
        )
        # The incremental state: SQLite in the archive, or shared in Redis (crawler.distributed.state).
        self.state = state if state is not None else StateStore(self.archive.state_dir / "crawl.sqlite3")
        # One thread owns the files: records are gzipped off the reactor, in order.
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-io")
        self.closed = False
        self.failure: BaseException | None = None  # the first write that failed: the crawl stopped there
        self._stop: Callable[[], Any] | None = None
        self._close_lock = threading.Lock()
        self.json_file: Path | None = None
        if any(repaired.values()):
            found = recover_state(self.state, repaired[self.archive.warc_dir], repaired[self.archive.json_dir])
            log.info("state_recovered", responses=found.responses, articles=found.articles)
            for path in repaired[self.archive.warc_dir]:
                self._index(path)  # the shipper, when it starts, ships what waits in the spool

    @staticmethod
    def _repair(folder: Path) -> list[Path]:
        """Closes the files a killed crawl left open; returns those that kept whole records."""
        closed = []
        for repair in repair_open_files(folder):
            log.warning("repaired_open_file", file=repair.path.name, kept_bytes=repair.kept_bytes,
                        dropped_bytes=repair.dropped_bytes)
            if repair.closed:
                closed.append(repair.closed)
        return closed

    def _index_written(self, filename: str, records: list[WrittenRecord]) -> None:
        lines = self._index_lines.setdefault(filename, [])
        if lines is None:
            return
        try:
            lines.extend(index_written(records, filename))
        except ArchiveReadError as exc:  # a bug of ours: the file is indexed by reading it
            log.warning("index_at_write_failed", file=filename, error=str(exc))
            self._index_lines[filename] = None

    def _warc_closed(self, path: Path) -> None:
        """A closed WARC file joins the archive's CDXJ index, then is shipped (if remote)."""
        self._index(path, self._index_lines.pop(path.name, None))
        if self._on_file_closed:
            self._on_file_closed(path)

    def _index(self, path: Path, lines: list[str] | None = None) -> None:
        try:
            for err in index_closed_warc(self.archive.root, path, lines).errors:
                log.warning("index_read_error", error=str(err))
        except (OSError, ValueError) as exc:
            log.warning("index_update_failed", file=path.name, error=str(exc))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        settings = crawler.settings
        prefix = getattr(crawler.spidercls, "name", None) or "news"
        if job := str(settings.get("ARCHIVE_JOB") or "").strip():
            prefix = f"{job}_{prefix}"
        prefix = re.sub(r"[^A-Za-z0-9_]+", "_", prefix)  # a site job's spider is named after its host
        config = ArchiveConfig.from_settings(settings, default_prefix=prefix)
        shipper = shipper_for(crawler, config)
        # The incremental state: SQLite in the archive, or the class ARCHIVE_STATE_STORE names
        # (the distributed plug-in's, in Redis), made from the settings.
        store = settings.get("ARCHIVE_STATE_STORE")
        state = load_object(store).from_settings(settings) if store else None
        session = cls(config, on_file_closed=shipper.submit if shipper else None,
                      spool=shipper.spool if shipper else None, state=state)
        session.shipper = shipper
        session.runs.job = job or None
        session.runs_every = progress_interval(settings) or RUNS_CHECKPOINT_SECONDS
        session._stop = lambda: asyncio.ensure_future(crawler.engine.close_spider_async(reason="archive_write_failed"))
        crawler.signals.connect(session.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(session.start_checkpoints, signal=signals.engine_started)
        if shipper is not None:
            shipper.start()
        return session

    def storage_failed(self, exc: BaseException, *, stop: bool = True) -> None:
        """A write to the archive failed (a full disk, a lost mount): nothing more can be stored,
        so fetching stops at once, said in one line; what is on disk stays whole or repairable
        (the next run repairs it and goes on where this one stopped)."""
        if self.failure is not None:
            return
        self.failure = exc
        log.error("archive_write_failed", error=f"{type(exc).__name__}: {exc}", archive=str(self.archive.root))
        if stop and self._stop is not None:
            self._stop()

    def run_io(self, fn: Callable[..., T], *args: Any) -> "Any":
        """Run `fn(*args)` on the archive thread; returns an awaitable of its result."""
        return asyncio.wrap_future(self._io.submit(fn, *args))

    def write_metadata_soon(self, url: str, concurrent_to: str, fields: list[tuple[str, str]]) -> None:
        """A metadata record written on the archive thread without waiting for it (from a
        callback that cannot await); a failed write stops the crawl as any failed write does."""
        written = self.run_io(self.warc.write_metadata, url, concurrent_to, fields)
        written.add_done_callback(lambda done: done.cancelled() or done.exception() is None
                                  or self.storage_failed(done.exception()))

    async def engine_stopped(self) -> None:
        """Close the files off the reactor thread (the last WARC is indexed as it closes: seconds
        for a big file, which would stall the reactor's own closing), then wait for the uploads."""
        if self._runs_timer is not None and self._runs_timer.running:
            self._runs_timer.stop()
        await asyncio.to_thread(self.close)
        if self.shipper is not None:
            await self.shipper.uploads_done()

    def close(self) -> None:
        with self._close_lock:  # (the engine_stopped thread, or the CLI after a failed crawl)
            if self.closed:
                return
            self._io.shutdown(wait=True)
            for closing in (self.warc.close, self._close_json, self._write_runs):
                if self.failure is None:
                    try:
                        closing()
                    except STORAGE_ERRORS as exc:
                        self.storage_failed(exc, stop=False)
            if self.failure is not None:
                # Left `.open`: the next run repairs them and recovers its state from what they
                # hold (records written after the state store could no longer be updated too).
                self.warc.abandon()
                self.json.abandon()
            try:
                self.state.close()
            except STORAGE_ERRORS as exc:
                self.storage_failed(exc, stop=False)
            self.closed = True

    def _close_json(self) -> None:
        self.json_file = self.json.close()
        if self.json_file is not None and self.config.search_index and self.config.location.scheme == "file":
            self._index_for_search()

    def article_written(self, record: dict[str, Any]) -> None:
        """An article's line was written: its near-duplicate signature is made off the reactor."""
        digest, text = record.get("text_digest"), record.get("text")
        if (self.config.search_index and self.config.location.scheme == "file" and isinstance(digest, str)
                and isinstance(text, str)
                and len(self._signatures) < SIGNATURES_KEPT and not self.closed):
            self._io.submit(self._sign, digest, text)

    def _sign(self, digest: str, text: str) -> None:
        self._signatures[digest] = signature(text)

    def start_checkpoints(self) -> None:
        """Every `runs_every` seconds the run's figures, if they changed, are written (a few kB):
        a killed run keeps what it did."""
        from twisted.internet import task

        self._runs_timer = task.LoopingCall(self._checkpoint)
        self._runs_timer.start(self.runs_every, now=False)

    def _checkpoint(self) -> None:
        if self.closed or not self.runs.changed:
            return
        try:
            self.runs.write(self.archive.root, self.config.prefix)
        except OSError as exc:
            log.warning("run_figures_not_saved", error=str(exc))

    def _write_runs(self) -> None:
        path = self.runs.write(self.archive.root, self.config.prefix)
        if path is not None and self._on_file_closed:
            self._on_file_closed(path)

    def _index_for_search(self) -> None:
        """The run's articles join the full-text index (with any file not indexed yet). A failure
        is logged: the lines are whole, and the next search indexes them."""
        try:
            report = update_search_index(self.archive.root, signatures=self._signatures)
        except SearchIndexError as exc:
            log.warning("search_index_failed", error=str(exc))
            return
        log.info("search_indexed", files=report.files, articles=report.articles, built=report.built)


def session_of(crawler: Crawler) -> ArchiveSession:
    session = crawler.get_extension(ArchiveSession)
    if session is None:
        raise NotConfigured("crawler.capture.session.ArchiveSession is not in EXTENSIONS: nothing to archive to")
    return session
