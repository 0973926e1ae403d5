"""`crawler report`: per source and per run, what the crawls archived, what failed and why, and
the anomalies of each source's latest run (crawler/archive/report.py), from the run files
the crawls write (storage/runstats.py)."""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.cli.archive import archive_root
from crawler.cli.common import FatalError, UsageError, say, settings_from, when_option
from crawler.runner import EXIT_DEGRADED, EXIT_OK


def add_report_command(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="capture quality per source and per run, with the anomalies of the latest run",
        description="Per source (per host for URL ingests) and per run: pages discovered, archived, "
                    "unchanged, failed by reason, blocked by kind, paywalled, robots-disallowed, requisites, "
                    "no-article reasons, median word count, share of articles with a title, date, author; "
                    "then what degraded in each source's latest run against its earlier runs. "
                    f"Exit status: 0, or {EXIT_DEGRADED} when some source's latest run degraded.")
    report.add_argument("archive_pos", nargs="?", metavar="ARCHIVE", help="archive path or file:///path")
    report.add_argument("--archive", metavar="URI", help="the archive (default ./archive)")
    report.add_argument("--since", metavar="WHEN", help="runs started at or after (2026-11-01, 7d, yesterday)")
    report.add_argument("--until", metavar="WHEN", help="runs started at or before")
    report.add_argument("--source", action="append", metavar="NAME",
                        help="only this source (or host); may be repeated")
    report.add_argument("--runs", type=int, default=5, metavar="N", help="runs listed per source (default 5)")
    report.add_argument("--json", action="store_true",
                        help='one JSON object: {"sources": [{"source", "runs", "anomalies"}]}')
    report.add_argument("--html", metavar="FILE", help="also write the health page (charts) to FILE")
    report.add_argument("-s", "--set", action="append", metavar="NAME=VALUE",
                        help="override a setting (the ARCHIVE_ALERT_* thresholds)")
    report.set_defaults(func=cmd_report)


def _runs_root(text: str | None) -> Path:
    """The archive's folder; for a remote archive a mirror of its run files only."""
    from storage.archive import ArchiveURIError, parse_archive_uri
    from storage.backends import StorageError
    from storage.mirror import runs_root

    try:
        location = parse_archive_uri(text)
    except ArchiveURIError as exc:
        raise UsageError(str(exc)) from None
    if location.scheme == "file":
        return archive_root(text, "report")
    try:
        return runs_root(location.uri)
    except (StorageError, ValueError) as exc:
        raise FatalError(f"reading {location.uri}: {exc}") from None


def archive_report(root: Path, settings: Any, *, sources: tuple[str, ...] = (), since: datetime | None = None,
                   until: datetime | None = None, command: str = "report") -> dict[str, Any]:
    """The report of the archive at `root` (its run files), problems said on stderr."""
    from crawler.archive.report import build_report
    from crawler.config import AlertConfig, SettingError
    from storage.runstats import read_runs

    try:
        alerts = AlertConfig.from_settings(settings)
    except SettingError as exc:
        raise UsageError(exc) from None
    runs = list(read_runs(root, lambda problem: say(command, problem)))
    return build_report(runs, alerts, sources=sources, since=since, until=until)


def cmd_report(args: argparse.Namespace) -> int:
    from crawler.archive.health import health_page
    from crawler.archive.report import render_text

    if args.archive_pos and args.archive:
        raise UsageError("give the archive once: as ARCHIVE or as --archive")
    if args.runs < 1:
        raise UsageError("--runs must be 1 or more")
    since, until = when_option(args.since, "--since"), when_option(args.until, "--until")
    if since and until and since > until:
        raise UsageError("--since is after --until: no run can match")
    settings = settings_from(args)
    root = _runs_root(args.archive_pos or args.archive)
    report = archive_report(root, settings, sources=tuple(s.strip() for s in args.source or ()), since=since,
                            until=until)
    if args.html:
        path = Path(args.html)
        try:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(health_page(report, title=root.name), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise FatalError(f"cannot write {path}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        lines = render_text(report, last=args.runs)
        print("\n".join(lines) if lines else f"no runs recorded in {root} (a crawl writes its figures to runs/ "
                                                  "when it ends)" + (" for the sources asked" if args.source else ""))
        degraded = sum(1 for entry in report["sources"] if entry["anomalies"])
        if report["sources"]:
            print(f"{len(report['sources'])} source(s), {degraded} degraded in their latest run")
    return EXIT_DEGRADED if any(entry["anomalies"] for entry in report["sources"]) else EXIT_OK
