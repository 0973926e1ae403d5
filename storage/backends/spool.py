"""The spool: where a remote archive's closed files wait to be stored, and the shipper that
stores them, off the caller's thread.

For a remote archive the writers write into a local spool folder instead of the archive (by
default `~/.cache/newsarchive/spool/<bucket>/<prefix>`). Each file closed there (a rotated WARC,
the JSON Lines file at the end) is handed to a `Shipper`, whose one worker thread stores it
through the archive's backend (upload, verify, then delete the local copy). Files left in the
spool by an earlier run are shipped when the shipper starts.

When the archive fails (endpoint unreachable, wrong credentials, missing bucket) the caller goes
on: the failure is logged once with what failed, counted (`storage/upload_failed`), and further
files wait in the spool without being tried until `retry_interval` has passed (errors that will
not go away by themselves, like wrong credentials, stop tries for the whole run). At the end
`Shipper.finish()` says what was uploaded and what is left, for the exit status;
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

from storage.archive import ArchiveLocation
from storage.backends.base import ArchiveBackend, StorageError, Stored
from storage.files import OPEN_SUFFIX

log = structlog.get_logger()

# Folders of an archive whose closed files are shipped. `state/` is local bookkeeping, and
# `index/` is rewritten as WARC files close (merged, not immutable): both stay local.
SHIPPED_DIRS = ("warc", "json", "runs")


@dataclass
class UploadReport:
    """What `upload_all` did: files stored, files that failed (and why), files left."""

    stored: list[Stored] = field(default_factory=list)
    failed: list[tuple[Path, StorageError]] = field(default_factory=list)
    left: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left


# -- the spool folder ---------------------------------------------------------------------------
def is_shippable(path: Path) -> bool:
    """A closed file: not `.open` (being written), not hidden or temporary (atomic writes)."""
    name = path.name
    return not (name.startswith(".") or name.endswith((OPEN_SUFFIX, ".tmp", ".part")))


def spool_files(spool: Path) -> list[Path]:
    """Closed files under the shipped folders of `spool`, oldest first."""
    found: list[Path] = []
    for sub in SHIPPED_DIRS:
        folder = spool / sub
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.is_file() and is_shippable(p)]

    def age(path: Path) -> tuple[float, str]:
        try:
            return (path.stat().st_mtime, str(path))
        except FileNotFoundError:
            return (0.0, str(path))

    return sorted(found, key=age)


def key_for(spool: Path, path: Path) -> str:
    """The archive key of a spool file: its path relative to the spool, with `/`."""
    return Path(path).resolve().relative_to(Path(spool).resolve()).as_posix()


def pending(backend: ArchiveBackend, spool: Path) -> list[Path]:
    """Closed files in the spool that still have to be stored (never `.open` files); none when
    the spool is the local archive itself (written in place)."""
    root = backend.location.path
    if root is not None and Path(spool).resolve() == root.resolve():
        return []
    return spool_files(Path(spool))


def upload_all(backend: ArchiveBackend, spool: Path) -> UploadReport:
    """Store every pending spool file; stop at the first archive-wide failure (the rest stays)."""
    report = UploadReport()
    for path in pending(backend, spool):
        try:
            stored = backend.store(path, key_for(spool, path))
        except StorageError as exc:
            report.failed.append((path, exc))
            if exc.archive_wide:
                break
        else:
            if stored is not None:
                report.stored.append(stored)
    report.left = pending(backend, spool)
    return report


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


# -- the shipper -------------------------------------------------------------------------------
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
        self.report.left = pending(self.backend, self.spool)
        return self.report

    # -- the worker thread ----------------------------------------------------------------------
    def _guarded(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - a bug of ours: say so, keep the file in the spool
            log.error("upload_crashed", error=f"{type(exc).__name__}: {exc}", spool=str(self.spool))

    def _start(self) -> None:
        try:
            self.backend.check()
        except StorageError as exc:
            self._failed(None, exc)
        left = pending(self.backend, self.spool)
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
