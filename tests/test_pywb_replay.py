"""The archive replays in pywb, the reference web-archive player."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import PYWB_BIN, run_crawler
from warcutil import warc_files

pytestmark = pytest.mark.skipif(not (PYWB_BIN / "wayback").exists(),
                                reason=f"pywb is not installed in {PYWB_BIN} (run scripts/setup.sh)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pywb_replays_the_archived_article(news_server, archive, tmp_path):
    url = news_server.url("/gzip/dw.com/DW_2024_01_30")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), url)
    assert result.code == 0, result.stderr
    home = tmp_path / "pywb"
    home.mkdir()
    subprocess.run([PYWB_BIN / "wb-manager", "init", "news"], cwd=home, check=True, capture_output=True)
    subprocess.run([PYWB_BIN / "wb-manager", "add", "news", *map(str, warc_files(archive))],
                   cwd=home, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([PYWB_BIN / "wayback", "-p", str(port), "-b", "127.0.0.1"], cwd=home,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/news/mp_/{url}", timeout=10) as resp:
                    page = resp.read().decode("utf-8", "replace")
                break
            except OSError:
                time.sleep(0.5)
        assert page is not None, "pywb did not answer"
        # A sentence from the article body (fundus truth of this page).
        assert "Die erste Hürde hat er gemeistert: Boris Nadeschdin" in page
    finally:
        server.terminate()
        server.wait(timeout=20)
