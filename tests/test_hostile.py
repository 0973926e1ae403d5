"""Hostile servers and hostile input, through the `crawler` command: bounded memory, nothing
lost silently (issue: hostile servers and hostile input)."""

from __future__ import annotations

import gzip
import subprocess

import pytest
from conftest import run_crawler
from warcutil import json_records, responses


def test_a_body_cap_cuts_at_the_size_set_on_http_and_https_alike(news_server, archive):
    """Each scheme's download handler heard every chunk: bodies were cut at half the cap."""
    url = news_server.url("/big?size=3000000&cap=1")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_MAX_BODY_BYTES=1000000", "-s", "ARCHIVE_PROGRESS_INTERVAL=0", url)
    assert result.code in (0, 1), result.stderr
    record = responses(archive)[url]
    assert record.warc.get_header("WARC-Truncated") == "length"
    assert 1_000_000 < len(record.raw) <= 1_000_000 + 65536


def test_a_body_still_arriving_at_the_timeout_is_archived_as_far_as_it_came(news_server, archive):
    path = "/stall?size=200000&after=30000&hold=6"
    url = news_server.url(path)
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "-s", "DOWNLOAD_TIMEOUT=2",
                         "-s", "RETRY_TIMES=0", "-s", "ARCHIVE_PROGRESS_INTERVAL=0", url)
    record = responses(archive)[url]
    assert record.warc.get_header("WARC-Truncated") == "time"
    assert len(record.raw) == 30000 and record.raw == news_server.sent[path]
    (line,) = json_records(archive)
    assert line["truncated"] == "time" and line["warc"] and line["status"] == 200
    assert result.code in (0, 1)


def test_citations_fan_out_is_capped_per_page_and_per_crawl(news_server, archive):
    from test_citations import _article

    farm = [news_server.url(f"/farm/{i}") for i in range(1500)]
    news_server.set_page("/farm/main", _article("Link farm", farm))
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--follow-citations",
                         "-s", "ARCHIVE_MAX_CITATIONS_PER_PAGE=25", "-s", "ARCHIVE_PROGRESS_INTERVAL=0",
                         news_server.url("/farm/main"), timeout=300)
    followed = [line["url"] for line in json_records(archive) if line["depth"] == 1]
    assert followed and set(followed) == set(farm[:25])  # the first 25, in page order
    assert "ARCHIVE_MAX_CITATIONS_PER_PAGE" in result.stdout and "cites 1500" in result.stdout


def test_citations_stop_at_the_crawl_cap_whatever_the_depth(news_server, archive):
    from test_citations import _article

    for i in range(6):  # each page cites ten new ones: depth 3 would be 1,110 pages
        links = [news_server.url(f"/tree/{i}-{j}") for j in range(10)]
        news_server.set_page(f"/tree/{i}", _article(f"Tree {i}", links))
    roots = [news_server.url(f"/tree/{i}") for i in range(6)]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--follow-citations",
                         "--depth", "3", "-s", "ARCHIVE_MAX_CITED_PAGES=30", "-s", "ARCHIVE_PROGRESS_INTERVAL=0",
                         *roots)
    cited = [line for line in json_records(archive) if line["depth"] >= 1]
    assert len(cited) == 30
    assert "ARCHIVE_MAX_CITED_PAGES" in result.stdout


def test_every_input_url_ends_with_a_line_and_its_reason(news_server, archive):
    page = news_server.url("/page/dw.com/DW_2024_01_30?lost=1")
    news_server.set_page("/to-page", b"moved", status=301, headers=[("Location", page)])
    news_server.set_page("/self-refresh", b'<html><head><meta http-equiv="refresh" content="0;url=/self-refresh">'
                                          b"</head><body>wait</body></html>")
    news_server.set_page("/loop", b"", status=302, headers=[("Location", "/loop2")])
    news_server.set_page("/loop2", b"", status=302, headers=[("Location", "/loop")])
    long_url = news_server.url("/long?" + "x" * 2100)
    given = [news_server.url("/to-page"), page, news_server.url("/self-refresh"), news_server.url("/loop"),
             long_url, news_server.url("/redirect-chain/25")]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_PROGRESS_INTERVAL=0", *given)
    lines = {line["url"]: line for line in json_records(archive)}
    assert set(lines) == set(given), result.stdout
    assert lines[given[0]]["final_url"] == page and lines[given[0]]["reason"] is None
    assert lines[page]["reason"] is None
    assert lines[given[2]]["reason"] == "redirect_loop"
    assert lines[given[3]]["reason"] == "redirect_loop" and "/loop2 -> " in lines[given[3]]["error"]
    assert lines[long_url]["reason"] == "url_too_long"
    assert lines[given[5]]["reason"] == "too_many_redirects"
    assert result.code == 1
    assert "failed: 3" in result.stdout and "rejected: 1" in result.stdout


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd", "deflate"])
def test_a_decompression_bomb_is_archived_as_sent_and_recorded_too_large(news_server, archive, encoding):
    path = f"/bomb?enc={encoding}&mb=200"
    url = news_server.url(path)
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "-s", "ARCHIVE_PROGRESS_INTERVAL=0",
                         "-s", "ARCHIVE_MAX_DECODED_BYTES=20000000", url)
    record = responses(archive)[url]
    assert record.raw == news_server.sent[path]  # the WARC holds the body as the server sent it
    assert record.http.get_header("Content-Encoding") == encoding
    (line,) = json_records(archive)
    assert line["reason"] == "too_large" and "ARCHIVE_MAX_DECODED_BYTES" in line["error"]
    assert line["warc"]["payload_digest"]
    assert result.code == 0, result.stdout  # archived as served, no article in it


def test_crawler_get_writes_an_archived_bomb_out_without_holding_it(news_server, archive, tmp_path):
    path = "/bomb?enc=br&mb=300"
    url = news_server.url(path)
    run_crawler("ingest", "--allow-private", "--archive", str(archive), "-s", "ARCHIVE_PROGRESS_INTERVAL=0", url)
    out = tmp_path / "payload.html"
    result = run_crawler("get", url, "--archive", str(archive), "-o", str(out))
    assert result.code == 0, result.stderr
    assert out.stat().st_size == 300 << 20 and f"{300 << 20} bytes" in result.stderr
    with out.open("rb") as fh:
        assert fh.read(12) == b"<html><body>"


def test_export_wacz_leaves_out_a_warc_damaged_after_it_was_indexed(news_server, tmp_path):
    import shutil
    import zipfile

    archive = tmp_path / "archive"
    for n, name in enumerate(("DW_2024_01_30", "DW_2023_04_28")):  # two runs, two WARC files
        run_crawler("ingest", "--allow-private", "--archive", str(archive),
                    news_server.url(f"/page/dw.com/{name}?wacz-damage={n}"))
    assert run_crawler("index", str(archive)).code == 0
    first, second = sorted((archive / "warc").glob("*.warc.gz"))
    data = bytearray(first.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64  # damaged after it was indexed
    first.write_bytes(bytes(data))
    out = tmp_path / "out.wacz"
    result = run_crawler("export-wacz", str(archive), "-o", str(out))
    assert result.code == 1, result.stdout + result.stderr
    assert f"{first}:" in result.stderr and "left out of the WACZ" in result.stderr
    assert "Error -3" not in result.stderr.replace("(Error -3", "")  # no raw warcio lines
    with zipfile.ZipFile(out) as zf:
        assert sorted(n for n in zf.namelist() if n.startswith("archive/")) == [f"archive/{second.name}"]
        index = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode()
        pages = zf.read("pages/pages.jsonl").decode()
    assert first.name not in index and "wacz-damage=0" not in pages and "wacz-damage=1" in pages
    shutil.rmtree(archive)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system (tmpfs, mounted by the test: needs root, as CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_crawl_cleanly_and_the_next_run_finishes_it(news_server, small_disk, tmp_path):
    from warcutil import all_records

    urls = [news_server.url(f"/distinct/{i}/dw.com/DW_2024_01_30") for i in range(60)]  # ~3 MB gzipped
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls))
    archive = small_disk / "archive"
    args = ("ingest", "--allow-private", "--archive", str(archive), "-i", str(listing),
            "-s", "ARCHIVE_PROGRESS_INTERVAL=0", "-s", "CONCURRENT_REQUESTS=4")
    news_server.clear_log()
    first = run_crawler(*args)
    assert first.code == 3, first.stdout + first.stderr
    assert "the archive could not be written" in first.stderr and "run the same command again" in first.stderr
    assert "No space left on device" in first.stderr or "disk is full" in first.stderr
    assert "Traceback" not in first.stderr and first.stderr.count("archive_write_failed") <= 1
    fetched = sum(news_server.hits(u.split(str(news_server.port), 1)[1]) for u in urls)
    assert fetched < len(urls)  # fetching stopped: it did not go on downloading what it could not store
    lines = json_records(archive)
    assert not [line for line in lines if "Errno 28" in (line.get("error") or "")]  # no false failures

    subprocess.run(["mount", "-o", "remount,size=60m", str(small_disk)], check=True)
    second = run_crawler(*args)
    assert second.code == 0, second.stdout + second.stderr
    lines = json_records(archive)
    assert sorted(line["url"] for line in lines) == sorted(urls)  # every page exactly once
    assert all(line["reason"] is None for line in lines)
    pages = [rec for rec in all_records(archive) if rec.type in ("response", "revisit") and rec.uri in urls]
    digests = [rec.warc.get_header("WARC-Payload-Digest") for rec in pages if rec.type == "response"]
    assert len(digests) == len(set(digests)) == len(urls)  # each payload archived once, as a response
