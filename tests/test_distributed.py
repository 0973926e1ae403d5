"""Distributed mode: workers sharing one Redis queue, duplicate filter and incremental state.

Every test starts its own redis-server (the Debian package) on a free loopback port, and skips
when it is not installed. Workers run as real `crawler worker` processes against the local
news server; their WARC and JSON files are read back with warcio and json.
"""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_crawler
from newsserver import DEFAULT_ROBOTS
from warcutil import json_records, read_records, warc_files

redis = pytest.importorskip("redis", reason="the distributed mode needs the redis client (pip install redis)")
pytest.importorskip("scrapy_redis", reason="the distributed mode needs scrapy-redis (pip install scrapy-redis)")

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None,
                                reason="redis-server is not installed (apt-get install redis-server)")

PAGES = 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A throwaway redis-server on 127.0.0.1, no persistence."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield url
    client.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_url(redis_server):
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture
def client(redis_url):
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def _settings(redis_url: str, **extra: Any):
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("REDIS_URL", redis_url)
    for name, value in extra.items():
        settings.set(name, value)
    return settings


# -- the duplicate filter ------------------------------------------------------------------------
def test_bloom_sizing_follows_the_textbook_formula():
    from crawler.distributed.config import bloom_size

    bits, hashes = bloom_size(1_000_000, 1e-6)
    assert 28.7 < bits / 1_000_000 < 28.8 and hashes == 20  # 3.4 MiB per million URLs
    bits, hashes = bloom_size(100_000, 0.01)
    assert 9.5 < bits / 100_000 < 9.6 and hashes == 7


def test_bloom_filter_is_shared_atomic_and_expires(client):
    from crawler.distributed.bloom import BloomFilter
    from crawler.distributed.config import bloom_size

    bits, hashes = bloom_size(20_000, 1e-4)
    one = BloomFilter(client, "t:bf", "t:bf:count", bits=bits, hashes=hashes, ttl=120, capacity=20_000)
    other = BloomFilter(client, "t:bf", "t:bf:count", bits=bits, hashes=hashes, ttl=120, capacity=20_000)
    fps = [f"url-{i}".encode() for i in range(10_000)]
    assert all(one.add_many(fps[:5_000]))
    assert not any(other.add_many(fps[:5_000]))  # the other worker sees them
    fresh = other.add_many(fps[5_000:])
    assert sum(fresh) >= 4_990  # a few false positives at most (1e-4 at capacity)
    assert one.count() == sum(fresh) + 5_000
    assert 0 < client.ttl("t:bf") <= 120 and 0 < client.ttl("t:bf:count") <= 120
    assert client.strlen("t:bf") <= bits // 8 + 1  # fixed size, whatever the number of URLs
    one.clear()
    assert one.add(fps[0]) and not other.add(fps[0])


def test_dupefilter_lets_one_of_many_concurrent_adds_win(redis_url):
    """Four processes race to add the same 2,000 fingerprints: each one is new exactly once."""
    code = (
        "import sys, redis; from crawler.distributed.bloom import BloomFilter\n"
        "c = redis.Redis.from_url(sys.argv[1])\n"
        "bf = BloomFilter(c, 'race:bf', 'race:bf:count', bits=1 << 20, hashes=10)\n"
        "print(sum(bf.add(f'u{i}'.encode()) for i in range(2000)))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, redis_url], stdout=subprocess.PIPE, text=True,
                              cwd=REPO) for _ in range(4)]
    wins = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(wins) == 2000, wins


# -- the reliable queue ----------------------------------------------------------------------------
def test_requests_of_a_dead_worker_are_requeued(client, redis_url):
    from scrapy import Request

    from crawler.distributed.config import DistributedConfig
    from crawler.distributed.scheduler import ReliableQueue
    from spiders.worker import WorkerSpider

    config = DistributedConfig.from_settings(_settings(redis_url))
    spider = WorkerSpider()
    keys = config.keys(spider.name)
    a = ReliableQueue(client, spider, keys, "host-1-a")
    b = ReliableQueue(client, spider, keys, "host-2-b")
    for i in range(5):
        a.push(Request(f"http://example.org/{i}", callback=spider.parse, priority=i))
    a.heartbeat(timeout=1)
    b.heartbeat(timeout=30)
    taken = [a.take() for _ in range(3)]
    assert [r.url for _f, r in taken] == [f"http://example.org/{i}" for i in (4, 3, 2)]  # priority order
    assert taken[0][1].callback == spider.parse  # callbacks survive the trip through Redis
    assert len(a) == 2 and a.in_flight() == 3
    a.ack([taken[0][0]])  # done with one
    assert b.requeue_dead() == {}  # a is alive: nothing moves
    time.sleep(1.2)  # a stops beating
    assert b.requeue_dead() == {"host-1-a": 2}
    assert len(b) == 4 and b.in_flight() == 0
    assert sorted(r.url for r in (b.take()[1] for _ in range(4))) == [f"http://example.org/{i}" for i in (0, 1, 2, 3)]
    assert client.sismember(keys.workers, "host-2-b") and not client.sismember(keys.workers, "host-1-a")


# -- the incremental state -------------------------------------------------------------------------
def test_redis_state_store_answers_like_the_sqlite_one(tmp_path, redis_url):
    from crawler.distributed.state import RedisStateStore
    from storage.state import StateStore

    sqlite = StateStore(tmp_path / "state.sqlite3")
    shared = RedisStateStore.from_settings(_settings(redis_url))
    url, other = "http://example.org/a?b=1&a=2", "http://example.org/copy"
    for store in (sqlite, shared):
        store.record_response(url, etag='"v1"', last_modified=None, status=200, payload_digest="sha1:AAA",
                              warc_date="2024-01-01T00:00:00Z", record_id="<urn:uuid:1>", filename="f.warc.gz",
                              offset=10, length=100)
        store.record_version(url, version=1, text_digest="t1", fetched_at="2024-01-01T00:00:00Z",
                             json_file="j.jsonl", json_line=1)
        store.record_revisit(other, etag=None, last_modified="Mon, 01 Jan 2024 00:00:00 GMT", status=200,
                             payload_digest="sha1:AAA", stored=store.payload("sha1:AAA"))
        store.record_validators(url, None, "Tue, 02 Jan 2024 00:00:00 GMT")
        store.mark_json_done(other)
        store.record_response(url, etag=None, last_modified=None, status=200, payload_digest="sha1:BBB",
                              warc_date="2024-02-01T00:00:00Z", record_id="<urn:uuid:2>", filename="g.warc.gz",
                              offset=20, length=200)
        store.record_version(url, version=2, text_digest="t2", fetched_at="2024-02-01T00:00:00Z",
                             json_file="j.jsonl", json_line=7)
    for probe in (url, "http://example.org/a?a=2&b=1", other, "http://example.org/never"):
        assert shared.previous(probe) == sqlite.previous(probe), probe
        assert shared.versions(probe) == sqlite.versions(probe), probe
    for digest in ("sha1:AAA", "sha1:BBB", "sha1:CCC"):
        assert shared.payload(digest) == sqlite.payload(digest)
    sqlite.close()
    shared.close()


# -- the command line ------------------------------------------------------------------------------
def test_commands_say_what_is_wrong(redis_url):
    result = run_crawler("worker", "--archive", "unused", env={"REDIS_URL": ""})
    assert result.code == 2 and "--redis" in result.stderr
    result = run_crawler("worker", "--redis", "http://127.0.0.1:1/", env={"REDIS_URL": ""})
    assert result.code == 2 and "REDIS_URL must be a redis://" in result.stderr
    result = run_crawler("enqueue", "--redis", redis_url, "nytimes", "http://example.org/a", "ftp://x/y")
    assert result.code == 1, result.stderr
    assert "'nytimes': unknown source" in result.stderr and "ftp://x/y" in result.stderr
    assert "enqueued: 1 URL(s)" in result.stdout
    result = run_crawler("enqueue", "--redis", redis_url, "http://example.org/a")
    assert result.code == 0 and "already seen in this crawl: 1" in result.stdout
    result = run_crawler("enqueue", "--redis", redis_url, "--new-crawl", "http://example.org/a")
    assert result.code == 0 and "enqueued: 1 URL(s)" in result.stdout
    port = _free_port()
    result = run_crawler("enqueue", "--redis", f"redis://:secret@127.0.0.1:{port}/0", "http://example.org/a")
    assert result.code == 3 and "cannot reach Redis" in result.stderr
    assert "secret" not in result.stderr  # the password is never printed
    result = run_crawler("worker", "--redis", f"redis://:secret@127.0.0.1:{port}/0", "--archive", "unused")
    assert result.code == 3 and "cannot reach Redis at redis://:***@127.0.0.1" in result.stderr
    assert "secret" not in result.stderr + result.stdout


def test_enqueued_source_is_discovered_by_a_worker(tmp_path, redis_url, client):
    """A source enqueued by name: a worker runs its real discovery (robots.txt, sitemaps, feeds)
    and archives the articles, offline from the source's WARC fixture."""
    from sourcefixtures import FIXTURES, write_fixture

    fixture = FIXTURES["dw"]()
    warcs = write_fixture(fixture, tmp_path / "fixture")
    result = run_crawler("enqueue", "--redis", redis_url, "dw")
    assert result.code == 0, result.stderr
    queued = client.zcard("newsarchive:worker:requests")
    assert queued >= 1 and "source(s)" in result.stdout
    archive = tmp_path / "archive"
    result = run_crawler("worker", "--redis", redis_url, "--archive", str(archive), "--idle-timeout", "1",
                         "--from-archive", str(warcs), "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'index'}",
                         "-s", "DOWNLOAD_SLOTS={}")
    lines = {line["url"]: line for line in json_records(archive)}
    for url in fixture.articles:
        assert url in lines, f"{url} not crawled\n{result.stdout}\n{result.stderr[-3000:]}"
        assert lines[url]["source"] == "dw" and lines[url]["reason"] is None
    assert client.zcard("newsarchive:worker:requests") == 0


def test_private_addresses_stay_refused_unless_the_work_allows_them(news_server, tmp_path, redis_url):
    refused = news_server.url("/page/dw.com/DW_2024_01_30")
    allowed = news_server.url("/redirect/301?to=/page/ft.com/omnivore_ft.com")
    assert run_crawler("enqueue", "--redis", redis_url, refused).code == 0
    assert run_crawler("enqueue", "--redis", redis_url, "--allow-private", allowed).code == 0
    archive = tmp_path / "archive"
    result = run_crawler("worker", "--redis", redis_url, "--archive", str(archive), "--idle-timeout", "1")
    assert result.code == 1, result.stderr[-3000:]
    lines = {line["url"]: line for line in json_records(archive)}
    assert lines[refused]["reason"] == "refused_private_address"
    assert lines[allowed]["reason"] is None and lines[allowed]["final_url"].endswith("/omnivore_ft.com")
    fetched = {r.uri for path in warc_files(archive) for r in read_records(path) if r.type == "response"}
    assert refused not in fetched
    assert news_server.url("/robots.txt") in fetched  # robots.txt of allowed work is fetched, not refused


# -- many workers, one crawl -----------------------------------------------------------------------
WORDS = ["market", "regulators", "said", "the", "agency", "would", "review", "chip", "exports",
         "after", "talks", "between", "ministers", "in", "Berlin", "and", "Jakarta", "where",
         "officials", "discussed", "supply", "chains", "semiconductor", "factories", "tariffs",
         "and", "the", "new", "rules", "for", "artificial", "intelligence", "research", "funding",
         "universities", "startups", "investors"]


def article_page(i: int) -> bytes:
    """A small, distinct news article (title, byline, date, five paragraphs, a cited link)."""
    words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(400)]
    paragraphs = "".join(f"<p>{' '.join(words[k:k + 80]).capitalize()}.</p>" for k in range(0, 400, 80))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Story {i}: chip exports</title>'
            f'<meta name="author" content="Reporter {i % 13}"><meta property="article:published_time" '
            f'content="2024-03-{1 + i % 28:02d}T08:00:00Z"></head><body><header><nav><a href="/">Home</a></nav>'
            f'</header><article><h1>Story {i}: chip exports</h1>{paragraphs}<p>Source: <a '
            f'href="https://example.org/report/{i}">the report</a>.</p></article><footer>Footer</footer>'
            f"</body></html>").encode()


@pytest.fixture(scope="module")
def five_hundred_pages(news_server):
    """500 distinct article pages (none is a copy of another: no revisit records)."""
    urls = []
    for i in range(PAGES):
        path = f"/distributed/{i}"
        news_server.set_page(path, article_page(i))
        urls.append(news_server.url(path))
    return urls


def _start_worker(redis_url: str, archive: Path, log: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "crawler", "--log-json", "worker", "--redis", redis_url, "--archive", str(archive),
           "-s", "ARCHIVE_PROGRESS_INTERVAL=0", *extra]
    with log.open("w") as out:
        return subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def _wait(proc: subprocess.Popen, log: Path, timeout: float = 180) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"worker {proc.pid} did not stop:\n{log.read_text()[-3000:]}")


def _enqueue(redis_url: str, urls: list[str], tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls))
    result = run_crawler("enqueue", "--redis", redis_url, "--allow-private", "-i", str(listing))
    assert result.code == 0, result.stderr
    assert f"enqueued: {len(urls)} URL(s)" in result.stdout


def _comparable(line: dict) -> dict:
    """A JSON line without what differs between runs: capture times and where the record lives."""
    out = {k: v for k, v in line.items() if k not in ("fetched_at", "extracted_at", "previous_fetched_at", "warc")}
    out["payload_digest"] = (line.get("warc") or {}).get("payload_digest")
    return out


def _by_pid(paths: list[Path]) -> dict[int, list[Path]]:
    out: dict[int, list[Path]] = {}
    for path in paths:
        pid = int(path.name.split(".")[0].rsplit("-", 1)[1])
        out.setdefault(pid, []).append(path)
    return out


def test_two_workers_archive_every_page_exactly_once(five_hundred_pages, tmp_path, redis_url, client):
    urls = five_hundred_pages
    _enqueue(redis_url, urls, tmp_path)
    archive = tmp_path / "archive"
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    procs = [_start_worker(redis_url, archive, log, "--idle-timeout", "3") for log in logs]
    codes = [_wait(proc, log) for proc, log in zip(procs, logs)]
    assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)

    # Every page archived exactly once, across both workers' WARC files.
    records = [r for path in warc_files(archive) for r in read_records(path)]
    stored = Counter(r.uri for r in records if r.type == "response")
    revisited = Counter(r.uri for r in records if r.type == "revisit")
    for url in urls:
        assert stored[url] == 1 and revisited[url] == 0, (url, stored[url], revisited[url])
    # Both did part of the work, each in its own files (host and pid in the names).
    json_files = sorted((archive / "json").glob("*.jsonl"))
    per_worker = {pid: sum(len(p.read_text().splitlines()) for p in paths)
                  for pid, paths in _by_pid(json_files).items()}
    assert set(per_worker) == {proc.pid for proc in procs}, per_worker
    assert all(count >= 25 for count in per_worker.values()) and sum(per_worker.values()) == PAGES, per_worker
    assert set(_by_pid(warc_files(archive))) == {proc.pid for proc in procs}
    # Nothing left behind in Redis: queue empty, nothing held, both workers gone.
    assert client.zcard("newsarchive:worker:requests") == 0
    assert client.scard("newsarchive:worker:workers") == 0
    assert not client.keys("newsarchive:worker:processing:*")

    # The merged JSON equals a single-process crawl of the same pages.
    single = tmp_path / "single"
    listing = tmp_path / "urls.txt"
    result = run_crawler("ingest", "--allow-private", "--archive", str(single), "-i", str(listing))
    assert result.code == 0, result.stderr[-3000:]
    merged = sorted((_comparable(line) for line in json_records(archive)), key=lambda line: line["url"])
    alone = sorted((_comparable(line) for line in json_records(single)), key=lambda line: line["url"])
    assert len(merged) == len(alone) == PAGES
    for a, b in zip(merged, alone):
        assert a == b, a["url"]
    assert all(line["reason"] is None and line["word_count"] > 50 for line in merged)


def test_one_setting_shares_any_crawl(five_hundred_pages, tmp_path, redis_url, client):
    """REDIS_URL alone turns any command distributed: two `crawler ingest` runs of the same 40
    URLs share them through Redis, and each page is archived once."""
    urls = five_hundred_pages[:40]
    listing = tmp_path / "urls40.txt"
    listing.write_text("\n".join(urls))
    cmd = [sys.executable, "-m", "crawler", "ingest", "--allow-private", "-i", str(listing), "-s", f"REDIS_URL={redis_url}"]
    procs = [subprocess.Popen([*cmd, "--archive", str(tmp_path / name)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _out, err in outputs]
    records = [r for name in ("a", "b") for path in warc_files(tmp_path / name) for r in read_records(path)]
    stored = Counter(r.uri for r in records if r.type == "response")
    assert all(stored[url] == 1 for url in urls), stored
    lines = json_records(tmp_path / "a") + json_records(tmp_path / "b")
    assert sorted(line["url"] for line in lines) == sorted(urls)
    assert client.exists("newsarchive:ingest:dupefilter")
    assert not (tmp_path / "a" / "state" / "crawl.sqlite3").exists()  # the state lives in Redis


def _worker_id(client, pid: int) -> str | None:
    for raw in client.smembers("newsarchive:worker:workers"):
        name = raw.decode()
        if name.split("-")[-2] == str(pid):
            return name
    return None


def _json_lines_of(archive: Path, pid: int) -> int:
    return sum(len(p.read_text().splitlines()) for p in (archive / "json").glob(f"*-{pid}.jsonl*"))


def test_sigkilled_worker_loses_no_page(five_hundred_pages, tmp_path, redis_url, client):
    from storage.files import repair_open_files

    urls = five_hundred_pages
    _enqueue(redis_url, urls, tmp_path)
    archive = tmp_path / "archive"
    logs = [tmp_path / "victim.log", tmp_path / "survivor.log"]
    opts = ("--idle-timeout", "3", "-s", "DISTRIBUTED_HEARTBEAT_TIMEOUT=3")
    victim, survivor = (_start_worker(redis_url, archive, log, *opts) for log in logs)

    # Kill the victim mid-crawl, while it holds requests it has taken.
    deadline = time.monotonic() + 90
    held = 0
    while time.monotonic() < deadline:
        victim_id = _worker_id(client, victim.pid)
        if victim_id and _json_lines_of(archive, victim.pid) >= 30:
            held = client.hlen(f"newsarchive:worker:processing:{victim_id}")
            if held:
                victim.send_signal(signal.SIGKILL)
                break
        if victim.poll() is not None:
            break
        time.sleep(0.02)
    victim.wait(10)
    assert victim.returncode == -signal.SIGKILL, logs[0].read_text()[-3000:]
    assert held > 0
    assert _wait(survivor, logs[1]) == 0, logs[1].read_text()[-3000:]

    # The survivor took the dead worker's requests back.
    events = [json.loads(line) for line in logs[1].read_text().splitlines() if line.startswith("{")]
    requeued = [e for e in events if e.get("event") == "requeued_dead_worker_requests"]
    assert requeued and requeued[0]["dead_worker"] == victim_id and requeued[0]["requests"] >= 1
    assert client.zcard("newsarchive:worker:requests") == 0
    assert not client.keys("newsarchive:worker:processing:*")

    # The next run repairs the victim's open files (here done directly); then nothing is lost.
    for folder in (archive / "warc", archive / "json"):
        repair_open_files(folder)
    assert not list(archive.rglob("*.open"))
    records = [r for path in warc_files(archive) for r in read_records(path)]
    stored = Counter(r.uri for r in records if r.type == "response")
    lines = json_records(archive)
    articles = {line["url"] for line in lines if line["reason"] is None and line["word_count"] > 50}
    for url in urls:
        assert stored[url] >= 1, url  # archived at least once
        assert url in articles, url  # and its article written
    assert _json_lines_of(archive, victim.pid) >= 30 and _json_lines_of(archive, survivor.pid) >= 1


# -- politeness shared by the workers -----------------------------------------------------------
def test_turns_at_a_host_are_spaced_across_workers(redis_url):
    from crawler.distributed.pacing import SharedHostPacing

    workers = [SharedHostPacing(redis.Redis.from_url(redis_url), "newsarchive") for _ in range(2)]
    turns = []
    for i in range(6):  # the two workers ask in turn, at once
        start = time.monotonic()
        turns.append(start + workers[i % 2].take_turn("news.example:443", 0.3))
    gaps = [b - a for a, b in itertools.pairwise(turns)]
    assert all(gap >= 0.29 for gap in gaps), gaps
    assert turns[-1] - turns[0] < 5 * 0.3 + 0.2  # and not spaced more than asked
    assert workers[0].take_turn("other.example", 0.3) == 0  # each host has its own turns


def test_pacing_without_redis_says_so_and_lets_the_worker_keep_its_own_pace():
    from crawler.distributed.pacing import SharedHostPacing

    dead = redis.Redis.from_url(f"redis://127.0.0.1:{_free_port()}/0", socket_connect_timeout=1)
    assert SharedHostPacing(dead, "newsarchive").take_turn("news.example", 1.0) is None


def test_two_workers_together_keep_a_hosts_crawl_delay(news_server, tmp_path, redis_url):
    news_server.set_robots("User-agent: *\nCrawl-delay: 1\nAllow: /\n")
    try:
        news_server.clear_log()
        urls = [news_server.url(f"/echo?shared-delay={i}") for i in range(6)]
        _enqueue(redis_url, urls, tmp_path)
        archive = tmp_path / "archive"
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
        # one request held at a time: both workers fetch from the host, in turn
        procs = [_start_worker(redis_url, archive, log, "--idle-timeout", "3", "-s", "DISTRIBUTED_MAX_IN_FLIGHT=1")
                 for log in logs]
        codes = [_wait(proc, log) for proc, log in zip(procs, logs)]
        assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
    finally:
        news_server.set_robots(DEFAULT_ROBOTS)
    times = sorted(r.time for r in news_server.requests if r.path.startswith("/echo?shared-delay="))
    assert len(times) == 6
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # one page a second from both workers together
    assert {line["url"] for line in json_records(archive)} == set(urls)
    assert len(_by_pid(sorted((archive / "json").glob("*.jsonl")))) == 2  # both took pages
