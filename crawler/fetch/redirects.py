"""Scrapy's redirects (3xx and meta refresh), with every URL accounted for:

- a redirect back to a URL of its own chain is a loop, recorded as `redirect_loop`, and too
  long a chain `too_many_redirects` (Scrapy drops both with a debug line);
- a redirected request is never dropped as a duplicate: an input URL that redirects to another
  input URL (or to a page fetched earlier in the crawl) still ends with a line of its own
  (`final_url` the target; the target's payload, if unchanged, is archived as a revisit);
- meta refreshes are looked for in the head of the page only: Scrapy looks in the first 4,096
  characters but decodes the whole body to find them, about a millisecond of CPU for a 350 KB
  news page, on the reactor thread. 16 KB of bytes hold those 4,096 characters in any encoding.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from w3lib.url import canonicalize_url

from crawler import meta

HEAD_BYTES = 16 * 1024


class RedirectLoop(IgnoreRequest):
    """The redirect leads back to a URL of its own chain."""


class TooManyRedirects(IgnoreRequest):
    """The chain is longer than REDIRECT_MAX_TIMES."""


def _same(a: str, b: str) -> bool:
    return canonicalize_url(a, keep_fragments=False) == canonicalize_url(b, keep_fragments=False)


class _Accounted:
    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get(meta.REDIRECT_URLS, []), request.url]
        if any(_same(redirected.url, url) for url in chain):
            raise RedirectLoop("redirect loop: " + " -> ".join([*chain, redirected.url]))
        try:
            result = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:
            raise TooManyRedirects(f"more than {self.max_redirect_times} redirects "  # type: ignore[attr-defined]
                                   "(REDIRECT_MAX_TIMES)") from None
        result.dont_filter = True
        return result


class AccountedRedirectMiddleware(_Accounted, RedirectMiddleware):
    pass


class HeadMetaRefreshMiddleware(_Accounted, MetaRefreshMiddleware):
    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if not isinstance(response, HtmlResponse) or len(response.body) <= HEAD_BYTES:
            return super().process_response(request, response)
        head = response.replace(body=response.body[:HEAD_BYTES])
        result = super().process_response(request, head)
        return response if result is head else result
