"""Scrapy's HTTP/1.1 download handler, with two things archiving needs:

- the status line's reason phrase as the server sent it (Scrapy drops it), kept in
  `request.meta["http_reason"]`;
- bodies beyond ARCHIVE_MAX_BODY_BYTES are cut (Scrapy's own StopDownload mechanism) and
  kept, flagged `download_stopped` and `request.meta["truncated"] = "length"`, instead of
  being thrown away as DOWNLOAD_MAXSIZE would.

The agent subclass relies on Scrapy's private `_ScrapyAgent`; `scrapy` is pinned below 2.20.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request, signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

from crawler import meta
from crawler.config import ArchiveConfig


class NotInArchive(IgnoreRequest):
    """The URL has no capture in the archive being replayed (ARCHIVE_REPLAY_FROM)."""


class _ReasonKeepingAgent(_ScrapyAgent):
    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        phrase = getattr(txresponse, "phrase", b"") or b""
        request.meta[meta.HTTP_REASON] = phrase.decode("latin-1") if isinstance(phrase, bytes) else str(phrase)
        return super()._cb_bodyready(txresponse, request)


class CaptureHTTPDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self._max_body = ArchiveConfig.from_settings(crawler.settings).max_body_bytes
        if self._max_body:
            crawler.signals.connect(self._count_bytes, signal=signals.bytes_received)

    def _count_bytes(self, data: bytes, request: Request) -> None:
        received = request.meta.get(meta.BYTES_RECEIVED, 0) + len(data)
        request.meta[meta.BYTES_RECEIVED] = received
        if received > self._max_body:
            request.meta[meta.TRUNCATED] = "length"
            raise StopDownload(fail=False)

    async def download_request(self, request: Request) -> Response:
        request.meta.pop(meta.BYTES_RECEIVED, None)
        request.meta.pop(meta.TRUNCATED, None)
        agent = _ReasonKeepingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))
