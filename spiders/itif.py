"""ITIF, Information Technology and Innovation Foundation (itif.org), Drupal.

No recorded page exists (../shared/corpus has none): URL shapes follow ITIF's public
structure /publications/<yyyy>/<mm>/<dd>/<slug>/ and Drupal's standard /sitemap.xml and RSS.
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="itif",
    title="Information Technology and Innovation Foundation",
    domains=("itif.org",),
    languages=("en",),
    home="https://itif.org/",
    article=r"^/publications/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/?$",
    exclude=(r"^/(?:person|events|issues|taxonomy|user)/",),
    sitemaps=("https://itif.org/sitemap.xml",),
    robots_sitemaps=False,
    feeds=("https://itif.org/publications/feed/",),
    checked="nothing recorded: built from ITIF's public URL structure",
)


class ITIFSpider(SourceSpider):
    source = SOURCE
