"""A page archived with its requisites replays in a browser like the original, with a banner."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
import zipfile
from urllib.parse import urlsplit

import pytest

from conftest import run_crawler
from pngpixels import colour_counts
from requisitesite import BLUE, GREEN, PURPLE, RED, YELLOW, build
from test_serve import ARTIFACTS, CHROMIUM, PYWB_BIN, _free_port, article_links, chromium, fetch

COLOURS = {"red": RED, "blue": BLUE, "green": GREEN, "yellow": YELLOW, "purple": PURPLE}

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(not (PYWB_BIN / "wayback").exists(), reason=f"pywb is not installed in {PYWB_BIN}"),
]


def _serve(archive, log):
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crawler", "serve", str(archive), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ARCHIVE_PYWB_BIN": str(PYWB_BIN)})
    deadline = time.monotonic() + 120
    while "serving" not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    return f"http://127.0.0.1:{port}/", proc


def test_replay_looks_like_the_original_and_says_it_is_archived(news_server, tmp_path):
    cdn = news_server.base_url.replace("127.0.0.1", "localhost")
    site = build(news_server.base_url, cdn, prefix="/look")
    for url, (body, content_type) in site.files.items():
        news_server.set_page(urlsplit(url).path, body, content_type=content_type)
    page = site.pages["/look/story-one"]
    archive = tmp_path / "archive"
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), page, requisites=True)
    assert result.code == 0, result.stderr
    base, proc = _serve(archive, tmp_path / "serve.log")
    try:
        replay = base.rstrip("/") + article_links(fetch(base))["Chip rules, day one"]
        ARTIFACTS.mkdir(exist_ok=True)
        original_shot, replay_shot = ARTIFACTS / "requisites-original.png", ARTIFACTS / "requisites-replay.png"
        chromium(page, screenshot=original_shot)
        chromium(replay, screenshot=replay_shot)
        dom = chromium(replay, dump=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    # The measure: how many pixels of each of the page's colours (background from the stylesheet,
    # images from both hosts, the CSS background image, the imported stylesheet's border). A
    # missing stylesheet or image takes one colour away entirely; the banner (a 25 px bar at the
    # bottom, dark) may cover a little: each colour within 15% of the original's count.
    original, replayed = colour_counts(original_shot, COLOURS), colour_counts(replay_shot, COLOURS)
    for name in COLOURS:
        assert original[name] > 500, (name, original)
        assert 0.85 <= replayed[name] / original[name] <= 1.15, (name, original, replayed)
    # the banner: an archived copy, of which URL, when, and a link to the URL's other captures
    assert 'id="archive-banner"' in dom and f"Archived copy of {page}" in dom
    timestamp = urlsplit(replay).path.split("/")[2]
    assert f"{timestamp[:4]}-{timestamp[4:6]}-{timestamp[6:8]}" in dom and "all captures" in dom
    assert " UTC \u00b7 " in dom  # read as written, whatever the page's encoding (not "UTC Â·")

    # export-wacz packs the requisites with the page
    wacz = tmp_path / "look.wacz"
    exported = run_crawler("export-wacz", str(archive), "-o", str(wacz))
    assert exported.code == 0, exported.stderr
    with zipfile.ZipFile(wacz) as packed:
        index = "".join((gzip.decompress(packed.read(name)) if name.endswith(".gz") else packed.read(name)).decode()
                        for name in packed.namelist() if name.startswith("indexes/"))
    for url in site.requisites:
        host_path = urlsplit(url).path
        assert host_path in index, url
