"""`crawler export-wacz`: a WACZ 1.1.1 package that py-wacz validates, pywb adds and replays, and
that replays back to the same JSON lines."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import tracemalloc
import urllib.request
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import PYWB_BIN, run_crawler
from test_incremental import PARAS, page
from conftest import free_port as _free_port
from test_replay import assert_same_lines, read_lines
from warcutil import json_records, warc_files

from storage.archive_index import update_index
from storage.cdxj import Capture
from storage.wacz import export_archive
from storage.warc import HttpExchange, RotatingWarcWriter, WarcInfo

PATHS = [
    "/page/dw.com/DW_2024_01_30",
    "/gzip/reuters.com/Reuters_2024_03_07",
    "/copy/1/restofworld.org/RestOfWorld_2025_10_21",
    "/copy/2/restofworld.org/RestOfWorld_2025_10_21",  # a revisit of /copy/1
    "/redirect/301?to=/page/ft.com/omnivore_ft.com",
    "/status/404",
]
DW_SENTENCE = "Die erste Hürde hat er gemeistert: Boris Nadeschdin"
needs_py_wacz = pytest.mark.skipif(importlib.util.find_spec("wacz") is None,
                                   reason="py-wacz is not installed (pip install wacz)")


@pytest.fixture(scope="module")
def archived(news_server, tmp_path_factory):
    """Two ingest runs: the corpus pages, then (seconds later) one more article."""
    archive = tmp_path_factory.mktemp("wacz") / "archive"
    first = run_crawler("ingest", "--allow-private", "--archive", str(archive), *map(news_server.url, PATHS))
    assert first.code == 1, first.stdout + first.stderr  # the 404
    files_before = set(warc_files(archive))
    time.sleep(1.1)  # the second run's captures are a second later at least
    news_server.set_page("/wacz/late", page("Late story", ["A late story for the package."] + PARAS))
    second = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url("/wacz/late"))
    assert second.code == 0, second.stdout + second.stderr
    return archive, json_records(archive), sorted(set(warc_files(archive)) - files_before)


def export(archive: Path, out: Path, *args: str):
    return run_crawler("export-wacz", str(archive), "-o", str(out), *args)


@pytest.fixture(scope="module")
def package(archived, tmp_path_factory) -> Path:
    archive, _live, _late = archived
    out = tmp_path_factory.mktemp("package") / "news.wacz"
    result = export(archive, out)
    assert result.code == 0, result.stderr
    assert f"{len(warc_files(archive))} WARC file(s)" in result.stdout
    return out


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@needs_py_wacz
def test_py_wacz_validates_the_package(package):
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(package)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validation succeeded" in check.stdout


def test_package_layout(package, archived):
    archive, live, _late = archived
    with zipfile.ZipFile(package) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        warcs = sorted(name for name in infos if name.startswith("archive/"))
        assert warcs == sorted(f"archive/{p.name}" for p in warc_files(archive))
        for name in [*warcs, "indexes/index.cdx.gz"]:  # players seek into these: stored, not deflated
            assert infos[name].compress_type == zipfile.ZIP_STORED, name
        for name in warcs:
            assert zf.read(name) == (archive / "warc" / name.removeprefix("archive/")).read_bytes()
        package_json = json.loads(zf.read("datapackage.json"))
        assert package_json["wacz_version"] == "1.1.1" and package_json["profile"] == "data-package"
        assert package_json["software"].startswith("newsarchive/")
        listed = {res["path"]: res for res in package_json["resources"]}
        assert set(listed) == set(infos) - {"datapackage.json", "datapackage-digest.json"}
        for path, res in listed.items():
            data = zf.read(path)
            assert res["hash"] == sha256(data) and res["bytes"] == len(data), path
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest == {"path": "datapackage.json", "hash": sha256(zf.read("datapackage.json"))}

        lines = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode().splitlines()
        captures = [Capture.from_line(line) for line in lines]
        assert lines == sorted(lines) and {f"archive/{c.filename}" for c in captures} <= set(warcs)
        assert zf.read("indexes/index.idx").decode().startswith('!meta 0 {"format": "cdxj-gzip-1.0"')

        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()]
    assert pages[0] == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages", "hasText": True}
    entries = {entry["url"]: entry for entry in pages[1:]}
    articles = [line for line in live if line["reason"] is None]
    assert len(entries) == len(articles)  # the 404 is not a page to open
    for line in articles:
        entry = entries[line["final_url"]]
        assert entry["title"] == line["title"] and entry["text"] == line["text"]
        assert entry["ts"].endswith("Z") and entry["ts"][:19] == line["fetched_at"][:19]
    assert len({entry["id"] for entry in pages[1:]}) == len(pages) - 1


def test_the_package_replays_to_the_same_lines(package, archived, tmp_path):
    _archive, live, _late = archived
    out = tmp_path / "from-wacz.jsonl"
    result = run_crawler("replay", str(package), "-o", str(out))
    assert result.code == 0, result.stderr
    assert_same_lines(live, read_lines(out))
    url = next(line["final_url"] for line in live if "/page/dw.com/" in line["url"])
    found = run_crawler("lookup", url, "--archive", str(package))  # through the package's own index
    assert found.code == 0 and len(found.stdout.splitlines()) == 1, found.stderr


@pytest.mark.skipif(not (PYWB_BIN / "wayback").exists(), reason=f"pywb is not installed in {PYWB_BIN}")
def test_pywb_adds_the_package_and_replays_from_it(package, archived, tmp_path):
    _archive, live, _late = archived
    home = tmp_path / "pywb"
    home.mkdir()
    subprocess.run([PYWB_BIN / "wb-manager", "init", "news"], cwd=home, check=True, capture_output=True)
    added = subprocess.run([PYWB_BIN / "wb-manager", "add", "--unpack-wacz", "news", str(package)], cwd=home,
                           capture_output=True, text=True, check=False)
    assert added.returncode == 0, added.stderr
    assert list((home / "collections" / "news" / "archive").glob("*.warc.gz"))
    assert (home / "collections" / "news" / "indexes" / "index.cdxj").stat().st_size > 0
    port = _free_port()
    server = subprocess.Popen([PYWB_BIN / "wayback", "-p", str(port), "-b", "127.0.0.1"], cwd=home,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dw = next(line["final_url"] for line in live if "/page/dw.com/" in line["url"])
        original, revisit = (next(line["final_url"] for line in live if f"/copy/{n}/" in line["url"]) for n in (1, 2))
        texts = {}
        deadline = time.monotonic() + 60
        for mode, url in (("mp_", dw), ("id_", original), ("id_", revisit)):
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/news/{mode}/{url}", timeout=10) as resp:
                        texts[url] = resp.read().decode("utf-8", "replace")
                    break
                except OSError:
                    assert time.monotonic() < deadline, "pywb did not answer"
                    time.sleep(0.5)
        assert DW_SENTENCE in texts[dw]
        assert "Oman" in texts[revisit] and texts[revisit] == texts[original]  # the revisit, resolved
    finally:
        server.terminate()
        server.wait(timeout=20)


@needs_py_wacz
def test_since_and_source_select_pages_and_their_files(archived, tmp_path):
    archive, live, late_files = archived
    late = next(line for line in live if line["url"].endswith("/wacz/late"))
    out = tmp_path / "late.wacz"
    result = export(archive, out, "--since", late["fetched_at"][:19], "--source", "ingest")
    assert result.code == 0, result.stderr
    with zipfile.ZipFile(out) as zf:
        members = sorted(n.removeprefix("archive/") for n in zf.namelist() if n.startswith("archive/"))
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()[1:]]
        lines = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode().splitlines()
    assert members == [p.name for p in late_files]
    assert [entry["url"] for entry in pages] == [late["final_url"]]
    assert {Capture.from_line(line).filename for line in lines} == set(members)
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(out)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout

    nothing = export(archive, tmp_path / "none.wacz", "--source", "nosuch")
    assert nothing.code == 1 and "nothing to export" in nothing.stderr
    assert not (tmp_path / "none.wacz").exists()
    bad = export(archive, tmp_path / "bad.wacz", "--since", "someday")
    assert bad.code == 2 and "--since: not a date" in bad.stderr
    recent = export(archive, tmp_path / "recent.wacz", "--since", "1d")  # the same parser as every --since
    assert recent.code == 0, recent.stderr
    assert export(archive, tmp_path / "x.zip").code == 2
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written package left behind


def test_export_streams_to_disk(tmp_path):
    """Memory does not grow with the archive: 24 MB of WARC data go through a few MB."""
    root = tmp_path / "archive"
    writer = RotatingWarcWriter(root / "warc", WarcInfo("newsarchive/test", "ua", "obey"), prefix="big")
    for i in range(3):
        writer.write_exchange(HttpExchange(
            url=f"http://example.com/big/{i}", method="GET", request_headers=[], status=200, reason="OK",
            protocol="HTTP/1.1", response_headers=[("Content-Type", "application/octet-stream")],
            body=os.urandom(8_000_000), date=datetime.now(UTC)))
    writer.close()
    update_index(root)
    tracemalloc.start()
    try:
        report = export_archive(root, tmp_path / "big.wacz", software="test")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.bytes > 24_000_000 and report.index_lines == 3
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB"
