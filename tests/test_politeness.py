"""Crawl-delay and Retry-After: real `crawler ingest` runs against the local server, timed by it.

Assumes crawler/settings.py registers CrawlDelayMiddleware at 110 and RetryAfterMiddleware in
place of Scrapy's RetryMiddleware at 550.
"""

from __future__ import annotations

import email.utils
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import run_crawler
from newsserver import DEFAULT_ROBOTS
from warcutil import json_records, responses

from crawler.fetch.politeness import retry_after_seconds, robots_delay

CORPUS_ROBOTS = sorted((Path(__file__).resolve().parents[2] / "shared" / "corpus" / "robots").glob("*/*.robots.txt"))
UA = "newsarchive/0.1 (+https://github.com/newsarchive/newsarchive#crawler)"
# The server stamps a request when it reads the request line, the crawler when it lets the
# request go; the gap between the two varies by a few milliseconds from request to request.
CLOCK_SLACK = 0.05


@pytest.fixture
def robots(news_server):
    """Set the server's robots.txt for one test; the server is shared by the whole session."""
    yield news_server.set_robots
    news_server.set_robots(DEFAULT_ROBOTS)


def request_times(news_server, prefix: str) -> list[float]:
    return sorted(r.time for r in news_server.requests if r.path.startswith(prefix))


def log_events(stderr: str) -> list[dict]:
    events = []
    for line in stderr.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


# -- robots.txt Crawl-delay ---------------------------------------------------------------------


def test_crawl_delay_spaces_requests_to_a_host(news_server, archive, robots):
    robots("User-agent: *\nCrawl-delay: 2\nAllow: /\n")
    news_server.clear_log()
    urls = [news_server.url(f"/echo?crawl-delay={i}") for i in range(3)]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), *urls)
    assert result.code == 0, result.stderr
    pages = request_times(news_server, "/echo?crawl-delay=")
    assert len(pages) == 3
    (robots_at,) = request_times(news_server, "/robots.txt")
    # The robots.txt fetch was a request to the host too.
    gaps = [b - a for a, b in zip([robots_at, *pages], pages)]
    assert all(gap >= 2 - CLOCK_SLACK for gap in gaps), gaps
    assert {line["url"] for line in json_records(archive)} == set(urls)
    learned = [e for e in log_events(result.stderr) if e.get("event") == "crawl_delay"]
    assert len(learned) == 1 and learned[0]["delay"] == 2, learned


def test_crawl_delay_for_our_agent_is_capped(news_server, archive, robots):
    robots("User-agent: *\nDisallow: /private\n\nUser-agent: newsarchive\nCrawl-delay: 3600\nAllow: /\n")
    news_server.clear_log()
    urls = [news_server.url(f"/echo?capped={i}") for i in range(2)]
    started = time.monotonic()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_MAX_CRAWL_DELAY=1", *urls)
    assert result.code == 0, result.stderr
    assert time.monotonic() - started < 60
    first, second = request_times(news_server, "/echo?capped=")
    assert second - first >= 1 - CLOCK_SLACK
    capped = [e for e in log_events(result.stderr) if e.get("event") == "crawl_delay_capped"]
    assert capped and capped[0]["asked"] == 3600 and capped[0]["delay"] == 1


def test_no_crawl_delay_no_waiting(news_server, archive):
    news_server.clear_log()
    urls = [news_server.url(f"/echo?no-delay={i}") for i in range(3)]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), *urls)
    assert result.code == 0, result.stderr
    pages = request_times(news_server, "/echo?no-delay=")
    assert len(pages) == 3 and pages[-1] - pages[0] < 1.5


def test_robots_delay_reads_our_group_and_request_rate():
    assert robots_delay(b"User-agent: *\nCrawl-delay: 5\n", UA) == 5
    assert robots_delay(b"User-agent: newsarchive\nCrawl-delay: 3\n\nUser-agent: *\nCrawl-delay: 9\n", UA) == 3
    assert robots_delay(b"User-agent: otherbot\nCrawl-delay: 9\n\nUser-agent: *\nDisallow:\n", UA) is None
    assert robots_delay(b"User-agent: *\nRequest-rate: 1/10\nCrawl-delay: 2\n", UA) == 10
    assert robots_delay(b"\xef\xbb\xbfUser-agent: *\nCrawl-delay: 0.5\n", UA) == 0.5
    assert robots_delay(b"User-agent: *\nCrawl-delay: soon\n", UA) is None
    assert robots_delay(b"<html>404</html>", UA) is None


@pytest.mark.parametrize("path", CORPUS_ROBOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_robots_files_parse(path):
    # None of the recorded news sites asks for a Crawl-delay; parsing them must not invent one.
    assert robots_delay(path.read_bytes(), UA) is None


def test_corpus_has_robots_files():
    assert len(CORPUS_ROBOTS) >= 20


# -- Retry-After -----------------------------------------------------------------------------


def test_retry_after_is_waited_for(news_server, archive):
    path = "/flaky?fails=1&code=503&retry_after=2&from=politeness"
    news_server.clear_log()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url(path))
    assert result.code == 0, result.stderr
    first, second = request_times(news_server, path)
    assert second - first >= 2 - CLOCK_SLACK
    assert "archived: 1" in result.stdout
    (line,) = json_records(archive)
    assert line["status"] == 200 and line["reason"] in (None, "too_short", "empty")  # a one-line page
    assert responses(archive)[news_server.url(path)].http.statusline.startswith("200")


def test_retry_after_beyond_the_cap_is_not_retried(news_server, archive):
    path = "/status/503?retry_after=3600&from=politeness"
    news_server.clear_log()
    started = time.monotonic()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url(path))
    elapsed = time.monotonic() - started
    assert result.code == 1
    assert elapsed < 60  # nowhere near the hour asked for
    assert news_server.hits(path) == 1
    (line,) = json_records(archive)
    assert line["reason"] == "error_status:503"
    assert "failed: 1" in result.stdout and "error_status:503" in result.stdout
    assert any(e.get("event") == "retry_after_too_long" for e in log_events(result.stderr))


def test_retry_after_zero_retries_at_once(news_server, archive):
    path = "/flaky?fails=1&code=429&retry_after=0&from=politeness"
    news_server.clear_log()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url(path))
    assert result.code == 0, result.stderr
    assert news_server.hits(path) == 2
    assert json_records(archive)[0]["status"] == 200


def test_retry_after_seconds():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(b" 7 ") == 7
    assert retry_after_seconds("0") == 0
    later = email.utils.format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now) == 90
    earlier = email.utils.format_datetime(now - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(earlier, now=now) == 0
    assert retry_after_seconds("Sat, 01 Mar 2025 12:00:30 GMT", now=now) == 30
    assert retry_after_seconds("Saturday, 01-Mar-25 12:00:30 GMT", now=now) == 30  # RFC 850
    for bad in (None, "", "-5", "soon", "nan"):
        assert retry_after_seconds(bad) is None, bad
