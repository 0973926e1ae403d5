"""Hostile servers and hostile input, through the `crawler` command: bounded memory, nothing
lost silently (issue: hostile servers and hostile input)."""

from __future__ import annotations

from conftest import run_crawler
from warcutil import json_records, responses


def test_a_body_cap_cuts_at_the_size_set_on_http_and_https_alike(news_server, archive):
    """Each scheme's download handler heard every chunk: bodies were cut at half the cap."""
    url = news_server.url("/big?size=3000000&cap=1")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive),
                         "-s", "ARCHIVE_MAX_BODY_BYTES=1000000", "-s", "ARCHIVE_PROGRESS_INTERVAL=0", url)
    assert result.code in (0, 1), result.stderr
    record = responses(archive)[url]
    assert record.warc.get_header("WARC-Truncated") == "length"
    assert 1_000_000 < len(record.raw) <= 1_000_000 + 65536


def test_a_body_still_arriving_at_the_timeout_is_archived_as_far_as_it_came(news_server, archive):
    path = "/stall?size=200000&after=30000&hold=6"
    url = news_server.url(path)
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "-s", "DOWNLOAD_TIMEOUT=2",
                         "-s", "RETRY_TIMES=0", "-s", "ARCHIVE_PROGRESS_INTERVAL=0", url)
    record = responses(archive)[url]
    assert record.warc.get_header("WARC-Truncated") == "time"
    assert len(record.raw) == 30000 and record.raw == news_server.sent[path]
    (line,) = json_records(archive)
    assert line["truncated"] == "time" and line["warc"] and line["status"] == 200
    assert result.code in (0, 1)
