"""Reading archived records back: one record by file and offset, or a capture found in a CDXJ
index, with revisit records resolved to the payload they point at. WARC files (gzip or not) and
WACZ files (the WARCs under `archive/` in the zip, read in place) are both accepted.

Reading is strict where warcio is lenient: a record that is not WARC, a record cut short by
a truncated file, or gzip data that does not decompress raises ArchiveReadError naming the file
and the offset, instead of yielding an empty or partial record.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import itertools
import json
import os
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import brotli
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.limitreader import LimitReader
from warcio.timeutils import iso_date_to_timestamp

from storage.cdxj import Capture, CdxjIndex, index_warcs

WARC_SUFFIXES = (".warc", ".warc.gz")
WACZ_SUFFIX = ".wacz"
_WACZ_ARCHIVE = "archive/"
_WACZ_INDEXES = ("indexes/index.cdxj", "indexes/index.cdx.gz", "indexes/index.cdx")
_REPLAYABLE = ("response", "revisit", "resource")
_INDEX_VERSION = "1"  # bump to invalidate cached indexes when the index format changes


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


# -- one record ----------------------------------------------------------------------------------
class StrictRecordIterator(ArchiveIterator):
    """warcio's ArchiveIterator that refuses what it would otherwise pass over: data that is
    not WARC (which it may parse as ARC), records without a Content-Length, and records whose
    block or gzip member ends early. `label` names the file in errors; `record_start` is the
    offset of the record being read (warcio's own offset can run negative in a damaged file)."""

    def __init__(self, fileobj: BinaryIO, label: str, *, undecoded_content: bool = False, **kwargs: object) -> None:
        self.label = label
        self.undecoded_content = undecoded_content
        super().__init__(fileobj, **kwargs)
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
            record.content_stream = functools.partial(_payload_stream, record)
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


def _payload_stream(record) -> BinaryIO:  # type: ignore[no-untyped-def]
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

    def decoded_body(self) -> bytes:
        """The body with its Content-Encoding (gzip, deflate, br, in any combination) removed.
        A truncated body gives what decodes; an unknown or broken encoding raises
        ArchiveReadError."""
        codings = [
            c.strip().lower()
            for value in self.header_values("Content-Encoding")
            for c in value.split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        data = self.body
        for coding in reversed(codings):
            try:
                data = _decode(coding, data, partial_ok=bool(self.truncated))
            except (zlib.error, brotli.error, ValueError) as exc:
                raise ArchiveReadError(
                    self.filename, self.offset, f"body does not decode as Content-Encoding {coding!r}: {exc}"
                ) from None
        return data


def _decode(coding: str, data: bytes, *, partial_ok: bool) -> bytes:
    if coding in ("gzip", "x-gzip"):
        members = []
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            members.append(d.decompress(data))
            if not d.eof:
                if partial_ok:
                    break
                raise ValueError("gzip stream ends early")
            data = d.unused_data.lstrip(b"\x00")
        return b"".join(members)
    if coding == "deflate":
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # zlib-wrapped as specified, or raw
            d = zlib.decompressobj(wbits)
            try:
                out = d.decompress(data)
            except zlib.error:
                continue
            if d.eof or partial_ok:
                return out
        raise ValueError("not a deflate stream")
    if coding == "br":
        if partial_ok:
            d = brotli.Decompressor()
            return d.process(data)
        return brotli.decompress(data)
    raise ValueError("unsupported encoding")


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
        body = _payload_stream(record).read()
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


# -- where WARCs live ----------------------------------------------------------------------------
class _Slice(io.RawIOBase):
    """A window [start, start+size) of a file, positions relative to the window (a WARC stored
    uncompressed inside a zip, read in place)."""

    def __init__(self, fh: BinaryIO, start: int, size: int) -> None:
        super().__init__()
        self._fh, self._start, self._size, self._pos = fh, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._fh.close()
        super().close()


class _ZipMember(io.RawIOBase):
    """A compressed zip member (rare in WACZ): seekable through zipfile, slower."""

    def __init__(self, path: Path, member: str) -> None:
        super().__init__()
        self._zip = zipfile.ZipFile(path)
        self._fh = self._zip.open(member)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self._fh.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        return self._fh.seek(pos, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()
        self._zip.close()
        super().close()


@dataclass(frozen=True)
class WarcSource:
    """One WARC: a file, or a member of a WACZ. `name` is its filename in index lines."""

    name: str
    path: Path  # the WARC, or the WACZ that holds it
    member: str | None = None  # "archive/....warc.gz" inside the WACZ
    data_start: int | None = None  # stored (uncompressed) member: where its bytes start
    size: int | None = None

    @property
    def label(self) -> str:
        """How errors name it: the file path, `<wacz path>!<member>` inside a WACZ."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def open(self) -> BinaryIO:
        if self.member is None:
            return open(self.path, "rb")
        if self.data_start is not None and self.size is not None:
            return _Slice(open(self.path, "rb"), self.data_start, self.size)  # type: ignore[return-value]
        return _ZipMember(self.path, self.member)  # type: ignore[return-value]


def _wacz_members(path: Path, prefix: str) -> list[WarcSource]:
    """The WARCs of a WACZ, named `<prefix>#<path under archive/>`."""
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
            found = []
            for info in zf.infolist():
                name = info.filename
                if not (name.startswith(_WACZ_ARCHIVE) and name.endswith(WARC_SUFFIXES)):
                    continue
                start = None
                if info.compress_type == zipfile.ZIP_STORED:
                    raw.seek(info.header_offset)
                    header = raw.read(30)
                    if header[:4] != b"PK\x03\x04":
                        raise ArchiveSourceError(f"{path}: bad zip entry for {name}")
                    name_len, extra_len = struct.unpack("<HH", header[26:30])
                    start = info.header_offset + 30 + name_len + extra_len
                found.append(WarcSource(
                    name=f"{prefix}#{name[len(_WACZ_ARCHIVE):]}", path=path, member=name,
                    data_start=start, size=info.file_size,
                ))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveSourceError(f"{path}: not a readable WACZ (zip) file: {exc}") from None
    return found


def find_warcs(sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> dict[str, WarcSource]:
    """The WARCs in these files and folders (folders searched recursively; `.open` files still
    being written are left out), by the name their index lines carry: the path relative to the
    folder given, the file name of a file given, `<file>.wacz#<path under archive/>` in a WACZ."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    found: dict[str, WarcSource] = {}

    def add(item: WarcSource) -> None:
        old = found.get(item.name)
        if old is None:
            found[item.name] = item
        elif (old.path.resolve(), old.member) != (item.path.resolve(), item.member):
            raise ArchiveSourceError(
                f"two different WARC files would both be named {item.name!r} in the index "
                f"({old.label} and {item.label}); give them as separate folders or rename one"
            )

    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    rel = file.relative_to(path).as_posix()
                    if file.name.endswith(WARC_SUFFIXES):
                        add(WarcSource(rel, file))
                    elif file.name.endswith(WACZ_SUFFIX):
                        for member in _wacz_members(file, rel):
                            add(member)
        elif path.is_file():
            if path.name.endswith(WARC_SUFFIXES):
                add(WarcSource(path.name, path))
            elif path.name.endswith(WACZ_SUFFIX):
                for member in _wacz_members(path, path.name):
                    add(member)
            else:
                raise ArchiveSourceError(f"{path}: not a WARC or WACZ file (expected .warc, .warc.gz or .wacz)")
        else:
            raise ArchiveSourceError(f"{path} does not exist")
    return found


# -- indexes of sources --------------------------------------------------------------------------
def _wacz_index(path: Path) -> str | None:
    """The member holding the WACZ's own CDXJ index, or None when it has none we can use
    (legacy CDX, damaged): then its WARCs are indexed instead."""
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for member in (n for n in _WACZ_INDEXES if n in names):
            first = next(_wacz_index_raw_lines(zf, member), None)
            try:
                if first is not None:
                    Capture.from_line(first)
                    return member
            except ValueError:
                pass
    return None


def _wacz_index_raw_lines(zf: zipfile.ZipFile, member: str) -> Iterator[str]:
    with zf.open(member) as raw:
        # index.cdx.gz is gzip blocks of sorted lines, one after the other (ZipNum): one stream
        stream = gzip.GzipFile(fileobj=raw) if member.endswith(".gz") else raw
        for line in io.TextIOWrapper(stream, encoding="utf-8"):
            if line.strip() and not line.startswith("!"):
                yield line


def _wacz_index_lines(path: Path, member: str, prefix: str) -> Iterator[str]:
    """The WACZ's index lines, streamed, with filenames renamed `<prefix>#<file>`."""
    with zipfile.ZipFile(path) as zf:
        for number, line in enumerate(_wacz_index_raw_lines(zf, member), 1):
            try:
                Capture.from_line(line)
                key, ts, blob = line.rstrip("\r\n").split(" ", 2)
                data = json.loads(blob)
            except ValueError as exc:
                raise ArchiveReadError(f"{path}!{member}", None, f"index line {number} is damaged: {exc}") from None
            data["filename"] = f"{prefix}#{data['filename']}"
            yield f"{key} {ts} {json.dumps(data)}\n"


def index_sources(
    warcs: dict[str, WarcSource], out: Path, *, on_error: Callable[[Exception], None] | None = None
) -> int:
    """One sorted CDXJ index of these WARCs at `out` (a WACZ's own index is used when it has
    one); returns the line count. Errors as in storage.cdxj.index_warcs."""
    lines: list[Iterable[str]] = []
    to_index: list[WarcSource] = []
    by_wacz: dict[tuple[Path, str], list[WarcSource]] = {}
    for warc in warcs.values():
        if warc.member is None:
            to_index.append(warc)
        else:
            prefix = warc.name.removesuffix("#" + warc.member.removeprefix(_WACZ_ARCHIVE))
            by_wacz.setdefault((warc.path, prefix), []).append(warc)
    for (path, prefix), members in by_wacz.items():
        member = _wacz_index(path)
        if member is None:
            to_index.extend(members)
        else:
            lines.append(_wacz_index_lines(path, member, prefix))
    return index_warcs(to_index, out, lines=itertools.chain.from_iterable(lines), on_error=on_error)


def _manifest(warcs: dict[str, WarcSource]) -> list[list[object]]:
    rows: list[list[object]] = []
    for name in sorted(warcs):
        stat = warcs[name].path.stat()
        rows.append([name, str(warcs[name].path.resolve()), warcs[name].member, stat.st_size, stat.st_mtime_ns])
    return rows


def cached_index(
    warcs: dict[str, WarcSource],
    cache_dir: Path,
    *,
    key: str | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> Path:
    """The index of these WARCs in `cache_dir`, rebuilt only when a file was added, removed or
    changed since it was built. `key` names the sources (default: the files themselves), so
    the same sources always use the same cache file. An index built with read errors is not
    kept for reuse, so the errors are reported again next time."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"version": _INDEX_VERSION, "files": _manifest(warcs)}
    ident = hashlib.sha1((key or json.dumps([r[1:3] for r in manifest["files"]])).encode()).hexdigest()[:16]
    index = cache_dir / f"replay-{ident}.cdxj"
    manifest_file = cache_dir / f"replay-{ident}.json"
    try:
        if json.loads(manifest_file.read_text(encoding="utf-8")) == manifest and index.is_file():
            return index
    except (OSError, ValueError):
        pass
    manifest_file.unlink(missing_ok=True)
    errors: list[Exception] = []

    def failed(exc: Exception) -> None:
        errors.append(exc)
        if on_error is None:
            raise exc
        on_error(exc)

    index_sources(warcs, index, on_error=failed)
    if not errors:
        tmp = manifest_file.with_name(manifest_file.name + ".tmp")
        tmp.write_text(json.dumps(manifest), encoding="utf-8")
        os.replace(tmp, manifest_file)
    return index


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
