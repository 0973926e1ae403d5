"""Running spiders in this process and summing up what happened (for the CLI and the jobs)."""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import structlog

from crawler.meta import OUTCOMES

log = structlog.get_logger()

# Exit statuses of every `crawler` command.
EXIT_OK = 0  # everything given was archived (and stored)
EXIT_PARTIAL = 1  # some inputs were rejected, blocked or failed; the rest was archived
EXIT_USAGE = 2  # bad usage, bad settings or jobs file, nothing to do
EXIT_FATAL = 3  # the crawl could not run
EXIT_STORAGE = 4  # files could not be stored in the remote archive (they wait in the spool)
EXIT_LOCKED = 5  # the job is already running
EXIT_DEGRADED = 6  # it ran, but a source degraded: its latest run has anomalies (crawler report)

class CrawlFailed(RuntimeError):
    """The crawl could not run (a component failed to start)."""


def run_spiders(jobs: Sequence[tuple[type, dict[str, Any]]], settings: Any) -> list[Any]:
    """Run spiders to the end in this process, side by side; returns their archive sessions."""
    from scrapy.crawler import CrawlerProcess

    from crawler import logs
    from crawler.capture.session import session_of

    process = CrawlerProcess(settings)
    logs.quiet_libraries(settings.get("LOG_LEVEL") or "INFO")
    if not settings.get("ARCHIVE_CONTACT_URL") and not settings.get("ARCHIVE_REPLAY_FROM"):
        log.warning("no_contact_url", setting="ARCHIVE_CONTACT_URL",
                    hint="set it to a page where publishers can reach you: it goes into the User-Agent")
    errors: list[str] = []

    def failed(failure: Any) -> None:
        errors.append(f"{type(failure.value).__name__}: {failure.value}")

    crawlers = []
    for spider_cls, kwargs in jobs:
        crawler = process.create_crawler(spider_cls)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs).addErrback(failed)
    # What is alive now (modules, settings, crawlers) lives as long as the process: frozen, it is
    # left out of the crawl's full garbage collections and of those of the interpreter's exit
    # (0.2 s of every crawl command, after its summary).
    gc.freeze()
    process.start()
    if errors:
        raise CrawlFailed(errors[0])
    sessions = []
    for crawler in crawlers:
        session = session_of(crawler)
        session.close()
        session.outcomes.seconds = float(crawler.stats.get_value("elapsed_time_seconds") or 0.0)
        sessions.append(session)
    return sessions


def run_spider(spider_cls: type, settings: Any, **kwargs: Any) -> Any:
    return run_spiders([(spider_cls, kwargs)], settings)[0]


@dataclass
class RunSummary:
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)  # kind, url, reason, detail
    bytes: int = 0
    notes: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)  # where the files went: the archive's local root
    seconds: float = 0.0
    write_failure: str | None = None  # the archive could not be written: the crawl stopped there
    warc_files: list[str] = field(default_factory=list)
    json_files: list[str] = field(default_factory=list)
    requisites: Counter[str] = field(default_factory=Counter)  # page requisites: fetched, unchanged, failed
    requisite_reasons: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)  # the sources (hosts for URLs) of the run's pages

    @classmethod
    def of(cls, sessions: Sequence[Any], extra_rejected: Sequence[tuple[str, str]] = ()) -> RunSummary:
        summary = cls()
        for session in sessions:
            summary.counts.update(session.outcomes.counts)
            summary.reasons.update(session.outcomes.reasons)
            summary.requisites.update(session.outcomes.requisites)
            summary.requisite_reasons.update(session.outcomes.requisite_reasons)
            summary.sources += [name for name in session.runs.sources if name not in summary.sources]
            summary.bytes += session.outcomes.bytes
            summary.failures.extend(session.outcomes.failures)
            summary.notes.extend(session.outcomes.notes.values())
            summary.seconds = max(summary.seconds, session.outcomes.seconds)
            if session.failure is not None and summary.write_failure is None:
                summary.write_failure = f"{type(session.failure).__name__}: {session.failure}"
            root = str(session.archive.root.resolve())
            if root not in summary.archives:
                summary.archives.append(root)
            summary.warc_files += [p.name for p in session.warc.closed_files]
            if session.json_file:
                summary.json_files.append(session.json_file.name)
        summary.counts["rejected"] += len(extra_rejected)
        return summary

    @property
    def archived(self) -> int:
        return self.counts["new"] + self.counts["changed"]

    @property
    def problems(self) -> int:
        return self.counts["failed"] + self.counts["blocked"] + self.counts["rejected"]

    def line(self) -> str:
        c = self.counts
        return (f"archived: {self.archived}  (new {c['new']}, changed {c['changed']})  "
                f"unchanged: {c['unchanged']}  failed: {c['failed']}  blocked: {c['blocked']}  "
                f"rejected: {c['rejected']}")

    def requisites_line(self) -> str | None:
        """Page requisites: how many were fetched, unchanged, failed (and why); None if none."""
        r = self.requisites
        if not sum(r.values()):
            return None
        why = ", ".join(f"{reason} {n}" for reason, n in self.requisite_reasons.most_common(4))
        return (f"requisites: fetched {r['fetched']}  unchanged {r['unchanged']}  failed {r['failed']}"
                + (f"  ({why})" if why else ""))

    def as_dict(self) -> dict[str, Any]:
        return {**{name: self.counts[name] for name in OUTCOMES}, "bytes": self.bytes,
                "requisites": {name: self.requisites[name] for name in ("fetched", "unchanged", "failed")},
                "requisite_reasons": dict(self.requisite_reasons),
                "reasons": dict(self.reasons), "notes": self.notes, "write_failure": self.write_failure, "crawl_seconds": round(self.seconds, 2),
                "archive": self.archives, "warc_files": self.warc_files, "json_files": self.json_files}
