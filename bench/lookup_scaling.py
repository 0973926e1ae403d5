"""How CDXJ lookups scale: binary search over the file on disk vs. a full scan.

    python bench/lookup_scaling.py [--queries 2000] [--sizes 10000,100000]

Builds synthetic sorted indexes (5 captures per URL, cdxj-indexer's line format) in a temporary
folder, then times exact lookups of random URLs (a tenth of them absent) on each. Binary search
grows with log(lines): 10x the lines adds a few steps, not 10x the time.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.cdxj import CdxjIndex, index_warcs, url_key

SITES = ["reuters.com", "www.ft.com", "dw.com", "itif.org", "restofworld.org"]


def synthetic(n: int) -> tuple[list[str], list[str]]:
    """(index lines, URLs) for n captures."""
    lines, urls = [], []
    start = datetime(2023, 11, 1, tzinfo=UTC)
    for i in range(n // 5):
        url = f"https://{SITES[i % len(SITES)]}/news/{i % 97}/article-{i}?id={i}"
        urls.append(url)
        key = url_key(url)
        for k in range(5):
            ts = (start + timedelta(days=7 * k, seconds=i)).strftime("%Y%m%d%H%M%S")
            data = {"url": url, "mime": "text/html", "status": "200", "digest": f"sha1:{i:032d}",
                    "length": "1000", "offset": str(i * 5000 + k * 1000), "filename": "news-00000.warc.gz"}
            lines.append(f"{key} {ts} {json.dumps(data)}\n")
    return lines, urls


def full_scan(path: Path, url: str) -> int:
    needle = (url_key(url) + " ").encode()
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.startswith(needle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    rng = random.Random(42)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            lines, urls = synthetic(size)
            path = Path(tmp) / f"{size}.cdxj"
            started = time.perf_counter()
            index_warcs([], path, lines=lines)
            build = time.perf_counter() - started
            queries = [rng.choice(urls) if rng.random() > 0.1 else f"https://absent.example/{i}"
                       for i in range(args.queries)]
            index = CdxjIndex(path)
            started = time.perf_counter()
            found = sum(len(index.lookup(url)) for url in queries)
            lookup = (time.perf_counter() - started) / len(queries)
            scans = queries[:20]
            started = time.perf_counter()
            for url in scans:
                full_scan(path, url)
            scan = (time.perf_counter() - started) / len(scans)
            rows.append((size, path.stat().st_size, build, lookup, scan, found / len(queries)))
    print(f"{'lines':>8} {'MB':>6} {'build s':>8} {'lookup us':>10} {'full scan us':>13} {'hits/q':>7}")
    for size, nbytes, build, lookup, scan, hits in rows:
        print(f"{size:>8} {nbytes / 1e6:>6.1f} {build:>8.2f} {lookup * 1e6:>10.1f} {scan * 1e6:>13.0f} {hits:>7.2f}")
    if len(rows) >= 2:
        (s0, *_r0, l0, f0, _h0), (s1, *_r1, l1, f1, _h1) = rows[0], rows[-1]
        print(f"{s1 / s0:.0f}x the lines: lookup {l1 / l0:.2f}x the time, full scan {f1 / f0:.1f}x")


if __name__ == "__main__":
    main()
