"""After a job's run: the anomalies of the sources it crawled (crawler/archive/report.py, from the
archive's run files), and the job's `on_anomaly` command, given the report as JSON on its standard
input. The command's failure is logged, never fatal: the run happened and is archived."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import structlog

from crawler.archive.report import build_report
from crawler.config import AlertConfig
from crawler.jobs.definitions import Job
from storage.archive import parse_archive_uri
from storage.runstats import read_runs

log = structlog.get_logger()
COMMAND_TIMEOUT = 120.0  # seconds an on_anomaly command may take


def runs_folder_root(job: Job) -> Path:
    """A local folder whose runs/ holds the job archive's run files: the archive itself, or for a
    remote archive a mirror of its runs/ (a few kB a run) with what waits in the spool."""
    location = parse_archive_uri(job.archive)
    if location.scheme == "file" and location.path is not None:
        return location.path
    from storage.backends import backend_for
    from storage.backends.spool import cache_folder, default_spool
    from storage.mirror import mirror_archive

    dest = cache_folder(location, "mirror")
    backend = backend_for(location)
    try:
        mirror_archive(backend, dest, ("runs",))
    finally:
        backend.close()
    waiting = default_spool(location) / "runs"
    if waiting.is_dir():
        (dest / "runs").mkdir(parents=True, exist_ok=True)
        for path in waiting.glob("*.json"):
            target = dest / "runs" / path.name
            if not target.exists():
                target.write_bytes(path.read_bytes())
    return dest


def degraded_sources(job: Job, settings: Any, sources: list[str]) -> dict[str, Any]:
    """The report of the run's sources that degraded ({"job", "archive", "sources": [...]});
    a problem reading the history is logged and gives no anomalies."""
    report: dict[str, Any] = {"job": job.name, "archive": job.archive, "sources": []}
    if not sources:
        return report
    try:
        root = runs_folder_root(job)
        runs = list(read_runs(root, lambda problem: log.warning("run_file_unreadable", problem=problem)))
    except Exception as exc:  # a dead S3 endpoint, a lost mount: the run is not judged, said once
        log.warning("report_unavailable", error=f"{type(exc).__name__}: {exc}")
        return report
    full = build_report(runs, AlertConfig.from_settings(settings), sources=sources)
    report["sources"] = [entry for entry in full["sources"] if entry["anomalies"]]
    return report


def run_on_anomaly(job: Job, report: dict[str, Any]) -> bool:
    """Run the job's on_anomaly command with `report` as JSON on its standard input; whether it
    ran and exited 0."""
    command = job.on_anomaly
    if not command or not report["sources"]:
        return False
    shell = isinstance(command, str)
    program = (command.split() or [""])[0] if isinstance(command, str) else command[0]  # (arguments may hold tokens)
    try:
        done = subprocess.run(command if shell else list(command), shell=shell, input=json.dumps(report).encode(),
                              capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("on_anomaly_failed", program=program, error=f"{type(exc).__name__}: {exc}")
        return False
    if done.returncode != 0:
        log.warning("on_anomaly_failed", program=program, exit_status=done.returncode,
                    stderr=done.stderr.decode("utf-8", "replace")[-500:])
        return False
    log.info("on_anomaly_ran", program=program)
    return True
