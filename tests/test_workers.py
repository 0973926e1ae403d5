"""Extraction runs in worker processes; a page that takes too long is given up, the rest goes on."""

from __future__ import annotations

from conftest import run_crawler
from warcutil import json_records, responses


def test_slow_extraction_times_out_and_the_crawl_goes_on(news_server, archive):
    huge = news_server.url("/big?size=6000000&workers=1")
    normal = [news_server.url(f"/copy/{i}/dw.com/DW_2024_01_30?workers=1") for i in range(4)]
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "EXTRACT_TIMEOUT=4", "-s", "EXTRACT_WORKERS=2", huge, *normal)
    by_url = {line["url"]: line for line in json_records(archive)}
    assert huge in by_url, result.stdout + result.stderr[-3000:]
    assert by_url[huge]["reason"] == "extract_timeout", result.stderr[-2000:]
    assert huge in responses(archive)  # archived as served all the same
    for url in normal:
        assert by_url[url]["reason"] is None and by_url[url]["word_count"] > 200
    assert "worker_pool_restarted" in result.stderr
