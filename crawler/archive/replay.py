"""Re-extraction from archived WARC/WACZ files: the JSON lines of a crawl, made again offline
with today's extraction code.

Each page of our own crawls has a WARC `metadata` record (crawler.pipeline.records.capture_metadata),
WARC-Concurrent-To the record its fetch wrote (a response, or a revisit). From the two we
rebuild the page item exactly as the live crawl had it:

- `url`, `source`, `depth`, `version`, `previous_fetched_at`: the metadata record's fields;
- `final_url`: the fetch record's WARC-Target-URI; `fetched_at`: its WARC-Date; `truncated`:
  its WARC-Truncated;
- status, content type and payload: the fetch record's, a revisit resolved to the payload of
  the response it refers to (for a 304, with the original's status and Content-Type, as the
  live crawl takes them); `warc`: that response record (file name, offset, length, id, digest).

Then `analyse_page` runs in a WorkerPool and `build_record` makes the line: the same code as
the live crawl, so a line equals the live one field for field except `extracted_at` (and
`extractor` when the code changed).

A WARC file without our metadata records (another crawler's) gives a line for every HTML
response with a 2xx, 4xx or 5xx status: url = final_url, source "replay". In our own files,
records without a metadata record (robots.txt, sitemaps, feeds, redirects, unchanged pages)
give no line.

Damaged input never stops the replay: a record that cannot be read is reported (file,
offset, what is wrong), the reader skips to the next record that starts cleanly, and every
other record is still replayed.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import IO, Any, BinaryIO

from warcio.timeutils import iso_date_to_timestamp

from storage.reader import ArchivedResponse, read_at
from storage.sources import WarcSource
from storage.warcread import ArchiveReadError, StrictRecordIterator, describe_error

SOFTWARE_PREFIX = "newsarchive/"  # warcinfo `software` of our own WARC files
FOREIGN_SOURCE = "replay"
HTML_MIMES = ("text/html", "application/xhtml+xml")
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


@dataclass(frozen=True)
class PageJob:
    """One JSON line to make: the fetch record (by id, or where it is) and the page's facts."""

    fetch_id: str | None
    where: Located | None
    source: str
    url: str | None  # as requested; None: the final URL
    depth: int = 0
    version: int = 1
    previous_fetched_at: str | None = None
    foreign: bool = False
    metadata: tuple[str, int] | None = None  # (label, offset) of the metadata record


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


# -- which pages to replay -------------------------------------------------------------------------
def _field(fields: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in fields if k == name), None)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def is_page_response(status: int | None, content_type: str | None) -> bool:
    """A foreign response that replay treats as a page: HTML, status 2xx, 4xx or 5xx."""
    mime = (content_type or "").split(";")[0].strip().lower()
    return status is not None and (200 <= status < 300 or 400 <= status < 600) and mime in HTML_MIMES


def may_be_page(item: Scanned) -> bool:
    """A foreign response or revisit that may be a page. A revisit without its own status line
    (or a 304) is known only once resolved to its original."""
    if item.rec_type == "revisit" and (item.status is None or item.status == 304):
        return True
    return is_page_response(item.status, item.content_type)


class PageFinder:
    """Reads WARC files in order and yields the pages to replay as soon as they are known.
    `locations` maps every response/revisit record id seen so far to where it is; `by_capture`
    maps (URL, 14-digit time) of the responses in other crawlers' files (whose revisits may
    name their original by WARC-Refers-To-Target-URI and -Date only)."""

    def __init__(self, warcs: dict[str, WarcSource], on_error: Callable[[ArchiveReadError], None]) -> None:
        self.warcs = warcs
        self.on_error = on_error
        self.locations: dict[str, Located] = {}
        self.by_capture: dict[tuple[str, str], Located] = {}
        self.files_done = 0
        self.finished = False

    def jobs(self) -> Iterator[PageJob]:
        waiting: dict[str, PageJob] = {}  # metadata seen before the record it describes
        described: set[str] = set()
        for name, warc in self.warcs.items():
            ours = False
            candidates: list[tuple[str | None, Located, str | None]] = []
            for item in scan_warc(warc):
                if isinstance(item, ArchiveReadError):
                    self.on_error(item)
                    continue
                if item.rec_type in ("response", "revisit"):
                    here = Located(name, item.offset, item.length)
                    if item.record_id:
                        self.locations[item.record_id] = here
                        if item.record_id in waiting:
                            yield waiting.pop(item.record_id)
                    if not ours and may_be_page(item):
                        candidates.append((item.record_id, here, item.target_uri))
                    if not ours and item.rec_type == "response" and item.target_uri and item.date:
                        self.by_capture[capture_key(item.target_uri, item.date)] = here
                elif item.rec_type == "warcinfo":
                    ours = ours or (_field(item.fields, "software") or "").startswith(SOFTWARE_PREFIX)
                elif item.rec_type == "metadata":
                    job = self._metadata_job(item, warc)
                    if job is None or job.fetch_id in described:
                        continue
                    ours = True
                    assert job.fetch_id is not None
                    described.add(job.fetch_id)
                    if job.fetch_id in self.locations:
                        yield job
                    else:
                        waiting[job.fetch_id] = job
            if not ours:
                for record_id, here, url in candidates:
                    if record_id not in described:
                        yield PageJob(fetch_id=record_id, where=here, source=FOREIGN_SOURCE, url=url, foreign=True)
            self.files_done += 1
        self.finished = True
        for job in waiting.values():
            label, offset = job.metadata or ("?", None)
            self.on_error(ArchiveReadError(
                label, offset, f"metadata record of {job.url}: the capture it describes ({job.fetch_id}) "
                "is not in the files given, or could not be read",
            ))

    @staticmethod
    def _metadata_job(item: Scanned, warc: WarcSource) -> PageJob | None:
        url = _field(item.fields, "requested-url")
        if not url or not item.concurrent_to:
            return None  # not one of ours (another crawler's metadata)
        return PageJob(
            fetch_id=item.concurrent_to[0], where=None,
            source=_field(item.fields, "source") or FOREIGN_SOURCE, url=url,
            depth=_int(_field(item.fields, "depth"), 0), version=_int(_field(item.fields, "version"), 1),
            previous_fetched_at=_field(item.fields, "previous-fetched-at"),
            metadata=(warc.label, item.offset),
        )


# -- from archived records to the page item --------------------------------------------------------
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


def _last(response: ArchivedResponse, name: str) -> str | None:
    values = response.header_values(name)
    return values[-1] if values else None  # what Scrapy's Headers.get gives


def warc_pointer(where: Located, payload: ArchivedResponse) -> dict[str, Any]:
    """The JSON line's `warc`: the response record that holds the payload."""
    return {
        "filename": PurePosixPath(where.name.rpartition("#")[2]).name,
        "offset": where.offset,
        "length": where.length,
        "record_id": payload.record_id,
        "payload_digest": payload.payload_digest,
        "record_type": "response",
    }


def decoded(response: ArchivedResponse) -> bytes:
    """The body without its Content-Encoding. Like Scrapy (whose decoding the live crawl went
    through), a stream that breaks off gives what decodes before the break."""
    try:
        return response.decoded_body()
    except ArchiveReadError:
        if response.truncated:
            raise
        return replace(response, truncated="unspecified").decoded_body()


def archived_page(records: RecordSource, job: PageJob, *, final: bool = True
                  ) -> tuple[dict[str, Any], bytes, list[tuple[str, str]]] | None:
    """The page item of one archived page (as crawler.pipeline.records.page_item makes it live), its
    decoded body and its response headers; None for a foreign record that is not a page.
    Raises ArchiveReadError when a record cannot be read or decoded, NotYetKnown when a
    revisit's original was not seen yet (and `final` is False)."""
    try:
        return _archived_page(records, job, final)
    except ArchiveReadError as exc:
        warc = records.warcs.get(exc.file)
        if warc is None:
            raise
        raise ArchiveReadError(warc.label, exc.offset, exc.problem) from None  # name the file by its path


def _archived_page(records: RecordSource, job: PageJob, final: bool
                   ) -> tuple[dict[str, Any], bytes, list[tuple[str, str]]] | None:
    where = job.where or records.locations[job.fetch_id or ""]
    fetch = records.read(where)
    if fetch.record_type == "revisit":
        assert fetch.revisit is not None
        original, payload_at = records.original(fetch, final=final)
        if fetch.revisit.not_modified or not fetch.revisit.has_http:
            # A 304: the live crawl extracts the archived payload with its own status and type.
            status, content_type = original.status, original.header("Content-Type")
            body = decoded(original)
        else:
            # Same payload bytes as the original, under this response's own headers.
            status, content_type = fetch.status, _last(fetch, "Content-Type")
            body = decoded(replace(fetch, body=original.body))
        headers = fetch.headers if fetch.revisit.has_http else original.headers
        payload = original
    elif fetch.record_type == "response":
        status, content_type, headers = fetch.status, _last(fetch, "Content-Type"), fetch.headers
        body = decoded(fetch)
        payload, payload_at = fetch, where
    else:
        raise ArchiveReadError(records.warcs[where.name].label, where.offset, f"a {fetch.record_type} record is not a capture")
    if job.foreign and not is_page_response(status, content_type):
        return None
    item = {
        "kind": "page",
        "source": job.source,
        "url": job.url or fetch.url,
        "final_url": fetch.url,
        "status": status,
        "content_type": content_type,
        "warc": warc_pointer(payload_at, payload),
        "fetched_at": fetch.date,
        "truncated": fetch.truncated,
        "depth": job.depth,
        "version": job.version,
        "previous_fetched_at": job.previous_fetched_at,
    }
    return item, body, list(headers)


# -- the replay ------------------------------------------------------------------------------------
@dataclass
class ReplayReport:
    files: int = 0
    pages: int = 0
    articles: int = 0
    problems: list[ArchiveReadError] = field(default_factory=list)
    schema_errors: list[tuple[str, list[str]]] = field(default_factory=list)
    seconds: float = 0.0


class ReplayProgress:
    """One self-updating status line on a terminal (nothing when `stream` is not a tty)."""

    def __init__(self, stream: IO[str] | None = None, *, interval: float = 0.25) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self._last = 0.0
        self._width = 0

    def show(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self.interval):
            return
        self._last = now
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def replay(
    warcs: dict[str, WarcSource],
    out: IO[str],
    *,
    options: Any,
    workers: int,
    timeout: float,
    on_problem: Callable[[ArchiveReadError], None] | None = None,
    progress: ReplayProgress | None = None,
    fallback: Callable[[], Any] | None = None,
) -> ReplayReport:
    """Replay every page of these WARC files into JSON lines written to `out`. Uses a pool of
    `workers` extraction processes; reading and extraction overlap."""
    return asyncio.run(_replay(warcs, out, options=options, workers=workers, timeout=timeout,
                               on_problem=on_problem, progress=progress, fallback=fallback))


async def _replay(warcs: dict[str, WarcSource], out: IO[str], *, options: Any, workers: int, timeout: float,
                  on_problem: Callable[[ArchiveReadError], None] | None, progress: ReplayProgress | None,
                  fallback: Callable[[], Any] | None) -> ReplayReport:
    from crawler.extract.article import EXTRACTOR_VERSION
    from crawler.pipeline.records import analyse_item, build_record, extractor_info
    from crawler.pipeline.workers import WorkerPool
    from storage.schema import schema_errors

    report = ReplayReport(files=len(warcs))
    started = time.monotonic()
    progress = progress or ReplayProgress(io.StringIO())

    def problem(exc: ArchiveReadError) -> None:
        report.problems.append(exc)
        progress.clear()
        if on_problem is not None:
            on_problem(exc)

    finder = PageFinder(warcs, problem)
    records = RecordSource(warcs, finder.locations, finder.by_capture, fallback)
    extractor = extractor_info(EXTRACTOR_VERSION)
    pool = WorkerPool(workers, timeout)
    window: deque[asyncio.Task[dict[str, Any]]] = deque()
    deferred: list[PageJob] = []

    def status() -> str:
        rate = report.pages / max(time.monotonic() - started, 1e-6)
        where = f"file {min(finder.files_done + 1, len(warcs))}/{len(warcs)}" if not finder.finished else "finishing"
        return (f"replay: {report.pages} pages ({report.articles} articles), {len(report.problems)} problems, "
                f"{rate:.1f} pages/s, {where}")

    async def write_oldest() -> None:
        item = await window.popleft()
        record = build_record(item, extractor)
        errors = schema_errors(record)
        if errors:
            report.schema_errors.append((record["url"], errors))
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        report.pages += 1
        report.articles += record["reason"] is None
        progress.show(status())

    async def submit(job: PageJob, final: bool) -> None:
        try:
            page = archived_page(records, job, final=final)
        except NotYetKnown:
            deferred.append(job)
            return
        except ArchiveReadError as exc:
            problem(exc)
            return
        if page is None:
            return
        item, body, headers = page
        window.append(asyncio.ensure_future(analyse_item(pool, item, body, headers, options)))
        while len(window) > 2 * workers + 2:
            await write_oldest()

    try:
        for job in finder.jobs():
            await submit(job, final=False)
        later, deferred[:] = deferred[:], []
        for job in later:  # revisits whose original came later in the files
            await submit(job, final=True)
        while window:
            await write_oldest()
    finally:
        for task in window:
            task.cancel()
        records.close()
        pool.close()
        progress.clear()
    report.seconds = time.monotonic() - started
    return report
