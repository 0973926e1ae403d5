"""Communications Today (communicationstoday.co.in), WordPress.

No recorded page exists: URL shapes follow WordPress defaults (/<slug>/, feed /feed/,
sitemap_index.xml).
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="communicationstoday",
    title="Communications Today",
    domains=("communicationstoday.co.in",),
    languages=("en",),
    home="https://www.communicationstoday.co.in/",
    article=r"^/[a-z0-9]+(?:-[a-z0-9]+){2,}/?$",
    exclude=(r"^/(?:tag|category|author|page|feed|subscribe|contact-us|about-us)(?:/|$)", r"^/wp-"),
    sitemap_follow=r"(?:post-sitemap|sitemap_index|news-sitemap)",
    feeds=("https://www.communicationstoday.co.in/feed/",),
    checked="nothing recorded: built from WordPress defaults",
)


class CommunicationsTodaySpider(SourceSpider):
    source = SOURCE
