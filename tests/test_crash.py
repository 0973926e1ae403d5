"""Crash safety: a SIGKILLed crawl leaves whole records, and the next run closes its files."""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from conftest import run_crawler
from newsserver import CORPUS
from proctree import descendants, running
from warcutil import read_records, warc_files, warcio_check

from storage.files import repair_open_files
from storage.jsonl import JsonLinesWriter, read_json_lines
from storage.warc import HttpExchange, RotatingWarcWriter, WarcInfo


def _warcio_check(paths: list[Path]) -> subprocess.CompletedProcess:
    return warcio_check(paths)


def _exchange(i: int) -> HttpExchange:
    body = (f"<html><body><p>page {i}</p>" + "x" * 5000 + "</body></html>").encode()
    return HttpExchange(
        url=f"http://example.org/{i}", method="GET", request_headers=[("Accept", "*/*")],
        status=200, reason="OK", protocol="HTTP/1.1",
        response_headers=[("Content-Type", "text/html")], body=body,
        date=datetime.now(timezone.utc))


@pytest.mark.parametrize("cut", [1, 17, 300, 2000])
def test_repair_cuts_back_to_whole_records(tmp_path, cut):
    writer = RotatingWarcWriter(tmp_path, WarcInfo(software="t", user_agent="t", robots="obey"))
    for i in range(5):
        writer.write_exchange(_exchange(i))
    path = writer.current_path
    writer._fh.flush()
    size = path.stat().st_size
    ends = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            record.raw_stream.read()
            ends.append(it.get_record_offset() + it.get_record_length())
    whole_after_cut = sum(1 for end in ends if end <= size - cut)
    os.truncate(path, size - cut)
    # Pretend the writer died: a pid that cannot exist on this host.
    dead = path.with_name(path.name.replace(f"-{os.getpid()}.", "-999999999."))
    os.rename(path, dead)
    writer._fh.close()
    (repair,) = repair_open_files(tmp_path)
    assert repair.dropped_bytes > 0
    closed = sorted(tmp_path.glob("*.warc.gz"))
    assert len(closed) == 1 and not list(tmp_path.glob("*.open"))
    assert _warcio_check(closed).returncode == 0
    types = [r.type for r in read_records(closed[0])]
    assert types[0] == "warcinfo" and len(types) == whole_after_cut < len(ends)


def test_repair_leaves_files_of_live_writers_alone(tmp_path):
    writer = RotatingWarcWriter(tmp_path, WarcInfo(software="t", user_agent="t", robots="obey"))
    writer.write_exchange(_exchange(1))
    assert repair_open_files(tmp_path) == []
    assert writer.current_path.exists()
    writer.close()


def _json_lines_of_dead_writer(tmp_path: Path, lines: int) -> Path:
    """A closed, whole `.jsonl` file as a writer that is gone left it."""
    writer = JsonLinesWriter(tmp_path)
    for i in range(lines):
        writer.write({"url": f"http://example.org/{i}", "text": os.urandom(100).hex()})
    plain = writer.close()
    dead = plain.with_name(plain.name.replace(f"-{os.getpid()}.", "-999999999."))
    os.rename(plain, dead)
    return dead


def _urls_in(folder: Path) -> list[str]:
    return [line["url"] for path in sorted(folder.glob("*.jsonl*")) for line in read_json_lines(path)]


def test_kill_while_gzipping_json_lines_leaves_each_line_once_in_a_whole_file(tmp_path):
    plain = _json_lines_of_dead_writer(tmp_path, 300)
    packing = plain.with_name(plain.name + ".gz.open")
    whole = gzip.compress(plain.read_bytes())
    packing.write_bytes(whole[: len(whole) // 2])  # the copy was cut short
    repairs = repair_open_files(tmp_path)
    assert [r.path for r in repairs] == [packing] and repairs[0].closed is None
    assert not list(tmp_path.glob("*.open"))
    assert _urls_in(tmp_path) == [f"http://example.org/{i}" for i in range(300)]


def test_kill_after_the_gzip_copy_was_renamed_keeps_one_copy_of_each_line(tmp_path):
    plain = _json_lines_of_dead_writer(tmp_path, 300)
    packed = plain.with_name(plain.name + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))  # whole and renamed; plain not yet removed
    repairs = repair_open_files(tmp_path)
    assert [r.path for r in repairs] == [plain] and not plain.exists()
    assert _urls_in(tmp_path) == [f"http://example.org/{i}" for i in range(300)]


def test_gzipped_json_lines_replace_the_plain_file(tmp_path):
    writer = JsonLinesWriter(tmp_path, compress=True)
    writer.write({"url": "http://example.org/1"})
    closed = writer.close()
    assert closed.name.endswith(".jsonl.gz") and [p.name for p in tmp_path.iterdir()] == [closed.name]
    assert read_json_lines(closed) == [{"url": "http://example.org/1"}]
    assert repair_open_files(tmp_path) == []


@pytest.mark.parametrize("delay", [1.5, 3.0, 4.5])
def test_sigkill_mid_run_then_next_run_repairs(news_server, archive, delay):
    urls = [news_server.url(f"/copy/{i}/dw.com/DW_2024_01_30?kill={delay}") for i in range(300)]
    listing = archive.parent / "urls.txt"
    listing.write_text("\n".join(urls))
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", str(archive),
         "-i", str(listing)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        opened = list((archive / "warc").glob("*.open")) if (archive / "warc").exists() else []
        if opened and opened[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    time.sleep(delay)
    helpers = descendants(proc.pid)  # fork server and extraction workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list((archive / "warc").glob("*.warc.gz.open")), "the kill should leave an open file"
    assert helpers, "the crawl should have started extraction workers"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(running(pid) for pid in helpers):
        time.sleep(0.1)
    assert not [pid for pid in helpers if running(pid)], "processes of the killed crawl live on"

    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         news_server.url("/page/dw.com/DW_2023_06_13"))
    assert result.code == 0, result.stderr
    assert not list(archive.rglob("*.open"))
    files = warc_files(archive)
    check = _warcio_check(files)
    assert check.returncode == 0, check.stdout
    for path in (archive / "json").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)  # no half-written line survives
    responses = [r for f in files for r in read_records(f) if r.type == "response"]
    assert len(responses) >= 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_crawl_resumes_without_losing_or_duplicating(news_server, archive, seed):
    import random

    # A small real page (41 KB) keeps 300 pages x 2 runs quick.
    real = gzip.decompress((CORPUS / "pages" / "ft.com" / "metascraper_ft_2017capture.html.gz").read_bytes())
    paths = [f"/resume/{seed}/{i}" for i in range(300)]
    for i, path in enumerate(paths):  # distinct payloads: identical ones would be revisits
        news_server.set_page(path, real.replace(b"<body", f"<!-- copy {i} --><body".encode(), 1))
    urls = [news_server.url(path) for path in paths]
    listing = archive.parent / "urls.txt"
    listing.write_text("\n".join(urls))
    cmd = [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", str(archive),
           "-i", str(listing)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(seed).uniform(2.0, 5.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert not list(archive.rglob("*.open"))
    files = warc_files(archive)
    assert _warcio_check(files).returncode == 0
    stored = [r.uri for f in files for r in read_records(f) if r.type == "response"]
    for url in urls:
        assert stored.count(url) == 1, url  # archived once; later fetches are revisits
    lines = [json.loads(line) for path in (archive / "json").glob("*.jsonl")
             for line in path.read_text(encoding="utf-8").splitlines()]
    assert {line["url"] for line in lines} == set(urls)  # nothing archived before the kill is lost
    assert all(line["version"] == 1 for line in lines)


def _leave_open_by_dead_writer(path: Path) -> None:
    """Make a closed file look like one a killed crawl left behind."""
    dead = re.sub(r"-\d+\.(warc\.gz|jsonl)$", r"-999999999.\1.open", path.name)
    os.rename(path, path.with_name(dead))


@pytest.mark.parametrize("json_written", [True, False])
def test_records_on_disk_that_the_state_never_heard_of_are_not_archived_again(news_server, archive, json_written):
    # A kill between a write and the state's commit: the files hold a record (and perhaps its
    # article) that the state does not know. The next run must learn them from the files.
    real = gzip.decompress((CORPUS / "pages" / "ft.com" / "metascraper_ft_2017capture.html.gz").read_bytes())
    news_server.set_page("/race", real)
    url = news_server.url("/race")
    first = run_crawler("ingest", "--allow-private", "--archive", str(archive), url)
    assert first.code == 0, first.stderr
    with sqlite3.connect(archive / "state" / "crawl.sqlite3") as db:
        for table in ("captures", "payloads", "versions"):
            db.execute(f"DELETE FROM {table}")
    (warc,) = warc_files(archive)
    _leave_open_by_dead_writer(warc)
    (jsonl,) = (archive / "json").glob("*.jsonl")
    if json_written:
        _leave_open_by_dead_writer(jsonl)
    else:
        jsonl.unlink()

    again = run_crawler("ingest", "--allow-private", "--archive", str(archive), url)
    assert again.code == 0, again.stderr
    records = [r for f in warc_files(archive) for r in read_records(f) if r.uri == url]
    assert [r.type for r in records].count("response") == 1
    assert "revisit" in [r.type for r in records]
    lines = [json.loads(line) for path in (archive / "json").glob("*.jsonl")
             for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["url"] for line in lines] == [url]  # written once, and not lost
    assert lines[0]["version"] == 1
