"""One run of a job at a time, across processes: an exclusive `flock` on a lock file.

The lock belongs to the open file description, so the kernel releases it when the process
holding it ends, however it ends (SIGKILL, OOM killer, power loss of the process): a lock
left by a crashed run is never "stale" in a way that blocks the next run. The file itself is
never deleted (deleting a lock file races with a process that has just opened it); it keeps
who holds or last held the lock, as one JSON object:

    {"job": "china-ai", "pid": 1234, "host": "crawl-1", "started": "2025-01-30T06:00:02+00:00",
     "finished": "2025-01-30T06:04:10+00:00", "exit_status": 0}

`finished` is missing while a run holds the lock, and also when the last run crashed: the next
run that takes the lock reports that crash (`JobLock.previous`).

The lock file must be on a local file system (flock over NFS is emulated, and does not see
processes on other hosts).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self


@dataclass(frozen=True)
class LockInfo:
    """Who holds (or last held) a job's lock."""

    job: str
    pid: int
    host: str
    started: str  # ISO 8601, UTC
    finished: str | None = None
    exit_status: int | None = None

    @property
    def started_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.started)
        except (TypeError, ValueError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.started}"


class JobLocked(RuntimeError):
    """Another process runs this job now."""

    def __init__(self, job: str, holder: LockInfo | None):
        self.job = job
        self.holder = holder
        who = f" ({holder.describe()})" if holder else ""
        super().__init__(f"job {job} is already running{who}")


def read_lock(path: Path) -> LockInfo | None:
    """What the lock file says, without taking the lock; None if absent or unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    return _parse(text)


def _parse(text: str) -> LockInfo | None:
    try:
        data = json.loads(text)
        return LockInfo(job=str(data["job"]), pid=int(data["pid"]), host=str(data["host"]),
                        started=str(data["started"]), finished=data.get("finished"),
                        exit_status=data.get("exit_status"))
    except (ValueError, KeyError, TypeError):
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobLock:
    """Usage:

        lock = JobLock(path, "china-ai")
        lock.acquire()             # raises JobLocked at once if another process holds it
        try:
            ...
        finally:
            lock.release(exit_status)
    """

    # A holder writes its details right after taking the lock; a contender that finds the
    # file still empty waits this long for them before reporting an unknown holder.
    HOLDER_WAIT = 1.0

    def __init__(self, path: Path, job: str):
        self.path = Path(path)
        self.job = job
        self.info: LockInfo | None = None
        self.previous: LockInfo | None = None  # what the file said before we took the lock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> LockInfo:
        if self._fd is not None:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC (Python's default): processes we exec do not inherit the lock.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(fd)
            os.close(fd)
            raise JobLocked(self.job, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.previous = _parse(self._read(fd))
        self.info = LockInfo(job=self.job, pid=os.getpid(), host=socket.gethostname(), started=_now())
        self._write(self.info)
        return self.info

    def release(self, exit_status: int | None = None) -> None:
        if self._fd is None:
            return
        try:
            if self.info is not None:
                self._write(LockInfo(**{**asdict(self.info), "finished": _now(), "exit_status": exit_status}))
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the flock

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release(None if exc[0] is None else -1)

    @property
    def crashed_before(self) -> bool:
        """The previous run took the lock and never recorded that it finished."""
        return self.previous is not None and self.previous.finished is None

    # -- file contents --------------------------------------------------------------------

    def _holder(self, fd: int) -> LockInfo | None:
        deadline = time.monotonic() + self.HOLDER_WAIT
        while True:
            info = _parse(self._read(fd))
            if info is not None or time.monotonic() >= deadline:
                return info
            time.sleep(0.05)

    @staticmethod
    def _read(fd: int) -> str:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def _write(self, info: LockInfo) -> None:
        assert self._fd is not None
        data = (json.dumps(asdict(info)) + "\n").encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)
