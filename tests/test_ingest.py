"""`crawler ingest` end to end against a real local server, output read with third-party tools."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_crawler
from proctree import descendants, tcp_sockets
from warcutil import all_records, json_records, record_at, responses, schema_errors, warc_files, warcio_check


WARC_NAME = re.compile(r"^ingest-\d{14}-\d{5}-[^-]+-\d+\.warc\.gz$")


@pytest.fixture(scope="module")
def ingested(news_server, tmp_path_factory):
    """One ingest run over routes that exercise the capture contract."""
    archive = tmp_path_factory.mktemp("ingest") / "archive"
    paths = [
        "/page/dw.com/DW_2024_01_30",
        "/gzip/reuters.com/Reuters_2024_03_07",
        "/br/restofworld.org/RestOfWorld_2025_10_21",
        "/chunked/dw.com/DW_2023_06_13",
        "/redirect/301?to=/page/ft.com/omnivore_ft.com",
        "/status/404",
        "/status/500",
        "/cookies",
        "/custom-reason",
        "/echo?q=china+ai&page=2",
        "/file.pdf",
        "/latin1",
        "/wrong-charset",
    ]
    urls = [news_server.url(p) for p in paths]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), *urls)
    return archive, urls, result


def test_exit_status_and_summary(ingested):
    _archive, _urls, result = ingested
    # 404 and 500 are archived but count as failed: the run says so.
    assert result.code == 1, result.stderr
    assert "failed: 2" in result.stdout
    assert "error_status:404" in result.stdout and "error_status:500" in result.stdout


def test_warc_files_are_valid(ingested):
    archive, _urls, _result = ingested
    files = warc_files(archive)
    assert files and all(WARC_NAME.match(f.name) for f in files)
    assert not list((archive / "warc").glob("*.open"))
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no digest to check" not in check.stdout


def test_cdxj_indexer_indexes_every_response(ingested, news_server):
    archive, urls, _result = ingested
    out = subprocess.run(["cdxj-indexer", *map(str, warc_files(archive))],
                         capture_output=True, text=True, check=True).stdout
    indexed = {re.search(r'"url": "([^"]+)"', line)[1] for line in out.splitlines() if line}
    for url in urls:
        assert url in indexed, url
    assert news_server.url("/page/ft.com/omnivore_ft.com") in indexed  # the redirect target


def test_warcinfo_opens_each_file(ingested):
    archive, _urls, _result = ingested
    for path in warc_files(archive):
        recs = [r for r in all_records(archive) if r.file == path.name]
        first = recs[0]
        assert first.type == "warcinfo"
        assert first.warc.protocol == "WARC/1.1"
        info = first.raw.decode()
        for field in ("software: newsarchive/", "hostname: ", "robots: obey", "http-header-user-agent: newsarchive", "format: WARC File Format 1.1"):
            assert field in info


def test_request_response_pairs(ingested):
    archive, _urls, _result = ingested
    recs = all_records(archive)
    by_id = {r.warc.get_header("WARC-Record-ID"): r for r in recs}
    requests = [r for r in recs if r.type == "request"]
    assert len(requests) == len([r for r in recs if r.type == "response"])
    for req in requests:
        resp = by_id[req.warc.get_header("WARC-Concurrent-To")]
        assert resp.type == "response" and resp.uri == req.uri
        assert resp.warc.get_header("WARC-Date") == req.warc.get_header("WARC-Date")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", resp.warc.get_header("WARC-Date"))
        assert resp.warc.get_header("WARC-IP-Address") == "127.0.0.1"
        for rec in (req, resp):
            assert rec.warc.protocol == "WARC/1.1"
            assert rec.warc.get_header("WARC-Block-Digest").startswith("sha1:")
            assert re.fullmatch(r"sha1:[A-Z2-7]{32}", rec.warc.get_header("WARC-Payload-Digest"))
        assert req.http.get_header("Host") == "127.0.0.1:" + req.uri.split(":")[2].split("/")[0]


def test_content_encoding_kept_byte_for_byte(ingested, news_server):
    archive, _urls, _result = ingested
    resp = responses(archive)
    for path, encoding in (("/gzip/reuters.com/Reuters_2024_03_07", "gzip"),
                           ("/br/restofworld.org/RestOfWorld_2025_10_21", "br")):
        rec = resp[news_server.url(path)]
        assert rec.http.get_header("Content-Encoding") == encoding
        assert rec.raw == news_server.sent[path]
        assert b"</html>" in rec.content.lower()


def test_chunked_body_stored_without_framing(ingested, news_server):
    archive, _urls, _result = ingested
    path = "/chunked/dw.com/DW_2023_06_13"
    rec = responses(archive)[news_server.url(path)]
    assert rec.http.get_header("Transfer-Encoding") is None
    assert rec.raw == news_server.sent[path]
    length = rec.http.get_header("Content-Length")
    assert length is None or int(length) == len(rec.raw)


def test_headers_status_line_and_query(ingested, news_server):
    archive, _urls, _result = ingested
    resp = responses(archive)
    cookies = resp[news_server.url("/cookies")]
    values = lambda name: [v for k, v in cookies.http.headers if k.lower() == name]  # noqa: E731
    assert values("set-cookie") == ["session=abc123; Path=/; HttpOnly",
                                    "consent=yes; Path=/; Max-Age=3600; SameSite=Lax"]
    assert len(values("link")) == 2
    custom = resp[news_server.url("/custom-reason")]
    assert custom.http.statusline == "200 Totally Fine" and custom.http.protocol == "HTTP/1.1"
    assert resp[news_server.url("/status/404")].http.statusline == "404 Not Found"
    echo_url = news_server.url("/echo?q=china+ai&page=2")
    req = next(r for r in all_records(archive) if r.type == "request" and r.uri == echo_url)
    assert req.raw == b""
    first_line = req.http.to_str().split("\r\n", 1)[0]
    assert first_line == "GET /echo?q=china+ai&page=2 HTTP/1.1"


def test_the_crawlers_own_schema_check_agrees_with_an_independent_validator(ingested):
    from storage.schema import schema_errors as crawler_check

    archive, _urls, _result = ingested
    line = json_records(archive)[0]
    broken = [
        {k: v for k, v in line.items() if k != "url"},
        {**line, "word_count": "many"},
        {**line, "status": 1000},
        {**line, "unexpected": 1},
        {**line, "warc": {**line["warc"], "offset": -1}},
    ]
    assert crawler_check(line) == [] == schema_errors(line)
    for record in broken:
        assert crawler_check(record) and schema_errors(record), record


def test_index_made_while_writing_is_the_index_of_the_files(ingested, tmp_path):
    import shutil

    from storage.archive_index import index_path, rebuild_index

    archive, _urls, _result = ingested
    made = index_path(archive).read_text()
    copy = tmp_path / "copy"
    shutil.copytree(archive, copy)
    rebuild_index(copy)  # every WARC read back from disk
    assert made == index_path(copy).read_text()
    assert len(made.splitlines()) >= 13


def test_redirects_and_errors_archived(ingested, news_server):
    archive, _urls, _result = ingested
    resp = responses(archive)
    redirect = resp[news_server.url("/redirect/301?to=/page/ft.com/omnivore_ft.com")]
    assert redirect.http.statusline.startswith("301")
    assert redirect.http.get_header("Location") == "/page/ft.com/omnivore_ft.com"
    assert resp[news_server.url("/status/500")].http.statusline.startswith("500")
    assert news_server.url("/robots.txt") in resp


def test_json_lines_follow_the_schema_and_point_at_their_records(ingested, news_server):
    archive, urls, _result = ingested
    lines = json_records(archive)
    assert {line["url"] for line in lines} == set(urls)
    for line in lines:
        assert schema_errors(line) == [], line["url"]
        pointer = line["warc"]
        record, fh = record_at(archive, pointer["filename"], pointer["offset"])
        with fh:
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == line["final_url"]
            assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
            assert record.rec_headers.get_header("WARC-Payload-Digest") == pointer["payload_digest"]
    by_url = {line["url"]: line for line in lines}
    article = by_url[news_server.url("/page/dw.com/DW_2024_01_30")]
    assert article["reason"] is None and article["word_count"] > 200 and article["title"]
    assert article["status"] == 200 and article["content_type"].startswith("text/html")
    moved = by_url[news_server.url("/redirect/301?to=/page/ft.com/omnivore_ft.com")]
    assert moved["final_url"] == news_server.url("/page/ft.com/omnivore_ft.com")
    assert by_url[news_server.url("/status/404")]["reason"] == "error_status:404"
    assert by_url[news_server.url("/status/404")]["text"] is None
    assert by_url[news_server.url("/file.pdf")]["reason"] == "not_html"
    latin = by_url[news_server.url("/latin1")]
    assert latin["text"] and "\ufffd" not in latin["text"] and ("ä" in latin["text"] or "ü" in latin["text"])


def test_a_crawl_listens_on_no_port(news_server, archive):
    """An archival crawl takes no commands from the network: Scrapy's telnet console and
    remote control are off, and no process of the crawl listens on any port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", str(archive),
         news_server.url("/slow?delay=4")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the crawl is under way: fetching the page
            if any(state == "ESTABLISHED" and remote == news_server.port
                   for state, _local, remote in tcp_sockets(proc.pid)):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the crawl never connected to the server")
        listening = {pid: [s for s in tcp_sockets(pid) if s[0] == "LISTEN"]
                     for pid in [proc.pid, *descendants(proc.pid)]}
        assert not any(listening.values()), listening
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_bad_input_gives_one_message_per_url(news_server, archive):
    good = news_server.url("/page/dw.com/DW_2023_06_13")
    bad = ["ftp://example.org/file.txt", "file:///etc/passwd", "http://", "not a url", "http://[::1"]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), good, *bad, good)
    assert result.code == 1
    for url in bad:
        assert sum(f"{url!r}:" in line for line in result.stderr.splitlines() if line.startswith("rejected:")) == 1, url
    assert "unsupported scheme 'ftp'" in result.stderr and "unsupported scheme 'file'" in result.stderr
    lines = json_records(archive)
    assert [line["url"] for line in lines] == [good]  # duplicate fetched once
    assert lines[0]["reason"] is None
    assert "rejected: 5" in result.stdout


def test_urls_from_file_and_stdin(news_server, archive, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# reading list\n{news_server.url('/page/dw.com/DW_2023_04_28')}\n\n")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "-i", str(listing))
    assert result.code == 0, result.stderr
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "-i", "-",
                         stdin=news_server.url("/echo?from=stdin") + "\n")
    assert result.code == 0, result.stderr
    assert {line["url"] for line in json_records(archive)} == {
        news_server.url("/page/dw.com/DW_2023_04_28"), news_server.url("/echo?from=stdin")}


def test_private_addresses_refused_without_flag(news_server, archive):
    news_server.clear_log()
    url = news_server.url("/page/dw.com/DW_2024_01_30?private=1")
    result = run_crawler("ingest", "--archive", str(archive), url)
    assert result.code == 1
    assert "loopback address" in result.stdout and "--allow-private" in result.stdout
    assert news_server.hits("/page/dw.com/DW_2024_01_30?private=1") == 0
    assert news_server.hits("/robots.txt") == 0
    (line,) = json_records(archive)
    assert line["reason"] == "refused_private_address" and line["warc"] is None


def test_truncated_bodies_are_marked(news_server, archive):
    big = news_server.url("/big?size=500000")
    dropped = news_server.url("/drop?size=200000&after=50000")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_MAX_BODY_BYTES=100000", big, dropped)
    assert result.code in (0, 1), result.stderr
    resp = responses(archive)
    assert resp[big].warc.get_header("WARC-Truncated") == "length"
    # cut once past the limit, within one network read of it (not at half of it)
    assert 100000 < len(resp[big].raw) <= 100000 + 65536
    assert resp[dropped].warc.get_header("WARC-Truncated") == "disconnect"
    assert len(resp[dropped].raw) == 50000
    assert int(resp[dropped].http.get_header("Content-Length")) == 50000
    by_url = {line["url"]: line for line in json_records(archive)}
    assert by_url[big]["truncated"] == "length" and by_url[dropped]["truncated"] == "disconnect"


def test_rotation_gives_serials_and_warcinfo(news_server, archive):
    names = ["DW_2023_04_28", "DW_2023_06_13", "DW_2024_01_30", "DW_hist_2023_03_habeck", "DW_hist_2023_03_libanon"]
    urls = [news_server.url(f"/page/dw.com/{name}?rotation=1") for name in names]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_WARC_MAX_BYTES=40000", *urls)
    assert result.code == 0, result.stderr
    files = warc_files(archive)
    assert len(files) >= 3
    serials = sorted(int(f.name.split("-")[2]) for f in files)
    assert serials == list(range(len(files)))
    for path in files:
        recs = [r for r in all_records(archive) if r.file == path.name]
        assert recs[0].type == "warcinfo"
    pointers = {(line["warc"]["filename"]) for line in json_records(archive)}
    assert pointers <= {f.name for f in files}


def test_cached_responses_are_not_archived_twice(news_server, archive, tmp_path):
    url = news_server.url("/page/dw.com/DW_2023_04_28?cache=1")
    cache = ["-s", "HTTPCACHE_ENABLED=True", "-s", f"HTTPCACHE_DIR={tmp_path / 'cache'}"]
    assert run_crawler("ingest", "--allow-private", "--archive", str(archive), *cache, url).code == 0
    assert run_crawler("ingest", "--allow-private", "--archive", str(archive), *cache, url).code == 0
    assert news_server.hits("/page/dw.com/DW_2023_04_28?cache=1") == 1
    responses_for_url = [r for r in all_records(archive) if r.type == "response" and r.uri == url]
    assert len(responses_for_url) == 1


def test_bad_archive_uri_is_a_usage_error(news_server, tmp_path: Path):
    result = run_crawler("ingest", "--allow-private", "--archive", "ftp://host/x", news_server.url("/echo"))
    assert result.code == 2
    assert "unsupported archive scheme 'ftp'" in result.stderr


def test_warc_gzip_level_trades_size_for_speed_and_stays_readable(news_server, tmp_path):
    urls = [news_server.url(f"/page/dw.com/{name}?level=1") for name in ("DW_2023_04_28", "DW_2024_01_30")]
    sizes, payloads = {}, {}
    for level in (1, 9):
        archive = tmp_path / f"level{level}"
        result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                             "-s", f"ARCHIVE_WARC_GZIP_LEVEL={level}", *urls)
        assert result.code == 0, result.stderr
        files = warc_files(archive)
        assert warcio_check(files).returncode == 0
        sizes[level] = sum(f.stat().st_size for f in files)
        payloads[level] = {url: resp.raw for url, resp in responses(archive).items()}
    assert payloads[1] == payloads[9] and set(urls) <= set(payloads[1])  # the same bytes archived
    assert sizes[1] > sizes[9] * 1.05


def test_payloads_the_server_compressed_are_stored_without_a_second_deflate(news_server, archive):
    page = "/page/dw.com/DW_2023_04_28"
    urls = {enc: news_server.url(f"{page}?enc={enc}") for enc in ("gzip", "br", "identity")}
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), *urls.values())
    assert result.code == 0, result.stderr
    assert warcio_check(warc_files(archive)).returncode == 0
    members = {}  # url -> (gzip member as in the file, the record it holds)
    for line in json_records(archive):
        path = archive / "warc" / line["warc"]["filename"]
        with open(path, "rb") as fh:
            fh.seek(line["warc"]["offset"])
            member = fh.read(line["warc"]["length"])
        members[line["url"]] = (member, gzip.decompress(member))
    for enc in ("gzip", "br"):
        member, record = members[urls[enc]]
        assert news_server.sent[page + f"?enc={enc}"] in record  # the payload as sent
        assert len(member) >= len(record)  # stored: no CPU spent deflating it again...
        assert len(member) <= len(gzip.compress(record, 6)) * 1.01  # ...for under 1% of size
    member, record = members[urls["identity"]]
    assert len(member) < len(record) / 3  # an uncompressed page is deflated as before


def test_bad_warc_gzip_level_is_a_usage_error(news_server, archive):
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_WARC_GZIP_LEVEL=10", news_server.url("/echo"))
    assert result.code == 2 and "ARCHIVE_WARC_GZIP_LEVEL must be 0-9" in result.stderr


@pytest.mark.parametrize("refresh_at", ["head", "after_4096_chars"])
def test_meta_refresh_on_a_big_page_is_followed_as_scrapy_does(news_server, archive, refresh_at):
    target_path = f"/page/dw.com/DW_2024_01_30?refreshed={refresh_at}"
    refresh = f'<meta http-equiv="refresh" content="0; url={target_path}">'
    filler = "<p>" + "Lorem ipsum dolor sit amet. " * 4000 + "</p>"  # about 110 KB
    head, late = (refresh, "") if refresh_at == "head" else ("", "<!--" + "x" * 5000 + "-->" + refresh)
    page = f"<html><head><title>Moved</title>{head}</head><body>{late}{filler}</body></html>".encode()
    news_server.set_page(f"/moved/{refresh_at}", page)
    url = news_server.url(f"/moved/{refresh_at}")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), url)
    assert result.code == 0, result.stderr
    (line,) = json_records(archive)
    target = news_server.url(target_path)
    if refresh_at == "head":
        assert line["final_url"] == target and line["word_count"] > 200
        assert set(responses(archive)) >= {url, target}  # the refresh page is archived too
    else:  # Scrapy reads the first 4,096 characters only
        assert line["final_url"] == url and news_server.hits(target_path) == 0
