"""Scanning WARC files record by record, for replaying them: every record's place and a summary
of it (bodies are read only for metadata and warcinfo records), damage skipped over; and reading
records back by place, with revisits resolved among the records seen.

Damaged input never stops a scan: a record that cannot be read is yielded as an ArchiveReadError
(file, offset, what is wrong), the scanner skips to the next record that starts cleanly, and
every other record is still read.
"""

from __future__ import annotations

import io
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from warcio.timeutils import iso_date_to_timestamp

from storage.reader import ArchivedResponse, read_at
from storage.sources import WarcSource
from storage.warcread import ArchiveReadError, StrictRecordIterator, describe_error

MAX_METADATA_BYTES = 8 * 1024 * 1024
_SEARCH_CHUNK = 1 << 20
_OPEN_FILES = 8  # WARC files kept open while reading records back


@dataclass(frozen=True)
class Located:
    """Where a record is: the WARC's name (storage.sources.find_warcs naming), offset, length."""

    name: str
    offset: int
    length: int


@dataclass(frozen=True)
class Scanned:
    """What a sequential read learns of one record (bodies are read only for metadata and
    warcinfo records)."""

    offset: int
    length: int
    rec_type: str
    record_id: str | None
    target_uri: str | None
    concurrent_to: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()  # metadata (application/warc-fields) and warcinfo
    status: int | None = None  # HTTP status of a response
    content_type: str | None = None  # HTTP Content-Type of a response (last value)
    date: str | None = None  # WARC-Date


# -- reading WARC files record by record, skipping damage ---------------------------------------
def scan_warc(warc: WarcSource) -> Iterator[Scanned | ArchiveReadError]:
    """Every record of a WARC, in file order; a damaged part is yielded as an ArchiveReadError
    (file, offset, problem) and reading resumes at the next record that starts cleanly."""
    try:
        fh = warc.open()
    except OSError as exc:
        yield ArchiveReadError(warc.label, None, f"cannot be opened: {exc.strerror or exc}")
        return
    with fh:
        size = fh.seek(0, io.SEEK_END)
        fh.seek(0)
        gzipped = fh.read(2) == b"\x1f\x8b"
        start: int | None = 0
        while start is not None and start < size:
            fh.seek(start)
            it = StrictRecordIterator(fh, warc.label, arc2warc=False, ensure_http_headers=False)
            end = start
            try:
                for record in it:
                    summary = _summarise(record)
                    it.read_to_end()
                    end = it.get_record_offset() + it.get_record_length()
                    yield replace(summary, offset=it.get_record_offset(), length=it.get_record_length())
                left = _trailing_bytes(fh, end, size)
                if left:
                    # A gzip member cut before its first output byte reads as a clean end of file.
                    yield ArchiveReadError(warc.label, end, f"the file ends inside a record (truncated): {left} "
                                           "bytes after the last whole record do not make a record")
                return
            except ArchiveReadError as exc:
                failed_at = exc.offset if exc.offset is not None else it.record_start
                yield exc
            except Exception as exc:  # noqa: BLE001 - zlib/warcio errors met while reading a body
                failed_at = it.record_start
                yield ArchiveReadError(warc.label, failed_at, describe_error(exc))
            finally:
                it.close()
            start = next_record_start(fh, failed_at + 1, gzipped=gzipped)


def _trailing_bytes(fh: BinaryIO, end: int, size: int) -> int:
    """How many bytes after `end` are something other than blank lines (or NUL padding)."""
    if end >= size:
        return 0
    fh.seek(end)
    rest = 0
    while chunk := fh.read(_SEARCH_CHUNK):
        rest += len(chunk.strip(b"\r\n\t \x00"))
        if rest:
            return size - end
    return 0


def next_record_start(fh: BinaryIO, pos: int, *, gzipped: bool) -> int | None:
    """Offset of the first record start at or after `pos`: a gzip member whose data begins
    with "WARC/", or (uncompressed files) a "WARC/1." line; None when there is none."""
    needle = b"\x1f\x8b\x08" if gzipped else b"WARC/1."
    while True:
        fh.seek(pos)
        chunk = fh.read(_SEARCH_CHUNK + len(needle))
        if len(chunk) < len(needle):
            return None
        index = chunk.find(needle)
        while index >= 0:
            candidate = pos + index
            if _starts_record(fh, candidate, gzipped):
                return candidate
            index = chunk.find(needle, index + 1)
        pos += _SEARCH_CHUNK


def _starts_record(fh: BinaryIO, pos: int, gzipped: bool) -> bool:
    if not gzipped:
        if pos == 0:
            return True
        fh.seek(pos - 1)
        return fh.read(1) == b"\n"
    fh.seek(pos)
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = decomp.decompress(fh.read(4096), 16)
    except zlib.error:
        return False
    return head.startswith(b"WARC/")


def _summarise(record: Any) -> Scanned:
    headers = record.rec_headers
    kind = record.rec_type
    fields: tuple[tuple[str, str], ...] = ()
    status = content_type = None
    if kind in ("metadata", "warcinfo"):
        mime = (headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
        if mime in ("application/warc-fields", ""):
            fields = _warc_fields(record.raw_stream.read(MAX_METADATA_BYTES))
    elif kind in ("response", "revisit") and record.http_headers is not None:
        http = record.http_headers
        code = http.get_statuscode()
        status = int(code) if code and code.isdigit() else None
        values = [v for k, v in http.headers if k.lower() == "content-type"]
        content_type = values[-1] if values else None
    concurrent = tuple(v for k, v in headers.headers if k.lower() == "warc-concurrent-to")
    return Scanned(
        offset=0, length=0, rec_type=kind, record_id=headers.get_header("WARC-Record-ID"),
        target_uri=headers.get_header("WARC-Target-URI"), concurrent_to=concurrent, fields=fields,
        status=status, content_type=content_type, date=headers.get_header("WARC-Date"),
    )


def _warc_fields(data: bytes) -> tuple[tuple[str, str], ...]:
    out = []
    for line in data.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            out.append((name.strip().lower(), value.strip()))
    return tuple(out)


# -- reading records back by place ------------------------------------------------------------------
class NotYetKnown(Exception):
    """A revisit's original has not been read yet (it comes later in the files)."""


def capture_key(url: str, date: str) -> tuple[str, str]:
    try:
        return url, iso_date_to_timestamp(date)
    except (ValueError, TypeError, AttributeError):  # a malformed date: keep it as it is
        return url, date


class RecordSource:
    """Reads records back by location, keeping a few files open, and finds revisits' originals
    by WARC-Refers-To among the records seen (else through `fallback`, an index-backed reader
    built on first need)."""

    def __init__(self, warcs: dict[str, WarcSource], locations: dict[str, Located],
                 by_capture: dict[tuple[str, str], Located] | None = None,
                 fallback: Callable[[], Any] | None = None) -> None:
        self.warcs = warcs
        self.locations = locations
        self.by_capture = by_capture if by_capture is not None else {}
        self.fallback = fallback
        self._fallback_reader: Any = None
        self._open: OrderedDict[str, BinaryIO] = OrderedDict()

    def read(self, where: Located) -> ArchivedResponse:
        warc = self.warcs[where.name]
        fh = self._open.pop(where.name, None)
        if fh is None:
            try:
                fh = warc.open()
            except OSError as exc:
                raise ArchiveReadError(warc.label, None, f"cannot be opened: {exc.strerror or exc}") from None
        self._open[where.name] = fh
        while len(self._open) > _OPEN_FILES:
            self._open.popitem(last=False)[1].close()
        return read_at(fh, where.offset, label=warc.label, filename=where.name)

    def original(self, revisit: ArchivedResponse, *, final: bool) -> tuple[ArchivedResponse, Located]:
        info = revisit.revisit
        assert info is not None
        where = self.locations.get(info.target_id or "")
        if where is None and info.target_date:
            where = self.by_capture.get(capture_key(info.target_url or revisit.url, info.target_date))
        if where is not None:
            original = self.read(where)
            if original.record_type == "response":
                return original, where
        if not final:
            raise NotYetKnown(info.target_id)
        if self.fallback is not None:
            if self._fallback_reader is None:
                self._fallback_reader = self.fallback()
            resolved = self._fallback_reader.resolve(revisit)
            assert resolved.revisit is not None and resolved.revisit.original_filename is not None
            name, offset = resolved.revisit.original_filename, resolved.revisit.original_offset or 0
            original = self.read(Located(name, offset, 0))
            length = next((c.length for c in self._fallback_reader.index.lookup(original.url)
                           if c.filename == name and c.offset == offset), 0)
            return original, Located(name, offset, length)
        target = f"{info.target_url or revisit.url} of {info.target_date or 'an earlier date'}"
        raise ArchiveReadError(self.warcs[revisit.filename].label, revisit.offset,
                               f"revisit of {target}: the original response is not in the files given")

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()
