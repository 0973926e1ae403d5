"""robots.txt of hosts that enqueued work may reach: `allow_private` for Scrapy's own fetch.

Work enqueued with `--allow-private` carries `meta["allow_private"]`, which the address guard
(crawler/fetch/guard.py) honours. Scrapy's robots.txt middleware fetches robots.txt with a request
of its own, without that meta: the guard would refuse it, and the page would be fetched as if
the host had no robots.txt. This middleware, just before the guard, lets robots.txt through for
a host and port that allowed work has asked for in this process.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request

from crawler import meta

ROBOTS_PATH = "/robots.txt"


class RobotsAllowPrivateMiddleware:
    def __init__(self) -> None:
        self._allowed: set[tuple[str, str]] = set()

    def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        origin = (parts.scheme, parts.netloc)
        if request.meta.get(meta.ALLOW_PRIVATE):
            self._allowed.add(origin)
        elif parts.path == ROBOTS_PATH and origin in self._allowed:
            request.meta[meta.ALLOW_PRIVATE] = True
