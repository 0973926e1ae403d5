"""Benzinga (benzinga.com).

No recorded article page exists (only a 2018 homepage in a public repository): URL shapes
follow Benzinga's public structure /<section>/<yy>/<mm>/<id>/<slug> and its RSS feed.
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="benzinga",
    title="Benzinga",
    domains=("benzinga.com",),
    languages=("en",),
    home="https://www.benzinga.com/",
    article=r"^/(?:[a-z-]+/)+\d{2}/\d{2}/\d{5,}/[a-z0-9-]+",
    exclude=(r"^/(?:quote|stock|login|premium|author|topic)/",),
    sitemap_follow=r"sitemap",
    feeds=("https://www.benzinga.com/feed",),
    checked="nothing recorded: built from Benzinga's public URL structure",
)


class BenzingaSpider(SourceSpider):
    source = SOURCE
