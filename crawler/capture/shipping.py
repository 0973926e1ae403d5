"""Shipping closed archive files to a remote archive (s3://), off the reactor thread.

For a remote archive the session writes into a local spool folder instead of the archive
(`STORAGE_SPOOL`, by default `~/.cache/newsarchive/spool/<bucket>/<prefix>`). Each file the
session closes (a rotated WARC, the JSON Lines file at the end) is handed to a `Shipper`, whose
one worker thread stores it through the archive's backend (upload, verify, then delete the
local copy). Files left in the spool by an earlier run are shipped when the crawl starts.

When the archive fails (endpoint unreachable, wrong credentials, missing bucket) the crawl goes
on: the failure is logged once with what failed, counted (`storage/upload_failed`), and further
files wait in the spool without being tried until `STORAGE_RETRY_INTERVAL` has passed (errors
that will not go away by themselves, like wrong credentials, stop tries for the whole run). At
the end `Shipper.finish()` says what was uploaded and what is left, for the exit status;
`crawler upload --archive URI` (or the next crawl) ships what is left.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.config import ArchiveConfig, SettingError
from storage.archive import ArchiveLocation
from storage.backends import ArchiveBackend, StorageError, backend_for, key_for
from storage.files import repair_open_files

log = structlog.get_logger()

# S3Config field -> the setting that sets it (for error messages).
_S3_SETTINGS = {
    "addressing_style": "STORAGE_S3_ADDRESSING_STYLE",
    "connect_timeout": "STORAGE_S3_CONNECT_TIMEOUT",
    "endpoint_url": "STORAGE_S3_ENDPOINT_URL",
    "max_concurrency": "STORAGE_S3_MAX_CONCURRENCY",
    "multipart_chunksize": "STORAGE_S3_MULTIPART_CHUNKSIZE",
    "multipart_threshold": "STORAGE_S3_MULTIPART_THRESHOLD",
    "read_timeout": "STORAGE_S3_READ_TIMEOUT",
    "region": "STORAGE_S3_REGION",
    "sse": "STORAGE_S3_SSE",
    "sse_kms_key_id": "STORAGE_S3_SSE_KMS_KEY_ID",
    "storage_class": "STORAGE_S3_STORAGE_CLASS",
}


def default_spool(location: ArchiveLocation) -> Path:
    """`$XDG_CACHE_HOME/newsarchive/spool/<bucket>/<prefix>` (`~/.cache` without XDG_CACHE_HOME)."""
    return cache_folder(location, "spool")


def cache_folder(location: ArchiveLocation, kind: str) -> Path:
    """`$XDG_CACHE_HOME/newsarchive/<kind>/<bucket>/<prefix>`: the spool, or a read mirror."""
    parts = [
        location.bucket or location.scheme,
        *(location.prefix.split("/") if location.prefix else []),
    ]
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"{location.uri!r}: cannot name a {kind} folder after it (empty, '.' or '..' in the prefix)"
        )
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().joinpath("newsarchive", kind, *parts)


def _text(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    return str(value).strip() or None if value not in (None, "") else None


def _number(settings: BaseSettings, name: str, kind: type, default: float) -> Any:
    value = settings.get(name)
    if value is None or value == "":
        return kind(default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be a number, got {value!r}") from None


@dataclass(frozen=True)
class StorageConfig:
    """STORAGE_* settings: where a remote archive's files are spooled, and how S3 is reached."""

    spool: Path | None  # None: a local archive, written in place
    s3: Any  # storage.s3.S3Config for s3:// archives
    retry_interval: float

    @classmethod
    def from_settings(cls, settings: BaseSettings, location: ArchiveLocation) -> StorageConfig:
        if location.scheme == "file":
            return cls(spool=None, s3=None, retry_interval=0.0)  # written in place: nothing to ship
        retry = _number(settings, "STORAGE_RETRY_INTERVAL", float, 60)
        if retry < 0:
            raise SettingError(f"STORAGE_RETRY_INTERVAL must be >= 0 seconds, got {retry}")
        spool_setting = _text(settings, "STORAGE_SPOOL")
        try:
            spool = (
                Path(spool_setting).expanduser().resolve()
                if spool_setting
                else default_spool(location)
            )
        except ValueError as exc:
            raise SettingError(f"STORAGE_SPOOL: {exc}; set STORAGE_SPOOL") from None
        s3 = None
        if location.scheme == "s3":
            from storage.s3 import S3Config

            try:
                s3 = S3Config(
                    endpoint_url=_text(settings, "STORAGE_S3_ENDPOINT_URL"),
                    region=_text(settings, "STORAGE_S3_REGION"),
                    addressing_style=_text(settings, "STORAGE_S3_ADDRESSING_STYLE"),
                    sse=_text(settings, "STORAGE_S3_SSE"),
                    sse_kms_key_id=_text(settings, "STORAGE_S3_SSE_KMS_KEY_ID"),
                    storage_class=_text(settings, "STORAGE_S3_STORAGE_CLASS"),
                    multipart_threshold=_number(
                        settings, "STORAGE_S3_MULTIPART_THRESHOLD", int, 8 << 20
                    ),
                    multipart_chunksize=_number(
                        settings, "STORAGE_S3_MULTIPART_CHUNKSIZE", int, 8 << 20
                    ),
                    max_concurrency=_number(settings, "STORAGE_S3_MAX_CONCURRENCY", int, 10),
                    connect_timeout=_number(settings, "STORAGE_S3_CONNECT_TIMEOUT", float, 10),
                    read_timeout=_number(settings, "STORAGE_S3_READ_TIMEOUT", float, 60),
                )
            except ValueError as exc:
                fields, _, problem = str(exc).partition(": ")
                names = ", ".join(_S3_SETTINGS.get(f.strip(), f.strip()) for f in fields.split(","))
                raise SettingError(f"{names}: {problem}") from None
        return cls(spool=spool, s3=s3, retry_interval=retry)


@dataclass
class ShippingReport:
    """What happened to the files of a remote archive in this run."""

    uri: str
    archive: str  # the archive and its endpoint, for messages
    spool: Path
    uploaded: int = 0
    uploaded_bytes: int = 0
    already_there: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)  # distinct messages, first seen first
    left: list[Path] = field(default_factory=list)  # closed files still in the spool

    @property
    def ok(self) -> bool:
        """Every closed file reached the archive."""
        return not self.left

    def lines(self) -> list[str]:
        """The outcome for people: one line when all went well, else what is left, why, and how
        to ship it."""
        done = f"{self.uploaded} file(s), {self.uploaded_bytes / 1e6:.1f} MB uploaded to {self.archive}"
        if self.already_there:
            done += f" ({self.already_there} already there)"
        if self.ok:
            return [f"storage: {done}"]
        head = f"storage: {len(self.left)} file(s) could not be stored in {self.uri}; they wait in the spool {self.spool}"
        if self.uploaded or self.already_there:
            head += f" ({done})"
        out = [head]
        out += [f"  {message}" for message in self.errors[:5]]
        if len(self.errors) > 5:
            out.append(f"  ... and {len(self.errors) - 5} more error(s) (see the log)")
        out.append(f"  the next run ships them, or now: crawler upload --archive {self.uri}")
        return out


class Shipper:
    """Stores closed spool files through a backend, one at a time, on its own worker thread.

    `submit(path)` may be called from any thread (the archive I/O thread rotates WARC files,
    the reactor closes the last ones) and returns at once."""

    def __init__(
        self,
        backend: ArchiveBackend,
        spool: Path,
        *,
        stats: Any = None,
        retry_interval: float = 60.0,
    ) -> None:
        self.backend = backend
        self.spool = Path(spool)
        self.stats = stats
        self.retry_interval = retry_interval
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-upload")
        self._lock = threading.Lock()
        self._futures: list[Future[Any]] = []
        self._dirty = False  # files submitted since the last final sweep
        self._finished = False
        # Worker-thread state (only the worker touches it).
        self._blocked: StorageError | None = None  # the archive-wide failure that stops tries
        self._retry_at = 0.0
        self._deferred: set[Path] = set()
        self._errors: dict[str, None] = {}
        self.report = ShippingReport(
            uri=backend.location.uri, archive=backend.describe(), spool=self.spool
        )

    # -- any thread ---------------------------------------------------------------------------
    def submit(self, path: Path) -> None:
        """Queue a closed file for storing. Never raises, never blocks."""
        self._queue(self._ship, Path(path))

    def start(self) -> None:
        """Check the archive and ship what earlier runs left in the spool (in the worker)."""
        self._queue(self._start)

    def _queue(self, fn: Any, *args: Any) -> None:
        with self._lock:
            if self._finished:
                log.warning(
                    "upload_not_queued",
                    file=str(args[0]) if args else None,
                    reason="the shipper has finished; the file stays in the spool",
                )
                return
            self._dirty = True
            self._futures.append(self._pool.submit(self._guarded, fn, *args))

    async def uploads_done(self) -> None:
        """Awaitable on the reactor: the files queued so far are shipped (or left in the spool)."""
        await asyncio.wrap_future(self._pool.submit(self._guarded, self._final))

    def finish(self) -> ShippingReport:
        """Wait for every queued upload, try once more what waits if it is time, and report.
        Blocking: call it after the crawl (never on the reactor thread)."""
        with self._lock:
            if not self._finished:
                self._futures.append(self._pool.submit(self._guarded, self._final))
                self._finished = True
        for future in list(self._futures):
            future.result()
        self._pool.shutdown(wait=True)
        self.backend.close()
        self.report.archive = self.backend.describe()  # the endpoint actually used, once known
        self.report.left = self.backend.pending(self.spool)
        return self.report

    # -- the worker thread ----------------------------------------------------------------------
    def _guarded(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a bug of ours: say so, keep the file in the spool
            log.error("upload_crashed", error=f"{type(exc).__name__}: {exc}", spool=str(self.spool))

    def _start(self) -> None:
        try:
            self.backend.check()
        except StorageError as exc:
            self._failed(None, exc)
        left = self.backend.pending(self.spool)
        if left:
            log.info(
                "spool_leftovers",
                archive=self.report.archive,
                files=len(left),
                spool=str(self.spool),
            )
        for path in left:
            self._ship(path)

    def _ship(self, path: Path) -> None:
        if not path.exists():
            return  # shipped already (listed at start and closed since, or by another process)
        if self._blocked is not None and time.monotonic() < self._retry_at:
            self._deferred.add(path)
            self._inc("storage/upload_deferred")
            return
        if self._attempt(path):
            self._retry_deferred()

    def _attempt(self, path: Path) -> bool:
        try:
            stored = self.backend.store(path, key_for(self.spool, path))
        except StorageError as exc:
            self._failed(path, exc)
            return False
        self._deferred.discard(path)
        if self._blocked is not None:
            log.info("archive_available_again", archive=self.report.archive)
            self._blocked = None
        if stored is None:
            return True
        if stored.already_there:
            self.report.already_there += 1
            self._inc("storage/already_stored")
            log.info("already_stored", file=path.name, to=stored.uri)
            return True
        self.report.uploaded += 1
        self.report.uploaded_bytes += stored.size
        self._inc("storage/uploaded")
        self._inc("storage/uploaded_bytes", stored.size)
        rate = stored.size / stored.seconds / 1e6 if stored.seconds > 0 else None
        log.info(
            "uploaded",
            file=path.name,
            to=stored.uri,
            bytes=stored.size,
            seconds=round(stored.seconds, 3),
            mb_per_s=round(rate, 1) if rate else None,
        )
        return True

    def _retry_deferred(self) -> None:
        while self._deferred and self._blocked is None:
            path = min(self._deferred)
            self._deferred.discard(path)
            if path.exists():
                self._attempt(path)

    def _failed(self, path: Path | None, exc: StorageError) -> None:
        self.report.failures += 1
        self._inc("storage/upload_failed")
        if exc.archive_wide:
            self._blocked = exc
            self._retry_at = time.monotonic() + self.retry_interval if exc.retryable else math.inf
        if path is not None and exc.kind not in ("conflict", "local"):
            self._deferred.add(path)
        if exc.message not in self._errors:
            self._errors[exc.message] = None
            self.report.errors.append(exc.message)
        if exc.archive_wide and exc.retryable:
            then = f"new files wait in the spool; next try in {self.retry_interval:g}s"
        elif exc.archive_wide:
            then = "no more uploads in this run; files wait in the spool"
        else:
            then = "the file waits in the spool"
        log.error(
            "upload_failed",
            file=path.name if path else None,
            error=exc.message,
            kind=exc.kind,
            then=then,
            spool=str(self.spool),
        )

    def _final(self) -> None:
        """At the end: one more try for files that wait, unless the archive refused for good
        or failed too recently (the files stay for the next run or `crawler upload`)."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
        waiting = set(self._deferred)
        if waiting and (
            self._blocked is None
            or (self._blocked.retryable and time.monotonic() >= self._retry_at)
        ):
            self._blocked = None
            for path in sorted(waiting):
                if path.exists() and not self._attempt(path) and self._blocked is not None:
                    break
        left = [path for path in self._deferred if path.exists()]
        if left:
            log.warning(
                "files_wait_in_spool",
                archive=self.report.uri,
                files=len(left),
                spool=str(self.spool),
                then=f"the next run ships them, or: crawler upload --archive {self.report.uri}",
            )

    def _inc(self, key: str, count: int = 1) -> None:
        # Only this worker thread writes storage/* stats keys.
        if self.stats is not None:
            self.stats.inc_value(key, count)


# -- wiring -------------------------------------------------------------------------------------
def shipper_for(crawler: Crawler, config: ArchiveConfig) -> Shipper | None:
    """The shipper of a crawler's remote archive; None for a local archive (written in place).
    Call `start(crawler)` once the session that feeds it exists."""
    storage = StorageConfig.from_settings(crawler.settings, config.location)
    if storage.spool is None:
        return None
    backend = backend_for(config.location, storage.spool, storage.s3)
    return Shipper(
        backend, storage.spool, stats=crawler.stats, retry_interval=storage.retry_interval
    )


def upload_spool(settings: BaseSettings) -> ShippingReport | None:
    """Ship what waits in the spool of the archive in `ARCHIVE_URI` (`crawler upload`), after
    closing `.open` files that a dead crawl left behind. None for a local archive."""
    config = ArchiveConfig.from_settings(settings)
    storage = StorageConfig.from_settings(settings, config.location)
    if storage.spool is None:
        return None
    for sub in ("warc", "json"):
        for repair in repair_open_files(storage.spool / sub):
            log.warning(
                "repaired_open_file",
                file=repair.path.name,
                kept_bytes=repair.kept_bytes,
                dropped_bytes=repair.dropped_bytes,
            )
    backend = backend_for(config.location, storage.spool, storage.s3)
    shipper = Shipper(backend, storage.spool, retry_interval=storage.retry_interval)
    if backend.pending(storage.spool):  # nothing waiting: nothing to ask the endpoint
        shipper.start()
    return shipper.finish()
