"""Running crawl jobs: `run_job` runs one job once in this process (`crawler run-job`);
`Scheduler` runs every job of a jobs file on its schedule (`crawler schedule`), each run as a
child process `crawler run-job`: Twisted's reactor cannot be restarted in one process, and a
crashing run cannot take the scheduler down. A job never overlaps itself: each run holds the
job's lock (`crawler.jobs.lock`). Definitions: `crawler.jobs.definitions`; exit statuses:
crawler/cli/jobs.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from crawler.jobs.definitions import (
    Job,
    JobsFile,
    job_settings,
    job_spiders,
    lock_path,
    next_run,
)
from crawler.jobs.lock import LockInfo, read_lock
from crawler.runner import (
    EXIT_DEGRADED,
    EXIT_FATAL,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STORAGE,
    EXIT_USAGE,
)

log = structlog.get_logger()
EXIT_NAMES = {EXIT_OK: "ok", EXIT_PARTIAL: "partial", EXIT_USAGE: "bad_jobs_file",
              EXIT_FATAL: "crawl_failed", EXIT_LOCKED: "already_running", EXIT_STORAGE: "not_stored",
              EXIT_DEGRADED: "degraded"}


# -- one run, in this process -----------------------------------------------------------------

def run_job(job: Job, *, log_level: str = "INFO", now: datetime | None = None,
            storage: list[Any] | None = None) -> Any:
    """Run the job once, in this process (once per process: the reactor cannot restart).
    Returns a RunSummary; raises CrawlFailed when the crawl could not run. Takes no lock.
    For a remote archive it waits for the uploads; their reports go into `storage`."""
    from crawler.runner import RunSummary, run_spiders

    sessions = run_spiders(job_spiders(job, now), job_settings(job, log_level=log_level))
    reports = [session.shipper.finish() for session in sessions
               if getattr(session, "shipper", None) is not None]
    if storage is not None:
        storage.extend(reports)
    return RunSummary.of(sessions)


# -- the scheduler ---------------------------------------------------------------------------

@dataclass
class _Run:
    job: Job
    proc: subprocess.Popen[bytes]
    scheduled: datetime
    started: float
    summary_file: Path


class Scheduler:
    """Starts each job's runs on its schedule, each as a `crawler run-job` child process.

    Jobs run side by side (at most `max_parallel` at once), a job never beside itself: a run
    that comes due while the previous one still runs is skipped (and the lock turns away a
    run started elsewhere). SIGINT/SIGTERM: no new runs; the signal is passed on to the
    running children, whose runs end cleanly (a second signal makes them stop at once), and
    the scheduler exits once they have."""

    POLL = 0.5  # seconds between looks at running children

    def __init__(self, jobs_file: JobsFile, *, state_dir: str | Path | None = None,
                 log_level: str = "INFO", max_parallel: int = 4, once: bool = False):
        self.jobs_file = jobs_file
        self.state_dir = state_dir
        self.log_level = log_level
        self.max_parallel = max_parallel
        self.once = once
        self.due: dict[str, datetime] = {}
        self.running: dict[str, _Run] = {}
        self.results: dict[str, int | None] = {job.name: None for job in jobs_file.jobs}  # last exit status
        self._signals: list[int] = []
        self._wake = threading.Event()

    def first_due(self, job: Job, now: datetime) -> datetime:
        """Cron: the next matching time. Interval: one interval after the last run started
        (whoever started it: the lock file says), or now if that is past or unknown."""
        if job.every is None:
            return next_run(job, now)
        last = read_lock(lock_path(job, self.state_dir))
        started = last.started_at if isinstance(last, LockInfo) else None
        return max(now, next_run(job, started)) if started else now

    def run(self) -> int:
        old = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        tmp = tempfile.TemporaryDirectory(prefix="crawler-schedule-")
        self._tmp = Path(tmp.name)
        try:
            return self._loop()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            tmp.cleanup()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals.append(signum)  # acted on by the loop, not here (no logging in handlers)
        self._wake.set()

    def _loop(self) -> int:
        now = datetime.now(UTC)
        for job in self.jobs_file.jobs:
            self.due[job.name] = now if self.once else self.first_due(job, now)
        log.info("scheduler_started", pid=os.getpid(), jobs_file=str(self.jobs_file.path), once=self.once,
                 jobs={job.name: {"schedule": job.describe_schedule(),
                                  "next_run": self.due[job.name].isoformat(timespec="seconds")}
                       for job in self.jobs_file.jobs})
        handled = 0
        while True:
            self._reap()
            if len(self._signals) > handled:
                for signum in self._signals[handled:]:
                    self._stop(signum, forced=handled > 0)
                handled = len(self._signals)
            if handled:
                if not self.running:
                    break
            else:
                self._start_due()
                if self.once and not self.due and not self.running:
                    break
            self._wake.wait(self._sleep_time())
            self._wake.clear()
        log.info("scheduler_stopped", results=self.results)
        if self.once:
            return EXIT_OK if all(code == EXIT_OK for code in self.results.values()) else EXIT_PARTIAL
        return EXIT_OK

    def _sleep_time(self) -> float:
        if self.running or self._signals:
            return self.POLL
        if not self.due:
            return 60.0
        wait = (min(self.due.values()) - datetime.now(UTC)).total_seconds()
        return min(max(wait, 0.05), 60.0)  # wake at least every minute: clocks jump

    def _start_due(self) -> None:
        now = datetime.now(UTC)
        for name, when in sorted(self.due.items(), key=lambda item: item[1]):
            if when > now:
                continue
            job = self.jobs_file.get(name)
            assert job is not None
            if name in self.running:
                nxt = next_run(job, now)
                log.warning("job_skipped", reason="still_running", scheduled=when.isoformat(timespec="seconds"),
                            running_since=self.running[name].scheduled.isoformat(timespec="seconds"),
                            next_run=nxt.isoformat(timespec="seconds"), job=name)
                self.due[name] = nxt
                continue
            if len(self.running) >= self.max_parallel:
                break  # stays due; started when a run ends
            self._start(job, when)
            if self.once:
                del self.due[name]
            else:
                nxt = next_run(job, when)
                self.due[name] = nxt if nxt > now else next_run(job, now)

    def _start(self, job: Job, scheduled: datetime) -> None:
        summary_file = self._tmp / f"{job.name}.json"
        summary_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "crawler", "--log-json", "--log-level", self.log_level,
               "run-job", str(self.jobs_file.path.resolve()), job.name, "--summary-file", str(summary_file)]
        if self.state_dir:
            cmd += ["--state-dir", str(self.state_dir)]
        # Its own process group: a Ctrl-C on the terminal reaches the scheduler only, which
        # passes it on once. stdout (the human summary) is dropped: job_summary has it all.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                process_group=0)
        self.running[job.name] = _Run(job, proc, scheduled, time.monotonic(), summary_file)
        log.info("job_started", job=job.name, pid=proc.pid,
                 scheduled=scheduled.isoformat(timespec="seconds"))

    def _reap(self) -> None:
        for name, run in list(self.running.items()):
            code = run.proc.poll()
            if code is None:
                continue
            del self.running[name]
            self.results[name] = code
            try:
                summary = json.loads(run.summary_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                summary = {}
            for key in ("job", "exit_status", "status", "duration"):
                summary.pop(key, None)
            event: dict[str, Any] = {
                "job": name, "pid": run.proc.pid, "exit_status": code,
                "status": EXIT_NAMES.get(code, f"killed by {signal.Signals(-code).name}" if code < 0 else "error"),
                "duration": round(time.monotonic() - run.started, 1), "summary": summary or None,
            }
            if not self.once and name in self.due:
                event["next_run"] = self.due[name].isoformat(timespec="seconds")
            (log.info if code in (EXIT_OK, EXIT_PARTIAL) else log.warning)("job_finished", **event)

    def _stop(self, signum: int, forced: bool) -> None:
        log.warning("scheduler_stopping", signal=signal.Signals(signum).name, forced=forced,
                    running=sorted(self.running))
        for run in self.running.values():
            try:
                run.proc.send_signal(signum)
            except ProcessLookupError:
                pass
