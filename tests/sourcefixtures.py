"""Builds, per source, a WARC that stands in for the live site, for offline spider tests.

Article pages are real recorded pages from ../shared/corpus (the source's own where recorded,
otherwise a page of the same CMS family, named in STAND_INS). robots.txt files are the real
snapshots where recorded (Reuters, DW). Sitemaps and feeds are written here in the standard
formats each site uses (sitemaps.org + Google News sitemap, RSS 2.0, Atom), since no real one
was recorded. Each site also lists non-articles (video, tag, login pages) that must not be
fetched as articles, a blocked response and a paywalled page.

    python tests/sourcefixtures.py OUT_DIR      # writes OUT_DIR/<source>/warc/*.warc.gz
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from storage.warc import HttpExchange, RotatingWarcWriter, WarcInfo  # noqa: E402
from tests.newsserver import CORPUS  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
GENERIC_ROBOTS = "User-agent: *\nDisallow: /wp-admin/\nAllow: /\n\nSitemap: {home}sitemap_index.xml\n"

CHALLENGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta name="robots" content="noindex,nofollow"><meta http-equiv="refresh" content="360"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">www.example.com</h1><h2 class="h2" id="challenge-running">
Checking if the site connection is secure</h2><noscript><div id="challenge-error-title">
Enable JavaScript and cookies to continue</div></noscript></div></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "www.example.com",cType: 'managed'};
var cpo = document.createElement('script');cpo.src = '/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1';
document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"""


def corpus_page(site: str, name: str) -> bytes:
    return gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes())


def corpus_truth(site: str, name: str) -> dict:
    return json.loads((CORPUS / "pages" / site / f"{name}.truth.json").read_text(encoding="utf-8"))


def robots_snapshot(site: str, date: str) -> str:
    return (CORPUS / "robots" / site / f"{date}.robots.txt").read_text(encoding="utf-8")


def teaser(page: bytes) -> bytes:
    """A paywalled view of a real page: its head, the first paragraph and a subscribe box."""
    head = page.split(b"<body", 1)[0]
    # Scripts go (some carry the whole text as JSON-LD articleBody); the barrier says "not free".
    head = re.sub(rb"(?is)<script.*?</script>", b"", head) + (
        b'<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
        b'"isAccessibleForFree": false, "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": false, '
        b'"cssSelector": ".paywall"}}</script></head>')
    return head + (b"<body><article><h1>Subscriber article</h1><p>The first paragraph of this "
                   b"report is free to read, the rest is for subscribers.</p>"
                   b'<div class="paywall" id="paywall-box"><h2>Subscribe to continue reading</h2>'
                   b"<p>Become a subscriber for unlimited access.</p><button>Subscribe now</button>"
                   b"<a href=\"/login\">Sign in</a></div></article></body></html>")


@dataclass
class Entry:
    url: str
    body: bytes
    content_type: str = HTML
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SiteFixture:
    source: str
    entries: list[Entry]
    articles: dict[str, str]  # article URL -> expected title (from the page's truth)
    non_articles: list[str]  # listed in sitemaps/feeds, must never be fetched
    blocked: list[str]  # article URLs whose response is a block
    paywalled: list[str]  # article URLs that are paywalled


def news_sitemap(items: list[tuple[str, datetime, str]], lang: str, name: str) -> bytes:
    urls = "".join(
        f"<url><loc>{escape(u)}</loc><lastmod>{d.isoformat()}</lastmod><news:news><news:publication>"
        f"<news:name>{escape(name)}</news:name><news:language>{lang}</news:language></news:publication>"
        f"<news:publication_date>{d.isoformat()}</news:publication_date><news:title>{escape(t)}</news:title>"
        f"</news:news></url>\n" for u, d, t in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + urls + "</urlset>\n").encode()


def sitemap_index(urls: list[str]) -> bytes:
    items = "".join(f"<sitemap><loc>{escape(u)}</loc><lastmod>{NOW.isoformat()}</lastmod></sitemap>\n" for u in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + items + "</sitemapindex>\n").encode()


def urlset(items: list[tuple[str, datetime]]) -> bytes:
    urls = "".join(f"<url><loc>{escape(u)}</loc><lastmod>{d.isoformat()}</lastmod></url>\n" for u, d in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + urls + "</urlset>\n").encode()


def rss(title: str, link: str, items: list[tuple[str, datetime, str]]) -> bytes:
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid isPermaLink=\"false\">{escape(u)}</guid>"
        f"<pubDate>{d.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>\n" for u, d, t in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>\n{body}</channel></rss>\n").encode()


def _day(n: int) -> datetime:
    return NOW - timedelta(days=n)


def _fixture(source: str, home: str, robots: str, listings: list[tuple[str, bytes, str]],
             pages: dict[str, tuple[str, str]], non_articles: list[str], blocked: dict[str, Entry],
             paywalled: dict[str, bytes]) -> SiteFixture:
    entries = [Entry(home + "robots.txt", robots.encode(), "text/plain; charset=utf-8")]
    entries += [Entry(url, body, ctype) for url, body, ctype in listings]
    articles = {}
    for url, (site, name) in pages.items():
        entries.append(Entry(url, corpus_page(site, name)))
        articles[url] = corpus_truth(site, name)["title"]
    for url in non_articles:
        entries.append(Entry(url, b"<html><body><h1>Not an article</h1></body></html>"))
    for url, entry in blocked.items():
        entries.append(entry)
    for url, body in paywalled.items():
        entries.append(Entry(url, body))
    return SiteFixture(source, entries, articles, non_articles, list(blocked), list(paywalled))


def _blocked(url: str, kind: str) -> Entry:
    if kind == "403":
        return Entry(url, b"<html><body><h1>403 Forbidden</h1></body></html>", status=403)
    return Entry(url, CHALLENGE, headers=[("Server", "cloudflare"), ("cf-mitigated", "challenge")])


def reuters() -> SiteFixture:
    home = "https://www.reuters.com/"
    a1 = "https://www.reuters.com/world/middle-east/israeli-tank-likely-scenario-fired-machine-gun-reporters-after-deadly-shelling-2024-03-07/"
    a2 = "https://www.reuters.com/business/aerospace-defense/nepal-says-no-proof-flydubai-plane-suffered-bird-strike-2023-04-25/"
    block = "https://www.reuters.com/world/asia-pacific/blocked-story-2026-11-19/"
    pay = "https://www.reuters.com/markets/deals/subscriber-story-2026-11-18/"
    video = "https://www.reuters.com/video/watch/idOV990011/"
    news = "https://www.reuters.com/arc/outboundfeeds/news-sitemap/?outputType=xml&from=0"
    listings = [
        ("https://www.reuters.com/arc/outboundfeeds/news-sitemap-index/?outputType=xml", sitemap_index([news]), XML),
        (news, news_sitemap([(a1, _day(1), "Israeli tank"), (a2, _day(3), "Nepal"), (video, _day(1), "Video"),
                             (block, _day(2), "Blocked"), (pay, _day(2), "Paid")], "en", "Reuters"), XML),
    ]
    return _fixture("reuters", home, robots_snapshot("reuters.com", "2026-06-15"), listings,
                    {a1: ("reuters.com", "Reuters_2024_03_07"), a2: ("reuters.com", "Reuters_2023_05_16")},
                    [video], {block: _blocked(block, "challenge")},
                    {pay: teaser(corpus_page("reuters.com", "Reuters_2024_03_07"))})


def dw() -> SiteFixture:
    home = "https://www.dw.com/"
    a1 = "https://www.dw.com/de/russland-wahl-nadeschdin-setzt-auf-ein-ende-der-putin-%C3%A4ra/a-68117411?maca=de-rss-de-all-1119-xml-mrss"
    a2 = "https://www.dw.com/de/ukrainische-gegenoffensive-ziele-chancen-risiken/a-65464327"
    a3 = "https://www.dw.com/de/post-vac-syndrom-nach-covid-19-impfung-was-wissen-wir/a-65897191"
    block = "https://www.dw.com/en/blocked-story/a-70000001"
    pay = "https://www.dw.com/en/paywalled-story/a-70000002"
    non = ["https://www.dw.com/de/nachrichten-im-video/video-68112233", "https://www.dw.com/de/themen/s-9077",
           "https://www.dw.com/en/live-updates/l-68000000"]
    news = "https://www.dw.com/de/news-sitemap.xml"
    listings = [
        ("https://www.dw.com/sitemap.xml", sitemap_index([news]), XML),
        (news, news_sitemap([(a2, _day(2), "Gegenoffensive"), (non[0], _day(1), "Video"), (non[1], _day(1), "Themen"),
                             (block, _day(3), "Blocked")], "de", "DW"), XML),
        ("https://rss.dw.com/xml/rss-de-all", rss("DW Deutsch", home, [(a1, _day(1), "Russland-Wahl"),
                                                                       (a3, _day(4), "Post-Vac"), (non[2], _day(1), "Live")]), RSS),
        ("https://rss.dw.com/xml/rss-en-all", rss("DW English", home, [(pay, _day(5), "Paid")]), RSS),
    ]
    return _fixture("dw", home, robots_snapshot("dw.com", "2026-05-15"), listings,
                    {a1: ("dw.com", "DW_2024_01_30"), a2: ("dw.com", "DW_2023_04_28"), a3: ("dw.com", "DW_2023_06_13")},
                    non, {block: _blocked(block, "403")}, {pay: teaser(corpus_page("dw.com", "DW_2024_01_30"))})


def ft() -> SiteFixture:
    home = "https://www.ft.com/"
    a1 = "https://www.ft.com/content/31ff7d44-f8a4-4cde-989e-50aa08301155"
    a2 = "https://www.ft.com/content/796d1220-475e-11e5-af2f-4d6e0e5eda22"
    block = "https://www.ft.com/content/00000000-0000-4000-8000-000000000001"
    non = ["https://www.ft.com/video/1b2c3d4e-0000-4000-8000-000000000000", "https://www.ft.com/myft/following"]
    listings = [
        ("https://www.ft.com/sitemaps/news.xml", news_sitemap([(a1, _day(1), "FT"), (non[0], _day(1), "Video"),
                                                               (block, _day(1), "Blocked")], "en", "Financial Times"), XML),
        ("https://www.ft.com/news-feed?format=rss", rss("FT", home, [(a2, _day(2), "FT 2024"), (non[1], _day(2), "myFT")]), RSS),
    ]
    robots = "User-agent: *\nDisallow: /search\nDisallow: /myft/\n\nSitemap: https://www.ft.com/sitemaps/news.xml\n"
    pay = "https://www.ft.com/content/00000000-0000-4000-8000-000000000002"
    listings[0] = (listings[0][0], news_sitemap([(a1, _day(1), "FT"), (non[0], _day(1), "Video"),
                                                (block, _day(1), "Blocked"), (pay, _day(3), "Paid")],
                                               "en", "Financial Times"), XML)
    # The recorded FT pages carry isAccessibleForFree=false but hold the full text (captured by
    # a subscriber): they are articles. The paywalled view is the barrier page a crawler gets.
    return _fixture("ft", home, robots, listings,
                    {a1: ("ft.com", "omnivore_ft.com"), a2: ("ft.com", "metascraper_ft_2024capture")}, non,
                    {block: _blocked(block, "403")}, {pay: teaser(corpus_page("ft.com", "omnivore_ft.com"))})


def restofworld() -> SiteFixture:
    home = "https://restofworld.org/"
    a1 = "https://restofworld.org/2025/oman-space-industry-launchpad-satellites/?utm_source=rss&utm_medium=rss&utm_campaign=feeds"
    block = "https://restofworld.org/2025/blocked-story/"
    pay = "https://restofworld.org/2025/members-story/"
    non = ["https://restofworld.org/tag/ai/", "https://restofworld.org/author/someone/"]
    listings = [("https://restofworld.org/feed/latest", rss("Rest of World", home, [
        (a1, _day(1), "Oman"), (non[0], _day(1), "Tag"), (block, _day(2), "Blocked"), (pay, _day(3), "Paid")]), RSS),
        ("https://restofworld.org/sitemap_index.xml", sitemap_index(["https://restofworld.org/post-sitemap.xml"]), XML),
        ("https://restofworld.org/post-sitemap.xml", urlset([(non[1], _day(1))]), XML)]
    return _fixture("restofworld", home, GENERIC_ROBOTS.format(home=home), listings,
                    {a1: ("restofworld.org", "RestOfWorld_2025_10_21")}, non,
                    {block: _blocked(block, "challenge")},
                    {pay: teaser(corpus_page("restofworld.org", "RestOfWorld_2025_10_21"))})


def _wordpress_like(source: str, home: str, feed: str, article_urls: list[str], stand_ins: list[tuple[str, str]],
                    non: list[str], block_kind: str, sitemap: str | None = None) -> SiteFixture:
    block = article_urls[-2]
    pay = article_urls[-1]
    items = [(u, _day(i + 1), f"Story {i}") for i, u in enumerate(article_urls)] + [(u, _day(1), "x") for u in non]
    listings = [(feed, rss(source, home, items), RSS)]
    robots = GENERIC_ROBOTS.format(home=home)
    if sitemap:
        listings.append((sitemap, urlset([(u, _day(1)) for u in article_urls[:1]]), XML))
        robots = f"User-agent: *\nDisallow: /admin/\n\nSitemap: {sitemap}\n"
    pages = dict(zip(article_urls[:-2], stand_ins))
    return _fixture(source, home, robots, listings, pages, non, {block: _blocked(block, block_kind)},
                    {pay: teaser(corpus_page(*stand_ins[0]))})


# Pages of the same CMS family standing in for sites with no recorded page.
STAND_INS = {
    "itif": [("techcrunch.com", "TechCrunch_2024_04_28")],
    "benzinga": [("cnbc.com", "CNBC_2023_04_28")],
    "cryptopolitan": [("theintercept.com", "TheIntercept_2024_02_28"), ("techcrunch.com", "TechCrunch_2024_05_17")],
    "communicationstoday": [("theintercept.com", "TheIntercept_2023_04_28")],
}


def itif() -> SiteFixture:
    home = "https://itif.org/"
    urls = ["https://itif.org/publications/2024/09/16/china-is-rapidly-becoming-a-leading-innovator-in-advanced-industries/",
            "https://itif.org/publications/2024/09/10/blocked-report/", "https://itif.org/publications/2024/09/01/member-report/"]
    return _wordpress_like("itif", home, "https://itif.org/publications/feed/", urls, STAND_INS["itif"],
                           ["https://itif.org/person/robert-d-atkinson/", "https://itif.org/events/2024/09/20/webinar/"],
                           "403", sitemap="https://itif.org/sitemap.xml")


def benzinga() -> SiteFixture:
    home = "https://www.benzinga.com/"
    urls = ["https://www.benzinga.com/markets/cryptocurrency/24/03/37550123/bitcoin-tops-70000-as-etf-inflows-surge",
            "https://www.benzinga.com/news/24/03/37550999/blocked-story", "https://www.benzinga.com/pro/24/03/37551000/pro-only-story"]
    return _wordpress_like("benzinga", home, "https://www.benzinga.com/feed", urls, STAND_INS["benzinga"],
                           ["https://www.benzinga.com/quote/AAPL", "https://www.benzinga.com/login"], "challenge")


def cryptopolitan() -> SiteFixture:
    home = "https://www.cryptopolitan.com/"
    urls = ["https://www.cryptopolitan.com/us-tightens-ai-chip-export-rules-china/",
            "https://www.cryptopolitan.com/bitcoin-miners-move-to-ai-datacenters/",
            "https://www.cryptopolitan.com/blocked-market-story-today/", "https://www.cryptopolitan.com/premium-market-story-today/"]
    return _wordpress_like("cryptopolitan", home, "https://www.cryptopolitan.com/feed/", urls, STAND_INS["cryptopolitan"],
                           ["https://www.cryptopolitan.com/tag/bitcoin/", "https://www.cryptopolitan.com/price-prediction/"],
                           "challenge")


def communicationstoday() -> SiteFixture:
    home = "https://www.communicationstoday.co.in/"
    urls = ["https://www.communicationstoday.co.in/trai-releases-recommendations-on-satellite-spectrum/",
            "https://www.communicationstoday.co.in/blocked-telecom-story-here/",
            "https://www.communicationstoday.co.in/subscriber-telecom-story-here/"]
    return _wordpress_like("communicationstoday", home, "https://www.communicationstoday.co.in/feed/", urls,
                           STAND_INS["communicationstoday"],
                           ["https://www.communicationstoday.co.in/category/telecom/",
                            "https://www.communicationstoday.co.in/subscribe/"], "403")


FIXTURES = {f.__name__: f for f in (reuters, ft, dw, itif, restofworld, benzinga, cryptopolitan, communicationstoday)}


def write_fixture(fixture: SiteFixture, folder: Path) -> Path:
    """Writes the fixture as one WARC under folder/warc; returns that folder."""
    writer = RotatingWarcWriter(folder / "warc", WarcInfo(software="sourcefixtures", user_agent="fixture",
                                                          robots="n/a"), prefix=f"fixture_{fixture.source}")
    for entry in fixture.entries:
        headers = [("Content-Type", entry.content_type), ("Content-Length", str(len(entry.body))), *entry.headers]
        writer.write_exchange(HttpExchange(
            url=entry.url, method="GET", request_headers=[("User-Agent", "fixture")], status=entry.status,
            reason={200: "OK", 403: "Forbidden"}.get(entry.status, ""), protocol="HTTP/1.1",
            response_headers=headers, body=entry.body, date=NOW))
    writer.close()
    return folder / "warc"


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name, build in FIXTURES.items():
        print(write_fixture(build(), out / name))
