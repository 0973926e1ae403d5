"""After a job's run: the anomalies of the sources it crawled (crawler/archive/report.py, from the
archive's run files), and the job's `on_anomaly` command, given the report as JSON on its standard
input. The command's failure is logged, never fatal: the run happened and is archived."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import structlog

from crawler.archive.report import build_report
from crawler.config import AlertConfig
from crawler.jobs.definitions import Job
from storage.mirror import runs_root
from storage.runstats import read_runs

log = structlog.get_logger()
COMMAND_TIMEOUT = 120.0  # seconds an on_anomaly command may take


def degraded_sources(job: Job, settings: Any, sources: list[str]) -> dict[str, Any]:
    """The report of the run's sources that degraded ({"job", "archive", "sources": [...]});
    a problem reading the history is logged and gives no anomalies."""
    report: dict[str, Any] = {"job": job.name, "archive": job.archive, "sources": []}
    if not sources:
        return report
    try:
        root = runs_root(job.archive)
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
