"""Deutsche Welle (dw.com), all language editions.

Checked against recorded pages: article URL shape /<lang>/<slug>/a-<id> (de, en, fr pages in
../shared/corpus/pages/dw.com; RSS links carry ?maca=...-rss-... tracking) and robots.txt
(Sitemap: https://www.dw.com/sitemap.xml). Not checked: the sitemap and RSS files (none
recorded); the feeds are DW's public rss.dw.com feeds in RSS 2.0 / Media RSS.
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="dw",
    title="Deutsche Welle",
    domains=("dw.com",),
    languages=("de", "en", "es", "fr", "id", "ru", "tr", "ar", "zh", "pt-br", "uk"),
    home="https://www.dw.com/",
    article=r"^/[a-z]{2}(?:-[a-z]{2})?/[^/]+/a-\d+",
    # v- video, g- gallery, l- live blog, s- sections, t- topics, p- programs
    exclude=(r"/(?:video|av)-\d+", r"/[vglstp]-\d+(?:$|\?)"),
    sitemaps=("https://www.dw.com/sitemap.xml",),
    robots_sitemaps=False,
    feeds=("https://rss.dw.com/xml/rss-de-all", "https://rss.dw.com/xml/rss-en-all"),
    checked="article URLs and robots.txt against recorded pages; sitemap/feeds not recorded",
)


class DWSpider(SourceSpider):
    source = SOURCE
