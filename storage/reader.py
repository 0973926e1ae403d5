"""Reading archived records back: one record by file and offset, or a capture found in a CDXJ
index, with revisit records resolved to the payload they point at. WARC files (gzip or not) and
WACZ files (storage.sources) are both accepted; reading is strict (storage.warcread).
"""

from __future__ import annotations

import io
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import brotli
from backports import zstd
from warcio.timeutils import iso_date_to_timestamp

from storage.cdxj import Capture, CdxjIndex
from storage.decoding import DecodedTooLarge, decode, decode_stream
from storage.sources import cached_index, find_warcs
from storage.warcread import ArchiveReadError, StrictRecordIterator, describe_error, payload_stream

_REPLAYABLE = ("response", "revisit", "resource")


@dataclass(frozen=True)
class Revisit:
    """What a revisit record says about the capture it repeats, and where that was found."""

    profile: str
    target_url: str | None  # WARC-Refers-To-Target-URI
    target_date: str | None  # WARC-Refers-To-Date
    target_id: str | None  # WARC-Refers-To
    has_http: bool  # the revisit carries its own HTTP status line and headers
    original_filename: str | None = None  # set once resolved
    original_offset: int | None = None

    @property
    def not_modified(self) -> bool:
        return self.profile.endswith("/server-not-modified")


@dataclass(frozen=True)
class ArchivedResponse:
    """An archived HTTP response as it was received. `body` is the payload as stored:
    Content-Encoding intact, chunked transfer framing removed; `decoded_body()` removes the
    Content-Encoding. For a revisit, `body` is the original's payload once resolved."""

    url: str
    date: str  # WARC-Date of this capture (ISO 8601)
    status: int
    reason: str
    protocol: str  # "HTTP/1.1"; "" for a resource record
    headers: list[tuple[str, str]]  # in order, every value of repeated headers
    body: bytes
    record_id: str
    payload_digest: str | None
    truncated: str | None  # WARC-Truncated ("length", "disconnect", ...)
    ip_address: str | None
    record_type: str  # "response", "revisit" or "resource"
    filename: str
    offset: int
    revisit: Revisit | None = None

    @property
    def timestamp(self) -> str:
        return iso_date_to_timestamp(self.date)

    @property
    def resolved(self) -> bool:
        """False for a revisit whose original payload has not been looked up yet."""
        return self.revisit is None or self.revisit.original_filename is not None

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]

    def codings(self) -> list[str]:
        """The Content-Encoding codings, in the order they were applied."""
        return [c.strip().lower() for value in self.header_values("Content-Encoding")
                for c in value.split(",") if c.strip() and c.strip().lower() != "identity"]

    def decoded_body(self, max_bytes: int = 0) -> bytes:
        """The body with its Content-Encoding (gzip, deflate, br, zstd, in any combination) removed.
        A truncated body gives what decodes; an unknown or broken encoding raises
        ArchiveReadError; a body that decodes past `max_bytes` (0: no limit) raises
        DecodedTooLarge, having held at most that much."""
        try:
            return decode(self.body, self.codings(), partial_ok=bool(self.truncated), max_bytes=max_bytes)
        except DecodedTooLarge:
            raise
        except (zlib.error, brotli.error, zstd.ZstdError, ValueError) as exc:
            raise self._undecodable(exc) from None

    def decoded_chunks(self) -> Iterator[bytes]:
        """The decoded body in 64 KiB steps (for writing out a body of any size)."""
        try:
            yield from decode_stream(self.body, self.codings(), partial_ok=bool(self.truncated))
        except (zlib.error, brotli.error, zstd.ZstdError, ValueError) as exc:
            raise self._undecodable(exc) from None

    def _undecodable(self, exc: Exception) -> ArchiveReadError:
        return ArchiveReadError(self.filename, self.offset,
                                f"body does not decode as Content-Encoding {', '.join(self.codings())!r}: {exc}")


def _http_fields(record) -> tuple[int, str, str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    http = record.http_headers
    code, _, reason = http.statusline.partition(" ")
    return int(code), reason.strip(), http.protocol or "", [(k, v) for k, v in http.headers]


def read_at(fh: BinaryIO, offset: int, *, label: str, filename: str) -> ArchivedResponse:
    """The response, revisit (unresolved) or resource record at `offset` of an open file."""
    size = fh.seek(0, io.SEEK_END)
    if not 0 <= offset < size:
        raise ArchiveReadError(label, offset, f"offset is outside the file ({size} bytes)")
    fh.seek(offset)
    it = StrictRecordIterator(fh, label, arc2warc=False, ensure_http_headers=False)
    try:
        record = next(it)
        kind = record.rec_type
        if kind not in _REPLAYABLE:
            raise ArchiveReadError(label, offset, f"a {kind} record, not a response, revisit or resource")
        warc = record.rec_headers
        revisit = None
        if kind == "resource":
            status, reason, protocol = 200, "OK", ""
            headers = [("Content-Type", warc.get_header("Content-Type") or "application/octet-stream")]
        elif record.http_headers is not None:
            status, reason, protocol, headers = _http_fields(record)
        elif kind == "revisit":
            status, reason, protocol, headers = 0, "", "", []
        else:
            raise ArchiveReadError(label, offset, "response record without an HTTP status line and headers")
        if kind == "revisit":
            revisit = Revisit(
                profile=warc.get_header("WARC-Profile") or "",
                target_url=warc.get_header("WARC-Refers-To-Target-URI"),
                target_date=warc.get_header("WARC-Refers-To-Date"),
                target_id=warc.get_header("WARC-Refers-To"),
                has_http=record.http_headers is not None,
            )
        body = payload_stream(record).read()
        if kind == "resource":
            headers.append(("Content-Length", str(len(body))))
        it.read_to_end()  # raises if the record or its gzip member is cut short
    except StopIteration:
        raise ArchiveReadError(label, offset, "no record here (end of file)") from None
    except ArchiveReadError:
        raise
    except Exception as exc:
        raise ArchiveReadError(label, offset, describe_error(exc)) from exc
    return ArchivedResponse(
        url=warc.get_header("WARC-Target-URI") or "",
        date=warc.get_header("WARC-Date") or "",
        status=status,
        reason=reason,
        protocol=protocol,
        headers=headers,
        body=body,
        record_id=warc.get_header("WARC-Record-ID") or "",
        payload_digest=warc.get_header("WARC-Payload-Digest"),
        truncated=warc.get_header("WARC-Truncated"),
        ip_address=warc.get_header("WARC-IP-Address"),
        record_type=kind,
        filename=filename,
        offset=offset,
        revisit=revisit,
    )


def read_record(warc_path: str | os.PathLike[str], offset: int) -> ArchivedResponse:
    """The record at `offset` of a WARC file (a revisit comes back unresolved: use
    ArchiveReader to get its payload)."""
    path = Path(warc_path)
    try:
        with open(path, "rb") as fh:
            return read_at(fh, offset, label=str(path), filename=path.name)
    except OSError as exc:  # read_at turns read errors into ArchiveReadError: this is open()
        raise ArchiveReadError(str(path), None, f"cannot be opened: {exc.strerror}") from None


# -- reading captures ----------------------------------------------------------------------------
class ArchiveReader:
    """Reads the records an index points at, from WARC/WACZ files and folders, and resolves
    revisits to their original payload through the index."""

    def __init__(
        self,
        sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        index: CdxjIndex | None = None,
    ) -> None:
        self.warcs = find_warcs(sources)
        self.index = index

    @classmethod
    def open(
        cls,
        sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        cache_dir: Path,
        *,
        on_error: Callable[[Exception], None] | None = None,
    ) -> ArchiveReader:
        """A reader with an index of all its WARCs, built in (or reused from) `cache_dir`."""
        paths = [Path(s).expanduser() for s in ([sources] if isinstance(sources, (str, os.PathLike)) else sources)]
        reader = cls(paths)
        key = json.dumps(sorted({str(p.resolve()) for p in paths}))
        reader.index = CdxjIndex(cached_index(reader.warcs, cache_dir, key=key, on_error=on_error))
        return reader

    def read(self, filename: str, offset: int) -> ArchivedResponse:
        """The record at `offset` of the WARC named `filename` in the index (unresolved)."""
        warc = self.warcs.get(filename)
        if warc is None:
            raise ArchiveReadError(filename, offset, "no such WARC among the files given to the reader")
        try:
            fh = warc.open()
        except OSError as exc:
            raise ArchiveReadError(warc.label, None, f"cannot be opened: {exc.strerror}") from None
        with fh:
            return read_at(fh, offset, label=warc.label, filename=filename)

    def get(self, capture: Capture) -> ArchivedResponse:
        """The archived response of an index line, revisits resolved."""
        return self.resolve(self.read(capture.filename, capture.offset))

    def resolve(self, revisit: ArchivedResponse) -> ArchivedResponse:
        """A revisit with the payload (and, for server-not-modified, the status and headers)
        of the capture it refers to."""
        info = revisit.revisit
        if info is None or info.original_filename is not None:
            return revisit
        if self.index is None:
            raise ArchiveReadError(
                revisit.filename, revisit.offset, "a revisit needs an index to find its original; give the reader one"
            )
        for capture in self._original_candidates(revisit, info):
            original = self.read(capture.filename, capture.offset)
            if info.target_id and original.record_id != info.target_id:
                continue
            return _combine(revisit, info, original)
        target = f"{info.target_url or revisit.url} of {info.target_date or 'an earlier date'}"
        raise ArchiveReadError(
            revisit.filename, revisit.offset,
            f"revisit of {target} (payload {revisit.payload_digest}): the original is not in the index",
        )

    def _original_candidates(self, revisit: ArchivedResponse, info: Revisit) -> list[Capture]:
        assert self.index is not None
        originals = []
        if info.target_url and info.target_date:
            ts = iso_date_to_timestamp(info.target_date)
            originals = [c for c in self.index.lookup(info.target_url, ts, ts) if c.record_type != "revisit"]
            originals.sort(key=lambda c: (c.url != info.target_url, c.digest != revisit.payload_digest))
        if not originals and revisit.payload_digest:
            # No usable WARC-Refers-To-*: the latest earlier capture with the same payload.
            earlier = self.index.lookup(info.target_url or revisit.url, to_ts=revisit.timestamp)
            originals = [
                c for c in reversed(earlier)
                if c.record_type != "revisit" and c.digest == revisit.payload_digest
            ]
        return originals


def _combine(revisit: ArchivedResponse, info: Revisit, original: ArchivedResponse) -> ArchivedResponse:
    resolved = replace(info, original_filename=original.filename, original_offset=original.offset)
    if info.not_modified or not info.has_http:
        # A 304 (or a revisit without HTTP headers) stands for the original response itself.
        status, reason, protocol, headers = original.status, original.reason, original.protocol, original.headers
    else:
        status, reason, protocol, headers = revisit.status, revisit.reason, revisit.protocol, revisit.headers
    return replace(
        revisit,
        status=status,
        reason=reason,
        protocol=protocol,
        headers=list(headers),
        body=original.body,
        payload_digest=original.payload_digest or revisit.payload_digest,
        truncated=original.truncated,
        revisit=resolved,
    )
