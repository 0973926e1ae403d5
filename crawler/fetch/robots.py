"""Scrapy's robots.txt middleware, fetching each host's robots.txt once a crawl.

A source spider asks for robots.txt itself (its Sitemap: lines are where the news sitemaps are
listed), and Scrapy's middleware fetched it a second time for its rules. Here the spider's own
robots.txt request, when it is the first request to its host, is the one the rules are read
from: requests to that host wait for it as they would for the middleware's own fetch.

Relies on the private `_parsers`, `_parse_robots` and `_robots_error` of Scrapy's middleware;
`scrapy` is pinned below 2.20.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler import meta


def _fetches_own_robots(request: Request) -> bool:
    return request.meta.get(meta.DISCOVERY) == "robots" and urlparse_cached(request).path == "/robots.txt"


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        if _fetches_own_robots(request) and (netloc not in self._parsers
                                             or request.meta.get(meta.ROBOTS_FOR) == netloc):  # a retry
            self._parsers.setdefault(netloc, Deferred())  # others wait for this request's response
            request.meta[meta.ROBOTS_FOR] = netloc
            return None
        return await super().robot_parser(request)

    async def process_response(self, request: Request, response: Response) -> Response:
        netloc = request.meta.pop(meta.ROBOTS_FOR, None)
        if netloc is not None and isinstance(self._parsers.get(netloc), Deferred):
            await self._parse_robots(response, netloc, request)
            self._stats.inc_value("robotstxt/request_count")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        netloc = request.meta.get(meta.ROBOTS_FOR)
        if netloc is not None and isinstance(self._parsers.get(netloc), Deferred):
            request.meta.pop(meta.ROBOTS_FOR, None)
            self._robots_error(exception, netloc)
        return None
