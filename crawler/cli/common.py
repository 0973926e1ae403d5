"""What every `crawler` command shares: settings from its arguments, the one check of them,
one error style ("crawler COMMAND: message" on stderr, exit status by kind), and the summary
of a crawl. Exit statuses: crawler/runner.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import structlog

from crawler.pipeline.workers import start_fork_server
from crawler.runner import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_STORAGE, RunSummary

log = structlog.get_logger()
T = TypeVar("T")


class UsageError(Exception):
    """Bad arguments, settings or input: exit 2 with this message."""


class FatalError(Exception):
    """The archive, the crawl or the output cannot be used at all: exit 3 with this message."""


def say(command: str, message: object) -> None:
    print(f"crawler {command}: {message}", file=sys.stderr)


def parsed_option(value: str | None, option: str, parse: Callable[[str], T]) -> T | None:
    """An option's value read by `parse`; its ValueError is a usage error naming the option."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def when_option(value: str | None, option: str) -> datetime | None:
    """A date option (--since, --until) read by the one date parser."""
    from crawler.dates import parse_when

    return parsed_option(value, option, parse_when)


def settings_from(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Any:
    """Our settings, then `-s NAME=VALUE`, then the command's own options (`overrides`; None
    values are left out)."""
    from scrapy.settings import Settings

    from crawler.config import SettingError, check_override, known_settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if getattr(args, "log_level", None):
        settings.set("LOG_LEVEL", args.log_level.upper(), priority="cmdline")
    known = known_settings()
    for item in getattr(args, "set", None) or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"-s expects NAME=VALUE, got {item!r}")
        try:
            check_override(name.strip(), value, known)
        except SettingError as exc:
            raise UsageError(f"-s {exc}") from None
        settings.set(name.strip(), value, priority="cmdline")
    for name, value in (overrides or {}).items():
        if value is not None:
            settings.set(name, value, priority="cmdline")
    if getattr(args, "from_archive", None):
        settings.set("ARCHIVE_REPLAY_FROM", args.from_archive, priority="cmdline")
    return settings


def checked(settings: Any) -> Any:
    """The settings, once every area's check has passed (crawler.config.check_settings)."""
    from crawler.config import SettingError, check_settings

    try:
        check_settings(settings)
    except SettingError as exc:
        raise UsageError(exc) from None
    return settings


def prepare_crawl() -> None:
    """As soon as a crawl command's own checks have passed (for ingest and crawl: their arguments,
    before Scrapy is imported): the fork server the extraction workers come from warms up on
    another core (about 1 s: the extractor's imports and models) while this process imports
    Scrapy and opens the crawl. (Should the archive setting then be refused, the fork server
    ends by itself once warm.)"""
    start_fork_server()
    # Scrapy's TLS context factory module calls inspect.stack() three times as it is imported
    # (for deprecated aliases), reading the source of every frame on the stack: imported here,
    # at a shallow stack, that takes 0.08 s; deep inside the spider's imports, 0.25 s.
    import scrapy.core.downloader.contextfactory  # noqa: F401


SHOWN_PROBLEMS = 25  # problems listed one per line; the rest are in the JSON Lines file


def print_summary(sessions: Any, extra_rejected: Sequence[tuple[str, str]] = ()) -> int:
    summary = RunSummary.of(sessions if isinstance(sessions, list) else [sessions], extra_rejected)
    print(summary.line())
    if requisites := summary.requisites_line():
        print(requisites)
    for url, message in extra_rejected:
        print(f"  rejected  {url}  {message}")
    for kind, url, reason, detail in summary.failures[:SHOWN_PROBLEMS]:
        print(f"  {kind}  {url}  {reason}" + (f"  ({detail})" if detail and detail != reason else ""))
    hidden = summary.problems - min(len(summary.failures), SHOWN_PROBLEMS) - len(extra_rejected)
    if hidden > 0:
        print(f"  ... and {hidden} more (each has its line and reason in the JSON Lines file)")
    for root in summary.archives:
        if summary.write_failure:
            print(f"archive: {root}  (its last files are left .open: the next run repairs them)")
            continue
        warcs = len(summary.warc_files)
        json_files = ", ".join(f"json/{name}" for name in summary.json_files) or "none"
        print(f"archive: {root}  ({warcs} WARC file{'s' if warcs != 1 else ''} in warc/; JSON Lines: {json_files})")
    for note in summary.notes:
        print(note)
    if summary.reasons["robots_disallowed"]:
        print(f"robots.txt disallowed {summary.reasons['robots_disallowed']} URL(s) for our user agent; they "
              "were not fetched (obeying robots.txt is a per-source setting, the operator's decision)")
    log.info("run_summary", **summary.as_dict())
    if summary.write_failure:
        print(f"crawler: the archive could not be written ({summary.write_failure}); the crawl stopped "
              "there. Free space (or fix the archive's file system) and run the same command again: it "
              "repairs the files and goes on, archiving each page once.", file=sys.stderr)
        report_storage(sessions if isinstance(sessions, list) else [sessions])
        return EXIT_FATAL
    if not report_storage(sessions if isinstance(sessions, list) else [sessions]):
        return EXIT_STORAGE
    return EXIT_PARTIAL if summary.problems else EXIT_OK


def report_storage(sessions: Sequence[Any]) -> bool:
    """Wait for the uploads to a remote archive and say how they went; False if files were left."""
    ok = True
    for session in sessions:
        if session.shipper is not None:
            report = session.shipper.finish()
            print_storage(report)
            ok = ok and report.ok
    return ok


def print_storage(report: Any) -> None:
    lines = report.lines()
    if report.ok:
        print("\n".join(lines))
    else:
        print("crawler: " + "\n".join(lines), file=sys.stderr)


