"""WARC/1.1 writing: records built and digested by warcio, files rotated and closed safely.

Knows nothing of Scrapy: the crawler hands over plain values (`HttpExchange`).
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter
from zlib_ng import zlib_ng

from storage.files import OPEN_SUFFIX, finish_open_file, utc_stamp

WARC_VERSION = "WARC/1.1"
WARC_SUFFIX = ".warc.gz"
# the name RotatingWarcWriter gives its files: prefix, serial (the order it opened them in), host, pid
WARC_NAME = re.compile(r"^(.+)-\d{14}-(\d{5})-([^-]+)-(\d+)\.warc(?:\.gz)?$")
# gzip's own default: files within 2% of level 9's size at about a third of its CPU (zlib-ng)
DEFAULT_GZIP_LEVEL = 6
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
# Scrapy (like every HTTP client) hands over a de-chunked body, so the framing header would lie.
_DROPPED_RESPONSE_HEADERS = {"transfer-encoding"}
# A payload the server already compressed is stored in its record's gzip member as it is
# (deflate level 0): level 6 shrinks such records by 0.3-0.4% for 1.4-1.7 ms of CPU a page.
_COMPRESSED_CODINGS = {"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"}
# So are formats that compress their own data (a page's photos, fonts, video: most of the
# bytes of its requisites); SVG and BMP are text or raw, and are deflated as usual.
_COMPRESSED_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic",
                     "font/woff", "font/woff2", "application/font-woff", "video/", "audio/", "application/zip")
STORED_LEVEL = 0


@dataclass(frozen=True)
class HttpExchange:
    """One fetch as it happened on the wire (body still content-encoded)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    protocol: str
    response_headers: list[tuple[str, str]]
    body: bytes
    date: datetime
    request_body: bytes = b""
    ip_address: str | None = None
    truncated: str | None = None  # WARC-Truncated reason: "length", "disconnect", "time"

    def response_header(self, name: str) -> str | None:
        """The first value of response header `name` (lower case), or None."""
        return next((v for k, v in self.response_headers if k.lower() == name), None)


@dataclass(frozen=True)
class RecordLocation:
    """Where a record lives: enough to read it back with one seek."""

    filename: str
    offset: int
    length: int
    record_id: str
    payload_digest: str | None
    date: str

    def as_dict(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "offset": self.offset,
            "length": self.length,
            "record_id": self.record_id,
            "payload_digest": self.payload_digest,
        }


@dataclass(frozen=True)
class Original:
    """The capture a revisit record refers to."""

    url: str
    date: str  # WARC-Date of the original response
    record_id: str
    payload_digest: str


@dataclass
class WarcInfo:
    software: str
    user_agent: str
    robots: str
    operator: str | None = None
    description: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def fields(self) -> dict[str, str]:
        info = {
            "software": self.software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "robots": self.robots,
            "http-header-user-agent": self.user_agent,
        }
        if self.operator:
            info["operator"] = self.operator
        if self.description:
            info["description"] = self.description
        info.update(self.extra)
        return info


def request_target(url: str) -> str:
    """Path and query as they go in the request line (the fragment never leaves the client)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def _host_header(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc.rsplit("@", 1)[-1]


@dataclass(frozen=True)
class WrittenRecord:
    """A record just written: its bytes before gzip, and where its gzip member lies in the file;
    `record`: warcio's record object it was written from (headers and digests set, content read)."""

    data: bytes
    offset: int
    length: int
    record: ArcWarcRecord | None = None


class RotatingWarcWriter:
    """Writes gzip-per-record WARC files named
    `<prefix>-<UTC timestamp>-<serial>-<host>-<pid>.warc.gz`, as `.open` until closed,
    rotating once a file reaches `max_bytes`."""

    def __init__(
        self,
        directory: Path,
        info: WarcInfo,
        *,
        prefix: str = "news",
        max_bytes: int = 1_000_000_000,
        gzip_level: int = DEFAULT_GZIP_LEVEL,
        on_closed: Callable[[Path], None] | None = None,
        on_written: Callable[[str, list[WrittenRecord]], None] | None = None,
    ) -> None:
        """`on_written(filename, records)`: after each capture (a response or revisit and its
        request) is written, with the records' uncompressed bytes and places in the file."""
        if not 0 <= gzip_level <= 9:
            raise ValueError(f"gzip level must be 0-9, got {gzip_level}")
        self.gzip_level = gzip_level
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.info = info
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.on_closed = on_closed
        self.on_written = on_written
        self.host = socket.gethostname().replace("-", "_") or "localhost"
        self.pid = os.getpid()
        self._serial = 0
        self._file: "os.PathLike[str] | None" = None
        self._fh = None
        self._writer: WARCWriter | None = None
        self._path: Path | None = None
        self.closed_files: list[Path] = []

    # -- file lifecycle -------------------------------------------------------------
    @property
    def current_path(self) -> Path | None:
        return self._path

    def _open(self) -> None:
        name = f"{self.prefix}-{utc_stamp()}-{self._serial:05d}-{self.host}-{self.pid}{WARC_SUFFIX}"
        self._serial += 1
        self._path = self.directory / (name + OPEN_SUFFIX)
        self._fh = open(self._path, "xb")
        # warcio serialises each record, uncompressed, into this buffer; `_write` makes it one
        # gzip member (warcio's own gzip is zlib at level 9: the costliest step per page).
        self._record_buffer = BytesIO()
        self._writer = WARCWriter(self._record_buffer, gzip=False, warc_version=WARC_VERSION)
        record = self._writer.create_warcinfo_record(name, self.info.fields())
        self._write(record)

    def _ensure_open(self) -> WARCWriter:
        if self._fh is not None and self._fh.tell() >= self.max_bytes:
            self.close()
        if self._writer is None:
            self._open()
        assert self._writer is not None
        return self._writer

    def close(self) -> Path | None:
        """Close the current file (fsync, drop `.open`); returns its final path."""
        if self._fh is None or self._path is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        final = finish_open_file(self._path)
        self._fh = self._writer = self._path = None
        self.closed_files.append(final)
        if self.on_closed:
            self.on_closed(final)
        return final

    def abandon(self) -> None:
        """Stop writing after a failed write (a full disk): the file keeps `.open`, so the next
        run repairs it (cut back to whole records) and takes what it holds into its state."""
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
        self._fh = self._writer = self._path = None

    # -- records --------------------------------------------------------------------
    def _write(self, record, level: int | None = None) -> tuple[RecordLocation, bytes]:
        """Appends `record` as one gzip member (at `level`, the writer's own by default); returns
        where it lies and its uncompressed bytes."""
        assert self._fh is not None and self._writer is not None and self._path is not None
        offset = self._fh.tell()
        buffer = self._record_buffer
        buffer.seek(0)
        buffer.truncate()
        self._writer.write_record(record)
        data = buffer.getvalue()
        level = self.gzip_level if level is None else level
        compressor = zlib_ng.compressobj(level, zlib_ng.DEFLATED, 31)  # 31: gzip framing
        self._fh.write(compressor.compress(data) + compressor.flush())
        # Flushed to the OS after every record: a killed process leaves whole records
        # behind (the last one at most cut short, which repair removes).
        self._fh.flush()
        headers = record.rec_headers
        location = RecordLocation(
            filename=self._path.name.removesuffix(OPEN_SUFFIX),
            offset=offset,
            length=self._fh.tell() - offset,
            record_id=headers.get_header("WARC-Record-ID"),
            payload_digest=headers.get_header("WARC-Payload-Digest"),
            date=headers.get_header("WARC-Date"),
        )
        return location, data

    def _request_record(self, writer: WARCWriter, ex: HttpExchange, date: str):
        headers = list(ex.request_headers)
        if not any(k.lower() == "host" for k, _ in headers):
            headers.insert(0, ("Host", _host_header(ex.url)))
        http = StatusAndHeaders(
            f"{ex.method} {request_target(ex.url)} {ex.protocol}", headers, is_http_request=True
        )
        return writer.create_warc_record(
            ex.url,
            "request",
            payload=BytesIO(ex.request_body),
            length=len(ex.request_body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )

    def _response_http_headers(self, ex: HttpExchange) -> StatusAndHeaders:
        headers = []
        for name, value in ex.response_headers:
            lname = name.lower()
            if lname in _DROPPED_RESPONSE_HEADERS:
                continue
            if lname == "content-length" and value.strip() != str(len(ex.body)):
                value = str(len(ex.body))  # cut short (size cap, dropped connection)
            headers.append((name, value))
        return StatusAndHeaders(f"{ex.status} {ex.reason}".rstrip(), headers, protocol=ex.protocol)

    def _warc_headers(self, ex: HttpExchange, date: str) -> dict[str, str]:
        headers = {"WARC-Date": date}
        if ex.ip_address:
            headers["WARC-IP-Address"] = ex.ip_address
        if ex.truncated:
            headers["WARC-Truncated"] = ex.truncated
        return headers

    def write_exchange(self, ex: HttpExchange, payload_digest: str | None = None) -> RecordLocation:
        """Write the request and response records of one fetch; returns the response's location.
        A `payload_digest` the caller already computed (sha1, base32) is used, not computed again."""
        writer = self._ensure_open()
        date = warc_date(ex.date)
        warc_headers = self._warc_headers(ex, date)
        if payload_digest:
            warc_headers["WARC-Payload-Digest"] = payload_digest  # warcio then skips recomputing it
        response = writer.create_warc_record(
            ex.url,
            "response",
            payload=BytesIO(ex.body),
            length=len(ex.body),
            http_headers=self._response_http_headers(ex),
            warc_headers_dict=warc_headers,
        )
        coding = (ex.response_header("content-encoding") or "").strip().lower()
        mime = (ex.response_header("content-type") or "").split(";")[0].strip().lower()
        compressed = bool(ex.body) and (coding in _COMPRESSED_CODINGS or mime.startswith(_COMPRESSED_TYPES))
        return self._write_pair(writer, response, ex, date, STORED_LEVEL if compressed else None)

    def write_revisit(self, ex: HttpExchange, original: Original, *, profile: str) -> RecordLocation:
        """A capture whose payload is already archived (or a 304): headers only."""
        writer = self._ensure_open()
        date = warc_date(ex.date)
        warc_headers = self._warc_headers(ex, date)
        warc_headers["WARC-Refers-To"] = original.record_id
        record = writer.create_revisit_record(
            ex.url,
            original.payload_digest,
            original.url,
            original.date,
            http_headers=self._response_http_headers(ex),
            warc_headers_dict=warc_headers,
        )
        record.rec_headers.replace_header("WARC-Profile", profile)
        return self._write_pair(writer, record, ex, date)

    def _write_pair(
        self, writer: WARCWriter, response, ex: HttpExchange, date: str, level: int | None = None
    ) -> RecordLocation:
        """The response (or revisit) record, then its request record pointing at it."""
        request = self._request_record(writer, ex, date)
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        location, response_data = self._write(response, level)
        request_location, request_data = self._write(request)
        if self.on_written is not None:
            self.on_written(location.filename, [
                WrittenRecord(response_data, location.offset, location.length, response),
                WrittenRecord(request_data, request_location.offset, request_location.length, request),
            ])
        return location

    def write_metadata(self, url: str, concurrent_to: str, fields: Iterable[tuple[str, str]]) -> None:
        """Facts about a capture (outlinks, extraction facts) as `application/warc-fields`."""
        writer = self._ensure_open()
        body = "".join(f"{k}: {v}\r\n" for k, v in fields).encode("utf-8")
        record = writer.create_warc_record(
            url,
            "metadata",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Concurrent-To": concurrent_to},
        )
        self._write(record)


def warc_date(when: datetime) -> str:
    """WARC-Date: UTC, microseconds, `Z` (warcio wants a naive datetime for that)."""
    return datetime_to_iso_date(when.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
