"""Incremental crawling: conditional requests, and revisit records instead of second copies.

`archive_exchange` decides, on the archive thread, how one fetch is written:
- a 304 to our conditional request -> `revisit` (server-not-modified) pointing at the capture
  that holds the payload;
- a 200 whose payload digest is already archived (this URL or another) -> `revisit`
  (identical-payload-digest);
- anything else -> `request` + `response` records, and the state remembers them.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler import meta
from crawler.capture.session import session_of
from storage.state import PreviousCapture, StateStore, StoredPayload
from storage.warc import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    HttpExchange,
    Original,
    RecordLocation,
    RotatingWarcWriter,
)


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest warcio writes: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


@dataclass(frozen=True)
class Archived:
    kind: str  # "response" or "revisit"
    written: RecordLocation  # the record this fetch produced
    payload: dict[str, Any]  # pointer to the response record that holds the payload
    previous: PreviousCapture | None  # what the state knew before this fetch


def _pointer(source: PreviousCapture | StoredPayload, digest: str | None) -> dict[str, Any]:
    return {"filename": source.warc_filename, "offset": source.warc_offset, "length": source.warc_length,
            "record_id": source.record_id, "payload_digest": digest, "record_type": "response"}


def archive_exchange(warc: RotatingWarcWriter, state: StateStore, ex: HttpExchange) -> Archived:
    prev = state.previous(ex.url)
    etag, last_modified = ex.response_header("etag"), ex.response_header("last-modified")
    if ex.status == 304 and prev and prev.record_id and prev.payload_digest and prev.warc_date:
        original = Original(prev.target_uri, prev.warc_date, prev.record_id, prev.payload_digest)
        written = warc.write_revisit(ex, original, profile=PROFILE_NOT_MODIFIED)
        state.record_validators(ex.url, etag, last_modified)
        return Archived("revisit", written, _pointer(prev, prev.payload_digest), prev)
    digest = None
    if ex.status == 200 and ex.body and not ex.truncated:
        digest = payload_digest(ex.body)
        stored = state.payload(digest)
        if stored is not None:
            original = Original(stored.target_uri, stored.warc_date, stored.record_id, digest)
            written = warc.write_revisit(ex, original, profile=PROFILE_IDENTICAL)
            state.record_revisit(ex.url, etag=etag, last_modified=last_modified, status=ex.status,
                                 payload_digest=digest, stored=stored)
            return Archived("revisit", written, _pointer(stored, digest), prev)
    written = warc.write_exchange(ex, payload_digest=digest)
    state.record_response(ex.url, etag=etag, last_modified=last_modified, status=ex.status,
                          payload_digest=written.payload_digest, warc_date=written.date,
                          record_id=written.record_id, filename=written.filename,
                          offset=written.offset, length=written.length)
    return Archived("response", written, {**written.as_dict(), "record_type": "response"}, prev)


class ConditionalRequestMiddleware:
    """Sends If-None-Match / If-Modified-Since for pages captured before. Discovery pages
    (robots.txt, sitemaps, feeds, sections) are always fetched in full."""

    def __init__(self, state: StateStore):
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        if not crawler.settings.getbool("ARCHIVE_CONDITIONAL_REQUESTS"):
            raise NotConfigured("ARCHIVE_CONDITIONAL_REQUESTS is off")
        return cls(session_of(crawler).state)

    def process_request(self, request: Request) -> None:
        if request.meta.get(meta.DISCOVERY) or request.method != "GET" or request.url.endswith("/robots.txt"):
            return None
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return None
        prev = self.state.previous(request.url)
        if prev is None or prev.status != 200 or not (prev.json_done or request.meta.get(meta.REQUISITE)):
            return None  # nothing to compare with (or its article was never written: fetch in full)
        if prev.etag:
            request.headers[b"If-None-Match"] = prev.etag.encode("latin-1")
        if prev.last_modified:
            request.headers[b"If-Modified-Since"] = prev.last_modified.encode("latin-1")
        return None
