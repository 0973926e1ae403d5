"""What a spider hands to the pipelines: a page item for each response (its decoded body goes to
extraction), a failure item for each request that got none, with the reason.

These are the Scrapy side of the records (crawler/pipeline/records.py builds the JSON line from
an item without Scrapy). A page item may carry a future (`RECORDED`) that the record pipeline
sets to the JSON record it wrote: the spider's callback awaits it to follow the article's
citations (spiders/base.py `ArchiveSpider`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from twisted.internet import error as tx_error
from twisted.python.failure import Failure

from crawler import meta
from crawler.capture.handler import NotInArchive
from crawler.fetch.guard import PrivateAddressRefused, UnsafeURLRefused
from crawler.fetch.redirects import RedirectLoop, TooManyRedirects
from crawler.fetch.urls import redact_url
from crawler.pipeline.records import iso_now

RECORDED = "recorded"  # page item key: a future of the JSON record written for it (or None)
WANTS_REQUISITES = "wants_requisites"  # page item key: the spider will fetch the page's requisites


def requested_url_of(request: Request) -> str:
    """The URL first asked for, before any redirect (or meta refresh)."""
    redirects = request.meta.get(meta.REDIRECT_URLS) or []
    return redirects[0] if redirects else request.url


def requested_url(response: Response) -> str:
    return requested_url_of(response.request) if response.request else response.url


def page_item(response: Response, source: str) -> dict[str, Any]:
    facts = response.meta
    truncated = facts.get(meta.TRUNCATED) or ("disconnect" if meta.FLAG_DATALOSS in response.flags else None)
    content_type = response.headers.get(b"Content-Type")
    return {
        "kind": "page",
        "source": source,
        "url": requested_url(response),
        "final_url": response.url,
        "status": response.status,
        "content_type": content_type.decode("latin-1") if content_type else None,
        "headers": [(k.decode("latin-1"), v.decode("latin-1"))
                    for k, values in response.headers.items() for v in values],
        "body": response.body,
        "warc": facts.get(meta.WARC),
        "capture": facts.get(meta.CAPTURE) or {},
        "fetched_at": facts.get(meta.FETCHED_AT) or iso_now(),
        "truncated": truncated,
        "depth": facts.get(meta.DEPTH, 0),
        "discovery": facts.get(meta.DISCOVERY),  # a sitemap, feed, section page or robots.txt
        **({"reason": meta.TOO_LARGE, "error": meta.TOO_LARGE_TO_DECODE}
           if meta.FLAG_TOO_LARGE in response.flags else {}),
    }


def failure_reason(failure: Failure) -> str:
    exc = failure.value
    if isinstance(exc, PrivateAddressRefused):
        return meta.REFUSED_PRIVATE
    if isinstance(exc, UnsafeURLRefused):
        return exc.reason
    if isinstance(exc, RedirectLoop):
        return "redirect_loop"
    if isinstance(exc, TooManyRedirects):
        return "too_many_redirects"
    if isinstance(exc, NotInArchive):
        return "not_in_archive"
    if isinstance(exc, IgnoreRequest):
        return "robots_disallowed" if "robots.txt" in str(exc) else "ignored"
    for kind, reason in (
        (CannotResolveHostError, "dns_error"),
        (DownloadConnectionRefusedError, "connection_refused"),
        (DownloadTimeoutError, "timeout"),
        (ResponseDataLossError, "data_loss"),
        (tx_error.DNSLookupError, "dns_error"),
        (tx_error.TimeoutError, "timeout"),
        (tx_error.TCPTimedOutError, "timeout"),
        (tx_error.ConnectionRefusedError, "connection_refused"),
    ):
        if isinstance(exc, kind):
            return reason
    return "fetch_failed"


def failure_item(failure: Failure, request: Request, source: str) -> dict[str, Any]:
    """`url` is the URL as requested, `final_url` the redirect hop that failed (credentials in
    either are never written)."""
    item = unfetched_item(requested_url_of(request), source, failure_reason(failure),
                          f"{type(failure.value).__name__}: {failure.value}".strip(),
                          depth=request.meta.get(meta.DEPTH, 0), final_url=request.url)
    item["discovery"] = request.meta.get(meta.DISCOVERY)
    return item


def unfetched_item(url: str, source: str, reason: str, error: str, *, depth: int = 0,
                   final_url: str | None = None) -> dict[str, Any]:
    """The item of a URL that got no response: refused, or failed, with the reason."""
    return {
        "kind": "failure",
        "source": source,
        "url": redact_url(url),
        "final_url": redact_url(final_url or url),
        "reason": reason,
        "error": error,
        "fetched_at": iso_now(),
        "depth": depth,
    }


def record_written(item: dict[str, Any], record: dict[str, Any] | None) -> None:
    """Tells a callback awaiting this item's record (if any) what was written: the record, or None
    when there is none (unchanged, dropped or failed)."""
    future: asyncio.Future | None = item.pop(RECORDED, None)
    if future is not None and not future.done():
        future.set_result(record)
