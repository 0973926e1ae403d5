"""End-to-end ingest throughput against the extraction-only limit, measured in one run.

    python bench/ingest_throughput.py [--pages 500] [--runs 3] [--workers N]

Starts the local news server (tests/newsserver.py) serving N copies of the recorded corpus
pages under distinct URLs and prints, per run and as min/median/max:
  1. extraction alone (crawler.extraction.extract over the same pages from memory): one
     process, and one process per core (the multi-process limit);
  2. `crawler ingest` end to end (fetch + WARC + extraction + JSON Lines), pages per second;
  3. the ratio of (2) to the multi-process limit of (1);
  4. peak RSS of the whole ingest process tree.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.extraction import ExtractOptions, extract  # noqa: E402
from tests.newsserver import CORPUS, NewsServer, corpus_pages  # noqa: E402


def page_set(n: int) -> list[tuple[str, str, bytes]]:
    pages = corpus_pages(True)
    out = []
    for i, (site, name) in enumerate(itertools.islice(itertools.cycle(pages), n)):
        body = gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes())
        out.append((f"/copy/{i}/{site}/{name}", f"http://127.0.0.1/copy/{i}/{site}/{name}", body))
    return out


def _extract_one(args: tuple[bytes, str]) -> int:
    body, url = args
    return len(extract(body, url, content_type="text/html; charset=utf-8", options=_OPTIONS)["text"] or "")


_OPTIONS = ExtractOptions()


def extraction_rate(pages: list[tuple[str, str, bytes]], workers: int) -> float:
    work = [(body, url) for _path, url, body in pages]
    start = time.perf_counter()
    if workers == 1:
        for item in work:
            _extract_one(item)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_extract_one, work, chunksize=4))
    return len(work) / (time.perf_counter() - start)


def _tree_rss_kb(pid: int) -> int:
    """Sum of VmRSS over pid and its descendants (Linux /proc)."""
    total = 0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        stack.extend(children.get(p, []))
    return total


def ingest_rate(server: NewsServer, pages: list[tuple[str, str, bytes]], workers: int) -> tuple[float, int, int, float]:
    """(pages/s over the wall time of the command, archived, peak RSS KB, pages/s while crawling)."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(server.url(path) for path, _url, _body in pages))
        cmd = [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", f"{tmp}/archive",
               "-i", str(listing), "-s", f"EXTRACT_WORKERS={workers}", "-s", "ARCHIVE_PROGRESS_INTERVAL=0",
               "-s", "CONCURRENT_REQUESTS=32", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32"]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(proc.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        archived = int(out.split("archived:")[1].split()[0]) if "archived:" in out else 0
        # Scrapy's own elapsed_time_seconds: the crawl, without process start-up and imports.
        crawl = re.search(r"'elapsed_time_seconds': ([0-9.]+)", err)
        crawl_rate = len(pages) / float(crawl.group(1)) if crawl else float("nan")
        return len(pages) / elapsed, archived, peak, crawl_rate


def memory_scaling(sizes: list[int], workers: int) -> None:
    """Peak RSS of the ingest process tree against crawl size: it should stay flat."""
    peaks = {}
    with NewsServer(keep_bodies=False) as server:
        for n in sizes:
            rate, archived, peak_kb, _crawl = ingest_rate(server, page_set(n), workers)
            peaks[n] = peak_kb
            print(f"N={n:6d}: {archived} archived, {rate:5.1f} pages/s, peak RSS {peak_kb / 1024:6.0f} MB", flush=True)
    base = peaks[sizes[0]]
    for n in sizes[1:]:
        print(f"peak RSS N={n} / N={sizes[0]}: {peaks[n] / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--memory-sizes", metavar="N,N", default="",
                        help="instead: peak RSS of `crawler ingest` at these page counts (e.g. 1000,10000)")
    args = parser.parse_args()
    if args.memory_sizes:
        return memory_scaling([int(n) for n in args.memory_sizes.split(",")], args.workers)
    pages = page_set(args.pages)
    mean_kb = sum(len(b) for *_x, b in pages) / len(pages) / 1024
    print(f"{len(pages)} pages from {len(corpus_pages(True))} recorded corpus pages, mean {mean_kb:.0f} KB, "
          f"{args.workers} extraction workers, {os.cpu_count()} cores")
    single, multi, e2e, ratios, peaks, crawling, crawl_ratios = [], [], [], [], [], [], []
    with NewsServer(keep_bodies=False) as server:
        for run in range(1, args.runs + 1):
            s = extraction_rate(pages, 1)
            m = extraction_rate(pages, args.workers)
            rate, archived, peak_kb, crawl_rate = ingest_rate(server, pages, args.workers)
            single.append(s), multi.append(m), e2e.append(rate), ratios.append(rate / m), peaks.append(peak_kb)
            crawling.append(crawl_rate), crawl_ratios.append(crawl_rate / m)
            print(f"run {run}: extraction 1 proc {s:6.1f} p/s ({1000 / s:5.1f} ms/page) | "
                  f"{args.workers} procs {m:6.1f} p/s | ingest {rate:6.1f} p/s wall, {crawl_rate:6.1f} p/s "
                  f"crawling ({archived} archived) | ratio {rate / m:4.2f} wall, {crawl_rate / m:4.2f} crawling | "
                  f"peak RSS {peak_kb / 1024:6.0f} MB")

    def spread(xs: list[float]) -> str:
        return f"min {min(xs):.2f}  median {statistics.median(xs):.2f}  max {max(xs):.2f}"

    print("extraction, 1 process (pages/s):  ", spread(single))
    print(f"extraction, {args.workers} processes (pages/s):", spread(multi))
    print("crawler ingest end to end, wall (pages/s):", spread(e2e))
    print("crawler ingest while crawling (pages/s):  ", spread(crawling))
    print("ratio ingest wall / multi-process limit:  ", spread(ratios))
    print("ratio ingest crawling / multi-process limit:", spread(crawl_ratios))
    print("peak RSS of ingest tree (MB):        ", spread([p / 1024 for p in peaks]))


if __name__ == "__main__":
    main()
