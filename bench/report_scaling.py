"""How `crawler report` scales, and what the run aggregates cost a crawl.

    python bench/report_scaling.py [--pages 10000,100000] [--runs 50] [--sources 12] [--repeat 5]

For each size: that many synthetic page records (outcomes, reasons, word counts, metadata in the
proportions of a real crawl: mostly unchanged, some new, a few failed, blocked, paywalled),
spread over --runs runs of --sources sources, fed to storage.runstats.RunStats exactly as the
record pipeline feeds it, one run file per run. Then:
- report time: `crawler report --json` as a user runs it (a new process, median of --repeat),
  and in process (read the run files, judge every source's latest run);
- aggregate cost: RunStats.page per record, against what the record pipeline does for every
  page anyway (build_record and the JSON line's json.dumps), measured side by side in this run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.archive.report import build_report  # noqa: E402
from crawler.config import AlertConfig  # noqa: E402
from crawler.pipeline.records import build_record, outcome_of  # noqa: E402
from storage.runstats import RunStats, read_runs  # noqa: E402


def item(rng: random.Random, source: str, n: int) -> dict:
    """A page item as the spider hands it to the pipeline, after extraction."""
    roll = rng.random()
    reason = None
    if roll < 0.03:
        reason = "fetch_failed"
    elif roll < 0.05:
        reason = "blocked:cloudflare"
    elif roll < 0.08:
        reason = "too_short"
    words = rng.randint(300, 1500) if reason is None else rng.randint(0, 80)
    return {"source": source, "url": f"https://{source}.example/a/{n}", "final_url": f"https://{source}.example/a/{n}",
            "fetched_at": "2026-12-04T00:00:00Z", "status": 200 if reason != "fetch_failed" else None,
            "content_type": "text/html", "truncated": None, "depth": 0, "warc": "x.warc.gz" if reason != "fetch_failed" else None,
            "reason": reason,
            "extraction": {"title": f"Story {n}", "published": "2026-12-03" if rng.random() < 0.95 else None,
                           "authors": ["A. Writer"] if rng.random() < 0.8 else [], "word_count": words,
                           "paywalled": rng.random() < 0.05, "text": "word " * 50, "language": "en",
                           "text_digest": "sha1:0"}}


def make_runs(root: Path, pages: int, runs: int, sources: int, rng: random.Random) -> float:
    """Run files for `pages` pages; returns the seconds RunStats.page took in all."""
    names = [f"source{i:02d}" for i in range(sources)]
    per_run = pages // runs
    spent = 0.0
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for r in range(runs):
        stats = RunStats(job="bench", started=start + timedelta(hours=6 * r))
        for n in range(per_run):
            source = names[n % sources]
            if rng.random() < 0.6:  # an unchanged page: not extracted again
                t = time.perf_counter()
                stats.unchanged(source, f"https://{source}.example/a/{n}")
                spent += time.perf_counter() - t
                continue
            page = item(rng, source, r * per_run + n)
            record = build_record(page, {"name": "bench", "version": "0"})
            t = time.perf_counter()
            stats.page(record, outcome_of(record), page["extraction"]["word_count"])
            spent += time.perf_counter() - t
        stats.write(root, f"bench{r:03d}")
    return spent


def pipeline_cost(rng: random.Random, count: int) -> tuple[float, float]:
    """(seconds per page of build_record + json.dumps, of RunStats.page), side by side."""
    items = [item(rng, f"source{i % 12:02d}", i) for i in range(count)]
    stats = RunStats()
    base, extra = [], []
    for _ in range(5):
        t = time.perf_counter()
        records = [build_record(it, {"name": "bench", "version": "0"}) for it in items]
        for record in records:
            json.dumps(record, ensure_ascii=False)
        base.append((time.perf_counter() - t) / count)
        outcomes = [outcome_of(r) for r in records]
        t = time.perf_counter()
        for record, outcome, it in zip(records, outcomes, items):
            stats.page(record, outcome, it["extraction"]["word_count"])
        extra.append((time.perf_counter() - t) / count)
    return statistics.median(base), statistics.median(extra)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="10000,100000")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--sources", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings")
    alerts = AlertConfig.from_settings(settings)
    for pages in (int(p) for p in args.pages.split(",")):
        with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
            root = Path(folder)
            (root / "warc").mkdir()
            spent = make_runs(root, pages, args.runs, args.sources, rng)
            size = sum(p.stat().st_size for p in (root / "runs").iterdir())
            inproc, cli = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                report = build_report(list(read_runs(root)), alerts)
                inproc.append(time.perf_counter() - t)
                t = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "crawler", "report", str(root), "--json"],
                                      capture_output=True, cwd=REPO, check=False)
                cli.append(time.perf_counter() - t)
                assert done.returncode in (0, 6), done.stderr.decode()[-500:]
            print(f"{pages:>7} pages, {args.runs} runs, {args.sources} sources: run files {size / 1024:.0f} kB; "
                  f"report in process median {statistics.median(inproc) * 1000:.1f} ms "
                  f"(spread {min(inproc) * 1000:.1f}-{max(inproc) * 1000:.1f}); `crawler report --json` median "
                  f"{statistics.median(cli):.2f} s (spread {min(cli):.2f}-{max(cli):.2f}); "
                  f"{len(report['sources'])} sources judged; aggregating took {spent:.2f} s in all")
    base, extra = pipeline_cost(rng, 20000)
    print(f"aggregates per page: {extra * 1e6:.2f} us, against {base * 1e6:.1f} us for the JSON record the "
          f"pipeline builds anyway ({extra / base:.1%}); against ~70 ms of extraction a page: "
          f"{extra / 0.070:.4%}")


if __name__ == "__main__":
    main()
