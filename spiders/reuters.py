"""Reuters (reuters.com), Arc/Fusion site.

Checked against recorded pages: article URL shape (../shared/corpus/pages/reuters.com, 2023/2024
fundus pages end in -YYYY-MM-DD/; older /article/...-idXXX pages) and robots.txt (2026
snapshots: an allowlist that disallows every other crawler, so with robots obeyed nothing but
robots.txt is fetched). Not checked: the sitemap files themselves (none recorded); their URLs are
the Sitemap: lines of the recorded robots.txt.
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="reuters",
    title="Reuters",
    domains=("reuters.com",),
    languages=("en",),
    home="https://www.reuters.com/",
    article=r"^/(?:[a-z0-9-]+/)+[a-z0-9-]+-\d{4}-\d{2}-\d{2}/?$|^/article/.+-id[A-Z0-9]{6,}",
    exclude=(r"^/(?:video|pictures|graphics|plus|markets/quote|authors|tags)/",),
    sitemap_follow=r"news-sitemap",
    sitemaps=("https://www.reuters.com/arc/outboundfeeds/news-sitemap-index/?outputType=xml",),
    checked="article URLs and robots.txt against recorded pages; sitemaps not recorded",
)


class ReutersSpider(SourceSpider):
    source = SOURCE
