"""Sitemap and feed parsing, and the source declarations' URL filters."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from spiders.discovery import newest_first, parse_date, parse_feed, parse_sitemap
from spiders.registry import SOURCES, source_for_url

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://www.dw.com/en/older-story/a-100</loc>
    <lastmod>2024-03-01T10:00:00+00:00</lastmod>
    <news:news>
      <news:publication><news:name>DW</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-03-01T09:00:00+00:00</news:publication_date>
      <news:title>Older story</news:title>
    </news:news>
  </url>
  <url>
    <loc>https://www.dw.com/en/newer-story/a-200</loc>
    <news:news>
      <news:publication_date>2024-03-07T07:55:25Z</news:publication_date>
      <news:title>Newer &amp; better</news:title>
    </news:news>
  </url>
  <url><loc>https://www.dw.com/en/undated/a-300</loc></url>
</urlset>"""

SITEMAP_INDEX = b"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.org/news-sitemap-1.xml</loc><lastmod>2024-03-07</lastmod></sitemap>
  <sitemap><loc>https://example.org/news-sitemap-2.xml</loc></sitemap>
</sitemapindex>"""

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>https://restofworld.org/2025/one/?utm_source=rss</link>
<pubDate>Tue, 21 Oct 2025 10:00:00 +0000</pubDate></item>
<item><title>Two</title><link>/2025/two/</link></item></channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><title>A</title><link rel="alternate" href="https://itif.org/publications/2024/09/16/a/"/>
<updated>2024-09-16T12:00:00Z</updated></entry></feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<item rdf:about="https://www.dw.com/de/x/a-1"><title>X</title><link>https://www.dw.com/de/x/a-1</link>
<dc:date>2024-01-30T10:00:00Z</dc:date></item></rdf:RDF>"""


def test_news_sitemap_keeps_news_fields():
    sitemaps, urls = parse_sitemap(NEWS_SITEMAP)
    assert sitemaps == []
    assert [u.url.rsplit("/", 1)[1] for u in urls] == ["a-100", "a-200", "a-300"]
    assert urls[0].title == "Older story" and urls[1].title == "Newer & better"
    assert urls[1].published == datetime(2024, 3, 7, 7, 55, 25, tzinfo=timezone.utc)
    assert urls[0].modified == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert [u.url[-5:] for u in newest_first(urls)] == ["a-200", "a-100", "a-300"]


def test_sitemap_index_and_gzip():
    import gzip

    sitemaps, urls = parse_sitemap(gzip.compress(SITEMAP_INDEX))
    assert [s.url for s in sitemaps] == ["https://example.org/news-sitemap-1.xml",
                                         "https://example.org/news-sitemap-2.xml"]
    assert urls == [] and sitemaps[0].modified.year == 2024


def test_broken_xml_gives_nothing_rather_than_an_error():
    assert parse_sitemap(b"<html><body>Access denied</body></html>") == ([], [])
    assert parse_feed(b"\x00\x01garbage", "https://x.org/") == []


def test_feeds_rss_atom_rdf():
    rss = parse_feed(RSS, "https://restofworld.org/feed/latest")
    assert [i.url for i in rss] == ["https://restofworld.org/2025/one/?utm_source=rss",
                                    "https://restofworld.org/2025/two/"]
    assert rss[0].published.day == 21 and rss[0].title == "One"
    (atom,) = parse_feed(ATOM, "https://itif.org/")
    assert atom.url.endswith("/2024/09/16/a/") and atom.modified.year == 2024
    (rdf,) = parse_feed(RDF, "https://rss.dw.com/")
    assert rdf.url == "https://www.dw.com/de/x/a-1" and rdf.published.month == 1


def test_dates():
    assert parse_date("2024-03-07") == datetime(2024, 3, 7, tzinfo=timezone.utc)
    assert parse_date("Thu, 07 Mar 2024 08:00:00 GMT").hour == 8
    assert parse_date("yesterday") is None


ARTICLES = {
    "reuters": ["https://www.reuters.com/world/middle-east/israeli-tank-likely-scenario-fired-machine-gun-reporters-after-deadly-shelling-2024-03-07/",
                "https://www.reuters.com/article/us-volkswagen-skoda-idUSKBN1ZC1DA"],
    "ft": ["https://www.ft.com/content/31ff7d44-f8a4-4cde-989e-50aa08301155",
           "http://www.ft.com/cms/s/2/796d1220-475e-11e5-af2f-4d6e0e5eda22.html"],
    "dw": ["https://www.dw.com/de/russland-wahl-nadeschdin-setzt-auf-ein-ende-der-putin-%C3%A4ra/a-68117411?maca=de-rss-de-all-1119-xml-mrss",
           "https://www.dw.com/en/germany-start-2026-world-cup-with-win-over-curacao/a-77538843"],
    "restofworld": ["https://restofworld.org/2025/oman-space-industry-launchpad-satellites/?utm_source=rss&utm_medium=rss&utm_campaign=feeds"],
    "itif": ["https://itif.org/publications/2024/09/16/china-is-rapidly-becoming-a-leading-innovator-in-advanced-industries/"],
    "benzinga": ["https://www.benzinga.com/markets/cryptocurrency/24/03/37550123/bitcoin-tops-70000"],
    "cryptopolitan": ["https://www.cryptopolitan.com/china-ai-chip-export-rules-tighten/"],
    "communicationstoday": ["https://www.communicationstoday.co.in/trai-releases-new-spectrum-recommendations/"],
}
NOT_ARTICLES = {
    "reuters": ["https://www.reuters.com/world/", "https://www.reuters.com/video/watch/idOV123/",
                "https://www.reuters.com/markets/quote/AAPL.O/", "https://www.reuters.com/authors/jane-doe/"],
    "ft": ["https://www.ft.com/world", "https://www.ft.com/myft/following", "https://www.ft.com/stream/abc"],
    "dw": ["https://www.dw.com/de/themen/s-9077", "https://www.dw.com/en/some-video/video-68112233",
           "https://www.dw.com/en/top-stories/s-9097", "https://www.dw.com/en/live-news/l-123456"],
    "restofworld": ["https://restofworld.org/tag/ai/", "https://restofworld.org/author/jane/", "https://restofworld.org/"],
    "itif": ["https://itif.org/person/robert-atkinson/", "https://itif.org/events/2024/09/16/x/", "https://itif.org/publications/"],
    "benzinga": ["https://www.benzinga.com/quote/AAPL", "https://www.benzinga.com/login", "https://www.benzinga.com/news"],
    "cryptopolitan": ["https://www.cryptopolitan.com/tag/bitcoin/", "https://www.cryptopolitan.com/author/jai/",
                      "https://www.cryptopolitan.com/price-prediction/"],
    "communicationstoday": ["https://www.communicationstoday.co.in/category/telecom/", "https://www.communicationstoday.co.in/subscribe/"],
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_recognises_its_articles(name):
    source = SOURCES[name]
    assert ARTICLES[name] and NOT_ARTICLES[name], f"{name} needs URL examples"
    for url in ARTICLES[name]:
        assert source.is_article(url), url
        assert source_for_url(url) is source
    for url in NOT_ARTICLES[name]:
        assert not source.is_article(url), url
    other = next(s for s in SOURCES.values() if s is not source)
    assert not source.is_article(ARTICLES[other.name][0])
