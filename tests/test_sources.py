"""Every source's real spider, with its real start URLs, crawled offline from a WARC fixture.

The fixtures (tests/sourcefixtures.py) hold real recorded pages, real robots.txt snapshots and
sitemaps/feeds in each site's formats; the crawl reads them through the archive download
handler (`--from-archive`), so nothing touches the network.
"""

from __future__ import annotations

import pytest
from conftest import run_crawler
from sourcefixtures import FIXTURES, write_fixture
from warcutil import all_records, json_records

from spiders.registry import SOURCES


def test_every_source_has_a_fixture():
    assert set(FIXTURES) == set(SOURCES)


def _crawl(name: str, tmp_path, *extra: str):
    fixture = FIXTURES[name]()
    warcs = write_fixture(fixture, tmp_path / "fixture")
    archive = tmp_path / "archive"
    result = run_crawler("crawl", name, "--from-archive", str(warcs), "--archive", str(archive),
                         "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'index'}",
                         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", *extra)
    return fixture, archive, result


@pytest.mark.parametrize("name", sorted(set(SOURCES) - {"reuters"}))
def test_source_crawl_finds_articles_blocks_and_paywalls(name, tmp_path):
    fixture, archive, result = _crawl(name, tmp_path)
    lines = {line["url"]: line for line in json_records(archive)}
    # Articles found through sitemaps/feeds, archived and extracted with their real titles.
    for url, title in fixture.articles.items():
        assert url in lines, f"{url} not crawled\n{result.stdout}\n{result.stderr[-3000:]}"
        line = lines[url]
        assert line["source"] == name and line["reason"] is None, line["reason"]
        assert line["word_count"] > 100
        assert line["title"] and (line["title"] in title or title in line["title"]), (line["title"], title)
    # Listed non-articles (video, tag, login pages) are never fetched.
    fetched = {r.uri for r in all_records(archive) if r.type == "response"}
    for url in fixture.non_articles:
        assert url not in fetched and url not in lines, url
    for url in fixture.blocked:
        assert lines[url]["reason"].startswith("blocked:"), lines[url]
        assert lines[url]["text"] is None
    for url in fixture.paywalled:
        assert lines[url]["paywalled"] is True, (url, lines[url]["reason"], lines[url]["word_count"])
    # Discovery fetches are archived too.
    assert any(uri.endswith("robots.txt") for uri in fetched)
    assert result.code == 1 and "blocked: " in result.stdout  # blocks make the run say so


def test_reuters_robots_allowlist_is_obeyed_and_said_plainly(tmp_path):
    _fixture, archive, result = _crawl("reuters", tmp_path)
    assert result.code == 1
    assert "robots.txt disallowed" in result.stdout
    lines = json_records(archive)
    assert lines and all(line["reason"] == "robots_disallowed" for line in lines)
    fetched = {r.uri for r in all_records(archive) if r.type == "response"}
    assert fetched == {"https://www.reuters.com/robots.txt"}


def test_reuters_with_robots_ignored_by_the_operator(tmp_path):
    fixture, archive, _result = _crawl("reuters", tmp_path, "-s", "ROBOTSTXT_OBEY=False",
                                       "-s", "CONCURRENT_REQUESTS=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    lines = {line["url"]: line for line in json_records(archive)}
    for url, title in fixture.articles.items():
        assert lines[url]["reason"] is None and lines[url]["title"] in title + " | Reuters"
    fetched = [r.uri for r in all_records(archive) if r.type == "response" and r.uri in fixture.articles]
    assert fetched[0].endswith("2024-03-07/")  # newest first, from news:publication_date


def test_since_and_max_pages(tmp_path):
    fixture, archive, _ = _crawl("dw", tmp_path, "--since", "2026-11-18", "--max-pages", "1")
    articles = [line for line in json_records(archive) if line["url"] in fixture.articles]
    assert len(articles) <= 1
    fetched = {r.uri for r in all_records(archive) if r.type == "response"}
    # a-65897191 is listed 4 days before the fixture's "now": older than --since.
    assert not any("a-65897191" in uri for uri in fetched)
