"""End-to-end ingest throughput against the extraction-only limit, measured in one run.

    python bench/ingest_throughput.py [--pages 500] [--runs 3] [--workers N]
                                      [--encoding gzip|br|identity] [--limit-pages N] [--compare]
                                      [--no-fallback]

Starts the local news server (tests/newsserver.py) serving N copies of the recorded corpus
pages under distinct URLs, each with a payload of its own (none is a revisit), gzip-encoded as
news servers send HTML (compressed once, before the timed runs, as a server's cache would),
and prints, per run and as min/median/max:
  1. extraction alone over the same pages from memory, one process and one process per core
     (the multi-process limit): our extraction (crawler.extract.article.extract: trafilatura plus
     metadata, boilerplate cleaning, language and links), and plain `trafilatura.extract`; the
     multi-process limits are measured just before and just after (3) and averaged;
  2. `crawler ingest` end to end (fetch + WARC + extraction + JSON Lines), pages per second over
     the command's wall time and over the crawl itself (Scrapy's elapsed time);
  3. the ratios of (2) to the multi-process limits of (1);
  4. CPU per page of the crawler process and of the extraction workers;
  5. peak RSS of the whole ingest process tree;
  6. with --compare, the same pages through `wget --warc-file` and trafilatura's command line.

The pages' requisites (stylesheets, images...) point at the real web, which a bench cannot
reach: the runs above leave them out (ARCHIVE_REQUISITES=False). With --requisites instead,
each page's absolute URLs are pointed at the local server (`https://cdn.example/x.css` ->
`/standin/cdn.example/x.css`), which answers stand-ins of typical sizes, photos and fonts as
incompressible as real ones (tests/newsserver.py `standin`); copies of a page share its
requisites (republished copies), or with --unique-images each copy has its own photos (distinct
articles: the worst case). Each run ingests the pages with and without requisites (in
alternating order), printing articles per second, the requisites fetched, the crawler
process's CPU per requisite, and a bare Scrapy spider's CPU per request over the same requisites
(Scrapy's defaults, nothing of ours) and the CPU of writing a requisite's records: the floor of
any requisite archived through Scrapy, and the highest ratio each leaves (the crawler process is
one thread, the machine has its cores).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import lxml.html  # noqa: E402
import trafilatura  # noqa: E402

from crawler.extract.article import ExtractOptions, extract  # noqa: E402
from crawler.extract.requisites import RequisiteKinds, page_requisites  # noqa: E402
from tests.newsserver import CORPUS, NewsServer, corpus_pages, distinct_mark  # noqa: E402
from tests.proctree import descendants, rss_kb  # noqa: E402


ORIGIN = re.compile(r"^\s*(?:https?:)?//([^/\s]+)(/[^\s]*)?", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", re.IGNORECASE)
IMAGE = re.compile(r"\.(?:jpe?g|png|webp|gif|avif)(?:$|\?)", re.IGNORECASE)
SRCSET_ATTRIBUTES = ("srcset", "data-srcset", "data-lazy-srcset")


def with_standins(body: bytes, copy: int | None) -> bytes:
    """The page with every absolute URL it names on the local server (`https://cdn.example/x.css`
    -> `/standin/cdn.example/x.css`); with `copy`, its images distinct per copy (as distinct
    articles' photos are; without, copies of a page share them, as republished copies do).
    Parsed and written back with lxml, so what the crawler reads is what was rewritten."""
    tree = lxml.html.fromstring(body)

    def local(url: str) -> str:
        found = ORIGIN.match(url)
        if not found:
            return url
        path = found.group(2) or "/"
        if copy is not None and IMAGE.search(path):
            path += ("&" if "?" in path else "?") + f"copy={copy}"
        return f"/standin/{found.group(1)}{path}"

    def css(text: str) -> str:
        return CSS_URL.sub(lambda m: f"url({m.group(1)}{local(m.group(2))}{m.group(1)})", text)

    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name in SRCSET_ATTRIBUTES:
                element.set(name, ", ".join(" ".join([local(c.split()[0]), *c.split()[1:]])
                                            for c in value.split(",") if c.split()))
            elif name == "style":
                element.set(name, css(value))
            elif "//" in value[:10]:
                element.set(name, local(value))
        if element.tag == "style" and element.text:
            element.text = css(element.text)
    return lxml.html.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>")


def page_set(n: int, encoding: str = "identity", standins: bool = False,
             unique_images: bool = False) -> list[tuple[str, str, bytes]]:
    """(path served, URL given to the extractors, decoded body) of n distinct pages; the server
    sends them with Content-Encoding `encoding`, as news servers send HTML (gzip or br)."""
    pages = corpus_pages(True)
    query = "" if encoding == "identity" else f"?enc={encoding}"
    out = []
    for i, (site, name) in enumerate(itertools.islice(itertools.cycle(pages), n)):
        # each copy has a payload of its own, as distinct articles have: none is archived as a revisit
        body = gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes()) + distinct_mark(i)
        if standins:
            body = with_standins(body, i if unique_images else None)
        out.append((f"/distinct/{i}/{site}/{name}{query}", f"http://127.0.0.1/distinct/{i}/{site}/{name}", body))
    return out


def warm_server(server: NewsServer, pages: list[tuple[str, str, bytes]]) -> None:
    """Fetch every page once, so the server compresses each before the timed runs (a web
    server's cache), not on the crawler's CPU during them."""
    for path, _url, _body in pages:
        with urllib.request.urlopen(server.url(path)) as response:
            response.read()


def _extract_one(args: tuple[bytes, str]) -> int:
    body, url = args
    return len(extract(body, url, content_type="text/html; charset=utf-8", options=_OPTIONS)["text"] or "")


def _trafilatura_one(args: tuple[bytes, str]) -> int:
    body, url = args
    return len(trafilatura.extract(body, url=url) or "")


_OPTIONS = ExtractOptions()


def extraction_rate(pages: list[tuple[str, str, bytes]], workers: int, fn=_extract_one) -> float:
    work = [(body, url) for _path, url, body in pages]
    if workers == 1:
        fn(work[0])  # imports and models loaded, as in a warm worker
        start = time.perf_counter()
        for item in work:
            fn(item)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(fn, work[:workers]))  # workers started and warm
            start = time.perf_counter()
            list(pool.map(fn, work, chunksize=4))
    return len(work) / (time.perf_counter() - start)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Ingest:
    rate: float  # pages/s over the wall time of the command
    crawl_rate: float  # pages/s while crawling (Scrapy's elapsed time: no start-up, no imports)
    archived: int
    peak_kb: int  # peak RSS of the process tree
    main_cpu: float  # CPU seconds of the crawler process
    other_cpu: float  # CPU seconds of its children (extraction workers, forkserver)
    server_cpu: float  # CPU seconds of this process meanwhile: the news server and the sampler
    requisites: int = 0  # requisites fetched (and unchanged)


def ingest_rate(server: NewsServer, pages: list[tuple[str, str, bytes]], workers: int,
                settings: tuple[str, ...] = ()) -> Ingest:
    """`settings`: more NAME=VALUE settings for the ingest."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(server.url(path) for path, _url, _body in pages))
        cmd = [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", f"{tmp}/archive",
               "-i", str(listing), "-s", f"EXTRACT_WORKERS={workers}", "-s", "ARCHIVE_PROGRESS_INTERVAL=0",
               "-s", "CONCURRENT_REQUESTS=32", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32"]
        for setting in settings:
            cmd += ["-s", setting]
        start, own_cpu = time.perf_counter(), time.process_time()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0
        cpu: dict[int, float] = {}  # last CPU time seen per process of the tree
        done = threading.Event()

        def sample() -> None:
            # The process tree is looked for once a second (a scan of all of /proc costs 5-10 ms
            # of this process's CPU, which the ingest shares), its RSS and CPU read 5 times a second.
            nonlocal peak
            pids: list[int] = []
            for tick in itertools.count():
                if done.is_set():
                    break
                if tick % 5 == 0:
                    pids = [proc.pid, *descendants(proc.pid)]
                peak = max(peak, sum(rss_kb(p) for p in pids))
                for p in pids:
                    seen = _cpu_seconds(p)
                    if seen is not None:
                        cpu[p] = max(cpu.get(p, 0.0), seen)
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        elapsed = time.perf_counter() - start
        server_cpu = time.process_time() - own_cpu
        done.set()
        sampler.join()
        archived = int(out.split("archived:")[1].split()[0]) if "archived:" in out else 0
        # The crawl's own time (Scrapy's elapsed_time_seconds, without process start-up and imports),
        # from the run summary the command logs.
        crawl = re.search(r'"crawl_seconds": ([0-9.]+)', err)
        crawl_rate = len(pages) / float(crawl.group(1)) if crawl else float("nan")
        main = cpu.pop(proc.pid, 0.0)
        fetched = re.search(r"requisites: fetched (\d+)\s+unchanged (\d+)", out)
        requisites = int(fetched.group(1)) + int(fetched.group(2)) if fetched else 0
        return Ingest(len(pages) / elapsed, crawl_rate, archived, peak, main, sum(cpu.values()), server_cpu,
                      requisites)


# A bare Scrapy spider (Scrapy's defaults but the downloader statistics and item concurrency we
# turn off, our reactor, no middleware of ours, no WARC, a callback that does nothing) fetching
# the given URLs: Scrapy's own CPU per request, the floor for any requisite fetched through Scrapy.
_BARE_SPIDER = r"""
import sys, time, scrapy
from scrapy.crawler import CrawlerProcess
urls = open(sys.argv[1]).read().split()
class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for url in urls:
            yield scrapy.Request(url, callback=self.ok)
    def ok(self, response):
        pass
process = CrawlerProcess({"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
                          "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False, "CONCURRENT_ITEMS": 1,
                          "DOWNLOADER_STATS": False,
                          "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor"})
process.crawl(Bare)
start = time.process_time()
process.start()
print(time.process_time() - start)
"""


def requisite_urls(server: NewsServer, pages: list[tuple[str, str, bytes]], limit: int = 3000) -> list[str]:
    urls: dict[str, None] = {}
    for path, _url, body in pages:
        for url, _kind in page_requisites(body, server.url(path), RequisiteKinds()):
            urls.setdefault(url)
        if len(urls) >= limit:
            break
    return list(urls)[:limit]


def scrapy_floor(urls: list[str]) -> float:
    """Milliseconds of CPU per request of a bare Scrapy spider over these URLs."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(urls))
        listing.flush()
        out = subprocess.run([sys.executable, "-c", _BARE_SPIDER, listing.name], capture_output=True, text=True,
                             check=True).stdout
    return 1000 * float(out.split()[-1]) / len(urls)


def write_floor(urls: list[str]) -> float:
    """Milliseconds of CPU per requisite of archiving it as the crawl does (warcio's response and
    request records in gzip members, the CDXJ lines, the state store's row), here in one thread."""
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from crawler.capture.incremental import archive_exchange
    from storage.cdxj import index_written
    from storage.state import StateStore
    from storage.warc import HttpExchange, RotatingWarcWriter, WarcInfo
    from tests.newsserver import standin

    exchanges = []
    for url in urls:
        parts = urlsplit(url)
        body, content_type = standin(parts.path + (f"?{parts.query}" if parts.query else ""))
        exchanges.append(HttpExchange(url=url, method="GET", request_headers=[("Accept", "*/*"), ("User-Agent", "bench")],
                                      status=200, reason="OK", protocol="HTTP/1.1",
                                      response_headers=[("Content-Type", content_type), ("Content-Length", str(len(body)))],
                                      body=body, date=datetime.now(UTC)))
    with tempfile.TemporaryDirectory() as tmp:
        lines: list[str] = []
        writer = RotatingWarcWriter(Path(tmp), WarcInfo(software="bench", user_agent="bench", robots="obey"),
                                    on_written=lambda name, records: lines.extend(index_written(records, name)))
        state = StateStore(Path(tmp) / "state.sqlite3")
        start = time.process_time()
        for exchange in exchanges:
            archive_exchange(writer, state, exchange)
        spent = time.process_time() - start
        writer.close(), state.close()
    return 1000 * spent / len(exchanges)


def requisites_cost(pages_n: int, runs: int, workers: int, encoding: str, unique_images: bool) -> None:
    """Articles per second with and without requisites, and CPU per requisite, run by run."""
    if encoding == "br":
        raise SystemExit("--requisites serves its pages identity or gzip")
    pages = page_set(pages_n, encoding, standins=True, unique_images=unique_images)
    without_rates, with_rates, ratios, per_requisite, floors, writes, bounds, write_bounds = [], [], [], [], [], [], [], []
    with NewsServer(keep_bodies=False) as server:
        for path, _url, body in pages:  # the rewritten pages, compressed once as a server's cache would
            if encoding == "gzip":
                server.set_page(path, gzip.compress(body, 6), headers=[("Content-Encoding", "gzip")])
            else:
                server.set_page(path, body)
        for run in range(1, runs + 1):
            order = (False, True) if run % 2 else (True, False)
            got = {on: ingest_rate(server, pages, workers, (f"ARCHIVE_REQUISITES={on}",)) for on in order}
            off, on = got[False], got[True]
            extra_cpu = on.main_cpu - off.main_cpu
            ms = 1000 * extra_cpu / on.requisites if on.requisites else float("nan")
            without_rates.append(off.crawl_rate), with_rates.append(on.crawl_rate)
            ratios.append(on.crawl_rate / off.crawl_rate), per_requisite.append(ms)
            # Ceilings on the ratio, taking every cost of ours as zero and only Scrapy's bare CPU
            # per requisite as added (and then also the CPU of writing its records): the crawler
            # process's one thread (its CPU per page without requisites plus that) and the
            # machine's cores (the whole run's CPU per page without requisites, server included,
            # plus that) each bound the rate.
            urls = requisite_urls(server, pages)
            floor, write = scrapy_floor(urls), write_floor(urls)
            floors.append(floor), writes.append(write)

            def ceiling(ms_per_requisite: float) -> float:
                added = ms_per_requisite * on.requisites / len(pages) / 1000
                one_thread = 1 / (off.main_cpu / len(pages) + added)
                cores = (os.cpu_count() or 1) / ((off.main_cpu + off.other_cpu + off.server_cpu) / len(pages) + added)
                return min(1.0, min(one_thread, cores) / off.crawl_rate)

            bounds.append(ceiling(floor)), write_bounds.append(ceiling(floor + write))
            print(f"run {run}: without requisites {off.crawl_rate:6.1f} articles/s ({off.archived} archived, crawler "
                  f"CPU {1000 * off.main_cpu / len(pages):.1f} ms/page) | with {on.crawl_rate:6.1f} articles/s, "
                  f"{on.requisites} requisites ({on.requisites / len(pages):.1f}/page; crawler CPU "
                  f"{1000 * on.main_cpu / len(pages):.1f} ms/page, {ms:.2f} ms per requisite) | "
                  f"ratio {on.crawl_rate / off.crawl_rate:.2f} | bare Scrapy {floor:.2f} ms per request, writing "
                  f"its records {write:.2f} ms: ratio at most {bounds[-1]:.2f} through Scrapy, "
                  f"{write_bounds[-1]:.2f} archived", flush=True)

    def spread(xs: list[float]) -> str:
        return f"min {min(xs):.2f}  median {statistics.median(xs):.2f}  max {max(xs):.2f}"

    print("articles/s without requisites:", spread(without_rates))
    print("articles/s with requisites:   ", spread(with_rates))
    print("ratio with / without:         ", spread(ratios))
    print("crawler CPU per requisite (ms):", spread(per_requisite))
    print("bare Scrapy CPU per request (ms):", spread(floors))
    print("writing a requisite's records (ms):", spread(writes))
    print("highest ratio through Scrapy (its bare CPU per request alone added, ours taken as zero):", spread(bounds))
    print("highest ratio through Scrapy, the records written (and nothing else of ours):", spread(write_bounds))


def other_tools(server: NewsServer, pages: list[tuple[str, str, bytes]], workers: int) -> None:
    """The same pages through tools a user might pick instead (for context, not a target)."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(server.url(path) for path, _url, _body in pages))
        if shutil.which("wget"):
            start = time.perf_counter()
            subprocess.run(["wget", "-q", "-i", str(listing), "-O", "/dev/null", "--warc-file", f"{tmp}/wget"],
                           cwd=tmp, check=False)
            rate = len(pages) / (time.perf_counter() - start)
            print(f"wget --warc-file (fetch + WARC, no extraction, one connection at a time): {rate:6.1f} p/s")
        # trafilatura's own command line: its downloader (threads) and extraction, no archive;
        # its politeness pause and loopback refusal switched off, as our ingest's are
        config = Path(tmp) / "trafilatura.cfg"
        defaults = (Path(trafilatura.__file__).parent / "settings.cfg").read_text()
        config.write_text(re.sub(r"(?m)^SLEEP_TIME = .*$", "SLEEP_TIME = 0",
                                 re.sub(r"(?m)^SSRF_PROTECTION = .*$", "SSRF_PROTECTION = off", defaults)))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from trafilatura.cli import main; main()", "-i", str(listing),
                        "-o", f"{tmp}/trafilatura", "--parallel", str(workers), "--config-file", str(config)],
                       cwd=tmp, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        written = len(list(Path(tmp, "trafilatura").glob("*"))) if Path(tmp, "trafilatura").exists() else 0
        print(f"trafilatura -i (its downloader + extraction, no archive, --parallel {workers}): "
              f"{len(pages) / elapsed:6.1f} p/s ({written} texts written)")


def memory_scaling(sizes: list[int], workers: int, encoding: str) -> None:
    """Peak RSS of the ingest process tree against crawl size: it should stay flat."""
    peaks = {}
    with NewsServer(keep_bodies=False) as server:
        for n in sizes:
            pages = page_set(n, encoding)
            warm_server(server, pages)
            run = ingest_rate(server, pages, workers, ("ARCHIVE_REQUISITES=False",))
            peaks[n] = run.peak_kb
            print(f"N={n:6d}: {run.archived} archived, {run.rate:5.1f} pages/s, peak RSS {run.peak_kb / 1024:6.0f} MB",
                  flush=True)
    base = peaks[sizes[0]]
    for n in sizes[1:]:
        print(f"peak RSS N={n} / N={sizes[0]}: {peaks[n] / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--encoding", choices=("gzip", "br", "identity"), default="gzip",
                        help="Content-Encoding the server sends the pages with (default gzip, as news servers do)")
    parser.add_argument("--limit-pages", type=int, default=0, metavar="N",
                        help="measure the extraction limits over the first N pages only (default: all)")
    parser.add_argument("--compare", action="store_true",
                        help="also: the same pages through wget --warc-file and trafilatura's command line")
    parser.add_argument("--memory-sizes", metavar="N,N", default="",
                        help="instead: peak RSS of `crawler ingest` at these page counts (e.g. 1000,10000)")
    parser.add_argument("--requisites", action="store_true",
                        help="instead: articles/s with and without page requisites (served as stand-ins)")
    parser.add_argument("--unique-images", action="store_true",
                        help="with --requisites: each copy of a page its own images (else copies share them)")
    parser.add_argument("--no-fallback", action="store_true",
                        help="our extraction (limit and ingest) without trafilatura's fallback extractors "
                             "(EXTRACT_FALLBACK=False, its fast mode)")
    args = parser.parse_args()
    global _OPTIONS
    settings: tuple[str, ...] = ("ARCHIVE_REQUISITES=False",)  # they would be fetched from the real web
    if args.requisites:
        return requisites_cost(args.pages, args.runs, args.workers, args.encoding, args.unique_images)
    if args.no_fallback:
        _OPTIONS = ExtractOptions(fallback=False)  # (the limit's worker processes are forked after this)
        settings += ("EXTRACT_FALLBACK=False",)
    if args.memory_sizes:
        return memory_scaling([int(n) for n in args.memory_sizes.split(",")], args.workers, args.encoding)
    pages = page_set(args.pages, args.encoding)
    # the pages are copies of the corpus pages: the extraction rate over the first N of them is
    # the rate over all (a shorter way to the limits of a 10,000-page ingest)
    limit_set = pages[: args.limit_pages or len(pages)]
    mean_kb = sum(len(b) for *_x, b in pages) / len(pages) / 1024
    print(f"{len(pages)} pages from {len(corpus_pages(True))} recorded corpus pages, mean {mean_kb:.0f} KB "
          f"(sent with Content-Encoding {args.encoding}), "
          f"{args.workers} extraction workers, {os.cpu_count()} cores"
          + (", our extraction without trafilatura's fallback extractors" if args.no_fallback else ""))
    single, multi, e2e, ratios, peaks, crawling, crawl_ratios = [], [], [], [], [], [], []
    plain_multi, plain_ratios, plain_wall_ratios = [], [], []
    main_ms: list[float] = []
    worker_ms: list[float] = []
    server_ms: list[float] = []
    with NewsServer(keep_bodies=False) as server:
        warm_server(server, pages)
        for run in range(1, args.runs + 1):
            s = extraction_rate(limit_set, 1)
            # The limits are measured before and after the ingest and averaged: this machine's
            # speed drifts within minutes, and the ratio must compare like with like.
            m_before = extraction_rate(limit_set, args.workers)
            plain_before = extraction_rate(limit_set, args.workers, _trafilatura_one)
            got = ingest_rate(server, pages, args.workers, settings)
            m_after = extraction_rate(limit_set, args.workers)
            plain_after = extraction_rate(limit_set, args.workers, _trafilatura_one)
            m, plain = (m_before + m_after) / 2, (plain_before + plain_after) / 2
            single.append(s), multi.append(m), e2e.append(got.rate), ratios.append(got.rate / m)
            peaks.append(got.peak_kb), crawling.append(got.crawl_rate), crawl_ratios.append(got.crawl_rate / m)
            main_ms.append(1000 * got.main_cpu / len(pages)), worker_ms.append(1000 * got.other_cpu / len(pages))
            server_ms.append(1000 * got.server_cpu / len(pages))
            plain_multi.append(plain), plain_ratios.append(got.crawl_rate / plain)
            plain_wall_ratios.append(got.rate / plain)
            print(f"run {run}: extraction 1 proc {s:6.1f} p/s ({1000 / s:5.1f} ms/page) | "
                  f"{args.workers} procs {m:6.1f} p/s (before {m_before:.1f}, after {m_after:.1f}; plain trafilatura "
                  f"{plain:5.1f}) | ingest {got.rate:6.1f} p/s wall, {got.crawl_rate:6.1f} p/s "
                  f"crawling ({got.archived} archived) | ratio {got.rate / m:4.2f} wall, "
                  f"{got.crawl_rate / m:4.2f} crawling | CPU/page: crawler {main_ms[-1]:5.1f} ms, "
                  f"workers {worker_ms[-1]:5.1f} ms, bench's server+sampler {server_ms[-1]:4.1f} ms | peak RSS {got.peak_kb / 1024:6.0f} MB", flush=True)
        if args.compare:
            other_tools(server, pages, args.workers)

    def spread(xs: list[float]) -> str:
        return f"min {min(xs):.2f}  median {statistics.median(xs):.2f}  max {max(xs):.2f}"

    print("extraction, 1 process (pages/s):  ", spread(single))
    print(f"extraction, {args.workers} processes (pages/s):", spread(multi))
    print(f"plain trafilatura.extract, {args.workers} processes (pages/s):", spread(plain_multi))
    print("crawler ingest end to end, wall (pages/s):", spread(e2e))
    print("crawler ingest while crawling (pages/s):  ", spread(crawling))
    print("ratio ingest wall / multi-process limit:  ", spread(ratios))
    print("ratio ingest crawling / multi-process limit:", spread(crawl_ratios))
    print("ratio ingest wall / plain trafilatura multi-process:", spread(plain_wall_ratios))
    print("ratio ingest crawling / plain trafilatura multi-process:", spread(plain_ratios))
    print("CPU per page, crawler process (ms):  ", spread(main_ms))
    print("CPU per page, extraction workers (ms):", spread(worker_ms))
    # the local server (and the sampler) share the 2 cores with the ingest (a real site's server does not)
    print("CPU per page, bench process: news server, sampler (ms):", spread(server_ms))
    print("peak RSS of ingest tree (MB):        ", spread([p / 1024 for p in peaks]))


if __name__ == "__main__":
    main()
