"""The bottom read layer: iterating over the records of a WARC file strictly, and the errors
every reader of archive files raises (the index, the record reader, the scanner all build on it).

Reading is strict where warcio is lenient: a record that is not WARC, a record cut short by
a truncated file, or gzip data that does not decompress raises ArchiveReadError naming the file
and the offset, instead of yielding an empty or partial record.
"""

from __future__ import annotations

import functools
from collections import deque
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader, DecompressingBufferedReader
from warcio.limitreader import LimitReader


class ArchiveReadError(Exception):
    """An archive file cannot be read at some place: names the file and the offset."""

    def __init__(self, file: str, offset: int | None, problem: str) -> None:
        self.file = file
        self.offset = offset
        self.problem = problem
        where = f"{file} at offset {offset}" if offset is not None else file
        super().__init__(f"{where}: {problem}")


class ArchiveSourceError(ValueError):
    """The WARC/WACZ files or folders given to read from cannot be used."""


class _QuietReader(DecompressingBufferedReader):
    """warcio's reader, with a compressed stream that breaks off inside a member kept as the
    reason of the error we raise, instead of printed raw to standard error."""

    broken: str | None = None

    def _decompress(self, data: bytes) -> bytes:
        if self.decompressor and data and self.num_block_read:
            try:
                return self.decompressor.decompress(data)
            except Exception as exc:  # noqa: BLE001 - whatever the decompressor raises means damage
                self.broken = " ".join(str(exc).split())
                return b""
        return super()._decompress(data)


class StrictRecordIterator(ArchiveIterator):
    """warcio's ArchiveIterator that refuses what it would otherwise pass over: data that is
    not WARC (which it may parse as ARC), records without a Content-Length, and records whose
    block or gzip member ends early. `label` names the file in errors; `record_start` is the
    offset of the record being read (warcio's own offset can run negative in a damaged file)."""

    def __init__(self, fileobj: BinaryIO, label: str, *, undecoded_content: bool = False, **kwargs: object) -> None:
        self.label = label
        self.undecoded_content = undecoded_content
        super().__init__(fileobj, **kwargs)
        self.reader.__class__ = _QuietReader
        self.known_format = "warc"  # parse as WARC only, never fall back to ARC
        self.record_start = max(self.offset, 0)
        self.recent: deque[Any] = deque(maxlen=3)  # the last records read

    def _next_record(self, next_line):  # type: ignore[no-untyped-def]
        if self.offset >= 0:
            self.record_start = self.offset
        if next_line is None:
            next_line = self.reader.readline()
            if not next_line:
                if self._inside_gzip_member():
                    raise ArchiveReadError(
                        self.label, self.record_start,
                        "the file ends inside a gzip member (truncated)",
                    )
                raise EOFError  # a clean end of file
        try:
            record = super()._next_record(next_line)
        except EOFError as exc:  # something was there, but the file ends inside it
            raise ArchiveReadError(self.label, self.record_start, "the file ends inside this record (truncated)") from exc
        except Exception as exc:
            problem = describe_error(exc)
            if self.reader.decompressor is None and self._gzip_here():  # warcio gave up on gunzip
                problem = "corrupt gzip data (a gzip member starts here but does not decompress)"
            raise ArchiveReadError(self.label, self.record_start, problem) from exc
        if not isinstance(record.raw_stream, LimitReader):
            raise ArchiveReadError(
                self.label, self.record_start,
                "WARC record without a valid Content-Length (damaged, or the file is truncated here)",
            )
        self.recent.append(record)
        if self.undecoded_content:
            # cdxj-indexer's post-append mode reads every record through content_stream(), whose
            # brotli decoder fails with Brotli >= 1.2 (warcio sets an attribute the C object no
            # longer allows). The index needs no decoded content: give it the payload as stored.
            record.content_stream = functools.partial(payload_stream, record)
        return record

    def _inside_gzip_member(self) -> bool:
        """At the end of the data: a gzip member has begun after the last whole record but
        gives no line (warcio would take its first bytes for a clean end of file)."""
        decompressor = self.reader.decompressor
        if decompressor is None or decompressor.eof:
            return False
        try:
            return bool(self.fh.tell() > max(self.offset, 0))
        except (AttributeError, OSError):
            return False

    def _gzip_here(self) -> bool:
        try:
            self.fh.seek(self.record_start)
            return bool(self.fh.read(2) == b"\x1f\x8b")
        except (AttributeError, OSError):
            return False

    def read_to_end(self, record=None):  # type: ignore[no-untyped-def]
        if not self.record or self.member_info:
            return super().read_to_end(record)
        super().read_to_end(record)
        stream = getattr(self.record, "_orig_stream", self.record.raw_stream)  # see ensure_digest
        missing = getattr(stream, "limit", 0)
        broken = getattr(self.reader, "broken", None)
        if missing > 0 and broken:
            raise ArchiveReadError(self.label, self.record_start, f"corrupt gzip data inside this record ({broken})")
        if missing > 0:
            raise ArchiveReadError(
                self.label, self.record_start,
                f"record is incomplete: the last {missing} bytes of its block are missing (the file "
                "is truncated, its gzip data is corrupt, or a gzip member ends inside the record)",
            )
        decompressor = self.reader.decompressor
        if decompressor is not None and not getattr(decompressor, "eof", True):
            raise ArchiveReadError(self.label, self.record_start, "gzip member ends early (the file is truncated)")
        return None


def payload_stream(record) -> BinaryIO:  # type: ignore[no-untyped-def]
    """The payload after the HTTP headers, de-chunked, Content-Encoding kept."""
    http = record.http_headers
    if http is not None and "chunked" in (http.get_header("Transfer-Encoding") or "").lower():
        return ChunkedDataReader(record.raw_stream)  # type: ignore[no-any-return]
    return record.raw_stream  # type: ignore[no-any-return]


def describe_error(exc: Exception) -> str:
    """What a warcio/zlib error means for the file, in one line."""
    text = " ".join(str(exc).split())
    if "non-chunked gzip" in text:
        return "one gzip member holds several records; recompress the file with `warcio recompress`"
    if text.startswith(("Unknown archive format", "Invalid WARC record")):
        first = text.partition("first line: ")[2]
        return f"not a WARC record (no 'WARC/1.x' line): the data here starts with {first[:60]}"
    return f"{type(exc).__name__}: {text[:300]}"
