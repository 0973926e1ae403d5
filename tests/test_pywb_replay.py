"""The archive replays in pywb, the reference web-archive player."""

from __future__ import annotations

import pytest
from conftest import PYWB_BIN, fetch, pywb_collection, run_crawler
from warcutil import warc_files

pytestmark = pytest.mark.skipif(not (PYWB_BIN / "wayback").exists(),
                                reason=f"pywb is not installed in {PYWB_BIN} (run scripts/setup.sh)")


def test_pywb_replays_the_archived_article(news_server, archive, tmp_path):
    url = news_server.url("/gzip/dw.com/DW_2024_01_30")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), url)
    assert result.code == 0, result.stderr
    with pywb_collection(warc_files(archive), tmp_path / "pywb") as base:
        page, _headers = fetch(f"{base}mp_/{url}")
    # A sentence from the article body (fundus truth of this page).
    assert "Die erste Hürde hat er gemeistert: Boris Nadeschdin" in page
