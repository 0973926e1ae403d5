"""Browsing an archive: pywb serves it, over our own WARC files and index, with a start page of
the archived articles.

pywb lives in its own virtual environment (it pins redis 2.x and brotlipy), so it runs as a
child process: `wayback` from ARCHIVE_PYWB_BIN (setting or environment variable), else
`<repo>/.tools/pywb/bin`, else the PATH. It runs in a temporary folder holding only
- `config.yaml`: one collection, `archive`, whose `index_paths` is the archive's
  `index/index.cdxj` and whose `archive_paths` is its `warc/` folder: pywb reads our files
  where they are, nothing is copied or re-indexed;
- `templates/index.html`: pywb's home page template, replaced by our start page (a static
  list of the archived articles, each linked to its replay at `/archive/<timestamp>/<url>`).
  pywb looks up templates in `./templates` before its own, and reloads a template when its
  file changes, so the list is refreshed in place while the server runs.

One process, one port: the start page and the replays come from the same server, no proxy.
Replay is frameless (`framed_replay: false`): the page at a replay URL is the archived page
itself (with pywb's banner), which is also what a browser test can read.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.timeutils import iso_date_to_timestamp

from storage.archive_index import index_path, update_index, warc_dir
from storage.wacz import iter_json_lines, json_line_files

COLLECTION = "archive"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYWB_BIN = REPO / ".tools" / "pywb" / "bin"
MAX_LISTED = 5000  # articles on the start page (the latest); the collection search finds the rest
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


# -- the start page ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Article:
    title: str
    source: str
    url: str
    date: str | None  # published (as the page says), else None
    fetched_at: str
    timestamp: str  # 14 digits: the replay URL's
    version: int


def articles(root: Path, on_problem: Callable[[str], None] | None = None) -> list[Article]:
    """The archived articles (JSON lines with an article and a WARC record), latest first."""
    found = []
    for line in iter_json_lines(root, on_problem or (lambda _text: None)):
        if line.get("reason") is not None or not line.get("warc") or not line.get("fetched_at"):
            continue
        url = str(line.get("final_url") or line.get("url") or "")
        try:
            ts = iso_date_to_timestamp(line["fetched_at"])
        except (ValueError, TypeError, AttributeError):  # a line we cannot date cannot be linked
            continue
        if not url:
            continue
        found.append(Article(
            title=str(line.get("title") or url), source=str(line.get("source") or ""), url=url,
            date=line.get("published"), fetched_at=line["fetched_at"], timestamp=ts,
            version=int(line.get("version") or 1),
        ))
    found.sort(key=lambda a: a.timestamp, reverse=True)
    return found


def replay_path(article: Article, collection: str = COLLECTION) -> str:
    return f"/{collection}/{article.timestamp}/{article.url}"


def _text(value: str) -> str:
    """HTML-escaped, with braces as entities: pywb renders the page as a Jinja template."""
    return html.escape(value).replace("{", "&#123;").replace("}", "&#125;")


def _href(value: str) -> str:
    return html.escape(value.replace("{", "%7B").replace("}", "%7D"), quote=True)


def start_page(items: list[Article], *, title: str, collection: str = COLLECTION) -> str:
    rows = []
    for article in items[:MAX_LISTED]:
        date = (article.date or "")[:10]
        fetched = article.fetched_at[:16].replace("T", " ")
        version = f" <small>(version {article.version})</small>" if article.version > 1 else ""
        rows.append(
            f'<tr><td><a href="{_href(replay_path(article, collection))}">{_text(article.title)}</a>{version}'
            f'<div class="url">{_text(article.url)}</div></td>'
            f"<td>{_text(article.source)}</td><td>{_text(date)}</td><td>{_text(fetched)}</td></tr>"
        )
    more = (f"<p>The latest {MAX_LISTED} of {len(items)} articles are listed; search the "
            f'<a href="/{collection}/">collection</a> for the others.</p>') if len(items) > MAX_LISTED else ""
    body = "\n".join(rows) or '<tr><td colspan="4">No archived article yet.</td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_text(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }}
.url {{ color: #666; font-size: 80%; }}
</style></head>
<body>
<h1>{_text(title)}</h1>
<p>{len(items)} archived article(s). Each title opens the page as it was archived.
Search all captures by URL: <a href="/{collection}/">collection search</a>.</p>
{more}
<table id="articles"><thead><tr><th>Title</th><th>Source</th><th>Published</th><th>Archived (UTC)</th></tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""
    # Jinja syntax cannot occur in the data (braces are entities); raw keeps the CSS literal too.
    return "{% raw %}" + page + "{% endraw %}\n"


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
    text.textContent = "Archived copy of " + capture.url + ", captured " + when(capture.ts) + " \u00b7 ";
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


def write_home(home: Path, root: Path, *, title: str, collection: str = COLLECTION) -> int:
    """Write pywb's config.yaml (JSON is YAML), the replay banner and our start page into
    `home`; returns the number of articles listed."""
    (home / "templates").mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(json.dumps(pywb_config(root, collection), indent=2), encoding="utf-8")
    (home / "templates" / "custom_banner.html").write_text(BANNER, encoding="utf-8")
    items = articles(root)
    page = home / "templates" / "index.html"
    tmp = page.with_name(".index.html.tmp")
    tmp.write_text(start_page(items, title=title, collection=collection), encoding="utf-8")
    os.replace(tmp, page)
    return len(items)


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


def _json_state(root: Path) -> list[tuple[str, int, int]]:
    return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in json_line_files(root)]


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
) -> int:
    """Serve the archive until interrupted (Ctrl-C, SIGTERM) or pywb exits; returns pywb's
    exit status (0 when we stopped it). Raises ServeError when pywb does not come up."""
    root = Path(root).resolve()
    title = title or f"Archived articles: {root.name}"

    def problem(text: str) -> None:
        if on_problem is not None:
            on_problem(text)

    def refresh_index() -> None:
        update_index(root, on_error=lambda exc: problem(f"{exc} (its later records are not browsable)"))

    refresh_index()
    home = Path(tempfile.mkdtemp(prefix="newsarchive-serve-"))
    log_path = home / "pywb.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        count = write_home(home, root, title=title)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([str(wayback), "--port", str(port), "--bind", bind], cwd=home,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        host = "127.0.0.1" if bind in ("0.0.0.0", "") else bind
        base = f"http://{host}:{port}/"
        with _stop_on_sigterm():
            try:
                deadline = time.monotonic() + start_timeout
                while not _answers(base):
                    if proc.poll() is not None:
                        raise ServeError(f"pywb exited (status {proc.returncode}) before it answered on port {port} "
                                         f"(is the port in use?): {_tail(log_path)}")
                    if time.monotonic() > deadline:
                        raise ServeError(f"pywb did not answer on {base} within {start_timeout:g} s: {_tail(log_path)}")
                    time.sleep(0.3)
                if on_ready is not None:
                    on_ready(base, count)
                state = _json_state(root)
                while True:
                    try:
                        return proc.wait(timeout=REFRESH_SECONDS)
                    except subprocess.TimeoutExpired:
                        pass
                    refresh_index()  # new WARC files become browsable
                    now = _json_state(root)
                    if now != state:
                        state = now
                        write_home(home, root, title=title)
            except (KeyboardInterrupt, _Stop):
                return 0
    finally:
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
