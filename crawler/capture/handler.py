"""Scrapy's HTTP/1.1 download handler, with what archiving needs:

- the status line's reason phrase as the server sent it (Scrapy drops it), kept in
  `request.meta["http_reason"]`;
- bodies beyond ARCHIVE_MAX_BODY_BYTES are cut (Scrapy's own StopDownload mechanism) and
  kept, flagged `download_stopped` and `request.meta["truncated"] = "length"`, instead of
  being thrown away as DOWNLOAD_MAXSIZE would;
- a body still arriving when DOWNLOAD_TIMEOUT runs out is kept as far as it came, with
  `request.meta["truncated"] = "time"`, instead of being thrown away with the timeout.

The agent subclass relies on Scrapy's private `_ScrapyAgent` (and its response reader's
buffer); `scrapy` is pinned below 2.20.
"""

from __future__ import annotations

import weakref
from typing import Any

from scrapy import Request, signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

from crawler import meta
from crawler.config import ArchiveConfig


class NotInArchive(IgnoreRequest):
    """The URL has no capture in the archive being replayed (ARCHIVE_REPLAY_FROM)."""


class _ArchivingAgent(_ScrapyAgent):
    _reader: Any = None  # the response body reader, once the headers are in

    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        phrase = getattr(txresponse, "phrase", b"") or b""
        request.meta[meta.HTTP_REASON] = phrase.decode("latin-1") if isinstance(phrase, bytes) else str(phrase)
        result = super()._cb_bodyready(txresponse, request)
        self._reader = getattr(txresponse, "_bodyProtocol", None)
        return result

    def _cb_timeout(self, result: Any, request: Request, url: str, timeout: float) -> Any:
        timed_out = not self._timeout_cl.active()
        received = getattr(self._reader, "_bytes_received", 0)
        if not (timed_out and isinstance(result, Failure) and received):
            return super()._cb_timeout(result, request, url, timeout)
        if self._txresponse:
            self._txresponse._transport.stopProducing()
        request.meta[meta.TRUNCATED] = "time"
        return self._cb_bodydone({
            "txresponse": self._txresponse,
            "body": self._reader._bodybuf.getvalue(),
            "flags": ["partial"],
            "certificate": self._reader._certificate,
            "ip_address": self._reader._ip_address,
        }, url)


class CaptureHTTPDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self._max_body = ArchiveConfig.from_settings(crawler.settings).max_body_bytes
        # Scrapy makes one handler per scheme and every handler hears every bytes_received
        # signal: each counts only the bodies it downloads itself (else http and https each
        # counted every chunk, and bodies were cut at half the limit).
        self._downloading: weakref.WeakSet[Request] = weakref.WeakSet()
        crawler.signals.connect(self._count_bytes, signal=signals.bytes_received)

    def _count_bytes(self, data: bytes, request: Request) -> None:
        if request not in self._downloading:
            return
        limit = min(filter(None, (self._max_body, request.meta.get(meta.MAX_BODY))), default=0)
        if not limit:
            return
        received = request.meta.get(meta.BYTES_RECEIVED, 0) + len(data)
        request.meta[meta.BYTES_RECEIVED] = received
        if received > limit:
            request.meta[meta.TRUNCATED] = "length"
            raise StopDownload(fail=False)

    async def download_request(self, request: Request) -> Response:
        request.meta.pop(meta.BYTES_RECEIVED, None)
        request.meta.pop(meta.TRUNCATED, None)
        self._downloading.add(request)
        agent = _ArchivingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        finally:
            self._downloading.discard(request)
