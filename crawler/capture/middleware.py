"""WARC capture: a downloader middleware next to the download handler (priority 950).

It sees every response as received (Content-Encoding intact, before decompression),
every redirect and retry, and writes a request and a response record for each. The
response record's location goes into `request.meta["warc"]` for the JSON record.
"""

from __future__ import annotations

from datetime import datetime, timezone
from http import HTTPStatus

import structlog
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler import meta
from crawler.capture.incremental import Archived, archive_exchange
from crawler.capture.session import STORAGE_ERRORS, ArchiveSession, session_of
from storage.warc import HttpExchange, now_utc

log = structlog.get_logger()

def capture_facts(archived: Archived) -> dict[str, object]:
    """What the pipelines need to know of this capture and of the URL's previous one."""
    prev = archived.previous
    return {
        "kind": archived.kind,
        "record_id": archived.written.record_id,
        "json_done": bool(prev and prev.json_done and prev.payload_digest == archived.payload["payload_digest"]),
        "version": prev.version if prev else 0,
        "text_digest": prev.text_digest if prev else None,
        "version_fetched_at": prev.version_fetched_at if prev else None,
    }


def _standard_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _header_pairs(headers) -> list[tuple[str, str]]:
    """Every value of every header (Set-Cookie, Link, Vary ... may repeat)."""
    pairs = []
    for name, values in headers.items():
        key = name.decode("latin-1")
        for value in values:
            pairs.append((key, value.decode("latin-1")))
    return pairs


def _capture_date(request: Request) -> datetime:
    """Now, or for a response replayed from an archive, when it was originally captured."""
    replayed = request.meta.get(meta.REPLAYED) or {}
    stamp = str(replayed.get("timestamp") or "")
    if len(stamp) == 14 and stamp.isdigit():
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return now_utc()


def exchange_from(request: Request, response: Response) -> HttpExchange:
    truncated = request.meta.get(meta.TRUNCATED)
    if truncated is None and meta.FLAG_DATALOSS in response.flags:
        truncated = "disconnect"
    protocol = response.protocol or "HTTP/1.1"
    return HttpExchange(
        url=response.url,
        method=request.method,
        request_headers=_header_pairs(request.headers),
        request_body=request.body or b"",
        status=response.status,
        reason=request.meta.get(meta.HTTP_REASON) or _standard_reason(response.status),
        protocol=protocol,
        response_headers=_header_pairs(response.headers),
        body=response.body,
        date=_capture_date(request),
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=truncated,
    )


class WarcCaptureMiddleware:
    def __init__(self, crawler: Crawler, session: ArchiveSession):
        self.crawler = crawler
        self.session = session
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(crawler, session_of(crawler))

    async def process_response(self, request: Request, response: Response) -> Response:
        if meta.FLAG_CACHED in response.flags or meta.FLAG_NOT_IN_ARCHIVE in response.flags:
            return response  # archived when it was fetched, or never fetched at all
        if self.session.failure is not None:
            raise IgnoreRequest("the archive cannot be written")  # the crawl is stopping
        exchange = exchange_from(request, response)
        try:
            archived: Archived = await self.session.run_io(
                archive_exchange, self.session.warc, self.session.state, exchange)
        except STORAGE_ERRORS as exc:
            self.session.storage_failed(exc)
            raise IgnoreRequest("the archive cannot be written") from None
        request.meta[meta.WARC] = archived.payload
        request.meta[meta.FETCHED_AT] = archived.written.date
        request.meta[meta.CAPTURE] = capture_facts(archived)
        assert self.stats is not None
        if archived.kind == "revisit":
            self.stats.inc_value("archive/revisits")
        else:
            self.stats.inc_value("archive/responses")
            self.stats.inc_value("archive/response_bytes", len(response.body))
            self.session.outcomes.bytes += len(response.body)
        if exchange.truncated:
            self.stats.inc_value(f"archive/truncated/{exchange.truncated}")
            log.warning("truncated_body", url=response.url, truncated=exchange.truncated, bytes=len(response.body))
        return response
