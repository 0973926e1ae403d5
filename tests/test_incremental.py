"""Re-crawls: conditional requests, revisit records, new versions of changed articles."""

from __future__ import annotations

import pytest
from conftest import PYWB_BIN, fetch, pywb_collection, run_crawler
from warcutil import all_records, json_records, warc_files, warcio_check

PARAS = [
    "The city council voted on Tuesday to expand the tram network by twelve kilometres, a plan "
    "that has been debated for more than a decade and will cost an estimated 400 million euros.",
    "Supporters say the new lines will cut commuting times for tens of thousands of residents in "
    "the eastern districts, where buses are often overcrowded during the morning rush hour.",
    "Opponents argue that the money would be better spent on repairing existing roads and bridges, "
    "many of which were built in the 1970s and now need urgent maintenance work.",
    "Construction is expected to begin next spring and to last at least four years, according to "
    "the transport department, which will publish a detailed timetable in the coming weeks.",
]


def page(title: str, paras: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<!DOCTYPE html><html lang='en'><head><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1>{body}</article></body></html>").encode()


@pytest.fixture
def pages(news_server, request):
    paths = [f"/inc/{request.node.name}/{i}" for i in range(3)]
    for i, path in enumerate(paths):
        news_server.set_page(path, page(f"Story {i}", [f"Story number {i}."] + PARAS))
    news_server.set_conditional(True)
    yield paths
    news_server.set_conditional(True)


def ingest(news_server, archive, paths):
    return run_crawler("ingest", "--allow-private", "--archive", str(archive), *map(news_server.url, paths))


def response_records(archive, url):
    return [r for r in all_records(archive) if r.uri == url and r.type in ("response", "revisit")]


def test_unchanged_pages_become_revisits_and_changed_ones_new_versions(news_server, archive, pages):
    first = ingest(news_server, archive, pages)
    assert first.code == 0 and "new 3" in first.stdout, first.stdout
    assert len(json_records(archive)) == 3

    # Run 2: nothing changed. Conditional requests get 304s: only revisit records, no JSON.
    second = ingest(news_server, archive, pages)
    assert second.code == 0 and "unchanged: 3" in second.stdout, second.stdout
    assert len(json_records(archive)) == 3
    for path in pages:
        request = [r for r in news_server.requests if r.path == path][-1]
        assert request.headers.get("If-None-Match"), "the re-crawl must send its validators"
        kinds = [(r.type, r.warc.get_header("WARC-Profile") or "") for r in response_records(archive, news_server.url(path))]
        assert kinds[0][0] == "response" and kinds[1][0] == "revisit" and kinds[1][1].endswith("server-not-modified")

    # Run 2b: a server that ignores validators sends the same bytes: identical-payload revisits.
    news_server.set_conditional(False)
    third = ingest(news_server, archive, pages)
    assert "unchanged: 3" in third.stdout, third.stdout
    revisit = response_records(archive, news_server.url(pages[0]))[-1]
    assert revisit.type == "revisit"
    assert revisit.warc.get_header("WARC-Profile").endswith("identical-payload-digest")
    original = response_records(archive, news_server.url(pages[0]))[0]
    assert revisit.warc.get_header("WARC-Refers-To") == original.warc.get_header("WARC-Record-ID")
    assert revisit.warc.get_header("WARC-Refers-To-Target-URI") == original.uri
    assert revisit.warc.get_header("WARC-Refers-To-Date") == original.warc.get_header("WARC-Date")
    assert revisit.warc.get_header("WARC-Payload-Digest") == original.warc.get_header("WARC-Payload-Digest")
    news_server.set_conditional(True)

    # Run 3: one article's text changed: exactly one new JSON line, version 2.
    news_server.set_page(pages[1], page("Story 1", ["Story number 1, updated."] + PARAS[:2] + [
        "Update: the council has now approved the first stage of funding, officials said on Friday."]))
    fourth = ingest(news_server, archive, pages)
    assert "changed 1" in fourth.stdout and "unchanged: 2" in fourth.stdout, fourth.stdout
    lines = json_records(archive)
    assert len(lines) == 4
    newest = lines[-1]
    assert newest["url"] == news_server.url(pages[1]) and newest["version"] == 2
    assert newest["previous_fetched_at"] == lines[1 if lines[1]["url"] == newest["url"] else 0]["fetched_at"] \
        or newest["previous_fetched_at"] in {line["fetched_at"] for line in lines[:3]}
    assert all(line["version"] == 1 for line in lines[:3])
    assert warcio_check(warc_files(archive)).returncode == 0

    history = run_crawler("history", news_server.url(pages[1]), "--archive", str(archive))
    assert history.code == 0, history.stderr
    assert "version 1" in history.stdout and "version 2" in history.stdout
    assert "+Update: the council has now approved" in history.stdout
    assert "-Opponents argue" in history.stdout


@pytest.mark.skipif(not (PYWB_BIN / "wayback").exists(), reason="pywb not installed (scripts/setup.sh)")
def test_pywb_replays_a_revisit_with_the_original_content(news_server, archive, pages, tmp_path):
    ingest(news_server, archive, pages[:1])
    news_server.set_conditional(False)
    ingest(news_server, archive, pages[:1])  # identical payload: a revisit is the latest capture
    url = news_server.url(pages[0])
    assert response_records(archive, url)[-1].type == "revisit"
    revisit_ts = response_records(archive, url)[-1].warc.get_header("WARC-Date")
    stamp = "".join(ch for ch in revisit_ts if ch.isdigit())[:14]
    with pywb_collection(warc_files(archive), tmp_path / "pywb") as base:
        text, headers = fetch(f"{base}{stamp}id_/{url}")
    assert "Opponents argue that the money would be better spent" in text
    assert headers.get("Memento-Datetime")  # replayed as a capture
