"""`crawler replay`: the JSON lines of a crawl made again offline, field for field; damaged
input reported and skipped; other crawlers' WARC files; revisits resolved."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from conftest import run_crawler
from test_incremental import PARAS, page
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter
from warcutil import json_records, schema_errors, warc_files

from crawler.extract.article import ExtractOptions
from crawler.archive.replay import PageFinder, ReplayProgress, archived_page, replay
from storage.scan import RecordSource
from storage.sources import find_warcs
from storage.warc import PROFILE_NOT_MODIFIED, HttpExchange, Original, RotatingWarcWriter, WarcInfo

# Fields that say when extraction ran: the only ones a replay may change.
WHEN_EXTRACTED = {"extracted_at"}
T0 = datetime(2024, 3, 7, 12, 0, 0, tzinfo=UTC)

PATHS = [
    "/page/dw.com/DW_2024_01_30",
    "/gzip/reuters.com/Reuters_2024_03_07",
    "/br/restofworld.org/RestOfWorld_2025_10_21",
    "/chunked/dw.com/DW_2023_06_13",
    "/redirect/301?to=/page/ft.com/omnivore_ft.com",
    "/copy/1/apnews.com/APNews_2023_04_28",
    "/copy/2/apnews.com/APNews_2023_04_28",  # same bytes as /copy/1: archived as a revisit
    "/status/404",
    "/file.pdf",
    "/cookies",
    "/latin1",
    "/wrong-charset",
    "/replay/story",  # changed between the two runs: version 2
]


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def by_capture(lines: list[dict]) -> dict[tuple[str, str], dict]:
    out = {(line["url"], line["fetched_at"]): line for line in lines}
    assert len(out) == len(lines), "two lines for one capture"
    return out


def assert_same_lines(live: list[dict], replayed: list[dict]) -> None:
    want, got = by_capture(live), by_capture(replayed)
    assert sorted(got) == sorted(want)
    for key, line in want.items():
        again = got[key]
        assert list(again) == list(line), key  # same fields, same order
        differ = {name for name in line if line[name] != again[name]}
        assert differ <= WHEN_EXTRACTED, (key, {name: (line[name], again[name]) for name in differ - WHEN_EXTRACTED})


@pytest.fixture(scope="module")
def crawled(news_server, tmp_path_factory):
    """Two ingest runs into one archive, with WARC files rotated every ~200 kB so that pages,
    revisits, their originals and their metadata records are spread over several files."""
    archive = tmp_path_factory.mktemp("replay") / "archive"
    story = "/replay/story"
    news_server.set_page(story, page("Tram story", ["The tram vote, first report."] + PARAS))
    args = ("ingest", "--allow-private", "--archive", str(archive), "-s", "ARCHIVE_WARC_MAX_BYTES=200000")
    first = run_crawler(*args, *map(news_server.url, PATHS))
    assert first.code == 1, first.stdout + first.stderr  # the 404 counts as failed
    news_server.set_page(story, page("Tram story", ["The tram vote, updated report."] + PARAS[:3]))
    second = run_crawler(*args, news_server.url(story))
    assert second.code == 0 and "changed 1" in second.stdout, second.stdout + second.stderr
    live = json_records(archive)
    assert any(line["version"] == 2 and line["previous_fetched_at"] for line in live)
    return archive, live


def test_replay_gives_the_live_lines_field_for_field(crawled, tmp_path):
    archive, live = crawled
    assert len(warc_files(archive)) > 2
    out = tmp_path / "replayed.jsonl"
    result = run_crawler("replay", "--archive", str(archive), "--out", str(out))
    assert result.code == 0, result.stderr
    replayed = read_lines(out)
    assert_same_lines(live, replayed)
    assert f"replayed {len(live)} pages" in result.stdout
    for line in replayed:
        assert schema_errors(line) == [], line["url"]
    kinds = {(line["url"].split("/", 3)[3], line["reason"]) for line in replayed}
    assert ("redirect/301?to=/page/ft.com/omnivore_ft.com", None) in kinds  # url as requested
    assert ("status/404", "error_status:404") in kinds and ("file.pdf", "not_html") in kinds
    revisit = next(line for line in replayed if "/copy/2/" in line["url"])
    original = next(line for line in replayed if "/copy/1/" in line["url"])
    assert revisit["warc"] == original["warc"]  # the revisit's line points at the payload's record
    assert revisit["text"] == original["text"] and revisit["fetched_at"] != original["fetched_at"]


def test_replay_of_files_in_any_order(crawled, tmp_path):
    """Files named one by one, newest first: revisits come before their originals."""
    archive, live = crawled
    out = tmp_path / "replayed.jsonl"
    result = run_crawler("replay", *map(str, reversed(warc_files(archive))), "-o", str(out))
    assert result.code == 0, result.stderr
    assert_same_lines(live, read_lines(out))


# -- damaged input ---------------------------------------------------------------------------------
def story_html(title: str) -> bytes:
    return page(title, [f"{title} opens the report."] + PARAS[:2])


def write_pages_warc(folder: Path, prefix: str, count: int) -> Path:
    """A WARC as our crawler writes it (warcinfo; request, response and metadata per page)."""
    writer = RotatingWarcWriter(folder, WarcInfo("newsarchive/test", "test-agent", "obey"), prefix=prefix)
    for i in range(count):
        url = f"http://example.com/{prefix}/{i}"
        written = writer.write_exchange(HttpExchange(
            url=url, method="GET", request_headers=[("User-Agent", "test")], status=200, reason="OK",
            protocol="HTTP/1.1", response_headers=[("Content-Type", "text/html; charset=utf-8")],
            body=story_html(f"Story {prefix} {i}"), date=T0 + timedelta(minutes=i)))
        writer.write_metadata(url, written.record_id, [("source", "test"), ("requested-url", url),
                                                       ("depth", "0"), ("version", "1")])
    path = writer.close()
    assert path is not None
    return path


def record_offsets(path: Path) -> list[tuple[int, str, str | None]]:
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        return [(it.get_record_offset(), r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in it]


def test_damaged_files_are_reported_and_the_rest_replayed(tmp_path):
    a = write_pages_warc(tmp_path / "made", "a", 3)
    b = write_pages_warc(tmp_path / "made", "b", 4)
    bad = tmp_path / "bad"
    bad.mkdir()
    # 1. the last record cut short (a crash, a partial copy)
    last = record_offsets(a)[-1][0]
    truncated = bad / "truncated.warc.gz"
    truncated.write_bytes(a.read_bytes()[: last + 40])
    # 2. garbage between two records, and one response record's gzip data overwritten
    data = bytearray(b.read_bytes())
    records = record_offsets(b)
    response_b2 = next(off for off, kind, uri in records if kind == "response" and uri.endswith("/b/2"))
    data[response_b2 + 150: response_b2 + 210] = b"\0" * 60
    garbage_at = next(off for off, kind, uri in records if kind == "response" and uri.endswith("/b/1"))
    garbage = b"GARBAGE! " * 40
    damaged = bad / "garbage.warc.gz"
    damaged.write_bytes(bytes(data[:garbage_at]) + garbage + bytes(data[garbage_at:]))
    # 3. files that are not WARC at all
    fake = bad / "fake.warc.gz"
    fake.write_bytes(gzip.compress(b"<html><body>not a WARC file</body></html>"))
    notes = bad / "notes.txt"
    notes.write_text("not an archive")

    out = tmp_path / "out.jsonl"
    result = run_crawler("replay", str(truncated), str(damaged), str(fake), str(notes), str(bad / "missing.warc.gz"),
                         "-o", str(out))
    assert result.code == 1, result.stdout + result.stderr
    urls = sorted(line["url"] for line in read_lines(out))
    assert urls == [f"http://example.com/a/{i}" for i in (0, 1)] + [f"http://example.com/b/{i}" for i in (0, 1, 3)]
    errors = result.stderr
    assert f"{truncated} at offset {last}: the file ends inside a " in errors  # record or gzip member
    assert f"{damaged} at offset {garbage_at}: not a WARC record" in errors and "GARBAGE!" in errors
    assert f"{damaged} at offset {response_b2 + len(garbage)}:" in errors
    assert "metadata record of http://example.com/b/2" in errors
    assert f"{fake} at offset 0: not a WARC record" in errors
    assert f"{notes}: not a WARC or WACZ file" in errors
    assert f"{bad / 'missing.warc.gz'} does not exist" in errors
    assert "replayed 5 pages" in result.stdout and "7 problem(s)" in result.stdout


# -- other crawlers' files, revisits ---------------------------------------------------------------
def foreign_warc(path: Path) -> Path:
    """Another crawler's WARC: no warcinfo of ours, no metadata records."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, status, ctype, body in [
            ("http://other.example/article", "200 OK", "text/html; charset=utf-8", story_html("Foreign article")),
            ("http://other.example/gone", "404 Not Found", "text/html", b"<html><body><p>Not here</p></body></html>"),
            ("http://other.example/old", "301 Moved Permanently", "text/html", b"<html><body>moved</body></html>"),
            ("http://other.example/robots.txt", "200 OK", "text/plain", b"User-agent: *\nAllow: /\n"),
            ("http://other.example/logo.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n"),
        ]:
            http = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                                          http_headers=http))
    return path


def test_foreign_warc_html_responses_become_pages(tmp_path):
    out = tmp_path / "out.jsonl"
    result = run_crawler("replay", str(foreign_warc(tmp_path / "other.warc.gz")), "-o", "-")
    assert result.code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line]
    assert not out.exists()
    assert sorted((line["url"], line["status"]) for line in lines) == [
        ("http://other.example/article", 200), ("http://other.example/gone", 404)]
    for line in lines:
        assert line["source"] == "replay" and line["url"] == line["final_url"] and line["depth"] == 0
        assert line["warc"]["filename"] == "other.warc.gz"
    article = next(line for line in lines if line["status"] == 200)
    assert article["reason"] is None and "Foreign article opens the report." in article["text"]
    assert "replayed 2 pages" in result.stderr  # the summary goes to stderr when the lines go to stdout


def test_not_modified_revisit_takes_the_original_payload_status_and_type(tmp_path):
    """A 304 revisit (with a metadata record: its article was never written live) is extracted
    from the original's payload, with the original's status and Content-Type, as live."""
    writer = RotatingWarcWriter(tmp_path / "warc", WarcInfo("newsarchive/test", "ua", "obey"), prefix="t")
    url = "http://example.com/story"
    body = gzip.compress(story_html("Kept story"), mtime=0)
    first = writer.write_exchange(HttpExchange(
        url=url, method="GET", request_headers=[], status=200, reason="OK", protocol="HTTP/1.1",
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
        body=body, date=T0))
    again = writer.write_revisit(HttpExchange(
        url=url, method="GET", request_headers=[], status=304, reason="Not Modified", protocol="HTTP/1.1",
        response_headers=[("ETag", '"1"')], body=b"", date=T0 + timedelta(days=1)),
        Original(url, first.date, first.record_id, first.payload_digest or ""), profile=PROFILE_NOT_MODIFIED)
    writer.write_metadata(url, again.record_id, [("source", "test"), ("requested-url", url), ("depth", "1"),
                                                 ("version", "1")])
    writer.close()
    warcs = find_warcs(tmp_path / "warc")
    finder = PageFinder(warcs, on_error=pytest.fail)
    jobs = list(finder.jobs())
    assert len(jobs) == 1 and jobs[0].fetch_id == again.record_id
    records = RecordSource(warcs, finder.locations)
    page_item = archived_page(records, jobs[0])
    records.close()
    assert page_item is not None
    item, decoded, _headers = page_item
    assert decoded == story_html("Kept story")
    assert item["status"] == 200 and item["content_type"] == "text/html; charset=utf-8"
    assert item["fetched_at"] == again.date and item["final_url"] == url and item["depth"] == 1
    assert item["warc"] == {**first.as_dict(), "record_type": "response"}

    out = io.StringIO()
    report = replay(warcs, out, options=ExtractOptions(), workers=1, timeout=60)
    line = json.loads(out.getvalue())
    assert report.pages == 1 and report.articles == 1 and not report.problems
    assert line["fetched_at"] == again.date and "Kept story opens the report." in line["text"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only():
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = ReplayProgress(stream, interval=0)
        progress.show("replay: 1 pages")
        progress.show("replay: 2 pages")
        progress.clear()
    assert terminal.getvalue().startswith("\rreplay: 1 pages\rreplay: 2 pages")
    assert pipe.getvalue() == ""


def test_usage_errors():
    result = run_crawler("replay", "s3://bucket/archive", "-o", "/dev/null",
                         env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
                          "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.code in (1, 3) and "s3://bucket/archive" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    result = run_crawler("replay", "-o", "/dev/null", "--archive", "/nonexistent/archive")
    assert result.code == 1 and "does not exist" in result.stderr
    result = run_crawler("replay", "x.warc.gz")
    assert result.code == 2 and "--out" in result.stderr
