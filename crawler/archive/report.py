"""The capture-quality report: per source, its runs (storage/runstats.py) and what changed for the
worse in the latest one, compared with the runs before it.

The anomalies, each with its own threshold (ARCHIVE_ALERT_*, crawler/config.py AlertConfig):
- `blocked_rise`: the share of fetched pages behind a bot wall or challenge rose;
- `word_count_drop`: the median word count of the pages with text fell (teasers, consent text);
- `coverage_drop`: fewer articles with a date, an author or a title (the layout changed);
- `no_new_articles`: several runs in a row without a new article, for a source that had them;
- `discovery_failing`: a sitemap, feed or section page failed;
- `paywall_rise`: the share of paywalled pages rose.
A share is judged only for runs with ARCHIVE_ALERT_MIN_PAGES pages behind it; "before" is the
median of the earlier runs (at most ARCHIVE_ALERT_HISTORY), so one odd run in the history does
not move it.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any, Callable, Iterable

from crawler.config import AlertConfig

KINDS = ("blocked_rise", "word_count_drop", "coverage_drop", "no_new_articles", "discovery_failing",
         "paywall_rise")
MIN_TEXTS = 3  # pages with text a median word count is taken over, at least


def build_report(runs: Iterable[dict[str, Any]], alerts: AlertConfig, *, sources: Iterable[str] = (),
                 since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """{"sources": [{"source", "runs", "anomalies"}]} from run files (oldest first). `since` and
    `until` choose the runs shown; the latest of them is judged against all runs before it."""
    wanted = set(sources)
    per_source: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for name, stats in run["sources"].items():
            if wanted and name not in wanted:
                continue
            per_source.setdefault(name, []).append({**stats, "run": run.get("file", "").removesuffix(".json"),
                                                    "job": run.get("job"), "started": run["started"],
                                                    "ended": run.get("ended")})
    out = []
    for name in sorted(per_source):
        every = sorted(per_source[name], key=lambda r: _when(r["started"]))
        shown = [r for r in every if (since is None or _when(r["started"]) >= since)
                 and (until is None or _when(r["started"]) <= until)]
        if not shown:
            continue
        before = every[:every.index(shown[-1])]
        out.append({"source": name, "runs": shown, "anomalies": anomalies(shown[-1], before, alerts)})
    return {"sources": out}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def anomalies(latest: dict[str, Any], before: list[dict[str, Any]], alerts: AlertConfig) -> list[dict[str, Any]]:
    """What went wrong in `latest`, the runs `before` it (oldest first) being the norm."""
    history = before[-alerts.history:]
    found: list[dict[str, Any]] = []

    def judged(runs: list[dict[str, Any]], size: Callable[[dict[str, Any]], int], value: Callable[[dict[str, Any]], Any],
               at_least: int) -> tuple[Any, Any] | None:
        """(latest value, median of the earlier values) when both rest on enough pages."""
        if size(latest) < at_least:
            return None
        earlier = [value(r) for r in runs if size(r) >= at_least and value(r) is not None]
        if not earlier or value(latest) is None:
            return None
        return value(latest), statistics.median(earlier)

    def fetched(run: dict[str, Any]) -> int:
        return run.get("fetched") or 0

    blocked = judged(history, fetched, lambda r: (r.get("blocked") or 0) / fetched(r), alerts.min_pages)
    if blocked and blocked[0] >= alerts.blocked_share and blocked[0] - blocked[1] >= alerts.blocked_share / 2:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted((latest.get("blocked_kinds") or {}).items(),
                                                            key=lambda item: -item[1]))
        found.append(_anomaly("blocked_rise", f"{blocked[0]:.0%} of the pages fetched were blocked ({kinds}), "
                              f"against {blocked[1]:.0%} before", *blocked))

    words = judged(history, lambda r: r.get("pages_with_text") or 0, lambda r: r.get("median_words"), MIN_TEXTS)
    if words and words[1] and words[0] <= words[1] * alerts.word_count_ratio:
        found.append(_anomaly("word_count_drop", f"the median page has {words[0]:g} words, against {words[1]:g} "
                              "before", *words))

    for field in ("date", "author", "title"):
        share = judged(history, lambda r: r.get("articles") or 0, lambda r, f=field: r.get(f"{f}_share"),
                       alerts.min_pages)
        if share and share[1] - share[0] >= alerts.coverage_drop:
            found.append({**_anomaly("coverage_drop", f"{share[0]:.0%} of the articles have a {field}, against "
                                     f"{share[1]:.0%} before", *share), "field": field})

    quiet = alerts.quiet_runs
    recent, earlier = [*history, latest][-quiet:], history[:len(history) - quiet + 1]
    if (len(recent) == quiet and all(not r.get("new_articles") for r in recent) and len(earlier) >= quiet
            and statistics.median(r.get("new_articles") or 0 for r in earlier) >= alerts.min_pages):
        usual = statistics.median(r.get("new_articles") or 0 for r in earlier)
        found.append(_anomaly("no_new_articles", f"no new article in the last {quiet} runs, against {usual:g} "
                              "a run before", 0, usual))

    failures = (latest.get("discovery") or {}).get("failures") or []
    if failures:
        streak = 1
        for run in reversed(history):
            if not (run.get("discovery") or {}).get("failed"):
                break
            streak += 1
        listed = "; ".join(f"{f['url']} ({f['reason']})" for f in failures[:5])
        found.append({**_anomaly("discovery_failing", f"{len(failures)} discovery URL(s) failed: {listed}"
                                 + (f", failing {streak} runs in a row" if streak > 1 else ""),
                                 len(failures), None), "urls": failures, "runs": streak})

    # over the pages fetched: an unchanged page is as paywalled as it was, and a paywall put up
    # changes the pages it covers
    paywalled = judged(history, fetched, lambda r: (r.get("paywalled") or 0) / fetched(r), alerts.min_pages)
    if paywalled and paywalled[0] >= alerts.paywall_rise and paywalled[0] - paywalled[1] >= alerts.paywall_rise:
        found.append(_anomaly("paywall_rise", f"{paywalled[0]:.0%} of the pages fetched were paywalled, against "
                              f"{paywalled[1]:.0%} before", *paywalled))
    return found


def _anomaly(kind: str, detail: str, latest: Any, before: Any) -> dict[str, Any]:
    def tidy(value: Any) -> Any:
        return round(value, 3) if isinstance(value, float) else value

    return {"kind": kind, "detail": detail, "latest": tidy(latest), "before": tidy(before)}


# -- for a terminal ----------------------------------------------------------------------------------
COLUMNS = (("fetched", "fetched"), ("new", "new"), ("changed", "chg"), ("unchanged", "unch"),
           ("failed", "failed"), ("blocked", "blocked"), ("paywalled", "paywall"),
           ("robots_disallowed", "robots"), ("median_words", "words"), ("date_share", "date"),
           ("author_share", "author"))


def render_text(report: dict[str, Any], last: int = 5) -> list[str]:
    """The report as lines: per source its last runs, then its anomalies."""
    lines: list[str] = []
    for entry in report["sources"]:
        runs = entry["runs"]
        lines.append(f"{entry['source']}  ({len(runs)} run{'s' if len(runs) != 1 else ''}, "
                     f"{runs[0]['started'][:16].replace('T', ' ')} .. {runs[-1]['started'][:16].replace('T', ' ')})")
        lines.append("  " + f"{'run started':17}" + "".join(f"{label:>8}" for _key, label in COLUMNS))
        for run in runs[-last:]:
            cells = []
            for key, _label in COLUMNS:
                value = run.get(key)
                cells.append("-" if value is None else f"{value:.0%}" if key.endswith("_share") else f"{value:g}")
            lines.append("  " + f"{run['started'][:16].replace('T', ' '):17}" + "".join(f"{c:>8}" for c in cells))
        for found in entry["anomalies"]:
            lines.append(f"  ! {found['kind']}: {found['detail']}")
    return lines
