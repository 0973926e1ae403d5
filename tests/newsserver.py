"""A real, fault-injecting HTTP/1.1 news server for tests and benchmarks (127.0.0.1 only).

    with NewsServer() as srv:
        url = srv.url("/page/dw.com/DW_2024_01_30")
        ...
        assert srv.hits("/page/dw.com/DW_2024_01_30") == 1
        assert warc_payload == srv.sent["/page/dw.com/DW_2024_01_30"]

Pages come from the recorded corpus (``CORPUS/pages/<site>/<name>.html.gz``). Every response
carries Content-Length or is chunked (or, for HTTP/1.0 clients, ends with the connection), so
keep-alive stays in sync. The route list is in ``_Handler._route``.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import html
import itertools
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from zlib_ng import zlib_ng

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a project dependency
    brotli = None

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CORPUS_DIR") or REPO_ROOT / ".." / "shared" / "corpus")
LATIN1_PAGE = ("badische-zeitung.de", "traf_badische-zeitung.de-Wohnungssuche")
# UTF-8 bytes, <meta charset="utf-8">; served with "charset=iso-8859-1" by /wrong-charset.
WRONG_CHARSET_PAGE = ("heise.de", "Heise_2024_04_19")
DEFAULT_ROBOTS = "User-agent: *\nAllow: /\n"
HTML = "text/html; charset=utf-8"
MAX_SIZE = 256 * 1024 * 1024

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def distinct_mark(copy: int) -> bytes:
    """What `/distinct/<copy>/...` appends to a corpus page: its payload differs from every other copy."""
    return f"\n<!-- copy {copy} -->\n".encode()


class Request(NamedTuple):
    method: str
    path: str  # path with query, as sent by the client
    headers: HTTPMessage  # case-insensitive .get(); repeated headers kept (.get_all())
    time: float  # time.monotonic() when the request line was read


@dataclass
class _Page:
    body: bytes
    content_type: str
    headers: list[tuple[str, str]]
    status: int
    last_modified: int  # unix seconds


def corpus_pages(with_truth: bool = True, corpus: Path | None = None) -> list[tuple[str, str]]:
    """Sorted (site, name) of the corpus pages; only those with a .truth.json if with_truth."""
    pages = []
    for f in sorted((corpus or CORPUS).glob("pages/*/*.html.gz")):
        name = f.name[: -len(".html.gz")]
        if not with_truth or f.with_name(name + ".truth.json").exists():
            pages.append((f.parent.name, name))
    return pages


@functools.lru_cache(maxsize=512)
def _corpus_file(corpus: Path, site: str, name: str) -> tuple[bytes, int] | None:
    """(decompressed page, mtime) or None."""
    if any(s in ("", ".", "..") or "/" in s or "\\" in s for s in (site, name)):
        return None
    f = corpus / "pages" / site / f"{name}.html.gz"
    try:
        return gzip.decompress(f.read_bytes()), int(f.stat().st_mtime)
    except OSError:
        return None


def _encode(body: bytes, encoding: str) -> bytes:
    """Deterministic gzip (mtime=0) or brotli."""
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "br" and brotli is not None:
        return brotli.compress(body, quality=5)  # a typical on-the-fly level
    raise ValueError(encoding)


@functools.lru_cache(maxsize=8)
def big_html(size: int) -> bytes:
    """A well-formed HTML page of exactly `size` bytes (truncated markup below ~120 bytes)."""
    head = b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Big page</title></head>'
    head += b"<body>\n"
    tail = b"</body></html>\n"
    para = b"<p>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8 + b"</p>\n"
    room = size - len(head) - len(tail)
    if room < 0:
        return (head + tail)[:size]
    return head + para * (room // len(para)) + b" " * (room % len(para)) + tail


@functools.lru_cache(maxsize=8)
def bomb(encoding: str, mebibytes: int) -> bytes:
    """An HTML page of `mebibytes` MiB (a tag, then zeros) in `encoding`: gzip, deflate, br, zstd."""
    zeros = bytes(1 << 20)
    chunks = [b"<html><body>" + zeros[12:]] + [zeros] * (mebibytes - 1)
    if encoding in ("gzip", "deflate"):
        packer = zlib_ng.compressobj(6, zlib_ng.DEFLATED, 31 if encoding == "gzip" else 15)
        return b"".join(packer.compress(chunk) for chunk in chunks) + packer.flush()
    if encoding == "br":
        packer = brotli.Compressor(quality=5)
        return b"".join(packer.process(chunk) for chunk in chunks) + packer.finish()
    if encoding == "zstd":
        from backports import zstd

        packer = zstd.ZstdCompressor()
        return b"".join(packer.compress(chunk) for chunk in chunks) + packer.flush()
    raise ValueError(f"no bomb in {encoding!r}")


def _make_pdf() -> bytes:
    text = b"BT /F1 18 Tf 20 40 Td (Test PDF) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objs) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _make_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    idat = zlib.compress(b"\x00\xcc\x00\x00")  # filter byte + one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


PDF_BYTES = _make_pdf()
PNG_BYTES = _make_png()


# Stand-ins for a recorded page's requisites (bench/ingest_throughput.py --requisites): any path
# under /standin/, or ending like a stylesheet, script, image or font, gets a body of a typical
# size for its kind (a stylesheet that asks for two shared images and a font).
STANDIN_SUFFIXES = (".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".woff", ".woff2", ".ttf")


def standin(path: str) -> tuple[bytes, str]:
    """A body of a typical size for the kind of file `path` names, its own (no two paths share a
    payload, as no two real photos do)."""
    body, content_type = _standin_kind(path)
    return body + b"\n/* " + path.encode("utf-8", "replace") + b" */\n", content_type


def _standin_kind(path: str) -> tuple[bytes, str]:
    name = path.lower().split("?")[0]
    if name.endswith(".css"):
        rule = ".standin-%d { margin: 0 %dpx; color: #333; }\n"
        body = "".join(rule % (i, i % 7) for i in range(600))
        return (body + "body { background: url(/standin/shared/bg.png); }\n"
                "@font-face { font-family: S; src: url(/standin/shared/font.woff2); }\n").encode(), "text/css"
    if name.endswith(".js"):
        return b"/* stand-in */ " + b"var x = 1;\n" * 5000, "application/javascript"
    # fonts and photos are compressed formats: their stand-ins are as incompressible
    noise = hashlib.shake_256(path.encode("utf-8", "replace")).digest
    if name.endswith((".woff", ".woff2", ".ttf")):
        return b"wOF2" + noise(30_000), "font/woff2"
    if name.endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico")) or "/img" in name:
        return b"\x89PNG\r\n\x1a\n" + noise(40_000), "image/png"
    return b"stand-in " * 1000, "application/octet-stream"


def _small_page(title: str, body: str = "") -> bytes:
    t = html.escape(title)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{t}</title></head>'
        f"<body><h1>{t}</h1>{body}</body></html>\n"
    ).encode()


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown Status"


def _httpdate(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    owner: NewsServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can hang without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # client went away: not our problem
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "NewsServer/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are closed after this
    server: _HTTPServer

    # -- plumbing ---------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        self.pq = split.path + (f"?{split.query}" if split.query else "")
        self.raw_query = split.query
        self.query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return self._respond(400, _small_page("400 Bad Content-Length"))
        self.req_body = self.rfile.read(length) if length > 0 else b""
        owner._log(Request(self.command, self.pq, self.headers, time.monotonic()))
        page = owner._page_for(self.pq, split.path)
        if page is not None:
            self._entity(page.body, page.content_type, page.headers, page.last_modified,
                         page.status)
        else:
            self._route(unquote(split.path))

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def _respond(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = HTML,
        headers: Headers = (),
        *,
        reason: str | None = None,
        chunked: bool = False,
        chunk_size: int = 8192,
    ) -> None:
        """Send one complete response; records the entity bytes in owner.sent."""
        bodyless = status in (204, 304) or status < 200
        self.send_response(status, reason or _reason(status))
        if content_type and not bodyless:
            self.send_header("Content-Type", content_type)
        for k, v in headers.items() if isinstance(headers, Mapping) else headers:
            self.send_header(k, v)
        if not bodyless:
            if not chunked:
                self.send_header("Content-Length", str(len(body)))
            elif self.request_version == "HTTP/1.1":
                self.send_header("Transfer-Encoding", "chunked")
            else:  # HTTP/1.0 has no chunking: the end of the connection ends the body
                self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        send = not bodyless and self.command != "HEAD"
        self.server.owner._record_sent(self.pq, body if send else b"")
        if not send:
            return
        if chunked and self.request_version == "HTTP/1.1":
            step = max(1, min(chunk_size, len(body) // 4))  # always "several" chunks
            for i in range(0, len(body), step):
                piece = body[i : i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def _entity(
        self,
        body: bytes,
        content_type: str,
        headers: Headers = (),
        last_modified: int | None = None,
        status: int = 200,
        *,
        chunked: bool = False,
        chunk_size: int = 8192,
    ) -> None:
        """A 200 with ETag/Last-Modified that answers conditional requests with 304."""
        hdrs = list(headers.items() if isinstance(headers, Mapping) else headers)
        etag = '"%s"' % hashlib.sha1(body).hexdigest()
        lm = int(time.time()) if last_modified is None else last_modified
        validators = [("ETag", etag), ("Last-Modified", _httpdate(lm))]
        if status == 200 and self.server.owner._conditional and self._not_modified(etag, lm):
            self._respond(304, b"", None, validators + [h for h in hdrs if h[0].lower() == "vary"])
            return
        self._respond(
            status, body, content_type, validators + hdrs, chunked=chunked, chunk_size=chunk_size
        )

    def _not_modified(self, etag: str, last_modified: int) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return last_modified <= email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _int(self, key: str, default: int) -> int:
        try:
            return max(0, min(MAX_SIZE, int(self.query.get(key, default))))
        except ValueError:
            return default

    def _corpus(self, site: str, name: str) -> tuple[bytes, int] | None:
        found = _corpus_file(self.server.owner.corpus, site, name)
        if found is None:
            self._respond(404, _small_page("404 Not Found", f"<p>no corpus page {site}/{name}</p>"))
        return found

    # -- routes ----------------------------------------------------------------------------
    def _route(self, path: str) -> None:  # noqa: C901 - a flat route table reads best
        owner, q = self.server.owner, self.query
        m = re.fullmatch(r"/(page|copy/\d+|distinct/\d+|gzip|br|chunked|negotiate)/([^/]+)/([^/]+)", path)
        if m:
            kind = m[1].split("/")[0]
            found = self._corpus(m[2], m[3])
            if found is None:
                return
            body, mtime = found
            if kind == "distinct":  # a copy with a payload of its own (not a revisit of the others)
                body = body + distinct_mark(int(m[1].split("/")[1]))
            enc = {"gzip": "gzip", "br": "br"}.get(kind) or q.get("enc", "")
            hdrs: list[tuple[str, str]] = []
            if kind == "negotiate":
                accepted = [
                    t.split(";")[0].strip()
                    for t in self.headers.get("Accept-Encoding", "").lower().split(",")
                    if not re.search(r";\s*q=0(\.0*)?\s*$", t)
                ]
                enc = "br" if "br" in accepted and brotli else "gzip" if "gzip" in accepted else ""
                hdrs.append(("Vary", "Accept-Encoding"))
            if enc in ("gzip", "br"):
                if enc == "br" and brotli is None:
                    return self._respond(501, _small_page("501 brotli not installed"))
                body = owner.encoded(path, body, enc)
                hdrs = [("Content-Encoding", enc), ("Vary", "Accept-Encoding")]
            chunk = self._int("chunk", 8192) or 8192
            return self._entity(
                body, HTML, hdrs, mtime, chunked=kind == "chunked", chunk_size=chunk
            )
        if m := re.fullmatch(r"/list/(\d+)", path):
            pages = corpus_pages(True, owner.corpus)
            links = "".join(
                f'<li><a href="/copy/{i}/{s}/{n}">{s} {n} #{i}</a></li>\n'
                for i, (s, n) in enumerate(itertools.islice(itertools.cycle(pages), int(m[1])))
            )
            return self._respond(200, _small_page(f"List of {m[1]}", f"<ul>\n{links}</ul>"))
        if m := re.fullmatch(r"/redirect/(\d{3})", path):
            to = q.get("to", "/echo")
            body = _small_page(f"Moved to {to}", f'<a href="{html.escape(to)}">here</a>')
            return self._respond(int(m[1]), body, headers=[("Location", to)])
        if m := re.fullmatch(r"/redirect-chain/(\d+)", path):
            n = int(m[1])
            if n == 0:
                return self._respond(200, _small_page("End of redirect chain"))
            to = f"/redirect-chain/{n - 1}" + (f"?{self.raw_query}" if self.raw_query else "")
            code = self._int("code", 302)
            return self._respond(code, _small_page(f"Hop {n}"), headers=[("Location", to)])
        if m := re.fullmatch(r"/status/(\d{3})", path):
            code = int(m[1])
            if code < 200:
                return self._respond(400, _small_page("1xx is not a final status"))
            hdrs = []
            if code in (429, 503):
                hdrs.append(("Retry-After", q.get("retry_after", "1")))
            if code == 401:
                hdrs.append(("WWW-Authenticate", 'Basic realm="news"'))
            if "to" in q:
                hdrs.append(("Location", q["to"]))
            return self._respond(code, _small_page(f"{code} {_reason(code)}"), headers=hdrs)
        if path == "/flaky":  # fails the first `fails` fetches of this exact URL, then a page
            fails, code = self._int("fails", 1), self._int("code", 503)
            if owner.hits(self.pq) <= fails:
                hdrs = [("Retry-After", q.get("retry_after", "0"))] if code in (429, 503) else []
                return self._respond(code, _small_page(f"{code} {_reason(code)}"), headers=hdrs)
            return self._respond(200, _small_page("Flaky page, finally OK"))
        if path == "/custom-reason":
            return self._respond(200, _small_page("Totally fine"), reason="Totally Fine")
        if path == "/cookies":
            hdrs = [
                ("Set-Cookie", "session=abc123; Path=/; HttpOnly"),
                ("Set-Cookie", "consent=yes; Path=/; Max-Age=3600; SameSite=Lax"),
                ("Link", '</static/style.css>; rel="preload"; as="style"'),
                ("Link", '<https://example.org/canonical-article>; rel="canonical"'),
            ]
            return self._respond(200, _small_page("Cookies"), headers=hdrs)
        if path == "/echo":
            lines = [f"{self.command} {self.pq} {self.request_version}"]
            lines += [f"{k}: {v}" for k, v in self.headers.items()]
            if self.req_body:
                lines += ["", self.req_body.decode("latin-1")]
            pre = "<pre>%s</pre>" % html.escape("\n".join(lines))
            return self._respond(200, _small_page(f"Echo {self.pq}", pre))
        if path == "/file.pdf":
            return self._respond(200, PDF_BYTES, "application/pdf")
        if path == "/image.png":
            return self._respond(200, PNG_BYTES, "image/png")
        if path in ("/big", "/big-chunked"):
            body = big_html(self._int("size", 3_000_000))
            return self._respond(200, body, chunked=path == "/big-chunked", chunk_size=65536)
        if path == "/bomb":  # `mb` MiB of zeros sent as a few KB or MB of `enc` (a decompression bomb)
            enc = q.get("enc", "gzip")
            body = bomb(enc, self._int("mb", 100))
            return self._respond(200, body, headers=[("Content-Encoding", enc)])
        if path == "/stall":  # promise `size` bytes, send `after`, then go quiet for `hold` seconds
            size = self._int("size", 100_000)
            return self._stall(size, min(size, self._int("after", size // 2)), min(60, self._int("hold", 5)))
        if path == "/drop":
            size = self._int("size", 100_000)
            return self._drop(size, min(size, self._int("after", size // 2)), q.get("rst") == "1")
        if path in ("/latin1", "/wrong-charset"):
            site, name = LATIN1_PAGE if path == "/latin1" else WRONG_CHARSET_PAGE
            if "page" in q:
                site, _, name = q["page"].partition("/")
            found = self._corpus(site, name)
            if found is not None:
                ctype = "text/html" if path == "/latin1" else "text/html; charset=iso-8859-1"
                self._entity(found[0], ctype, (), found[1])
            return None
        if path == "/robots.txt":
            return self._respond(200, owner._robots.encode(), "text/plain; charset=utf-8")
        if path == "/slow":
            try:
                delay = min(120.0, max(0.0, float(q.get("delay", "1"))))
            except ValueError:
                delay = 1.0
            time.sleep(delay)
            return self._respond(200, _small_page(f"Slow page ({delay}s)"))
        if path.startswith("/standin/") or path.lower().endswith(STANDIN_SUFFIXES):
            return self._entity(*standin(path), (), 0)
        return self._respond(404, _small_page("404 Not Found", f"<p>{html.escape(path)}</p>"))

    def _stall(self, size: int, after: int, hold: int) -> None:
        body = big_html(size)
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.server.owner._record_sent(self.pq, body[:after])
        self.wfile.write(body[:after])
        self.wfile.flush()
        time.sleep(hold)
        self.close_connection = True

    def _drop(self, size: int, after: int, rst: bool) -> None:
        """Promise `size` bytes, send `after` of them, then cut the connection."""
        body = big_html(size)
        sent = body[:after]
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.server.owner._record_sent(self.pq, sent)
        self.wfile.write(sent)
        self.close_connection = True
        if rst:  # RST instead of FIN; the client may then lose bytes it has not read yet
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # really closes once rfile/wfile are closed in finish()


class NewsServer:
    """Threaded HTTP/1.1 server on 127.0.0.1 serving the corpus plus fault-injecting routes."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, corpus: Path | None = None,
        keep_bodies: bool = True,
    ) -> None:
        self.host = host
        self._want_port = port
        self.corpus = Path(corpus or CORPUS).resolve()
        self.keep_bodies = keep_bodies  # False: `sent` stays empty (long benchmarks)
        # a page's gzip/br body is made once and kept, as a web server's cache does (benchmarks:
        # the server's compressing must not take the crawler's CPU)
        self._encoded: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._sent: dict[str, bytes] = {}
        self._pages: dict[str, _Page] = {}
        self._robots = DEFAULT_ROBOTS
        self._conditional = True
        self._conns: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def encoded(self, path: str, body: bytes, encoding: str) -> bytes:
        """`body`, the corpus page served at `path`, with Content-Encoding `encoding`."""
        with self._lock:
            found = self._encoded.get((path, encoding))
        if found is None:
            found = _encode(body, encoding)
            with self._lock:
                self._encoded[(path, encoding)] = found
        return found

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> NewsServer:
        if self._httpd is None:
            httpd = _HTTPServer((self.host, self._want_port), _Handler)
            httpd.owner = self
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"NewsServer:{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # wake handler threads blocked on idle keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> NewsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("NewsServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- configuration ---------------------------------------------------------------------
    def set_robots(self, text: str) -> None:
        self._robots = text

    def set_conditional(self, enabled: bool) -> None:
        """False: ignore If-None-Match/If-Modified-Since (always 200, validators still sent)."""
        self._conditional = enabled

    def set_page(
        self,
        path: str,
        body: bytes,
        content_type: str = HTML,
        headers: Headers | None = None,
        status: int = 200,
    ) -> None:
        """Serve `body` at `path` (exact path+query, else the path alone), before any route.

        Last-Modified moves forward (at least by 1 s) only when the body changes, so an
        unchanged page keeps answering 304 and a changed one never does.
        """
        hdrs = list((headers.items() if isinstance(headers, Mapping) else headers) or ())
        with self._lock:
            old = self._pages.get(path)
            if old is not None and old.body == body:
                lm = old.last_modified
            else:
                lm = max(int(time.time()), old.last_modified + 1 if old else 0)
            self._pages[path] = _Page(body, content_type, hdrs, status, lm)

    def remove_page(self, path: str) -> None:
        """Forget a set_page() override (the path then falls back to the routes, usually 404)."""
        with self._lock:
            self._pages.pop(path, None)

    # -- observation -----------------------------------------------------------------------
    @property
    def requests(self) -> list[Request]:
        """Snapshot of all requests so far: (method, path_with_query, headers, monotonic time)."""
        with self._lock:
            return list(self._requests)

    @property
    def sent(self) -> dict[str, bytes]:
        """Snapshot: path_with_query -> entity bytes of the latest response (as encoded on the
        wire, without chunk framing; b"" for HEAD/204/304; the partial body for /drop)."""
        with self._lock:
            return dict(self._sent)

    def hits(self, path: str, method: str | None = None) -> int:
        """Requests for `path` (a URL is accepted). With a '?' the query must match exactly;
        without, any query matches."""
        if "://" in path:
            split = urlsplit(path)
            path = split.path + (f"?{split.query}" if split.query else "")
        exact = "?" in path
        with self._lock:
            return sum(
                1 for r in self._requests
                if (r.path if exact else r.path.split("?", 1)[0]) == path
                and (method is None or r.method == method)
            )

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()
            self._sent.clear()

    # -- used by the handler ---------------------------------------------------------------
    def _log(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _record_sent(self, path: str, body: bytes) -> None:
        if self.keep_bodies:
            with self._lock:
                self._sent[path] = body

    def _page_for(self, path_query: str, path: str) -> _Page | None:
        with self._lock:
            return self._pages.get(path_query) or self._pages.get(path)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)


if __name__ == "__main__":  # manual use: python tests/newsserver.py [port]
    srv = NewsServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000).start()
    print(f"serving {srv.corpus} at {srv.base_url}/list/10", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()
