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
offset, what is wrong), the scanner (storage.scan) skips to the next record that starts
cleanly, and every other record is still replayed.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import IO, Any

from crawler import meta
from storage.decoding import DecodedTooLarge
from storage.reader import ArchivedResponse
from storage.scan import Located, NotYetKnown, RecordSource, Scanned, capture_key, scan_warc
from storage.sources import WarcSource
from storage.warcread import ArchiveReadError

SOFTWARE_PREFIX = "newsarchive/"  # warcinfo `software` of our own WARC files
FOREIGN_SOURCE = "replay"
HTML_MIMES = ("text/html", "application/xhtml+xml")


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


def decoded(response: ArchivedResponse, max_bytes: int = 0) -> bytes:
    """The body without its Content-Encoding. Like Scrapy (whose decoding the live crawl went
    through), a stream that breaks off gives what decodes before the break; and like the live
    crawl, one that decodes past `max_bytes` (ARCHIVE_MAX_DECODED_BYTES) raises DecodedTooLarge."""
    try:
        return response.decoded_body(max_bytes)
    except ArchiveReadError:
        if response.truncated:
            raise
        return replace(response, truncated="unspecified").decoded_body(max_bytes)


def _decoded_within(response: ArchivedResponse, max_bytes: int) -> tuple[bytes, bool]:
    """(body, whether it decodes past max_bytes: then empty, as in the live crawl)."""
    try:
        return decoded(response, max_bytes), False
    except DecodedTooLarge:
        return b"", True


def archived_page(records: RecordSource, job: PageJob, *, final: bool = True, max_decoded: int = 0
                  ) -> tuple[dict[str, Any], bytes, list[tuple[str, str]]] | None:
    """The page item of one archived page (as crawler.pipeline.records.page_item makes it live), its
    decoded body and its response headers; None for a foreign record that is not a page.
    Raises ArchiveReadError when a record cannot be read or decoded, NotYetKnown when a
    revisit's original was not seen yet (and `final` is False)."""
    try:
        return _archived_page(records, job, final, max_decoded)
    except ArchiveReadError as exc:
        warc = records.warcs.get(exc.file)
        if warc is None:
            raise
        raise ArchiveReadError(warc.label, exc.offset, exc.problem) from None  # name the file by its path


def _archived_page(records: RecordSource, job: PageJob, final: bool, max_decoded: int
                   ) -> tuple[dict[str, Any], bytes, list[tuple[str, str]]] | None:
    where = job.where or records.locations[job.fetch_id or ""]
    fetch = records.read(where)
    if fetch.record_type == "revisit":
        assert fetch.revisit is not None
        original, payload_at = records.original(fetch, final=final)
        if fetch.revisit.not_modified or not fetch.revisit.has_http:
            # A 304: the live crawl extracts the archived payload with its own status and type.
            status, content_type = original.status, original.header("Content-Type")
            body, too_large = _decoded_within(original, max_decoded)
        else:
            # Same payload bytes as the original, under this response's own headers.
            status, content_type = fetch.status, _last(fetch, "Content-Type")
            body, too_large = _decoded_within(replace(fetch, body=original.body), max_decoded)
        headers = fetch.headers if fetch.revisit.has_http else original.headers
        payload = original
    elif fetch.record_type == "response":
        status, content_type, headers = fetch.status, _last(fetch, "Content-Type"), fetch.headers
        body, too_large = _decoded_within(fetch, max_decoded)
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
        **({"reason": meta.TOO_LARGE, "error": meta.TOO_LARGE_TO_DECODE} if too_large else {}),
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
    max_decoded: int = 0,
) -> ReplayReport:
    """Replay every page of these WARC files into JSON lines written to `out`. Uses a pool of
    `workers` extraction processes; reading and extraction overlap."""
    return asyncio.run(_replay(warcs, out, options=options, workers=workers, timeout=timeout,
                               max_decoded=max_decoded, on_problem=on_problem, progress=progress, fallback=fallback))


async def _replay(warcs: dict[str, WarcSource], out: IO[str], *, options: Any, workers: int, timeout: float,
                  max_decoded: int, on_problem: Callable[[ArchiveReadError], None] | None, progress: ReplayProgress | None,
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
            page = archived_page(records, job, final=final, max_decoded=max_decoded)
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
