"""Crawling from an archive instead of the web: a download handler for http and https that
answers every request with an archived response.

Enabled by ARCHIVE_REPLAY_FROM (WARC/WACZ files or folders). At start it indexes them (or
reuses the index cached in ARCHIVE_REPLAY_INDEX_DIR while no file changed); then each request
gets the capture closest to ARCHIVE_REPLAY_AT (the latest by default), with its archived
status, every header and the body as stored (Content-Encoding intact: Scrapy's
HttpCompressionMiddleware decodes it as it would a live response). A 3xx is returned as such,
so Scrapy's RedirectMiddleware follows it through the archive too. Nothing goes to the network.

A URL without a capture raises NotInArchive, except robots.txt: a robots.txt that was not
archived is answered with an empty 404 (flagged "not_in_archive"), which RobotsTxtMiddleware
takes as "everything allowed", as for a live site without one.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urljoin, urlsplit

import structlog
from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.asyncio import run_in_thread
from w3lib.url import canonicalize_url

from crawler import meta
from crawler.capture.handler import NotInArchive
from crawler.config import ReplayConfig, SettingError
from storage.cdxj import Capture, by_closeness, url_key
from storage.reader import ArchivedResponse, ArchiveReader
from storage.warcread import ArchiveSourceError

log = structlog.get_logger()

_METHODS = ("GET", "HEAD", "POST", "PUT")
# Not replayed: Scrapy hands over a de-chunked body, as the reader does.
_DROPPED_HEADERS = {b"transfer-encoding"}


def _same_url(a: str, b: str) -> bool:
    return canonicalize_url(a, keep_fragments=False) == canonicalize_url(b, keep_fragments=False)


class ReplaySource:
    """The archive a crawl is answered from, indexed once (a Scrapy extension: the http and https
    handlers share it)."""

    def __init__(self, reader: ArchiveReader, at: str | None) -> None:
        self.reader = reader
        self.at = at

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplaySource:
        config = ReplayConfig.from_settings(crawler.settings)
        if not config.sources:
            raise NotConfigured(
                "ARCHIVE_REPLAY_FROM is empty: set it to the WARC/WACZ files or folders to replay, "
                "or take ArchiveDownloadHandler out of DOWNLOAD_HANDLERS"
            )

        def index_error(exc: Exception) -> None:
            log.error("replay_index_error", error=str(exc))
            if crawler.stats:
                crawler.stats.inc_value("replay/index_errors")

        try:
            reader = ArchiveReader.open(config.sources, config.index_dir, on_error=index_error)
        except ArchiveSourceError as exc:
            raise SettingError(f"ARCHIVE_REPLAY_FROM: {exc}") from None
        assert reader.index is not None
        log.info("replay_index", sources=list(config.sources), warc_files=len(reader.warcs),
                 index=str(reader.index.paths[0]), at=config.at or "latest")
        return cls(reader, config.at)


class ArchiveDownloadHandler(BaseDownloadHandler):
    """Answers http/https requests from the archive (see the module docstring). A robots.txt
    that is not archived gets an empty 404, so RobotsTxtMiddleware allows everything; any
    other URL that is not archived raises NotInArchive."""

    lazy = False  # index the archive at start, not on the first request

    def __init__(self, crawler: Crawler, reader: ArchiveReader, at: str | None = None) -> None:
        super().__init__(crawler)
        self.reader = reader
        self.at = at

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveDownloadHandler:
        source = crawler.get_extension(ReplaySource)
        if source is None:  # named in DOWNLOAD_HANDLERS without the add-on that sets it up
            source = ReplaySource.from_crawler(crawler)
        return cls(crawler, source.reader, source.at)

    async def download_request(self, request: Request) -> Response:
        request.meta.pop(meta.TRUNCATED, None)  # set by an earlier hop of a redirect chain
        found = await run_in_thread(self._find, request)  # index and WARC reads block
        stats = self.crawler.stats
        if found is None:
            if urlsplit(request.url).path == "/robots.txt":
                if stats:
                    stats.inc_value("replay/robots_not_in_archive")
                return Response(request.url, status=404, flags=[meta.FLAG_NOT_IN_ARCHIVE])
            if stats:
                stats.inc_value("replay/not_in_archive")
            raise NotInArchive(f"{request.method} {request.url} is not in the archive replayed (ARCHIVE_REPLAY_FROM)")
        capture, archived = found
        if stats:
            stats.inc_value("replay/responses")
            if archived.revisit is not None:
                stats.inc_value("replay/revisits")
        return self._response(request, capture, archived)

    def _find(self, request: Request) -> tuple[Capture, ArchivedResponse] | None:
        """The capture that answers the request, or None: of those of exactly this URL, the
        closest in time; else of its variants under the same SURT key (http/https, www.,
        query order), the closest. A redirect back to the request's own URL (or to one already
        passed in this redirect chain) is skipped: following it would loop."""
        method = request.method.upper()
        if method not in _METHODS:
            return None
        content_type = request.headers.get(b"Content-Type")
        key = url_key(
            request.url, method, request.body or b"", content_type.decode("latin-1") if content_type else None
        )
        visited = [request.url, *(request.meta.get(meta.REDIRECT_URLS) or [])]
        ranked = by_closeness(self.reader.index.lookup_key(key), self.at)  # type: ignore[union-attr]
        ranked.sort(key=lambda c: not _same_url(c.url, request.url))  # stable: closest first within
        for capture in ranked:
            archived = self.reader.get(capture)
            location = archived.header("Location")
            if 300 <= archived.status < 400 and location:
                target = urljoin(archived.url, location)
                if any(_same_url(target, seen) for seen in visited):
                    continue
            return capture, archived
        return None

    def _response(self, request: Request, capture: Capture, archived: ArchivedResponse) -> Response:
        headers = Headers()
        for name, value in archived.headers:
            if name.lower().encode("latin-1") not in _DROPPED_HEADERS:
                headers.appendlist(name, value)
        body = b"" if request.method.upper() == "HEAD" else archived.body
        request.meta[meta.HTTP_REASON] = archived.reason
        if archived.truncated:
            request.meta[meta.TRUNCATED] = archived.truncated
        request.meta[meta.REPLAYED] = {
            "filename": capture.filename,
            "offset": capture.offset,
            "timestamp": capture.timestamp,
            "record_id": archived.record_id,
        }
        # The archive answers the same way every time: retrying a 5xx would only repeat it.
        request.meta[meta.DONT_RETRY] = True
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return respcls(
            url=request.url,
            status=archived.status,
            headers=headers,
            body=body,
            flags=[meta.FLAG_ARCHIVED],
            ip_address=_ip(archived.ip_address),
            protocol=archived.protocol or None,
        )


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None
