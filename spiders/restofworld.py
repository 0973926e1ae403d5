"""Rest of World (restofworld.org), WordPress.

Checked against recorded pages: article URL shape /<year>/<slug>/ (the recorded page came
from the RSS feed with utm_* parameters, which the canonical URL drops). Not checked: the
feed and sitemap files (none recorded); WordPress/Yoast standard locations.
"""

from spiders.base import Source, SourceSpider

SOURCE = Source(
    name="restofworld",
    title="Rest of World",
    domains=("restofworld.org",),
    languages=("en",),
    home="https://restofworld.org/",
    article=r"^/20\d\d/[a-z0-9-]+/?(?:\?.*)?$",
    exclude=(r"^/(?:tag|category|author|newsletters?|about|page)/",),
    sitemap_follow=r"(?:news-sitemap|post-sitemap|sitemap_index)",
    feeds=("https://restofworld.org/feed/latest",),
    checked="article URL shape against a recorded page; feed/sitemap not recorded",
)


class RestOfWorldSpider(SourceSpider):
    source = SOURCE
