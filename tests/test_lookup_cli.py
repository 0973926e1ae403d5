"""`crawler index`, `lookup` and `get`, and the archive index kept up to date as WARC files close."""

from __future__ import annotations

import gzip
import json
import os
from datetime import timedelta
from pathlib import Path

import brotli
import pytest
from conftest import run_crawler
from test_cdxj import HTML, T0, exchange, synthetic_captures, synthetic_lines

from storage.archive_index import (
    closed_warcs,
    index_closed_warc,
    index_path,
    update_index,
    write_manifest,
)
from storage.cdxj import CdxjIndex, index_warcs
from storage.warc import PROFILE_IDENTICAL, Original, RotatingWarcWriter, WarcInfo

OLD_HTML = HTML.replace(b"Hello archive", b"Hello older archive")


# -- lookups over 100,000 index lines, through the CLI --------------------------------------------
@pytest.fixture(scope="module")
def big_archive(tmp_path_factory) -> tuple[Path, list[tuple[str, str, str]]]:
    """An archive folder whose index holds 100,000 synthetic captures (test_cdxj's)."""
    root = tmp_path_factory.mktemp("big") / "archive"
    (root / "warc").mkdir(parents=True)
    captures = synthetic_captures(100_000)
    assert index_warcs([], index_path(root), lines=synthetic_lines(100_000, captures)) == 100_000
    write_manifest(root, {})  # the index covers every WARC file of the archive (none): no rebuild
    return root, sorted(captures)


def lookup(root: Path, *args: str):
    return run_crawler("lookup", "--archive", str(root), *args)


def test_lookup_a_url(big_archive):
    root, captures = big_archive
    key, _ts, url = captures[54321]
    times = [ts for k, ts, _u in captures if k == key]
    result = lookup(root, url)
    assert result.code == 0, result.stderr
    rows = result.stdout.splitlines()
    assert [row.split()[0] for row in rows] == times
    assert all(url in row and "200" in row and "text/html" in row for row in rows)
    # http/https and www. spellings find the same captures
    assert lookup(root, url.replace("https://", "http://")).stdout == result.stdout
    size = index_path(root).stat().st_size
    assert index_path(root).stat().st_size == size  # nothing rebuilt


def test_lookup_time_range_and_json(big_archive):
    root, captures = big_archive
    key, _ts, url = captures[70000]
    times = [ts for k, ts, _u in captures if k == key]
    result = lookup(root, url, "--from", times[1], "--to", times[3], "--json")
    assert result.code == 0, result.stderr
    found = [json.loads(row) for row in result.stdout.splitlines()]
    assert [c["timestamp"] for c in found] == times[1:4]
    assert {c["url"] for c in found} == {url} and all(c["urlkey"] == key for c in found)
    year = times[0][:4]
    result = lookup(root, url, "--from", year, "--to", year)
    assert [row.split()[0] for row in result.stdout.splitlines()] == [t for t in times if t.startswith(year)]


def test_lookup_prefix(big_archive):
    root, captures = big_archive
    prefix = "https://dw.com/news/5"
    result = lookup(root, "--prefix", prefix)
    assert result.code == 0, result.stderr
    from storage.cdxj import url_key

    expected = [(k, ts) for k, ts, _u in captures if k.startswith(url_key(prefix))]
    assert len(result.stdout.splitlines()) == len(expected) > 0
    limited = lookup(root, "--prefix", prefix, "--limit", "7")
    assert limited.stdout.splitlines() == result.stdout.splitlines()[:7]


def test_lookup_misses_and_bad_input(big_archive):
    root, _captures = big_archive
    missing = lookup(root, "https://reuters.com/nothing-here")
    assert missing.code == 1 and "no capture of https://reuters.com/nothing-here" in missing.stderr
    assert missing.stdout == ""
    bad = lookup(root, "https://dw.com/", "--from", "2024-03")
    assert bad.code == 2 and "--from" in bad.stderr and "4 to 14 digits" in bad.stderr
    assert lookup(root.parent / "nowhere", "https://dw.com/").code == 2
    s3 = run_crawler("lookup", "https://dw.com/", "--archive", "s3://bucket/news",
                     env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
                          "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert s3.code == 3 and "s3://bucket/news" in s3.stderr and "Traceback" not in s3.stderr


# -- a small real archive: index, get ----------------------------------------------------------------
def write_archive(root: Path) -> dict[str, object]:
    """Two WARC files: plain, gzip and br responses, an older capture, a revisit, a redirect."""
    info = WarcInfo("newsarchive/test", "test-agent", "obey")
    writer = RotatingWarcWriter(root / "warc", info, prefix="one")
    older = writer.write_exchange(exchange("https://example.com/news/a", OLD_HTML, when=T0))
    writer.write_exchange(exchange("https://example.com/news/gz", gzip.compress(HTML, mtime=0),
                                   [("Content-Encoding", "gzip")], when=T0))
    first = writer.close()
    writer = RotatingWarcWriter(root / "warc", info, prefix="two")
    newer = writer.write_exchange(exchange("https://example.com/news/a", HTML, when=T0 + timedelta(days=30)))
    writer.write_exchange(exchange("https://example.com/news/br", brotli.compress(HTML), [("Content-Encoding", "br")],
                                   when=T0 + timedelta(days=30)))
    writer.write_revisit(exchange("https://example.com/news/copy", HTML, when=T0 + timedelta(days=31)),
                         Original("https://example.com/news/a", newer.date, newer.record_id, newer.payload_digest or ""),
                         profile=PROFILE_IDENTICAL)
    writer.write_exchange(exchange("https://example.com/old", b"", [("Location", "/news/a")], status=301,
                                   reason="Moved Permanently", when=T0))
    second = writer.close()
    return {"first": first, "second": second, "older": older, "newer": newer}


def test_index_command_and_get(tmp_path):
    root = tmp_path / "archive"
    write_archive(root)
    built = run_crawler("index", str(root))
    assert built.code == 0, built.stderr
    assert "rebuilt; 6 captures; 2 WARC file(s)" in built.stdout
    index = CdxjIndex(index_path(root))
    assert [c.timestamp[:8] for c in index.lookup("https://example.com/news/a")] == ["20240307", "20240406"]

    latest = run_crawler("get", "https://example.com/news/a", "--archive", str(root))
    assert latest.code == 0, latest.stderr
    assert latest.stdout == HTML.decode()
    assert "20240406120000 200 text/html" in latest.stderr
    older = run_crawler("get", "https://example.com/news/a", "--at", "202403", "--archive", str(root))
    assert older.stdout == OLD_HTML.decode()
    for path in ("news/gz", "news/br", "news/copy"):  # decoded; a revisit gives its original's payload
        got = run_crawler("get", f"http://example.com/{path}", "--archive", str(root))
        assert got.code == 0 and got.stdout == HTML.decode(), (path, got.stderr)
    assert "revisit of" in got.stderr
    out = tmp_path / "gz.bin"
    raw = run_crawler("get", "https://example.com/news/gz", "--raw", "-o", str(out), "--archive", str(root))
    assert raw.code == 0 and raw.stdout == "" and gzip.decompress(out.read_bytes()) == HTML
    redirect = run_crawler("get", "https://example.com/old", "--archive", str(root))
    assert redirect.code == 0 and "301" in redirect.stderr and "redirect to /news/a" in redirect.stderr
    missing = run_crawler("get", "https://example.com/none", "--archive", str(root))
    assert missing.code == 1 and "no capture of https://example.com/none" in missing.stderr
    # lookup and get also take WARC files themselves (indexed on the side)
    direct = run_crawler("lookup", "https://example.com/news/a", "--archive", str(root / "warc"))
    assert direct.code == 0 and len(direct.stdout.splitlines()) == 2, direct.stderr


def test_index_reports_a_damaged_file_and_indexes_the_rest(tmp_path):
    root = tmp_path / "archive"
    files = write_archive(root)
    second = files["second"]
    assert isinstance(second, Path)
    second.write_bytes(second.read_bytes()[:-30])  # its last record cut short
    result = run_crawler("index", str(root))
    assert result.code == 1
    assert f"{second} at offset" in result.stderr
    assert len(CdxjIndex(index_path(root)).lookup("https://example.com/news/a")) == 2


# -- kept up to date as files close --------------------------------------------------------------------
def test_closed_files_are_merged_into_the_sorted_index(tmp_path):
    root = tmp_path / "archive"
    files = write_archive(root)
    second = files["second"]
    assert isinstance(second, Path)
    held = second.rename(tmp_path / second.name)  # not closed yet
    report = index_closed_warc(root, files["first"])  # no index yet: every closed file is indexed
    assert report.rebuilt and report.ok and report.indexed == sorted(closed_warcs(root))

    held.rename(second)  # the writer closes the second file
    report = index_closed_warc(root, second)
    assert report.ok and not report.rebuilt and report.indexed == [second.name]
    merged = index_path(root).read_text().splitlines()
    assert merged == sorted(merged)  # still sorted: binary search works
    fresh = tmp_path / "fresh.cdxj"
    index_warcs(sorted((root / "warc").glob("*.warc.gz")), fresh)
    assert fresh.read_text().splitlines() == merged  # the index a rebuild gives
    again = index_closed_warc(root, second)  # twice: no duplicate lines
    assert again.ok and index_path(root).read_text().splitlines() == merged
    assert CdxjIndex(index_path(root)).lookup("https://example.com/news/br")

    # update_index: nothing new changes nothing; a new file is merged; a changed one rebuilds
    assert update_index(root).indexed == [] and index_path(root).read_text().splitlines() == merged
    writer = RotatingWarcWriter(root / "warc", WarcInfo("newsarchive/test", "t", "obey"), prefix="three")
    writer.write_exchange(exchange("https://example.com/news/new", HTML, when=T0 + timedelta(days=60)))
    third = writer.close()
    assert third is not None
    report = update_index(root)
    assert report.indexed == [third.name] and not report.rebuilt
    assert CdxjIndex(index_path(root)).lookup("https://example.com/news/new")
    os.utime(third, ns=(1, 1))
    assert update_index(root).rebuilt
