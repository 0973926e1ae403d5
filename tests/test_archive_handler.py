"""Crawling from an archive: a real crawl archives pages into A, the server goes away, and a
second crawl answered by ArchiveDownloadHandler from A archives the same pages into B."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import run_crawler
from newsserver import NewsServer
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler
from test_cdxj import HTML, T0, exchange
from warcutil import all_records, json_records, responses, warc_files

from crawler import meta
from crawler.archive.handler import ArchiveDownloadHandler
from crawler.capture.handler import NotInArchive
from crawler.config import ReplayConfig, SettingError, split_sources
from storage.cdxj import index_warcs
from storage.warc import RotatingWarcWriter, WarcInfo

HANDLER = "crawler.archive.handler.ArchiveDownloadHandler"
PAGES = [
    "/page/dw.com/DW_2024_01_30",
    "/gzip/reuters.com/Reuters_2024_03_07",
    "/br/restofworld.org/RestOfWorld_2025_10_21",
    "/redirect/301?to=/page/ft.com/omnivore_ft.com",
    "/status/404",
    "/cookies",
    "/custom-reason",
    "/versioned",
]
V1 = b"<html><head><title>Version one</title></head><body><p>First version of this page.</p></body></html>"
V2 = b"<html><head><title>Version two</title></head><body><p>Second version of this page.</p></body></html>"


def replay(archive: Path, source: Path, cache: Path, *urls: str, at: str | None = None):
    settings = [
        "-s", f"ARCHIVE_REPLAY_FROM={source}",
        "-s", f"ARCHIVE_REPLAY_INDEX_DIR={cache}",
        "-s", "DOWNLOAD_HANDLERS=" + json.dumps({"http": HANDLER, "https": HANDLER}),
    ]
    if at:
        settings += ["-s", f"ARCHIVE_REPLAY_AT={at}"]
    return run_crawler("ingest", "--allow-private", "--archive", str(archive), *settings, *urls)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A: two live runs (the second after /versioned changed). Then, with the server gone,
    B replays the latest captures and C those of the first run's time."""
    root = tmp_path_factory.mktemp("replay")
    a, b, c, cache = root / "A", root / "B", root / "C", root / "cache"
    server = NewsServer().start()
    try:
        server.set_page("/versioned", V1)
        urls = [server.url(p) for p in PAGES]
        first = run_crawler("ingest", "--allow-private", "--archive", str(a), *urls)
        assert first.code == 1, first.stderr  # the archived 404 counts as failed
        server.set_page("/versioned", V2)
        second = run_crawler("ingest", "--allow-private", "--archive", str(a), server.url("/versioned"))
        assert second.code == 0, second.stderr
        sent = server.sent
    finally:
        server.stop()  # from here on the port is closed: a fetch that leaks out fails
    unknown = urls[0].rsplit("/", 3)[0] + "/never/archived"
    result_b = replay(b, a / "warc", cache, *urls, unknown)
    first_ts = min(rec.warc.get_header("WARC-Date") for rec in all_records(a) if rec.uri == urls[-1])
    at = first_ts.replace("-", "").replace("T", "").replace(":", "")[:14]
    result_c = replay(c, a / "warc", cache, urls[-1], at=at)
    return {"a": a, "b": b, "c": c, "urls": urls, "unknown": unknown, "sent": sent,
            "result_b": result_b, "result_c": result_c}


def by_url(archive: Path) -> dict[str, dict]:
    return {r["url"]: r for r in json_records(archive)}


def test_replay_run_outcome(runs):
    result = runs["result_b"]
    assert result.code == 1, result.stderr  # the unknown URL and the archived 404 fail
    assert "failed: 2" in result.stdout and "archived: 7" in result.stdout
    assert "connection_refused" not in result.stdout + result.stderr


def test_same_pages_archived_again(runs):
    a, b = by_url(runs["a"]), by_url(runs["b"])
    for url in runs["urls"][:-1]:
        assert b[url]["status"] == a[url]["status"], url
        assert b[url]["final_url"] == a[url]["final_url"], url
        assert b[url]["text"] == a[url]["text"] and b[url]["reason"] == a[url]["reason"], url
        assert b[url]["warc"]["payload_digest"] == a[url]["warc"]["payload_digest"], url
    a_resp, b_resp = responses(runs["a"]), responses(runs["b"])
    assert set(b_resp) == set(a_resp)  # robots.txt and the redirect target included
    for uri, rec in b_resp.items():
        if uri.endswith("/versioned"):
            continue
        assert rec.raw == a_resp[uri].raw, uri
        assert rec.http.statusline == a_resp[uri].http.statusline, uri  # reason phrases kept


def test_encoded_bodies_replayed_as_stored_and_decoded(runs):
    urls = runs["urls"]
    b_resp, b_json = responses(runs["b"]), by_url(runs["b"])
    for path, encoding in (("/gzip/reuters.com/Reuters_2024_03_07", "gzip"),
                           ("/br/restofworld.org/RestOfWorld_2025_10_21", "br")):
        url = next(u for u in urls if u.endswith(path))
        rec = b_resp[url]
        assert rec.http.get_header("Content-Encoding") == encoding
        assert rec.raw == runs["sent"][path]  # still the server's bytes
        assert b_json[url]["text"] and b_json[url]["word_count"] > 100  # decoded for extraction


def test_redirect_followed_through_the_archive(runs):
    url = next(u for u in runs["urls"] if "/redirect/" in u)
    record = by_url(runs["b"])[url]
    assert record["final_url"].endswith("/page/ft.com/omnivore_ft.com") and record["status"] == 200
    redirect = responses(runs["b"])[url]
    assert redirect.http.statusline == "301 Moved Permanently"
    assert redirect.http.get_header("Location") == "/page/ft.com/omnivore_ft.com"


def test_headers_and_errors_replayed(runs):
    urls = runs["urls"]
    b_resp, b_json = responses(runs["b"]), by_url(runs["b"])
    cookies = b_resp[next(u for u in urls if u.endswith("/cookies"))]
    assert [v for k, v in cookies.http.headers if k.lower() == "set-cookie"] == [
        "session=abc123; Path=/; HttpOnly", "consent=yes; Path=/; Max-Age=3600; SameSite=Lax"]
    assert b_resp[next(u for u in urls if u.endswith("/custom-reason"))].http.statusline == "200 Totally Fine"
    missing = b_json[next(u for u in urls if u.endswith("/status/404"))]
    assert missing["status"] == 404 and missing["reason"] == "error_status:404"


def test_unknown_url_is_a_failure_naming_it(runs):
    record = by_url(runs["b"])[runs["unknown"]]
    assert record["status"] is None and record["warc"] is None
    assert record["reason"] in ("not_in_archive", "ignored")  # records.py maps NotInArchive
    assert "NotInArchive" in record["error"] and runs["unknown"] in record["error"]
    assert runs["unknown"] not in responses(runs["b"])


def test_replay_at_a_time(runs):
    url = runs["urls"][-1]
    assert responses(runs["b"])[url].raw == V2  # latest by default
    assert runs["result_c"].code == 0, runs["result_c"].stderr
    assert responses(runs["c"])[url].raw == V1  # ARCHIVE_REPLAY_AT: the first run's capture
    first = next(r for r in json_records(runs["a"]) if r["url"] == url)  # the first run's line
    assert by_url(runs["c"])[url]["warc"]["payload_digest"] == first["warc"]["payload_digest"]


def test_index_of_our_crawl_matches_the_cli(runs, tmp_path: Path):
    files = warc_files(runs["a"])
    out = tmp_path / "a.cdxj"
    index_warcs(files, out)
    cli = subprocess.run(["cdxj-indexer", "--sort", *map(str, files)], capture_output=True, text=True, check=True)
    assert out.read_text() == cli.stdout


# -- the handler on its own ------------------------------------------------------------------------
@pytest.fixture
def redirect_archive(tmp_path: Path) -> Path:
    """http://example.com/ redirects to https://example.com/; only https://www.example.com/ (a
    page, one second later) was archived: all three share one SURT key."""
    writer = RotatingWarcWriter(tmp_path / "warc", WarcInfo("t", "t", "obey"))
    writer.write_exchange(exchange("http://example.com/", b"", [("Location", "https://example.com/")],
                                   status=301, reason="Moved Permanently", when=T0 + timedelta(seconds=5)))
    writer.write_exchange(exchange("https://www.example.com/", when=T0 + timedelta(seconds=6)))
    writer.write_exchange(exchange("https://example.com/search", method="POST", request_body=b"q=a",
                                   request_headers=[("Content-Type", "application/x-www-form-urlencoded"),
                                                    ("Content-Length", "3")]))
    writer.close()
    return tmp_path / "warc"


def make_handler(source: Path, cache: Path, **settings) -> ArchiveDownloadHandler:
    crawler = get_crawler(settings_dict={
        "ARCHIVE_REPLAY_FROM": str(source), "ARCHIVE_REPLAY_INDEX_DIR": str(cache), **settings})
    return ArchiveDownloadHandler.from_crawler(crawler)


def test_exact_url_preferred_and_self_redirects_skipped(redirect_archive: Path, tmp_path: Path):
    latest = make_handler(redirect_archive, tmp_path / "cache")
    found = latest._find(Request("http://example.com/"))
    assert found is not None and found[1].status == 301  # this very URL, though the page is newer
    early = make_handler(redirect_archive, tmp_path / "cache", ARCHIVE_REPLAY_AT="20240307120005")
    hop = Request("https://example.com/", meta={"redirect_urls": ["http://example.com/"]})
    found = early._find(hop)  # the 301 is closest in time, but it points back at this request
    assert found is not None and (found[1].status, found[1].body) == (200, HTML)
    assert early._find(Request("http://example.com/"))[1].status == 301  # type: ignore[index]


def test_response_built_from_the_capture(redirect_archive: Path, tmp_path: Path):
    handler = make_handler(redirect_archive, tmp_path / "cache")
    request = Request("https://www.example.com/")
    found = handler._find(request)
    assert found is not None
    response = handler._response(request, *found)
    assert response.status == 200 and response.body == HTML and response.url == request.url
    assert meta.FLAG_ARCHIVED in response.flags and request.meta[meta.HTTP_REASON] == "OK"
    assert str(response.ip_address) == "127.0.0.1" and response.protocol == "HTTP/1.1"
    assert request.meta["archive_replay"]["timestamp"] == "20240307120006"
    assert request.meta["dont_retry"] is True
    head = Request("https://www.example.com/", method="HEAD")
    assert handler._response(head, *handler._find(head)).body == b""  # type: ignore[misc]


def test_post_and_get_are_told_apart(redirect_archive: Path, tmp_path: Path):
    handler = make_handler(redirect_archive, tmp_path / "cache")
    assert handler._find(Request("https://example.com/search")) is None
    post = Request("https://example.com/search", method="POST", body=b"q=a",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert handler._find(post) is not None
    assert handler._find(post.replace(body=b"q=b")) is None
    assert handler._find(Request("https://www.example.com/", method="DELETE")) is None


def test_settings(tmp_path: Path, redirect_archive: Path):
    assert split_sources("a.warc.gz, b/ \n c.wacz") == ["a.warc.gz", "b/", "c.wacz"]
    assert split_sources(["x", " "]) == ["x"]
    with pytest.raises(NotConfigured, match="ARCHIVE_REPLAY_FROM is empty"):
        ArchiveDownloadHandler.from_crawler(get_crawler(settings_dict={"ARCHIVE_REPLAY_FROM": ""}))
    with pytest.raises(SettingError, match="ARCHIVE_REPLAY_FROM: .*nowhere does not exist"):
        make_handler(tmp_path / "nowhere", tmp_path / "cache")
    with pytest.raises(SettingError, match="ARCHIVE_REPLAY_AT: .*4 to 14 digits"):
        make_handler(redirect_archive, tmp_path / "cache", ARCHIVE_REPLAY_AT="March 2024")
    config = ReplayConfig.from_settings(get_crawler(settings_dict={
        "ARCHIVE_REPLAY_FROM": str(redirect_archive), "ARCHIVE_REPLAY_AT": "2024"}).settings)
    assert config.at == "2024" and config.sources == (str(redirect_archive),)
    assert issubclass(NotInArchive, IgnoreRequest)  # no retries, reaches the errback
