"""Distributed mode: pages per second with 1 and 2 workers, and Redis memory per 100,000 URLs.

    python bench/distributed.py [--pages 500] [--workers 1 2] [--urls 100000] [--runs 1] [--smallest N]

Needs redis-server (Debian package `redis-server`); starts its own on a free loopback port,
and the local news server (tests/newsserver.py) serving `--pages` distinct article pages
(recorded corpus pages, each copy made unique by a comment, so none is a revisit).

1. Throughput: enqueues the pages (`enqueue_work`), starts N `crawler worker` processes at
   once, waits for all to stop (`--idle-timeout 1`). Prints pages/s over the crawl (first
   worker joined -> queue drained, from the workers' own log events) and over the wall clock
   (process start -> exit, start-up included), and each worker's share.
2. Memory (`MEMORY USAGE` per key, `INFO memory` deltas), per 100,000 distinct URLs:
   the Bloom duplicate filter at the default and at a 1M capacity, scrapy-redis's own
   duplicate filter (a set of 40-hex SHA1 fingerprints) for comparison, pending requests in
   the queue, and the incremental state (RedisStateStore) of archived URLs.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import redis
from newsserver import CORPUS, NewsServer, corpus_pages
from scrapy.settings import Settings
from scrapy.utils.request import fingerprint


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("bench: redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("bench: redis-server did not start")


def settings(url: str, **extra: object) -> Settings:
    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    s.set("REDIS_URL", url)
    for name, value in extra.items():
        s.set(name, value)
    return s


def serve_pages(server: NewsServer, n: int, smallest: int = 0) -> list[str]:
    bases = []
    for site, name in corpus_pages(True, server.corpus):
        bases.append(gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes()))
    if smallest:
        bases = sorted(bases, key=len)[:smallest]
    urls = []
    for i, base in zip(range(n), itertools.cycle(bases)):
        path = f"/bench/{i}"
        server.set_page(path, base.replace(b"<body", f"<!-- copy {i} --><body".encode(), 1))
        urls.append(server.url(path))
    return urls


def _ts(event: dict) -> float:
    return datetime.fromisoformat(event["timestamp"]).timestamp()


def crawl(url: str, urls: list[str], workers: int, folder: Path) -> dict[str, float | list[int]]:
    from crawler.distributed.enqueue import enqueue_work

    client = redis.Redis.from_url(url)
    client.flushall()
    enqueue_work(settings(url), urls=urls, allow_private=True)
    archive = folder / f"archive-{workers}-{time.monotonic_ns()}"
    logs = [folder / f"worker-{workers}-{i}.log" for i in range(workers)]
    start = time.perf_counter()
    procs = []
    for log in logs:
        with log.open("w") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "crawler", "--log-json", "worker", "--redis", url, "--archive", str(archive),
                 "--idle-timeout", "1", "-s", "ARCHIVE_PROGRESS_INTERVAL=0"],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT))
    for proc in procs:
        proc.wait()
    wall = time.perf_counter() - start
    joined, stopped = [], []
    for log in logs:
        events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        joined += [_ts(e) for e in events if e.get("event") == "worker_joined"]
        stopped += [_ts(e) - 1.0 for e in events if e.get("event") == "worker_idle_stop"]  # minus the idle timeout
    lines = [len(p.read_text().splitlines()) for p in sorted((archive / "json").glob("*.jsonl"))]
    if sum(lines) != len(urls) or any(proc.returncode != 0 for proc in procs):
        sys.exit(f"bench: {workers} worker(s) archived {sum(lines)} of {len(urls)} pages; see {folder}")
    span = max(stopped) - min(joined)
    client.close()
    return {"crawl_pages_per_s": len(urls) / span, "wall_pages_per_s": len(urls) / wall, "span": span,
            "wall": wall, "shares": lines}


def memory(url: str, n: int) -> None:
    from crawler.distributed.bloom import BloomFilter
    from crawler.distributed.config import DistributedConfig, bloom_size
    from crawler.distributed.scheduler import ReliableQueue
    from crawler.distributed.state import RedisStateStore
    from spiders.worker import WorkerSpider

    client = redis.Redis.from_url(url)
    client.flushall()
    spider = WorkerSpider()
    requests = [spider.url_request(f"https://www.example-news.com/{i // 1000}/2024/article-{i}.html")
                for i in range(n)]
    fps = [fingerprint(r) for r in requests]
    per = 100_000 / n

    def used() -> int:
        return int(client.info("memory")["used_memory"])

    print(f"\nRedis memory for {n:,} distinct URLs (shown per 100,000 URLs)")
    for capacity in (1_000_000, 10_000_000):
        bits, hashes = bloom_size(capacity, 1e-6)
        bloom = BloomFilter(client, f"bf:{capacity}", f"bf:{capacity}:count", bits=bits, hashes=hashes,
                            capacity=capacity)
        for chunk in range(0, n, 5000):
            bloom.add_many(fps[chunk:chunk + 5000])
        size = client.memory_usage(f"bf:{capacity}")
        false = bloom.add_many([f"other-{i}".encode() for i in range(20_000)]).count(False)
        print(f"  Bloom filter sized for {capacity:>10,} URLs at 1e-6 ({hashes} hashes): {size / 2**20:7.2f} MiB "
              f"fixed, whatever the URL count ({size / capacity * 1e6 / 2**20:.2f} MiB per million; "
              f"{false} false positives in 20,000 new URLs)")
        client.delete(f"bf:{capacity}", f"bf:{capacity}:count")
    pipe = client.pipeline(transaction=False)
    for fp in fps:
        pipe.sadd("srfp", fp.hex())
    pipe.execute()
    size = client.memory_usage("srfp", samples=0)
    print(f"  scrapy-redis's set of SHA1 hex fingerprints:                       {size * per / 2**20:7.2f} MiB "
          f"per 100,000 ({size / n:.0f} bytes a URL, grows without bound)")
    client.delete("srfp")
    config = DistributedConfig.from_settings(settings(url))
    queue = ReliableQueue(client, spider, config.keys("bench"), "bench-worker")
    pipe = client.pipeline(transaction=False)
    for request in requests:
        pipe.execute_command("ZADD", queue.key, -request.priority, queue.encode(request))
    pipe.execute()
    size = client.memory_usage(queue.key, samples=0)
    print(f"  pending requests in the queue (pickled, scrapy-redis format):      {size * per / 2**20:7.2f} MiB "
          f"per 100,000 ({size / n:.0f} bytes a request, freed as they are taken)")
    client.delete(queue.key)
    store = RedisStateStore.from_settings(settings(url))
    before = used()
    pipe_size = 2000
    for chunk in range(0, n, pipe_size):
        for i in range(chunk, min(n, chunk + pipe_size)):
            store.record_response(requests[i].url, etag=f'"{i:x}"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
                                  status=200, payload_digest=f"sha1:{fps[i].hex().upper()[:32]}",
                                  warc_date="2024-01-01T00:00:00Z", record_id=f"<urn:uuid:{i:032x}>",
                                  filename="worker-20240101000000-00000-host-1234.warc.gz", offset=i * 9000,
                                  length=9000)
    grown = used() - before
    print(f"  incremental state of archived URLs (capture hash + payload key):  {grown * per / 2**20:7.2f} MiB "
          f"per 100,000 ({grown / n:.0f} bytes a URL, kept like the SQLite state)")
    store.close()
    client.flushall()
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500, help="0: memory figures only")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--urls", type=int, default=100_000, help="distinct URLs for the memory figures")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--smallest", type=int, default=0, metavar="N",
                        help="copies of the N smallest corpus pages only (the tests use 20); default: all pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        folder = Path(tmp)
        redis_proc, url = start_redis(folder)
        try:
            with NewsServer(keep_bodies=False) as server:
                urls = serve_pages(server, args.pages, args.smallest)
                if urls:
                    print(f"{args.pages} distinct pages from the local news server, Redis {url}")
                for workers in args.workers if urls else []:
                    results = [crawl(url, urls, workers, folder) for _ in range(args.runs)]
                    rate = statistics.median(r["crawl_pages_per_s"] for r in results)
                    wall = statistics.median(r["wall_pages_per_s"] for r in results)
                    shares = " / ".join(str(s) for s in results[-1]["shares"])
                    print(f"  {workers} worker(s): {rate:6.1f} pages/s over the crawl, {wall:6.1f} pages/s wall "
                          f"clock with start-up (pages per worker: {shares})")
            if args.urls:
                memory(url, args.urls)
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)


if __name__ == "__main__":
    main()
