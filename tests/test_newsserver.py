"""Tests of the local news test server itself (raw sockets and http.client, no Scrapy)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator

import brotli
import pytest

try:
    from newsserver import CORPUS, LATIN1_PAGE, PDF_BYTES, NewsServer, corpus_pages
except ImportError:  # tests/ became a package
    from tests.newsserver import CORPUS, LATIN1_PAGE, PDF_BYTES, NewsServer, corpus_pages

PAGE = "dw.com/DW_2024_01_30"


def corpus_bytes(site_name: str) -> bytes:
    return gzip.decompress((CORPUS / "pages" / f"{site_name}.html.gz").read_bytes())


@pytest.fixture
def srv() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


def get(
    srv: NewsServer,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def raw(srv: NewsServer, request: bytes, timeout: float = 10) -> bytes:
    """Send raw request bytes and read until the server closes the connection."""
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def split_response(data: bytes) -> tuple[str, dict[str, list[str]], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return status, headers, body


def dechunk(body: bytes) -> tuple[bytes, int]:
    """Strictly decode chunked framing; returns (payload, number of data chunks)."""
    out, n = b"", 0
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n", "missing final CRLF after last-chunk"
            return out, n
        out, n = out + body[:size], n + 1
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


# -- corpus pages and validators -----------------------------------------------------------


def test_corpus_pages_helper() -> None:
    pages = corpus_pages()
    assert pages == sorted(pages) and len(pages) > 100
    assert LATIN1_PAGE in pages
    assert set(pages) <= set(corpus_pages(with_truth=False))


def test_page(srv: NewsServer) -> None:
    resp, body = get(srv, f"/page/{PAGE}")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert body == corpus_bytes(PAGE)
    assert int(resp.getheader("Content-Length")) == len(body)
    assert resp.getheader("ETag") == '"%s"' % hashlib.sha1(body).hexdigest()
    assert resp.getheader("Last-Modified", "").endswith(" GMT")
    assert srv.sent[f"/page/{PAGE}"] == body
    assert srv.url("/x") == f"http://127.0.0.1:{srv.port}/x"
    assert get(srv, "/page/dw.com/nonexistent")[0].status == 404
    assert get(srv, "/page/dw.com/..")[0].status == 404


def test_conditional_requests(srv: NewsServer) -> None:
    path = f"/page/{PAGE}"
    resp, _ = get(srv, path)
    etag, lm = resp.getheader("ETag"), resp.getheader("Last-Modified")
    for hdrs in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'},
                 {"If-Modified-Since": lm}):
        resp, body = get(srv, path, hdrs)
        assert (resp.status, body) == (304, b""), hdrs
        assert resp.getheader("ETag") == etag and resp.getheader("Content-Length") is None
    assert get(srv, path, {"If-None-Match": '"other"'})[0].status == 200
    assert get(srv, path, {"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"})[0].status == 200
    # If-None-Match wins over If-Modified-Since
    assert get(srv, path, {"If-None-Match": '"other"', "If-Modified-Since": lm})[0].status == 200
    srv.set_conditional(False)
    resp, body = get(srv, path, {"If-None-Match": etag})
    assert resp.status == 200 and body == corpus_bytes(PAGE) and resp.getheader("ETag") == etag


def test_keep_alive_across_routes(srv: NewsServer) -> None:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", f"/page/{PAGE}")
        resp = conn.getresponse()
        etag, _ = resp.getheader("ETag"), resp.read()
        first_sock = conn.sock
        paths = [f"/gzip/{PAGE}", f"/chunked/{PAGE}", "/status/404", "/status/204",
                 "/redirect/302?to=/echo", "/big-chunked?size=100000", "/image.png"]
        for path in paths:
            conn.request("GET", path)
            conn.getresponse().read()
        conn.request("HEAD", f"/page/{PAGE}")
        resp = conn.getresponse()
        assert resp.read() == b"" and int(resp.getheader("Content-Length")) > 0
        conn.request("GET", f"/page/{PAGE}", headers={"If-None-Match": etag})
        resp = conn.getresponse()
        assert resp.status == 304 and resp.read() == b""
        conn.request("GET", "/echo?last=1")
        resp = conn.getresponse()
        assert resp.status == 200 and b"last=1" in resp.read()
        assert conn.sock is first_sock, "connection was not kept alive"
    finally:
        conn.close()
    assert srv.sent[f"/page/{PAGE}"] == b""  # latest was the 304


def test_copy_and_list(srv: NewsServer) -> None:
    pages = corpus_pages()
    _, body = get(srv, f"/list/{len(pages) + 2}")
    links = re.findall(rb'href="(/copy/[^"]+)"', body)
    assert len(links) == len(pages) + 2
    s, n = pages[0]
    assert links[0] == f"/copy/0/{s}/{n}".encode()
    assert links[len(pages)] == f"/copy/{len(pages)}/{s}/{n}".encode()  # cycles
    resp, copy = get(srv, f"/copy/7/{PAGE}")
    assert resp.status == 200 and copy == corpus_bytes(PAGE)
    assert srv.hits(f"/copy/7/{PAGE}") == 1 and srv.hits(f"/page/{PAGE}") == 0


# -- encodings -----------------------------------------------------------------------------


def test_gzip_and_br(srv: NewsServer) -> None:
    page = corpus_bytes(PAGE)
    resp, body = get(srv, f"/gzip/{PAGE}")
    assert resp.getheader("Content-Encoding") == "gzip"
    assert resp.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(body) == page and srv.sent[f"/gzip/{PAGE}"] == body
    assert get(srv, f"/gzip/{PAGE}")[1] == body  # deterministic
    resp, body = get(srv, f"/br/{PAGE}")
    assert resp.getheader("Content-Encoding") == "br"
    assert brotli.decompress(body) == page and srv.sent[f"/br/{PAGE}"] == body


def test_negotiate(srv: NewsServer) -> None:
    cases = {"gzip, deflate, br": "br", "gzip, br;q=0": "gzip", "identity": None}
    for accept, expected in cases.items():
        resp, _ = get(srv, f"/negotiate/{PAGE}", {"Accept-Encoding": accept})
        assert resp.getheader("Content-Encoding") == expected, accept
        assert resp.getheader("Vary") == "Accept-Encoding"


def test_chunked_raw_framing(srv: NewsServer) -> None:
    req = f"GET /chunked/{PAGE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    status, headers, body = split_response(raw(srv, req))
    assert status == "HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == ["chunked"] and "content-length" not in headers
    payload, n = dechunk(body)
    assert payload == corpus_bytes(PAGE) == srv.sent[f"/chunked/{PAGE}"]
    assert n >= 4
    # gzip + chunked: `sent` holds the gzip bytes, framing removed
    req = f"GET /chunked/{PAGE}?enc=gzip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    _, headers, body = split_response(raw(srv, req.encode()))
    payload, _ = dechunk(body)
    assert headers["content-encoding"] == ["gzip"]
    assert gzip.decompress(payload) == corpus_bytes(PAGE)
    assert srv.sent[f"/chunked/{PAGE}?enc=gzip"] == payload


def test_chunked_http10_falls_back_to_close(srv: NewsServer) -> None:
    status, headers, body = split_response(raw(srv, b"GET /big-chunked?size=5000 HTTP/1.0\r\n\r\n"))
    assert status.startswith("HTTP/1.1 200")
    assert "transfer-encoding" not in headers and "content-length" not in headers
    assert len(body) == 5000


def test_big(srv: NewsServer) -> None:
    resp, body = get(srv, "/big")
    assert int(resp.getheader("Content-Length")) == len(body) == 3_000_000
    assert body.startswith(b"<!DOCTYPE html>") and body.rstrip().endswith(b"</html>")
    resp, body = get(srv, "/big-chunked?size=200001")
    assert resp.getheader("Transfer-Encoding") == "chunked" and len(body) == 200001
    assert srv.sent["/big-chunked?size=200001"] == body


# -- redirects and statuses ----------------------------------------------------------------


def test_redirects(srv: NewsServer) -> None:
    for code in (301, 302, 307, 308):
        resp, _ = get(srv, f"/redirect/{code}?to=/page/{PAGE}")
        assert resp.status == code and resp.getheader("Location") == f"/page/{PAGE}"
    path, hops = "/redirect-chain/3", 0
    while True:
        resp, body = get(srv, path)
        if resp.status != 302:
            break
        path, hops = resp.getheader("Location"), hops + 1
    assert (hops, resp.status, path) == (3, 200, "/redirect-chain/0")
    resp, _ = get(srv, "/redirect-chain/2?code=301")
    assert resp.status == 301 and resp.getheader("Location") == "/redirect-chain/1?code=301"


def test_status_codes(srv: NewsServer) -> None:
    reasons = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 410: "Gone",
               429: "Too Many Requests", 500: "Internal Server Error",
               503: "Service Unavailable"}
    for code, reason in reasons.items():
        resp, body = get(srv, f"/status/{code}")
        assert (resp.status, resp.reason) == (code, reason)
        assert f"{code} {reason}".encode() in body
    assert get(srv, "/status/503")[0].getheader("Retry-After") == "1"
    assert get(srv, "/status/429?retry_after=7")[0].getheader("Retry-After") == "7"
    resp, body = get(srv, "/status/204")
    assert resp.status == 204 and body == b""
    resp, body = get(srv, "/no/such/route")
    assert (resp.status, resp.reason) == (404, "Not Found")


def test_custom_reason_on_the_wire(srv: NewsServer) -> None:
    data = raw(srv, b"GET /custom-reason HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 Totally Fine\r\n")


def test_flaky(srv: NewsServer) -> None:
    path = "/flaky?fails=2&code=503&id=a"
    assert [get(srv, path)[0].status for _ in range(4)] == [503, 503, 200, 200]


# -- headers, query, content types ---------------------------------------------------------


def test_cookies_and_links(srv: NewsServer) -> None:
    resp, _ = get(srv, "/cookies")
    assert resp.status == 200
    cookies = resp.msg.get_all("Set-Cookie")
    links = resp.msg.get_all("Link")
    assert cookies is not None and len(cookies) == 2 and cookies[0].startswith("session=")
    assert links is not None and len(links) == 2


def test_echo_keeps_query(srv: NewsServer) -> None:
    path = "/echo?utm_source=rss&b=%C3%A4%20x&empty="
    _, body = get(srv, path, {"X-Test": "1"})
    assert b"GET /echo?utm_source=rss&amp;b=%C3%A4%20x&amp;empty= HTTP/1.1" in body
    assert b"X-Test: 1" in body
    assert srv.requests[-1].path == path
    _, body = get(srv, "/echo?p=1", {"Content-Length": "9"}, method="POST", body=b"form=data")
    assert b"POST /echo?p=1" in body and b"form=data" in body


def test_binary_files(srv: NewsServer) -> None:
    resp, pdf = get(srv, "/file.pdf")
    assert resp.getheader("Content-Type") == "application/pdf"
    assert pdf == PDF_BYTES and pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[xref : xref + 4] == b"xref"
    resp, png = get(srv, "/image.png")
    assert resp.getheader("Content-Type") == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, kinds = 8, []
    while pos < len(png):  # walk the chunks, checking every CRC
        (length,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + data
        )
        kinds.append(kind)
        pos += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_charsets(srv: NewsServer) -> None:
    resp, body = get(srv, "/latin1")
    assert resp.getheader("Content-Type") == "text/html"
    assert body == corpus_bytes("/".join(LATIN1_PAGE))
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "Wohnungssuche" in body.decode("iso-8859-1")
    resp, body = get(srv, "/wrong-charset")
    assert resp.getheader("Content-Type") == "text/html; charset=iso-8859-1"
    assert "ü".encode() in body and body.decode("utf-8")


def test_robots(srv: NewsServer) -> None:
    resp, body = get(srv, "/robots.txt")
    assert resp.getheader("Content-Type", "").startswith("text/plain")
    assert body == b"User-agent: *\nAllow: /\n"
    srv.set_robots("User-agent: *\nDisallow: /private/\n")
    assert get(srv, "/robots.txt")[1] == b"User-agent: *\nDisallow: /private/\n"


# -- faults --------------------------------------------------------------------------------


def test_drop_mid_body(srv: NewsServer) -> None:
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(b"GET /drop?size=100000&after=30000 HTTP/1.1\r\nHost: x\r\n\r\n")
        start, data = time.monotonic(), b""
        while chunk := sock.recv(65536):  # keep-alive request: EOF can only mean the drop
            data += chunk
        assert time.monotonic() - start < 3
    _, headers, body = split_response(data)
    assert headers["content-length"] == ["100000"]
    assert len(body) == 30000 and srv.sent["/drop?size=100000&after=30000"] == body
    with pytest.raises(http.client.IncompleteRead) as exc:
        get(srv, "/drop?size=5000")
    assert len(exc.value.partial) == 2500  # default: half of the promised size


def test_drop_with_reset(srv: NewsServer) -> None:
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(b"GET /drop?size=100000&after=100&rst=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    assert len(data) < 100000


def test_slow(srv: NewsServer) -> None:
    start = time.monotonic()
    resp, _ = get(srv, "/slow?delay=0.3")
    assert resp.status == 200 and time.monotonic() - start >= 0.3
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=0.2)
    try:
        conn.request("GET", "/slow?delay=1")
        with pytest.raises(TimeoutError):
            conn.getresponse()
    finally:
        conn.close()


# -- mutable pages -------------------------------------------------------------------------


def test_set_page_and_conditional(srv: NewsServer) -> None:
    srv.set_page("/news/a", b"<html>v1</html>", headers={"X-Version": "1"})
    resp, body = get(srv, "/news/a")
    assert (resp.status, body, resp.getheader("X-Version")) == (200, b"<html>v1</html>", "1")
    etag, lm = resp.getheader("ETag"), resp.getheader("Last-Modified")
    srv.set_page("/news/a", b"<html>v1</html>", headers={"X-Version": "1"})  # unchanged
    assert get(srv, "/news/a", {"If-None-Match": etag})[0].status == 304
    assert get(srv, "/news/a", {"If-Modified-Since": lm})[0].status == 304
    srv.set_page("/news/a", b"<html>v2</html>")
    resp, body = get(srv, "/news/a", {"If-None-Match": etag})
    assert (resp.status, body) == (200, b"<html>v2</html>") and resp.getheader("ETag") != etag
    assert get(srv, "/news/a", {"If-Modified-Since": lm})[0].status == 200  # moved forward
    # overrides a route, and exact path+query wins over the bare path
    srv.set_page("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    srv.set_page("/feed?page=2", b"<rss/>", "application/rss+xml")
    assert get(srv, "/robots.txt")[1] == b"User-agent: *\nDisallow: /\n"
    resp, body = get(srv, "/feed?page=2")
    assert (resp.getheader("Content-Type"), body) == ("application/rss+xml", b"<rss/>")
    assert get(srv, "/feed?page=3")[0].status == 404
    srv.set_page("/gone", b"gone", status=410)
    assert get(srv, "/gone")[0].status == 410
    srv.remove_page("/news/a")
    assert get(srv, "/news/a")[0].status == 404


# -- log, concurrency, lifecycle -----------------------------------------------------------


def test_request_log_and_hits(srv: NewsServer) -> None:
    get(srv, "/echo?a=1", {"User-Agent": "test-agent"})
    get(srv, "/echo?a=2")
    get(srv, "/echo", method="HEAD")
    assert srv.hits("/echo") == 3 and srv.hits("/echo?a=1") == 1
    assert srv.hits(srv.url("/echo?a=2")) == 1 and srv.hits("/echo", method="HEAD") == 1
    method, path, headers, t = srv.requests[0]
    assert (method, path, headers["user-agent"]) == ("GET", "/echo?a=1", "test-agent")
    times = [r.time for r in srv.requests]
    assert times == sorted(times)
    srv.clear_log()
    assert srv.requests == [] and srv.sent == {}


def test_concurrent_keep_alive_clients(srv: NewsServer) -> None:
    pages = corpus_pages()[:20]
    errors: list[BaseException] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
        try:
            for i in range(15):
                site, name = pages[(k + i) % len(pages)]
                conn.request("GET", f"/copy/{k * 100 + i}/{site}/{name}")
                resp = conn.getresponse()
                assert resp.status == 200 and len(resp.read()) > 1000
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(srv.requests) == 32 * 15


def test_stop_closes_idle_connections() -> None:
    server = NewsServer().start()
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 204")
        start = time.monotonic()
        server.stop()
        assert sock.recv(4096) == b"" and time.monotonic() - start < 3
    with pytest.raises(RuntimeError):
        server.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
