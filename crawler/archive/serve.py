"""Browsing an archive: a start page that searches the articles, a page per article, and pywb
replaying them, over our own WARC files and indexes.

pywb lives in its own virtual environment (it pins redis 2.x and brotlipy), so it runs as a
child process: `wayback` from ARCHIVE_PYWB_BIN (setting or environment variable), else
`<repo>/.tools/pywb/bin`, else the PATH. It runs in a temporary folder holding only its
`config.yaml`: one collection, `archive`, whose `index_paths` is the archive's
`index/index.cdxj` and whose `archive_paths` is its `warc/` folder: pywb reads our files where
they are, nothing is copied or re-indexed. It listens on a loopback port of its own.

In front of it, on the port people open, a small threaded HTTP server of ours answers `/` (the
start page: search box, filters, results; crawler.archive.pages) and `/article?url=...` (the
story of one article) from the full-text index (storage.search_index), and passes every other
request (`/archive/<timestamp>/<url>` replays, pywb's collection search and its static files) to
pywb as it is, Host header included, streaming the answer back. Replay is frameless
(`framed_replay: false`): the page at a replay URL is the archived page itself (with pywb's
banner), which is also what a browser test can read. The indexes are brought up to date every
REFRESH_SECONDS while it runs, so a crawl's new articles appear without a restart.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from crawler.archive.health import health_page
from crawler.archive.pages import PAGE_SIZE, Search, article_page, message_page, start_page
from crawler.archive.report import build_report
from crawler.archive.story import story, version_diffs
from crawler.config import AlertConfig
from storage.archive_index import index_path, update_index, warc_dir
from storage.runstats import read_runs

log = structlog.get_logger()
from storage.search_index import (
    Filters,
    QueryError,
    SearchIndex,
    SearchIndexError,
    search_index_path,
    update_search_index,
)

COLLECTION = "archive"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYWB_BIN = REPO / ".tools" / "pywb" / "bin"
REFRESH_SECONDS = 10.0


class ServeError(RuntimeError):
    """pywb cannot be found or started; the message says what to do."""


def find_wayback(configured: str | None = None) -> Path:
    """pywb's `wayback` script: in `configured` (a bin folder or the script itself), else in
    ARCHIVE_PYWB_BIN, else in <repo>/.tools/pywb/bin, else on the PATH."""
    tried = []
    for option in (configured, os.environ.get("ARCHIVE_PYWB_BIN"), str(DEFAULT_PYWB_BIN)):
        if not option:
            continue
        path = Path(option).expanduser()
        script = path if path.name == "wayback" and not path.is_dir() else path / "wayback"
        if script.is_file() and os.access(script, os.X_OK):
            return script
        tried.append(str(script))
    found = shutil.which("wayback")
    if found:
        return Path(found)
    raise ServeError(
        "pywb's `wayback` was not found (tried " + ", ".join(tried + ["the PATH"]) + "); install it with "
        "scripts/setup.sh (a venv under .tools/pywb) or set ARCHIVE_PYWB_BIN to its bin folder"
    )


def pywb_config(root: Path, collection: str = COLLECTION) -> dict[str, Any]:
    """A pywb config with one collection over the archive's own index and WARC folder."""
    return {
        "collections": {
            collection: {
                "index_paths": str(index_path(root).resolve()),
                "archive_paths": str(warc_dir(root).resolve()) + os.sep,
            },
        },
        "framed_replay": False,
    }


# pywb's frameless replay has no banner unless templates/custom_banner.html gives one (it is
# included in the replayed page's <head>): ours adds a bar at the bottom of the page, out of the
# page's own layout, saying it is an archived copy, of which URL, from when, with a link to
# pywb's list of the URL's captures. Jinja fills in the capture; the script only builds the bar.
# ASCII only (the dot is a JavaScript escape): pywb inserts it into pages of any encoding.
BANNER = """<script>
(function () {
  var capture = {url: {{ cdx.url | tojson }}, ts: {{ cdx.timestamp | tojson }}, prefix: {{ wb_prefix | tojson }}};
  function when(ts) {
    return ts.slice(0, 4) + "-" + ts.slice(4, 6) + "-" + ts.slice(6, 8) + " " + ts.slice(8, 10) + ":" +
      ts.slice(10, 12) + ":" + ts.slice(12, 14) + " UTC";
  }
  function show() {
    if (window !== window.top || document.getElementById("archive-banner") || !document.body) return;
    var bar = document.createElement("div");
    bar.id = "archive-banner";
    bar.setAttribute("style", "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;margin:0;" +
      "padding:4px 10px;font:13px/1.4 sans-serif;background:#111;color:#eee;text-align:left");
    var text = document.createElement("span");
    text.textContent = "Archived copy of " + capture.url + ", captured " + when(capture.ts) + " \\u00b7 ";
    var all = document.createElement("a");
    all.textContent = "all captures";
    all.setAttribute("style", "color:#9cf");
    all.href = capture.prefix + "*/" + capture.url;
    bar.appendChild(text);
    bar.appendChild(all);
    document.body.appendChild(bar);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", show); } else { show(); }
})();
</script>
"""


def write_config(home: Path, root: Path, collection: str = COLLECTION) -> None:
    """pywb's config.yaml (JSON is YAML) and the replay banner in `home`."""
    (home / "templates").mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(json.dumps(pywb_config(root, collection), indent=2), encoding="utf-8")
    (home / "templates" / "custom_banner.html").write_text(BANNER, encoding="utf-8")


# -- the front server: our pages, and pywb behind ----------------------------------------------------
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade"}


class Front:
    """What the front server's handlers share: the archive, its index, pywb's address."""

    def __init__(self, root: Path, title: str, pywb: tuple[str, int], alerts: AlertConfig,
                 page_size: int = PAGE_SIZE) -> None:
        self.root = root
        self.alerts = alerts
        self.page_size = page_size
        self.title = title
        self.pywb = pywb

    def start_page(self, query: dict[str, list[str]]) -> str:
        def first(name: str) -> str:
            return (query.get(name) or [""])[0].strip()

        try:
            page = max(1, int(first("page") or 1))
        except ValueError:
            page = 1
        asked = Search(q=first("q"), source=first("source"), lang=first("lang"), since=first("since"),
                       until=first("until"), page=page)
        error = None
        try:
            filters = Filters(sources=(asked.source,) if asked.source else (), languages=(asked.lang,) if asked.lang else (),
                              since=_day(asked.since, "From"), until=_day(asked.until, "Until"))
        except ValueError as exc:
            filters, error = Filters(), str(exc)
        index = self.open_index()
        try:
            hits: list[Any] = []
            if error is None:
                size = self.page_size
                try:
                    hits = (index.search(asked.q, filters, limit=size + 1, offset=(page - 1) * size) if asked.q
                            else index.latest(filters, limit=size + 1, offset=(page - 1) * size))
                except QueryError as exc:
                    error = str(exc)
            return start_page(hits[:self.page_size], title=self.title, asked=asked, facets=index.facets(),
                              total=index.count(), more=len(hits) > self.page_size, error=error,
                              page_size=self.page_size)
        finally:
            index.close()

    def article_page(self, query: dict[str, list[str]]) -> tuple[int, str]:
        url = (query.get("url") or [""])[0].strip()
        if not url:
            return 400, message_page(self.title, "Which article? /article?url=URL")
        index = self.open_index()
        try:
            found = story(self.root, index, url)
        finally:
            index.close()
        if found is None:
            return 404, message_page(self.title, f"No archived article has the URL {url}")
        return 200, article_page(found, version_diffs(found["versions"]), title=self.title)

    def health_page(self) -> str:
        """Per source, its runs charted and its anomalies (read anew each time: runs end meanwhile)."""
        runs = list(read_runs(self.root, lambda problem: log.warning("run_file_unreadable", problem=problem)))
        return health_page(build_report(runs, self.alerts), title=self.title)

    def open_index(self) -> SearchIndex:
        path = search_index_path(self.root)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return SearchIndex(conn, path)


def _day(value: str, label: str) -> str | None:
    from crawler.dates import parse_when

    if not value:
        return None
    try:
        return parse_when(value).strftime("%Y-%m-%d")
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None


class FrontHandler(http.server.BaseHTTPRequestHandler):
    server_version = "newsarchive"
    front: Front  # set on the subclass made for one server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path in ("/", "/index.html"):
            self._page(200, self.front.start_page(parse_qs(parts.query)))
        elif parts.path == "/article":
            self._page(*self.front.article_page(parse_qs(parts.query)))
        elif parts.path == "/health":
            self._page(200, self.front.health_page())
        else:
            self._proxy()

    def do_HEAD(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def _page(self, status: int, body_text: str) -> None:
        body = body_text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _proxy(self) -> None:
        """The request to pywb as it came, the answer back as it goes (streamed)."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(*self.front.pywb, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                while chunk := answer.read(65536):
                    self.wfile.write(chunk)
        except (OSError, http.client.HTTPException) as exc:
            with contextlib.suppress(OSError):
                self._page(502, message_page(self.front.title, f"pywb did not answer: {exc}"))
        finally:
            conn.close()


def front_server(front: Front, bind: str, port: int) -> http.server.ThreadingHTTPServer:
    handler = type("BoundFrontHandler", (FrontHandler,), {"front": front})
    try:
        server = http.server.ThreadingHTTPServer((bind, port), handler)
    except OSError as exc:
        raise ServeError(f"cannot listen on {bind} port {port} (is the port in use?): {exc.strerror or exc}") from None
    server.daemon_threads = True
    return server


# -- running pywb ----------------------------------------------------------------------------------
class _Stop(Exception):
    pass


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    def handler(_signum: int, _frame: Any) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(
    root: Path,
    *,
    port: int,
    bind: str = "127.0.0.1",
    wayback: Path,
    title: str | None = None,
    on_ready: Callable[[str, int], None] | None = None,
    on_problem: Callable[[str], None] | None = None,
    start_timeout: float = 90.0,
    alerts: AlertConfig,
) -> int:
    """Serve the archive until interrupted (Ctrl-C, SIGTERM) or pywb exits; returns pywb's
    exit status (0 when we stopped it). Raises ServeError when it cannot start."""
    root = Path(root).resolve()
    title = title or f"Archived articles: {root.name}"

    def problem(text: str) -> None:
        if on_problem is not None:
            on_problem(text)

    def refresh() -> None:
        update_index(root, on_error=lambda exc: problem(f"{exc} (its later records are not browsable)"))
        try:
            update_search_index(root, on_problem=problem)
        except SearchIndexError as exc:
            problem(str(exc))

    refresh()
    home = Path(tempfile.mkdtemp(prefix="newsarchive-serve-"))
    log_path = home / "pywb.log"
    proc: subprocess.Popen[bytes] | None = None
    pywb_port = _free_loopback_port()
    front = Front(root, title, ("127.0.0.1", pywb_port), alerts)
    server = front_server(front, bind, port)
    started = False
    try:
        write_config(home, root)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([str(wayback), "--port", str(pywb_port), "--bind", "127.0.0.1"], cwd=home,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        host = "127.0.0.1" if bind in ("0.0.0.0", "") else bind
        base = f"http://{host}:{server.server_address[1]}/"
        with _stop_on_sigterm():
            try:
                deadline = time.monotonic() + start_timeout
                while not _answers(f"http://127.0.0.1:{pywb_port}/{COLLECTION}/"):
                    if proc.poll() is not None:
                        raise ServeError(f"pywb exited (status {proc.returncode}) before it answered on port "
                                         f"{pywb_port}: {_tail(log_path)}")
                    if time.monotonic() > deadline:
                        raise ServeError(f"pywb did not answer within {start_timeout:g} s: {_tail(log_path)}")
                    time.sleep(0.3)
                threading.Thread(target=server.serve_forever, name="front", daemon=True).start()
                started = True
                if on_ready is not None:
                    index = front.open_index()
                    try:
                        on_ready(base, index.count())
                    finally:
                        index.close()
                while True:
                    try:
                        return proc.wait(timeout=REFRESH_SECONDS)
                    except subprocess.TimeoutExpired:
                        pass
                    refresh()  # new WARC files become browsable, new articles searchable
            except (KeyboardInterrupt, _Stop):
                return 0
    finally:
        if started:
            server.shutdown()
        server.server_close()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(home, ignore_errors=True)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"
