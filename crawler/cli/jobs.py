"""The job commands: `crawler run-job` runs one job once, `crawler schedule` runs every job of
a jobs file on its schedule (crawler/jobs/).

A job never overlaps itself: each run holds the job's lock (`crawler.jobs.lock`). `crawler
schedule` starts every run as a child process (`crawler run-job`): Twisted's reactor cannot be
restarted in one process, and a crashing run cannot take the scheduler down.

Exit status of `crawler run-job`:
    0  the job ran and everything was archived
    1  the job ran; some URLs failed or were blocked (the rest was archived)
    2  the jobs file is malformed (every problem is listed), there is no such job, bad usage
    3  the crawl could not run
    4  the job ran, but files could not be stored in the remote archive (they wait in the
       local spool; the next run or `crawler upload` ships them)
    5  the job is already running (another process holds its lock); nothing was done
    6  the job ran, but a source degraded: its latest run has anomalies (blocked pages rising,
       word counts falling, a sitemap failing...; crawler/archive/report.py). They are printed,
       logged (`source_degraded`, and in `job_summary`), and given to the job's on_anomaly command
Exit status of `crawler schedule`: 0 stopped by SIGINT/SIGTERM once its runs had finished, or,
with `--once`, every run exited 0; 1 with `--once`, some run did not exit 0; 2 the jobs file
is malformed or bad usage. `--check` validates the file and prints the next runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from crawler.jobs.alerts import degraded_sources, run_on_anomaly
from crawler.jobs.definitions import Job, JobsFileError, job_settings, load_jobs, lock_path
from crawler.jobs.lock import JobLock, JobLocked
from crawler.jobs.schedule import EXIT_NAMES, Scheduler, run_job
from crawler.runner import (
    EXIT_DEGRADED,
    EXIT_FATAL,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STORAGE,
    EXIT_USAGE,
    CrawlFailed,
)

log = structlog.get_logger()


def _write_json(path: str | Path, data: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _print_problems(exc: JobsFileError, *, warning: bool = False) -> None:
    for line in exc.lines():
        print(f"crawler: {'warning: ' if warning else ''}{line}", file=sys.stderr)


def _report_run(job: Job, summary: Any, storage: list[Any], report: dict[str, Any]) -> int:
    """Print the outcome of a run that happened, add it to `report`; its exit status."""
    status = EXIT_PARTIAL if summary.problems else EXIT_OK
    print(f"job {job.name}: {summary.line()}")
    if summary.write_failure:
        print(f"crawler: job {job.name}: the archive could not be written ({summary.write_failure}); the "
              "run stopped there, the next run repairs the files and goes on", file=sys.stderr)
        status = EXIT_FATAL
    for kind, url, reason, detail in summary.failures[:50]:
        print(f"  {kind}  {url}  {reason}" + (f"  ({detail})" if detail and detail != reason else ""))
    report.update(summary.as_dict())
    report["failures"] = [{"kind": k, "url": u, "reason": r} for k, u, r, _d in summary.failures[:20]]
    if not summary.write_failure:
        degraded = degraded_sources(job, job_settings(job), summary.sources)
        report["anomalies"] = [{"source": entry["source"], **found} for entry in degraded["sources"]
                               for found in entry["anomalies"]]
        for found in report["anomalies"]:
            print(f"job {job.name}: {found['source']} degraded: {found['kind']}: {found['detail']}")
            log.warning("source_degraded", source=found["source"], kind=found["kind"], detail=found["detail"])
        if degraded["sources"]:
            run_on_anomaly(job, degraded)
            if status in (EXIT_OK, EXIT_PARTIAL):
                status = EXIT_DEGRADED
    for shipped in storage:
        for line in shipped.lines():
            print(line if shipped.ok else f"crawler: {line}", file=sys.stdout if shipped.ok else sys.stderr)
    if storage:
        report["storage"] = {
            "uploaded": sum(r.uploaded for r in storage),
            "uploaded_bytes": sum(r.uploaded_bytes for r in storage),
            "left": sum(len(r.left) for r in storage),
            "errors": [e for r in storage for e in r.errors][:5]}
        if not all(r.ok for r in storage):
            status = EXIT_STORAGE
    return status


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_run_job(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        jobs_file = load_jobs(args.jobs_file)
    except JobsFileError as exc:
        jobs_file = exc.valid
        if jobs_file.get(args.name) is None:
            _print_problems(exc)
            print(f"crawler: {len(exc.problems)} problem(s) in {exc.path}; nothing was run", file=sys.stderr)
            return EXIT_USAGE
        _print_problems(exc, warning=True)  # other jobs are broken; this one is fine
    job = jobs_file.get(args.name)
    if job is None:
        print(f"crawler: no job named {args.name!r} in {jobs_file.path} "
              f"(jobs: {', '.join(jobs_file.names)})", file=sys.stderr)
        return EXIT_USAGE
    structlog.contextvars.bind_contextvars(job=job.name)
    report: dict[str, Any] = {"job": job.name}
    lock = JobLock(lock_path(job, args.state_dir), job.name)
    try:
        lock.acquire()
    except JobLocked as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        holder = exc.holder
        log.warning("job_already_running", holder_pid=holder and holder.pid,
                    holder_host=holder and holder.host, holder_since=holder and holder.started)
        if args.summary_file:
            _write_json(args.summary_file, {**report, "exit_status": EXIT_LOCKED, "error": str(exc)})
        return EXIT_LOCKED
    except OSError as exc:
        print(f"crawler: cannot take the lock of job {job.name} at {lock.path}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    if lock.crashed_before and lock.previous is not None:
        log.warning("previous_run_crashed", previous_pid=lock.previous.pid,
                    previous_host=lock.previous.host, previous_started=lock.previous.started)
    log.info("job_run_started", pid=os.getpid(), lock=str(lock.path), sources=list(job.sources),
             urls=len(job.urls), archive=job.archive)
    # Until Scrapy installs its own (graceful) handlers, SIGTERM stops us like Ctrl-C does,
    # so that the lock file still records how the run ended.
    signal.signal(signal.SIGTERM, _interrupt)
    status = EXIT_FATAL
    try:
        storage: list[Any] = []
        try:
            summary = run_job(job, log_level=args.log_level, storage=storage)
        except KeyboardInterrupt:
            print(f"crawler: job {job.name}: interrupted before the crawl started", file=sys.stderr)
            log.warning("job_interrupted")
            report["error"] = "interrupted"
        except Exception as exc:  # CrawlFailed, or a bug: either way the crawl did not run
            print(f"crawler: job {job.name}: the crawl could not run: {exc}", file=sys.stderr)
            if isinstance(exc, CrawlFailed):
                log.error("job_crawl_failed", error=str(exc))
            else:
                log.exception("job_crashed")
            report["error"] = str(exc) or type(exc).__name__
        else:
            status = _report_run(job, summary, storage, report)
        report.update(duration=round(time.monotonic() - started, 1), exit_status=status,
                      status=EXIT_NAMES[status])
        log.info("job_summary", **{k: v for k, v in report.items() if k != "job"})
        if args.summary_file:
            _write_json(args.summary_file, report)
        return status
    finally:
        lock.release(status)


def cmd_schedule(args: argparse.Namespace) -> int:
    try:
        jobs_file = load_jobs(args.jobs_file)
    except JobsFileError as exc:
        _print_problems(exc)
        print(f"crawler: {len(exc.problems)} problem(s) in {exc.path}; nothing was scheduled", file=sys.stderr)
        return EXIT_USAGE
    if args.max_parallel < 1:
        print("crawler: --max-parallel must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    scheduler = Scheduler(jobs_file, state_dir=args.state_dir, log_level=args.log_level,
                          max_parallel=args.max_parallel, once=args.once)
    if args.check:
        now = datetime.now(UTC)
        for job in jobs_file.jobs:
            what = ", ".join([*job.sources, *([f"{len(job.urls)} URL(s)"] if job.urls else []),
                              *([f"{len(job.sitemaps) + len(job.feeds)} sitemap(s)/feed(s)"]
                                if job.sitemaps or job.feeds else [])])
            print(f"{job.name:20} {job.describe_schedule():32} next {scheduler.first_due(job, now):%Y-%m-%d %H:%M:%S} UTC"
                  f"  {what} -> {job.archive}")
        return EXIT_OK
    return scheduler.run()


# -- the CLI ---------------------------------------------------------------------------------

def add_job_commands(subparsers: Any) -> None:
    """Registers `run-job` and `schedule` on the `crawler` command's subparsers."""
    state_help = ("local folder for job locks (default: the archive's state/ folder; for S3 "
                  "archives $XDG_STATE_HOME/newsarchive/s3/...)")
    run = subparsers.add_parser(
        "run-job", help="run one job of a jobs file once (for cron or systemd timers)",
        description="Run one job of a jobs file once, holding the job's lock.")
    run.add_argument("jobs_file", metavar="JOBS.toml")
    run.add_argument("name", metavar="NAME", help="the job's name")
    run.add_argument("--state-dir", metavar="DIR", help=state_help)
    run.add_argument("--summary-file", metavar="PATH", help="also write the run's summary there, as JSON")
    run.set_defaults(func=cmd_run_job)

    schedule = subparsers.add_parser(
        "schedule", help="run the jobs of a jobs file on their schedules, in the foreground",
        description="Run every job on its schedule, each run in its own process; a job never "
                    "overlaps itself. SIGINT/SIGTERM stop it once the running jobs have ended.")
    schedule.add_argument("jobs_file", metavar="JOBS.toml")
    schedule.add_argument("--once", action="store_true", help="run every job once now, then exit")
    schedule.add_argument("--check", action="store_true", help="validate the file, print the next runs, exit")
    schedule.add_argument("--max-parallel", type=int, default=4, metavar="N",
                          help="at most N runs at the same time (default 4)")
    schedule.add_argument("--state-dir", metavar="DIR", help=state_help)
    schedule.set_defaults(func=cmd_schedule)
