"""CDXJ index: one line per capture, in exactly the format cdxj-indexer writes, sorted, and
looked up by binary search over the file on disk.

    com,example)/news?id=1 20240307120000 {"url": "...", "mime": "text/html", "status": "200",
        "digest": "sha1:...", "length": "1234", "offset": "5678", "filename": "news-....warc.gz"}

Lines are built by the cdxj_indexer library (`CDXJIndexer`, post-append mode as `wacz create`
and pywb use it: a POST/PUT capture is keyed `...?__wb_method=post&<form data>` and carries
`method` and `requestBody`, so it never answers a GET). Revisit records are listed with mime
`warc/revisit`; request, warcinfo and `application/warc-fields` metadata records are not.

The index is sorted as plain strings (code point order, the same as `LC_ALL=C sort` on the UTF-8
bytes), so every line of one URL key is in one contiguous block, ordered by timestamp.
"""

from __future__ import annotations

import calendar
import contextlib
import heapq
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, BinaryIO, Protocol

import surt
from warcio.archiveiterator import ArchiveIterator

from storage.warc import WrittenRecord
from storage.warcread import ArchiveReadError, StrictRecordIterator, describe_error


@contextlib.contextmanager
def _pkg_resources_refused() -> Iterator[None]:
    """cdxj-indexer imports pyamf (for AMF request bodies), which asks pkg_resources for its own
    folder when pkg_resources can be imported and takes the folder of its __file__ otherwise: the
    same folder. Importing pkg_resources scans every installed distribution, 0.15-0.25 s of every
    command that indexes (each crawl's start-up among them), so it is refused meanwhile."""
    if "pkg_resources" in sys.modules:
        yield
        return
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        yield
    finally:
        if "pkg_resources" in sys.modules and sys.modules["pkg_resources"] is None:
            del sys.modules["pkg_resources"]


# cdxj-indexer is imported here only: storage.wacz takes CompressedWriter from this module
with _pkg_resources_refused():
    from cdxj_indexer.bufferiter import concur_req_resp, join_req_resp
    from cdxj_indexer.main import CDXJIndexer, CompressedWriter, SortingWriter  # noqa: F401
    from cdxj_indexer.postquery import append_method_query

REVISIT_MIME = "warc/revisit"
# Methods whose request body goes into the key (cdxj-indexer's post-append mode)
BODY_KEYED_METHODS = ("POST", "PUT")
# Lines are sorted in memory up to this many characters, then in sorted runs on disk that are
# merged (cdxj-indexer's SortingWriter): about 1.3x this in RAM at most, whatever the archive size.
SORT_BUFFER_CHARS = 32 * 1024 * 1024
_TS_RE = re.compile(r"[0-9]{4,14}")


class CdxjFormatError(ValueError):
    """A line of a CDXJ index cannot be used (or the file is not sorted)."""

    def __init__(self, path: Path, offset: int, problem: str) -> None:
        self.path = path
        self.offset = offset
        super().__init__(
            f"{path}: bad index line at byte {offset}: {problem}; "
            "rebuild the index from the WARC files (storage.cdxj.index_warcs)"
        )


@dataclass(frozen=True)
class Capture:
    """One index line. `record_type` is read off the line: "revisit" (mime warc/revisit),
    "response" (has an HTTP status) or "resource" (no status: a resource or metadata record,
    or a response record without HTTP headers)."""

    urlkey: str
    timestamp: str  # 14 digits, UTC
    url: str
    mime: str | None
    status: int | None
    digest: str | None
    length: int
    offset: int
    filename: str
    record_type: str
    method: str | None = None  # only for POST/PUT captures (post-append)
    request_body: str | None = None
    # Only in indexes built with extra fields (cdxj-indexer -f warc-refers-to-target-uri,...).
    refers_to_url: str | None = None
    refers_to_date: str | None = None

    @classmethod
    def from_line(cls, line: str) -> Capture:
        """Parse one line; ValueError (with what is wrong) when it is not a CDXJ line."""
        parts = line.rstrip("\r\n").split(" ", 2)
        if len(parts) != 3:
            raise ValueError("expected '<urlkey> <timestamp> <json>'")
        key, ts, blob = parts
        if not (len(ts) == 14 and ts.isascii() and ts.isdigit()):
            raise ValueError(f"timestamp {ts[:20]!r} is not 14 digits")
        try:
            data = json.loads(blob)
        except json.JSONDecodeError as exc:
            raise ValueError(f"JSON block does not parse ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValueError("JSON block is not an object")
        try:
            length, offset, filename = int(data["length"]), int(data["offset"]), str(data["filename"])
        except KeyError as exc:
            raise ValueError(f"JSON block has no {exc.args[0]!r}") from None
        except (TypeError, ValueError):
            raise ValueError("length/offset are not integers") from None
        status_text = str(data.get("status") or "")
        status = int(status_text) if status_text.isdigit() else None
        mime = data.get("mime")
        if mime == REVISIT_MIME:
            record_type = "revisit"
        else:
            record_type = "response" if status is not None else "resource"
        return cls(
            urlkey=key,
            timestamp=ts,
            url=str(data.get("url") or ""),
            mime=mime,
            status=status,
            digest=data.get("digest"),
            length=length,
            offset=offset,
            filename=filename,
            record_type=record_type,
            method=data.get("method"),
            request_body=data.get("requestBody"),
            refers_to_url=data.get("warc-refers-to-target-uri"),
            refers_to_date=data.get("warc-refers-to-date"),
        )


# -- keys and timestamps --------------------------------------------------------------------------
def url_key(url: str, method: str = "GET", body: bytes = b"", content_type: str | None = None) -> str:
    """The SURT key cdxj-indexer gives a capture of `url` (post-append mode for POST/PUT)."""
    method = method.upper()
    if method in BODY_KEYED_METHODS:
        _query, append = append_method_query(method, content_type, len(body), BytesIO(body), url)
        url += append
    try:
        return surt.surt(url)
    except Exception:  # noqa: BLE001 - cdxj-indexer keeps such URLs unchanged: so must we
        return url


def check_timestamp(ts: str) -> str:
    """A 4 to 14 digit timestamp prefix (yyyy[MM[dd[hh[mm[ss]]]]]), stripped; ValueError if not."""
    text = str(ts).strip()
    if not _TS_RE.fullmatch(text):
        raise ValueError(
            f"timestamp {ts!r}: expected 4 to 14 digits, yyyy[MM[dd[hh[mm[ss]]]]], "
            "e.g. '2024', '20240307' or '20240307120000'"
        )
    return text


def timestamp_seconds(ts: str) -> int:
    """Seconds since the epoch of a (possibly partial) timestamp, taken at the start of the period
    it names; out-of-range fields are clamped (so "2024023" is still a date in February)."""
    text = check_timestamp(ts).ljust(14, "0")
    year, month = int(text[0:4]), min(max(int(text[4:6]), 1), 12)
    day = min(max(int(text[6:8]), 1), calendar.monthrange(year, month)[1])
    hour, minute, second = min(int(text[8:10]), 23), min(int(text[10:12]), 59), min(int(text[12:14]), 59)
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def by_closeness(captures: Iterable[Capture], ts: str | None = None) -> list[Capture]:
    """Captures ordered best first: nearest in time to `ts` (the earlier one on a tie), or the
    latest first when `ts` is None."""
    items = list(captures)
    if ts is None:
        return sorted(items, key=lambda c: c.timestamp, reverse=True)
    target = timestamp_seconds(ts)
    return sorted(items, key=lambda c: (abs(timestamp_seconds(c.timestamp) - target), c.timestamp))


# -- reading a sorted index -----------------------------------------------------------------------
class CdxjIndex:
    """One sorted CDXJ file, or several merged at query time. Every query is a binary search
    over the file on disk (a seek and a readline per step), so it costs O(log lines) whatever the
    size; nothing is loaded up front. Thread-safe: each query opens its own file handles.

    With `strict` a malformed line met by a query raises CdxjFormatError; otherwise it is
    skipped and counted in `skipped_lines`.
    """

    def __init__(self, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, strict: bool = True) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = tuple(Path(p) for p in paths)
        for path in self.paths:
            if not path.is_file():
                raise FileNotFoundError(f"CDXJ index {path} does not exist (build it with index_warcs)")
        self.strict = strict
        self.skipped_lines = 0

    def lookup(self, url: str, from_ts: str | None = None, to_ts: str | None = None) -> list[Capture]:
        """Captures of `url` (any scheme, www. or not, query order...: same SURT key), oldest
        first, with from_ts <= timestamp and timestamp's prefix <= to_ts (both 4 to 14 digits)."""
        return self.lookup_key(url_key(url), from_ts, to_ts)

    def lookup_key(self, urlkey: str, from_ts: str | None = None, to_ts: str | None = None) -> list[Capture]:
        start = urlkey + " "
        low = start + check_timestamp(from_ts).ljust(14, "0") if from_ts else start
        upper = check_timestamp(to_ts) if to_ts else None
        found: list[Capture] = []
        for path in self.paths:
            for capture in self._scan(path, low.encode("utf-8"), start.encode("utf-8")):
                if upper is not None and capture.timestamp[: len(upper)] > upper:
                    break
                found.append(capture)
        if len(self.paths) > 1:
            found.sort(key=lambda c: c.timestamp)
        return found

    def closest(self, url: str, ts: str | None = None) -> Capture | None:
        """The capture nearest in time to `ts` (taken at the start of the period a partial
        timestamp names), or the latest when `ts` is None."""
        ranked = by_closeness(self.lookup(url), ts)
        return ranked[0] if ranked else None

    def prefix(self, url_prefix: str) -> Iterator[Capture]:
        """Captures of every URL whose SURT key starts with that of `url_prefix`
        (e.g. "https://example.com/news/"), by key then time."""
        return self.prefix_key(url_key(url_prefix))

    def prefix_key(self, key_prefix: str) -> Iterator[Capture]:
        needle = key_prefix.encode("utf-8")
        scans = [self._scan(path, needle, needle) for path in self.paths]
        if len(scans) == 1:
            return scans[0]
        return heapq.merge(*scans, key=lambda c: (c.urlkey, c.timestamp))

    def __iter__(self) -> Iterator[Capture]:
        return self.prefix_key("")

    # -- internals -------------------------------------------------------------------------------
    def _scan(self, path: Path, low: bytes, must_start: bytes) -> Iterator[Capture]:
        """Lines >= `low` that start with `must_start`, parsed, in file order."""
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            pos = _first_line_at_least(fh, size, low)
            fh.seek(pos)
            previous = b""
            while True:
                line = fh.readline()
                if not line or not line.startswith(must_start):
                    return
                if line.startswith(b"!"):  # a header line ("!meta ...") sorts first: not a capture
                    pos += len(line)
                    continue
                if line < previous:
                    raise CdxjFormatError(path, pos, "the index is not sorted")
                previous = line
                try:
                    capture = Capture.from_line(line.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    if self.strict:
                        raise CdxjFormatError(path, pos, str(exc)) from None
                    self.skipped_lines += 1
                else:
                    yield capture
                pos += len(line)


def _line_start_after(fh: BinaryIO, pos: int) -> int:
    """Offset of the first line that starts at or after `pos`."""
    if pos == 0:
        fh.seek(0)
        return 0
    fh.seek(pos - 1)
    fh.readline()
    return fh.tell()


def _first_line_at_least(fh: BinaryIO, size: int, target: bytes) -> int:
    """Offset of the first line >= target (bytes compare) in a sorted file, or `size`."""
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        start = _line_start_after(fh, mid)
        line = fh.readline() if start < size else b""
        if not line or line >= target:
            hi = mid
        else:
            lo = start + len(line)  # every line starting before here is < target
    return _line_start_after(fh, lo) if lo < size else size


# -- building an index -----------------------------------------------------------------------------
class NamedWarc(Protocol):
    """A WARC to index: `name` goes in the index's filename field, `label` in error messages."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    def open(self) -> BinaryIO: ...


@dataclass(frozen=True)
class WarcFile:
    path: Path
    name: str

    @property
    def label(self) -> str:
        return str(self.path)

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


class _LineCounter:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lines = 0

    def write(self, line: str) -> None:
        self.out.write(line)
        self.lines += 1

    def flush(self) -> None:
        self.out.flush()


def index_warcs(
    paths: Iterable[Path | NamedWarc],
    out: Path,
    *,
    dir_root: Path | None = None,
    lines: Iterable[str] = (),
    on_error: Callable[[Exception], None] | None = None,
    sort_buffer_chars: int = SORT_BUFFER_CHARS,
) -> int:
    """Index WARC files into one sorted CDXJ file at `out` (written to a temporary file and
    renamed, so readers never see half an index); returns the number of lines.

    The filename field is the path relative to `dir_root` when given, else the file name (a
    WARC in the archive's warc/ folder). `lines` are ready-made index lines merged in (e.g. a
    WACZ's own index). A file that cannot be read raises storage.warcread.ArchiveReadError naming
    it and the offset; with `on_error` the lines of its records before that point are kept,
    `on_error(error)` is called, and the other files are still indexed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    sink: SortingWriter | None = None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            counter = _LineCounter(fh)
            sink = SortingWriter(counter, sort_buffer_chars)
            for line in lines:
                sink.write(line if line.endswith("\n") else line + "\n")
            for item in paths:
                warc = _named(item, dir_root)
                try:
                    _index_one(warc, sink)
                except ArchiveReadError as exc:
                    if on_error is None:
                        raise
                    on_error(exc)
            sink.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        for run in sink.tmp_files if sink else ():  # sorted runs spilled to disk, not yet merged
            Path(run).unlink(missing_ok=True)
        raise
    return counter.lines


def _named(item: Path | NamedWarc, dir_root: Path | None) -> NamedWarc:
    if not isinstance(item, (str, os.PathLike)):
        return item
    path = Path(item)
    name = path.relative_to(dir_root).as_posix() if dir_root else path.name
    return WarcFile(path, name)


class _Indexer(CDXJIndexer):
    """cdxj-indexer over our strict record iterator, closing the temporary files it leaves open."""

    def __init__(self, warc: NamedWarc) -> None:
        super().__init__(None, [], post_append=True, filename=warc.name)
        self.warc = warc
        self.label = warc.label
        self.iterator: Any = None

    def _create_record_iter(self, input_: BinaryIO) -> ArchiveIterator:
        self.iterator = StrictRecordIterator(
            input_, self.label, undecoded_content=True, no_record_parse=not self.record_parse,
            arc2warc=True, verify_http=self.verify_http,
        )
        return self.iterator  # type: ignore[no-any-return]

    def process_index_entry(self, it, record, filename, output):  # type: ignore[no-untyped-def]
        try:
            super().process_index_entry(it, record, filename, output)
        finally:
            # A record without WARC-Payload-Digest gets one computed by warcio, which swaps its
            # stream for a temporary file that nobody closes.
            if hasattr(record, "_orig_stream"):
                record.raw_stream.close()

    def close(self) -> None:
        """Its digest writer's buffer, and the buffered content of the records it was holding
        when a damaged file stopped it."""
        if self.writer is not None:
            self.writer.out.close()
        for record in self.iterator.recent if self.iterator else ():
            if getattr(record, "buffered_stream", None) is not None:
                record.buffered_stream.close()


@dataclass(frozen=True)
class _InMemory:
    name: str
    data: bytes

    @property
    def label(self) -> str:
        return f"{self.name} (records being written)"

    def open(self) -> BinaryIO:
        return BytesIO(self.data)


class _WrittenIndexer(_Indexer):
    """Indexes uncompressed records held in memory, giving each line the offset and length of
    the record's gzip member in the file."""

    def __init__(self, warc: _InMemory, places: dict[int, tuple[int, int]]) -> None:
        super().__init__(warc)
        self.places = places

    def get_field(self, record, name, it, filename):  # type: ignore[no-untyped-def]
        if name in ("offset", "length"):
            offset, length = self.places[record.file_offset]
            return str(offset if name == "offset" else length)
        return super().get_field(record, name, it, filename)


def index_written(records: list[WrittenRecord], filename: str) -> list[str]:
    """The index lines of records just written to the WARC file `filename` (a response and its
    request, say): the lines indexing the file would give, without reading it back. Made from
    warcio's record objects when they are in hand, else from the bytes (parsed as the file's
    would be). Raises ArchiveReadError if the bytes cannot be parsed."""
    if _HeldRecordIndexer.can_index(records):
        return _HeldRecordIndexer(filename).lines(records)
    places, start = {}, 0
    for record in records:
        places[start] = (record.offset, record.length)
        start += len(record.data)
    lines: list[str] = []
    sink = SimpleNamespace(write=lines.append)
    indexer = _WrittenIndexer(_InMemory(filename, b"".join(r.data for r in records)), places)
    _run_indexer(indexer, sink)
    return lines


class _HeldRecordIndexer(CDXJIndexer):
    """Index lines of records held as the warcio objects they were written from, made by the
    library's own per-record code (pairing a request with its response, filtering, fields), as
    `process_one` makes them once it has read the records back, without that reading and
    parsing (about 1 ms of the crawler's CPU a page). Only for records whose lines need nothing
    but their headers (no POST/PUT request: its body goes into the key; no digest to compute),
    and whose headers read back from the file would be the same text (ASCII, trimmed)."""

    def __init__(self, filename: str) -> None:
        super().__init__(None, [], post_append=True, filename=filename)
        self.curr_filename = filename

    @staticmethod
    def can_index(records: list[WrittenRecord]) -> bool:
        for written in records:
            record = written.record
            if record is None or not all(map(_reads_back_the_same, _header_texts(record))):
                return False
            if not record.rec_headers.get_header("WARC-Target-URI", "").startswith(("http:", "https:")):
                return False  # warcio reads HTTP headers only under these (case-sensitive) schemes
            if record.rec_type == "request":
                if record.http_headers is None or record.http_headers.protocol.upper() in BODY_KEYED_METHODS:
                    return False
            elif not record.rec_headers.get_header("WARC-Payload-Digest"):
                return False
        return True

    def lines(self, records: list[WrittenRecord]) -> list[str]:
        held = [written.record for written in records]
        for record, written in zip(held, records):
            record.file_offset, record.file_length = written.offset, written.length
        previous = None  # paired as buffering_record_iter pairs them
        for record in held:
            request, response = concur_req_resp(previous, record)
            if request and response:
                join_req_resp(request, response, self.post_append, self.get_url_key)
            previous = None if request else record
        lines: list[str] = []
        sink = SimpleNamespace(write=lines.append)
        for record in held:
            if self.filter_record(record):
                self.process_index_entry(None, record, self.curr_filename, sink)
        return lines


def _header_texts(record: Any) -> Iterator[str]:
    for headers in (record.rec_headers, record.http_headers):
        if headers is not None:
            yield headers.protocol
            yield headers.statusline
            for name, value in headers.headers:
                yield name
                yield value


def _reads_back_the_same(text: str) -> bool:
    """warcio writes a header as ASCII (percent-encoding the rest) and trims what it parses."""
    return text.isascii() and text == text.strip() and "\n" not in text and "\r" not in text


def _index_one(warc: NamedWarc, sink: SortingWriter) -> None:
    _run_indexer(_Indexer(warc), sink)


def _run_indexer(indexer: _Indexer, sink: Any) -> None:
    warc = indexer.warc
    try:
        with warc.open() as fh:
            indexer.process_one(fh, sink, warc.name)
    except ArchiveReadError:
        raise
    except OSError as exc:
        raise ArchiveReadError(warc.label, None, f"cannot be read: {exc}") from exc
    except Exception as exc:  # warcio/zlib/parsing errors of a damaged file
        offset = indexer.iterator.record_start if indexer.iterator else 0
        raise ArchiveReadError(warc.label, offset, describe_error(exc)) from exc
    finally:
        indexer.close()
