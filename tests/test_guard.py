"""The address guard, through `crawler ingest`: no way around it by DNS rebinding, a failed
look-up, another URL scheme, or credentials in the URL (issue: hostile servers and input)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from conftest import run_crawler
from dnsserver import ScriptedDNSServer
from warcutil import all_records, json_records

SECRET = b"PRIVATE-SERVER-SECRET"
PUBLIC = b"an allowed server's page"


def _server(address: str, port: int, body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else (
                b"<html><body><article><p>" + b" ".join([body] * 12) + b"</p></article></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt" else "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def two_servers() -> Iterator[int]:
    """One port on two loopback addresses: 127.0.0.2 plays an allowed (public) server, 127.0.0.1
    the private one a rebinding name must not reach."""
    for _ in range(20):
        allowed = _server("127.0.0.2", 0, PUBLIC)
        port = allowed.server_address[1]
        try:
            private = _server("127.0.0.1", port, SECRET)
        except OSError:
            allowed.shutdown()
            allowed.server_close()
            continue
        break
    else:
        pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")
    try:
        yield port
    finally:
        for server in (allowed, private):
            server.shutdown()
            server.server_close()


def _archived_bytes(archive: Path) -> bytes:
    return b"".join(rec.raw for rec in all_records(archive)) if (archive / "warc").exists() else b""


def _ingest(archive: Path, dns: ScriptedDNSServer, *urls: str, extra: tuple[str, ...] = ()):
    # 127.0.0.2 stands for a public address: allowed by network, so nothing here leaves loopback.
    return run_crawler("ingest", *urls, "--archive", str(archive), "-s", f"ARCHIVE_DNS_SERVERS={dns.address}",
                       "-s", "ARCHIVE_ALLOW_NETWORKS=127.0.0.2/32", "-s", "DNSCACHE_ENABLED=False",
                       "-s", "ARCHIVE_PROGRESS_INTERVAL=0", *extra)


def test_a_name_rebound_to_a_private_address_is_refused_at_connection(two_servers, archive):
    port = two_servers
    # the first look-up (robots.txt's) answers the allowed address, every later one loopback
    with ScriptedDNSServer({"rebind.test": ["127.0.0.2", "127.0.0.1"]}) as dns:
        result = _ingest(archive, dns, f"http://rebind.test:{port}/a", f"http://rebind.test:{port}/b")
        assert dns.queries["rebind.test"] >= 2, result.stderr  # the connections looked it up again
    assert SECRET not in _archived_bytes(archive)
    lines = {line["url"]: line for line in json_records(archive)}
    assert {line["reason"] for line in lines.values()} == {"refused_private_address"}, lines
    assert all("127.0.0.1" in line["error"] for line in lines.values())
    assert "refused" in result.stdout and result.code == 1


def test_the_address_checked_is_the_address_connected_to(two_servers, archive):
    port = two_servers
    with ScriptedDNSServer({"public.test": ["127.0.0.2"]}) as dns:
        result = _ingest(archive, dns, f"http://public.test:{port}/a")
    assert result.code == 0, result.stdout + result.stderr
    assert PUBLIC in _archived_bytes(archive) and SECRET not in _archived_bytes(archive)
    (line,) = json_records(archive)
    assert line["reason"] is None and line["warc"]


def test_a_failed_lookup_never_allows_the_next_one(two_servers, archive):
    port = two_servers
    with ScriptedDNSServer({"flaky.test": ["SERVFAIL", "NXDOMAIN", "127.0.0.1"]}) as dns:
        result = _ingest(archive, dns, f"http://flaky.test:{port}/a", extra=("-s", "RETRY_TIMES=3"))
        assert dns.queries["flaky.test"] >= 3
    assert SECRET not in _archived_bytes(archive)
    (line,) = json_records(archive)
    assert line["reason"] == "refused_private_address", line
    assert result.code == 1


def test_a_literal_private_address_is_refused_without_a_lookup(two_servers, archive):
    with ScriptedDNSServer({}) as dns:
        result = _ingest(archive, dns, f"http://127.0.0.1:{two_servers}/a")
    assert SECRET not in _archived_bytes(archive)
    (line,) = json_records(archive)
    assert line["reason"] == "refused_private_address" and result.code == 1


def test_credentials_in_a_url_are_refused_and_never_echoed(news_server, archive):
    given = news_server.url("/page").replace("http://", "http://alice:s3cr3t-pw@")
    redirected = news_server.url("/to-credentials")
    news_server.set_page("/to-credentials", b"moved", status=302,
                         headers=[("Location", news_server.url("/echo").replace("http://", "http://bob:hunter2@"))])
    result = run_crawler("ingest", given, redirected, "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_PROGRESS_INTERVAL=0")
    output = result.stdout + result.stderr
    assert "s3cr3t-pw" not in output and "hunter2" not in output
    assert "user name or password" in output
    lines = json_records(archive)
    assert "s3cr3t-pw" not in str(lines) and "hunter2" not in str(lines)
    assert [line["reason"] for line in lines] == ["credentials_in_url"]
    assert result.code == 1


def test_a_sitemap_entry_with_another_scheme_is_never_fetched(tmp_path):
    """A source's sitemap (answered from an archive: no network) lists sitemaps and articles on
    file:// and ftp:// URLs of the source's own domain: none is fetched, each is recorded."""
    from sourcefixtures import XML, Entry, SiteFixture, sitemap_index, write_fixture

    local = b"LOCAL-FILE-NOT-FOR-THE-ARCHIVE"
    (tmp_path / "local.xml").write_bytes(local)
    sneaky = [f"file://www.dw.com{tmp_path}/local.xml", "ftp://www.dw.com/de/x/a-1"]
    fixture = SiteFixture("dw", [Entry("https://www.dw.com/sitemap.xml", sitemap_index(sneaky), XML)], {}, [], [], [])
    warcs = write_fixture(fixture, tmp_path / "fixture")
    archive = tmp_path / "archive"
    result = run_crawler("crawl", "dw", "--from-archive", str(warcs), "--archive", str(archive),
                         "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'index'}", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "ARCHIVE_PROGRESS_INTERVAL=0")
    records = all_records(archive)
    assert not [rec.uri for rec in records if rec.uri and not rec.uri.startswith("http")]
    assert local not in b"".join(rec.raw for rec in records)
    refused = {line["url"]: line["reason"] for line in json_records(archive) if line["reason"] == "unsupported_scheme"}
    assert refused == dict.fromkeys(sneaky, "unsupported_scheme"), result.stdout
    assert result.code == 1
