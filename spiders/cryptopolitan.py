"""Cryptopolitan (cryptopolitan.com), WordPress.

No recorded page exists: URL shapes follow WordPress defaults (/<slug>/, feed /feed/,
Yoast sitemap_index.xml / news-sitemap.xml). Recorded WordPress pages of other sites stand in
for extraction tests.
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="cryptopolitan",
    title="Cryptopolitan",
    domains=("cryptopolitan.com",),
    languages=("en",),
    home="https://www.cryptopolitan.com/",
    article=r"^/(?:[a-z]{2}/)?[a-z0-9]+(?:-[a-z0-9]+){2,}/?$",
    exclude=(r"^/(?:tag|category|author|page|price-prediction|feed)(?:/|$)", r"^/wp-"),
    sitemap_follow=r"(?:news-sitemap|post-sitemap|sitemap_index)",
    feeds=("https://www.cryptopolitan.com/feed/",),
    checked="nothing recorded: built from WordPress defaults",
)


class CryptopolitanSpider(SourceSpider):
    source = SOURCE
