"""Financial Times (ft.com).

Checked against recorded pages: article URL shape (/content/<uuid>, and the old
/cms/s/<n>/<uuid>.html form), paywall markup and JSON-LD isAccessibleForFree=false of the
2017/2024 captures. Not checked: sitemap and feed files (none recorded); the news sitemap URL
is the one FT lists in its robots.txt.
"""

from spiders.base import Source, SourceSpider

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

SOURCE = Source(
    name="ft",
    title="Financial Times",
    domains=("ft.com",),
    languages=("en",),
    home="https://www.ft.com/",
    article=rf"^/content/{_UUID}$|^/cms/s/\d/{_UUID}\.html$",
    exclude=(r"^/(?:video|podcasts|stream|myft|login|tour)/",),
    sitemap_follow=r"/sitemaps/news",
    sitemaps=("https://www.ft.com/sitemaps/news.xml",),
    feeds=("https://www.ft.com/news-feed?format=rss",),
    checked="article URLs and paywall markers against recorded pages; sitemap/feed not recorded",
)


class FTSpider(SourceSpider):
    source = SOURCE
