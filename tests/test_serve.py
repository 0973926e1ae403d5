"""`crawler serve`: pywb over the archive's own files, a start page of the archived articles, and
a real browser (headless Chromium) reading a replayed article."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlencode
from pathlib import Path

import pytest
from conftest import PYWB_BIN, REPO, run_crawler
from test_incremental import PARAS, page
from conftest import free_port as _free_port
import html as html_lib

from crawler.archive import serve as serve_module
from crawler.archive.pages import Search, start_page
from storage.search_index import Hit
from crawler.archive.serve import ServeError, find_wayback

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
DW_PATH = "/gzip/dw.com/DW_2024_01_30"
DW_TITLE = "Russland-Wahl: Nadeschdin setzt auf ein Ende der Putin-Ära"
DW_SENTENCE = "Die erste Hürde hat er gemeistert: Boris Nadeschdin"
ODD_TITLE = "Curly {{ 7*7 }} {% endraw %} and {# not a comment #}"

needs_pywb = pytest.mark.skipif(not (PYWB_BIN / "wayback").exists(),
                                reason=f"pywb is not installed in {PYWB_BIN} (run scripts/setup.sh)")


@pytest.fixture(scope="module")
def archive(news_server, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve") / "archive"
    news_server.set_page("/serve/odd", page(ODD_TITLE, ["An article whose title looks like a template."] + PARAS))
    paths = [DW_PATH, "/page/reuters.com/Reuters_2024_03_07", "/serve/odd", "/status/404"]
    result = run_crawler("ingest", "--allow-private", "--archive", str(root), *map(news_server.url, paths))
    assert result.code == 1, result.stdout + result.stderr  # the 404
    return root


@pytest.fixture(scope="module")
def served(archive, tmp_path_factory):
    """`crawler serve` running on a free port; stopped (SIGTERM) at the end of the module."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve-log") / "serve.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crawler", "serve", str(archive), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ARCHIVE_PYWB_BIN": str(PYWB_BIN)})
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while "serving" not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "crawler serve did not start: " + log.read_text()
        time.sleep(0.3)
    yield base, proc, log
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read().decode("utf-8", "replace")


def article_links(html: str) -> dict[str, str]:
    """title -> href of the start page's article links."""
    rows = re.findall(r'<a href="(/archive/\d{14}/[^"]+)">([^<]+)</a>', html)
    import html as html_lib

    return {html_lib.unescape(title): html_lib.unescape(href) for href, title in rows}


@needs_pywb
def test_the_health_page_charts_each_sources_runs(served, news_server):
    base, _proc, _log = served
    html = fetch(base + "health")
    host = f"127.0.0.1:{news_server.port}"  # an ingest's pages are reported under their host
    assert "capture health" in html and f'<section class="source" id="{host}">' in html
    assert html.count("<svg") == 2 and "no anomaly in the latest run" in html
    assert 'href="/health"' in fetch(base)  # the start page links it


@needs_pywb
def test_start_page_lists_the_articles_and_links_their_replays(served, news_server):
    base, _proc, log = served
    assert "3 articles on the start page" in log.read_text()
    html = fetch(base)
    links = article_links(html)
    reuters = "Israeli tank 'likely' fired machine gun at reporters after deadly shelling, report finds"
    assert set(links) == {DW_TITLE, reuters, ODD_TITLE}
    assert links[DW_TITLE].endswith("/" + news_server.url(DW_PATH))
    # shown as it is, never evaluated as a template (which would make it "Curly 49")
    assert "Curly 49" not in html and html_lib.escape(ODD_TITLE) in html
    assert "<td>ingest</td><td>2024-01-30</td>" in html  # source and publication date
    replay = fetch(base.rstrip("/") + links[DW_TITLE])
    assert DW_SENTENCE in replay  # pywb reads our WARC files and index in place


@needs_pywb
@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_a_browser_opens_the_start_page_and_a_replayed_article(served):
    base, _proc, _log = served
    ARTIFACTS.mkdir(exist_ok=True)
    start = chromium(base, dump=True)
    assert DW_TITLE in start and ODD_TITLE in start
    href = article_links(fetch(base))[DW_TITLE]
    rendered = chromium(base.rstrip("/") + href, dump=True)
    assert DW_SENTENCE in rendered  # the article text is on the page the browser rendered
    shot = ARTIFACTS / "serve-article.png"
    chromium(base.rstrip("/") + href, screenshot=shot)
    chromium(base, screenshot=ARTIFACTS / "serve-start.png")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def chromium(url: str, *, dump: bool = False, screenshot: Path | None = None) -> str:
    profile = tempfile.mkdtemp(prefix="chromium-")
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--window-size=1280,1600"]
    if dump:
        args.append("--dump-dom")
    if screenshot is not None:
        screenshot.unlink(missing_ok=True)
        args.append(f"--screenshot={screenshot}")
    try:
        done = subprocess.run([*args, url], capture_output=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    if screenshot is not None:
        assert screenshot.exists(), done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8", "replace")


@needs_pywb
@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_a_browser_searches_the_start_page_and_opens_an_article_page(served, news_server):
    base, _proc, _log = served
    ARTIFACTS.mkdir(exist_ok=True)
    found = chromium(base + "?" + urlencode({"q": "Nadeschdin"}), dump=True)
    assert DW_TITLE in found and "<mark>Nadeschdin</mark>" in found
    assert "Israeli tank" not in found and ODD_TITLE not in found  # they do not hold the word
    chromium(base + "?" + urlencode({"q": "Nadeschdin"}), screenshot=ARTIFACTS / "serve-search.png")
    # a filter, shareable as a URL: the German article is not among the English ones
    english = chromium(base + "?" + urlencode({"q": "the OR die", "lang": "en"}), dump=True)
    assert "Israeli tank" in english and DW_TITLE not in english
    assert 'option value="en" selected' in english
    bad = chromium(base + "?" + urlencode({"q": '"Putin'}), dump=True)
    assert "unbalanced quotes" in bad and 'id="error"' in bad
    story_url = base + "article?" + urlencode({"url": news_server.url(DW_PATH)})
    page_html = chromium(story_url, dump=True)
    for part in (DW_TITLE, "Versions (1)", "Cites (", "Cited by (0)", "The same story elsewhere (0)", DW_SENTENCE):
        assert part in page_html, part
    replay = re.search(r'<a id="replay" href="([^"]+)"', page_html)[1]
    assert DW_SENTENCE in fetch(base.rstrip("/") + html_lib.unescape(replay))
    chromium(story_url, screenshot=ARTIFACTS / "serve-story.png")
    for shot in ("serve-search.png", "serve-story.png"):
        data = (ARTIFACTS / shot).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


@needs_pywb
def test_the_start_page_pages_through_the_articles(served, archive):
    from scrapy.settings import Settings

    from crawler.archive.serve import Front
    from crawler.config import AlertConfig

    settings = Settings()
    settings.setmodule("crawler.settings")
    front = Front(archive, "News", ("127.0.0.1", 9), AlertConfig.from_settings(settings), page_size=2)
    first = front.start_page({})
    second = front.start_page({"page": ["2"]})
    assert 'rel="next" href="/?page=2"' in first and 'rel="next"' not in second and 'rel="prev"' in second
    listed = [set(article_links(page)) for page in (first, second)]
    assert [len(titles) for titles in listed] == [2, 1] and not listed[0] & listed[1]
    assert listed[0] | listed[1] == set(article_links(fetch(served[0])))


@needs_pywb
def test_sigterm_stops_pywb_too(served):
    base, proc, _log = served
    port = int(base.rsplit(":", 1)[1].strip("/"))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@needs_pywb
def test_a_port_in_use_is_a_clear_error(archive):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_crawler("serve", str(archive), "--port", str(port), timeout=180,
                             env={"ARCHIVE_PYWB_BIN": str(PYWB_BIN)})
    assert result.code == 3 and "port" in result.stderr, result.stderr


def test_usage_errors(tmp_path):
    result = run_crawler("serve", str(tmp_path / "nowhere"))
    assert result.code == 2 and "does not exist" in result.stderr
    (tmp_path / "notes.txt").write_text("not an archive")
    neither = run_crawler("serve", str(tmp_path / "notes.txt"))
    assert neither.code == 2 and "neither an archive folder" in neither.stderr
    no_credentials = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
                          "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    remote = run_crawler("serve", "s3://bucket/news", env=no_credentials)
    assert remote.code == 3 and "s3://bucket/news" in remote.stderr and "Traceback" not in remote.stderr


def test_wayback_not_found_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(serve_module, "DEFAULT_PYWB_BIN", tmp_path / "none")
    monkeypatch.delenv("ARCHIVE_PYWB_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServeError, match="scripts/setup.sh"):
        find_wayback(None)
    fake = tmp_path / "bin" / "wayback"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_wayback(str(fake.parent)) == fake


def test_start_page_escapes_what_it_lists():
    item = Hit(id=1, title='<script>alert(1)</script> {{ x }}', source="dw", url='http://example.com/a?b="c"&d={e}',
               language="en", published="2024-01-30T14:13:12+00:00", fetched_at="2024-03-07T12:00:00.123456Z",
               version=2, snippet="a \x02<b>match</b>\x03 here", score=1.0)
    asked = Search(q='<img src=x onerror=alert(1)>', source='"><script>')
    page_html = start_page([item], title="News", asked=asked, facets={"source": [('"><script>', 1)]}, total=1,
                           more=True)
    assert "<script>alert" not in page_html and "&lt;script&gt;" in page_html and "<img src=x" not in page_html
    assert 'href="/archive/20240307120000/http://example.com/a?b=&quot;c&quot;&amp;d={e}"' in page_html
    assert "<mark>&lt;b&gt;match&lt;/b&gt;</mark>" in page_html  # the snippet's match marked, its text escaped
    assert "(version 2)" in page_html and "<td>2024-01-30</td><td>2024-03-07 12:00</td>" in page_html
    assert 'rel="next" href="/?q=%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E&amp;source=%22%3E%3Cscript%3E&amp;page=2"' in page_html


@needs_pywb
def test_a_wacz_file_is_served_like_a_folder(archive, tmp_path, news_server):
    wacz = tmp_path / "package.wacz"
    assert run_crawler("export-wacz", str(archive), "-o", str(wacz)).code == 0
    port = _free_port()
    log = tmp_path / "serve.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crawler", "serve", str(wacz), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ARCHIVE_PYWB_BIN": str(PYWB_BIN)})
    try:
        deadline = time.monotonic() + 120
        while "serving" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        links = article_links(fetch(f"http://127.0.0.1:{port}/"))
        assert DW_TITLE in links
        replayed = fetch(f"http://127.0.0.1:{port}" + links[DW_TITLE])
        assert "<html" in replayed.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
