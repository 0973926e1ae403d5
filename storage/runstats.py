"""What one crawl run did, per source: the capture-quality report's data.

A run adds to a `RunStats` as its pages are recorded (counts, reasons, word counts) and writes it
once, when it ends, as one small JSON file in the archive's `runs/` folder
(`<started>-<prefix>-<pid>.json`, shipped to a remote archive like the other files). A report
reads these files, one per run, never the JSON lines: a report over 100,000 pages reads 50 files
of a few kB.

Pages of URL ingests and URL jobs are counted under their host (`source_key`).
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

RUNS_DIR = "runs"
FORMAT = 1
GENERIC_SOURCES = {"ingest", ""}  # spiders whose pages are reported under their host
DISCOVERY_FAILURES_KEPT = 20


def source_key(source: str | None, url: str) -> str:
    """The name a page is reported under: its source, or the host of a URL given by hand."""
    if source and source not in GENERIC_SOURCES:
        return source
    parts = urlsplit(url)
    host = (parts.hostname or "unknown").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


@dataclass
class SourceStats:
    """One source's figures in one run."""

    discovered: int = 0  # article URLs listed by its sitemaps, feeds, sections (or given)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    blocked: int = 0  # bot walls, challenges (robots.txt refusals counted apart)
    robots_disallowed: int = 0
    rejected: int = 0
    paywalled: int = 0
    articles: int = 0  # pages that gave an article
    new_articles: int = 0  # of them, first seen in this run
    with_title: int = 0
    with_date: int = 0
    with_author: int = 0
    failed_reasons: Counter[str] = field(default_factory=Counter)
    blocked_kinds: Counter[str] = field(default_factory=Counter)
    no_article: Counter[str] = field(default_factory=Counter)  # archived, no article: why
    requisites_fetched: int = 0
    requisites_failed: int = 0
    discovery_fetched: int = 0
    discovery_failed: int = 0
    discovery_failures: dict[str, str] = field(default_factory=dict)  # URL -> reason
    words: list[int] = field(default_factory=list)  # of the pages with text (articles, teasers)

    @property
    def fetched(self) -> int:
        """Pages asked for and answered or failed (rejected URLs never left)."""
        return (self.new + self.changed + self.unchanged + self.failed + self.blocked
                + self.robots_disallowed)

    def as_dict(self) -> dict[str, Any]:
        def share(n: int) -> float | None:
            return round(n / self.articles, 3) if self.articles else None

        return {
            "discovered": self.discovered, "fetched": self.fetched,
            "archived": self.new + self.changed, "new": self.new, "changed": self.changed,
            "unchanged": self.unchanged, "failed": self.failed, "failed_reasons": dict(self.failed_reasons),
            "blocked": self.blocked, "blocked_kinds": dict(self.blocked_kinds),
            "paywalled": self.paywalled, "robots_disallowed": self.robots_disallowed,
            "rejected": self.rejected, "no_article": dict(self.no_article),
            "requisites": {"fetched": self.requisites_fetched, "failed": self.requisites_failed},
            "discovery": {"fetched": self.discovery_fetched, "failed": self.discovery_failed,
                          "failures": [{"url": u, "reason": r} for u, r in self.discovery_failures.items()]},
            "articles": self.articles, "new_articles": self.new_articles, "pages_with_text": len(self.words),
            "median_words": statistics.median(self.words) if self.words else None,
            "title_share": share(self.with_title), "date_share": share(self.with_date),
            "author_share": share(self.with_author),
        }


class RunStats:
    """The figures of one run, per source, as the crawl records pages."""

    def __init__(self, job: str | None = None, started: datetime | None = None) -> None:
        self.job = job or None
        self.started = started or datetime.now().astimezone()
        self.sources: dict[str, SourceStats] = {}
        self.path: Path | None = None  # the run's file, once written (checkpoints rewrite it)
        self.changed = False  # figures added since the file was last written

    def of(self, source: str | None, url: str) -> SourceStats:
        """The figures of `url`'s source, to add to (every figure is added through here)."""
        self.changed = True
        key = source_key(source, url)
        stats = self.sources.get(key)
        if stats is None:
            stats = self.sources[key] = SourceStats()
        return stats

    def page(self, record: dict[str, Any], outcome: str, words: int = 0) -> None:
        """A page's JSON record and its outcome (new, changed, failed, blocked, rejected);
        `words`: the words of its text, also when too few to make an article."""
        stats = self.of(record.get("source"), record.get("url") or "")
        reason = record.get("reason") or ""
        base, _, detail = reason.partition(":")
        if outcome == "rejected":
            stats.rejected += 1
            return
        if outcome == "blocked":
            if base == "robots_disallowed":
                stats.robots_disallowed += 1
            else:
                stats.blocked += 1
                stats.blocked_kinds[detail or base] += 1
            return
        if outcome == "failed":
            stats.failed += 1
            stats.failed_reasons[base] += 1
            return
        stats.new += outcome == "new"
        stats.changed += outcome == "changed"
        stats.paywalled += bool(record.get("paywalled"))
        if words:
            stats.words.append(words)
        if reason:
            stats.no_article[base] += 1
            return
        stats.articles += 1
        stats.new_articles += outcome == "new"
        stats.with_title += bool(record.get("title"))
        stats.with_date += bool(record.get("published"))
        stats.with_author += bool(record.get("authors"))

    def unchanged(self, source: str | None, url: str) -> None:
        self.of(source, url).unchanged += 1

    def discovered(self, source: str | None, url: str, count: int = 1) -> None:
        self.of(source, url).discovered += count

    def discovery(self, source: str | None, url: str, reason: str | None = None) -> None:
        """A sitemap, feed or section page fetched (reason None) or failing (why)."""
        stats = self.of(source, url)
        if reason is None:
            stats.discovery_fetched += 1
            return
        stats.discovery_failed += 1
        if len(stats.discovery_failures) < DISCOVERY_FAILURES_KEPT:
            stats.discovery_failures[url] = reason

    def requisite(self, source: str | None, page_url: str, outcome: str) -> None:
        stats = self.of(source, page_url)
        if outcome == "failed":
            stats.requisites_failed += 1
        else:
            stats.requisites_fetched += 1

    def as_dict(self, ended: datetime | None = None) -> dict[str, Any]:
        return {"format": FORMAT, "job": self.job, "started": _iso(self.started),
                "ended": _iso(ended or datetime.now().astimezone()),
                "sources": {name: stats.as_dict() for name, stats in sorted(self.sources.items())}}

    def write(self, root: Path, prefix: str) -> Path | None:
        """The run's file in `root/runs/` (written whole, then renamed: a run killed after a
        checkpoint leaves its figures so far); None if nothing happened yet."""
        if not self.sources:
            return None
        if self.path is None:
            folder = Path(root) / RUNS_DIR
            folder.mkdir(parents=True, exist_ok=True)
            stamp = self.started.astimezone().strftime("%Y%m%dT%H%M%S%f")
            self.path = folder / f"{stamp}-{prefix}-{os.getpid()}.json"
        path = self.path
        self.changed = False
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.as_dict(), sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path


def _iso(when: datetime) -> str:
    return when.astimezone().isoformat(timespec="seconds")


def read_runs(root: Path, problem: Any = None) -> Iterator[dict[str, Any]]:
    """The run files of the archive at `root`, oldest first; a file that cannot be read is
    told to `problem` (a callable) and skipped."""
    folder = Path(root) / RUNS_DIR
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(run, dict) or not isinstance(run.get("sources"), dict) or "started" not in run:
                raise ValueError("not a run file")
            datetime.fromisoformat(run["started"])
        except (OSError, ValueError) as exc:
            if problem is not None:
                problem(f"{path}: skipped, unreadable ({exc})")
            continue
        run["file"] = path.name
        yield run
