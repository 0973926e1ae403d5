"""WACZ 1.1.1 packages of an archive, for hand-over: one ZIP that ReplayWeb.page and pywb open.

    archive/<name>.warc.gz        the WARC files, stored (not deflated): players seek into them
    indexes/index.cdx.gz          the CDXJ index as gzip blocks of sorted lines (ZipNum), stored
    indexes/index.idx             one line per block: its first key, offset and length
    pages/pages.jsonl             the pages (url, ts, title, text): the player's page list and
                                  full-text search
    datapackage.json              every file above with its sha256 and size
    datapackage-digest.json       the sha256 of datapackage.json

The ZIP is written member by member straight to disk (a `.tmp` file renamed at the end):
WARC files are copied in chunks and hashed as they go, index blocks are compressed as they
are read, so memory does not grow with the archive. Knows nothing of Scrapy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from warcio.timeutils import iso_date_to_timestamp, timestamp_to_iso_date

from storage.archive_index import closed_warcs, index_path, update_index
from storage.cdxj import CdxjIndex, CDXJIndexer, CompressedWriter, by_closeness, check_timestamp
from storage.files import OPEN_SUFFIX
from storage.jsonl import iter_json_file
from storage.scan import scan_warc
from storage.sources import WarcSource
from storage.warc import WARC_NAME
from storage.warcread import ArchiveReadError, StrictRecordIterator

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages", "hasText": True}
_CHUNK = 1 << 20
# Index lines per gzip block of index.cdx.gz (cdxj-indexer's and py-wacz's default): a lookup
# reads one block after a binary search of index.idx.
INDEX_BLOCK_LINES = CDXJIndexer.DEFAULT_NUM_LINES


class WaczError(ValueError):
    """The package cannot be made (nothing to export, a name clash); the message says why."""


@dataclass
class WaczReport:
    path: Path
    warcs: list[str] = field(default_factory=list)
    pages: int = 0
    index_lines: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)


class _Hashing(io.RawIOBase):
    """Counts and sha256-hashes what is written through it to a zip member."""

    def __init__(self, out: Any) -> None:
        super().__init__()
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.out.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


class WaczWriter:
    """Writes one WACZ, member by member, recording each member's hash for datapackage.json."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.zip = zipfile.ZipFile(self.tmp, "w", allowZip64=True)
        self.resources: list[dict[str, Any]] = []
        self.created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._when = datetime.now(UTC).timetuple()[:6]

    def _info(self, name: str, *, stored: bool, size: int | None = None) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self._when)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size  # lets zipfile choose zip64 for members over 4 GiB up front
        return info

    def member(self, name: str, *, stored: bool, size: int | None = None, listed: bool = True) -> _Member:
        """A member to write to; `listed` ones go into datapackage.json's resources."""
        return _Member(self, name, self._info(name, stored=stored, size=size), listed)

    def add_file(self, name: str, source: Path) -> None:
        """Copy a file in, stored, in chunks."""
        size = source.stat().st_size
        with self.member(name, stored=True, size=size) as out, open(source, "rb") as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                out.write(chunk)

    def add_bytes(self, name: str, data: bytes, *, stored: bool = False, listed: bool = True) -> None:
        with self.member(name, stored=stored, size=len(data), listed=listed) as out:
            out.write(data)

    def finish(self, *, software: str, title: str | None = None, description: str | None = None) -> int:
        package: dict[str, Any] = {"profile": "data-package", "resources": self.resources}
        if title:
            package["title"] = title
        if description:
            package["description"] = description
        package.update(created=self.created, wacz_version=WACZ_VERSION, software=software)
        data = json.dumps(package, indent=2).encode("utf-8")
        self.add_bytes("datapackage.json", data, listed=False)
        digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
        self.add_bytes("datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8"), listed=False)
        self.zip.close()
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.path)
        return self.path.stat().st_size

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the file goes anyway
            self.zip.close()
        self.tmp.unlink(missing_ok=True)


class _Member:
    def __init__(self, writer: WaczWriter, name: str, info: zipfile.ZipInfo, listed: bool) -> None:
        self.writer, self.name, self.info, self.listed = writer, name, info, listed
        self.sized = info.file_size > 0

    def __enter__(self) -> _Hashing:
        # A member of unknown size (index, pages) may pass 4 GiB: give it zip64 sizes up front.
        self._fh = self.writer.zip.open(self.info, "w", force_zip64=not self.sized)
        self.hashing = _Hashing(self._fh)
        return self.hashing

    def __exit__(self, *exc: object) -> None:
        self._fh.close()
        if exc[0] is None and self.listed:
            self.writer.resources.append({
                "name": PurePosixPath(self.name).name.lower(),
                "path": self.name,
                "hash": self.hashing.digest,
                "bytes": self.hashing.size,
            })


def write_index(writer: WaczWriter, lines: Iterable[str]) -> int:
    """indexes/index.cdx.gz (blocks of sorted lines, each its own gzip member) and
    indexes/index.idx, as cdxj-indexer and py-wacz write them."""
    idx = io.StringIO()
    count = 0
    with writer.member("indexes/index.cdx.gz", stored=True) as data:
        blocks = CompressedWriter(idx, data, num_lines=INDEX_BLOCK_LINES, data_out_name="index.cdx.gz")
        for line in lines:
            blocks.write(line if line.endswith("\n") else line + "\n")
            count += 1
        if blocks.block:
            blocks.flush()
    writer.add_bytes("indexes/index.idx", idx.getvalue().encode("utf-8"))
    return count


def page_entry(line: dict[str, Any]) -> dict[str, Any] | None:
    """The pages.jsonl entry of one of our JSON lines: fetched pages with a 2xx status."""
    status = line.get("status") or 0
    url, fetched = line.get("final_url") or line.get("url"), line.get("fetched_at")
    if not (line.get("warc") and url and fetched and 200 <= status < 300):
        return None
    ts = timestamp_to_iso_date(iso_date_to_timestamp(fetched))  # whole seconds, as players expect
    entry: dict[str, Any] = {
        "id": hashlib.sha1(f"{ts}/{url}".encode()).hexdigest()[:24],
        "url": url,
        "ts": ts,
        "title": line.get("title") or url,
    }
    if line.get("text"):
        entry["text"] = line["text"]
    return entry


def write_pages(writer: WaczWriter, lines: Iterable[dict[str, Any]]) -> int:
    count = 0
    with writer.member("pages/pages.jsonl", stored=False) as out:
        out.write((json.dumps(PAGES_HEADER) + "\n").encode("utf-8"))
        seen: set[str] = set()
        for line in lines:
            entry = page_entry(line)
            if entry is None or entry["id"] in seen:
                continue
            seen.add(entry["id"])
            out.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1
    return count


# -- an archive folder as a WACZ --------------------------------------------------------------------
def json_line_files(root: Path) -> list[Path]:
    folder = Path(root) / "json"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.endswith(OPEN_SUFFIX) and p.name.endswith((".jsonl", ".jsonl.gz")))


def iter_json_lines(root: Path, on_problem: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    for path in json_line_files(root):
        yield from iter_json_file(path, on_problem)


def since_timestamp(text: str) -> str:
    """--since as a timestamp prefix: "2024-03-07", "2024-03-07T12:00:00Z", "20240307"..."""
    digits = "".join(ch for ch in str(text) if ch.isdigit())
    try:
        return check_timestamp(digits)
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a date or time, e.g. 2024-03-07 or 20240307120000") from None


def _selected(line: dict[str, Any], since: str | None, sources: set[str] | None) -> bool:
    if sources is not None and line.get("source") not in sources:
        return False
    if since is not None:
        try:
            ts = iso_date_to_timestamp(line.get("fetched_at") or "")
        except (ValueError, TypeError, AttributeError):  # no usable date: not "since" anything
            return False
        if ts < since.ljust(14, "0"):
            return False
    return True


def damage(path: Path) -> str | None:
    """What is wrong with a WARC file, read through record by record (None: it reads whole)."""
    try:
        with path.open("rb") as fh:
            records = StrictRecordIterator(fh, str(path))
            for record in records:
                records.read_to_end(record)
    except ArchiveReadError as exc:
        return exc.problem
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


def export_archive(
    root: Path,
    out: Path,
    *,
    software: str,
    since: str | None = None,
    sources: Iterable[str] | None = None,
    title: str | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> WaczReport:
    """Package an archive folder (warc/, json/, index/) as a WACZ at `out`. Without filters it
    holds every closed WARC; with `since` (a timestamp prefix: pages fetched then or later)
    and/or `sources`, the WARC files that hold the selected pages' captures and payloads, and
    only those pages. Problems (a damaged WARC, a bad JSON line) are reported through
    `on_problem` and the rest is still packaged."""
    root = Path(root)
    report = WaczReport(Path(out))
    wanted = set(sources) if sources else None
    since = since_timestamp(since) if since else None

    def problem(text: str) -> None:
        report.problems.append(text)
        if on_problem is not None:
            on_problem(text)

    update_index(root, on_error=lambda exc: problem(f"{exc} (its records after that point are not indexed)"))
    files = closed_warcs(root)
    if not files:
        raise WaczError(f"{root}: no closed WARC files in {root / 'warc'}")
    by_base: dict[str, str] = {}
    for name in files:
        base = PurePosixPath(name).name
        if base in by_base:
            raise WaczError(f"two WARC files are both named {base} ({by_base[base]} and {name}); "
                            "a WACZ keeps them side by side in archive/")
        by_base[base] = name
    filtered = wanted is not None or since is not None
    if filtered:
        index = CdxjIndex(index_path(root))
        chosen, pages = _files_of_pages(root, index, files, by_base, since, wanted, problem)
        chosen |= _files_of_requisites(index, files, chosen, pages)
        if not chosen:
            raise WaczError("no archived page matches --since/--source: nothing to export")
    else:
        chosen = set(files)
    # Each file is read through before it is packed: one that was damaged after it was indexed
    # (the index is only brought up to date for files it has not seen) is left out, said, and
    # so are its index lines and its pages.
    damaged = set()
    for name in sorted(chosen):
        if why := damage(files[name]):
            problem(f"{files[name]}: {why}; left out of the WACZ")
            damaged.add(name)
    if damaged:
        chosen -= damaged
        filtered = True
        if not chosen:
            raise WaczError("every WARC file selected is damaged: nothing to export")
    report.warcs = sorted(chosen)

    writer = WaczWriter(report.path)
    try:
        for name in report.warcs:
            writer.add_file(f"archive/{PurePosixPath(name).name}", files[name])
        report.index_lines = write_index(writer, _index_lines(root, chosen, flat=all("/" not in n for n in chosen),
                                                             every=not filtered))
        left_out = {PurePosixPath(name).name for name in damaged}
        lines = (line for line in iter_json_lines(root, problem) if _selected(line, since, wanted)
                 and ((line.get("warc") or {}).get("filename") not in left_out))
        report.pages = write_pages(writer, lines)
        report.bytes = writer.finish(software=software, title=title or f"News archive {root.resolve()}")
    except BaseException:
        writer.abort()
        raise
    return report


def _files_of_pages(root: Path, index: CdxjIndex, files: dict[str, Path], by_base: dict[str, str],
                    since: str | None, sources: set[str] | None,
                    problem: Callable[[str], None]) -> tuple[set[str], dict[str, str]]:
    """The WARC files holding the selected pages: the payload's response record (the JSON
    line's `warc`) and the record the fetch wrote (a revisit may live in a later file); and
    the pages' URLs with when each was fetched."""
    chosen: set[str] = set()
    pages: dict[str, str] = {}
    for line in iter_json_lines(root, lambda _text: None):  # problems are reported when pages are written
        if not _selected(line, since, sources) or not line.get("warc"):
            continue
        name = by_base.get(str(line["warc"].get("filename")))
        if name is None:
            problem(f"{line.get('url')}: its WARC file {line['warc'].get('filename')} is not in the archive")
            continue
        chosen.add(name)
        try:
            url, ts = line.get("final_url") or line["url"], iso_date_to_timestamp(line["fetched_at"])
            pages[url] = ts
            for capture in index.lookup(url, ts, ts):
                if capture.filename in files:
                    chosen.add(capture.filename)
        except (KeyError, ValueError):
            continue
    return chosen, pages


def _files_of_requisites(index: CdxjIndex, files: dict[str, Path], chosen: set[str],
                         pages: dict[str, str]) -> set[str]:
    """The WARC files holding the selected pages' requisites, which a later crawl's revisits, file
    rotation or a shared stylesheet fetched for another page may have put in files of their own:
    the URLs each page's metadata record lists, and those a listed stylesheet's record lists (its
    fonts and images), each at its capture nearest the page's (`pages`: URL -> when fetched),
    with the original of a revisit."""
    lists: dict[str, set[str]] = {}  # a capture's URL -> the requisites its metadata records list
    scanned: set[str] = set()
    found = set(chosen)
    following = _following_files(files)
    while unread := found - scanned:
        for name in sorted(unread):
            # a metadata record is written once its page is extracted: a file may have been
            # closed in between, leaving it at the start of the next one
            for read in (name, following.get(name)):
                if read is not None and read not in scanned:
                    scanned.add(read)
                    for url, listed in _requisite_lists(read, files[read]):
                        lists.setdefault(url, set()).update(listed)
        wanted = dict(pages)  # every requisite URL of the pages, with its page's fetch time
        todo = list(pages.items())
        while todo:
            url, ts = todo.pop()
            for requisite in lists.get(url, ()):
                if requisite not in wanted:
                    wanted[requisite] = ts
                    todo.append((requisite, ts))
        for url, ts in wanted.items():
            if url not in pages:
                found |= {name for name in _capture_files(index, url, ts) if name in files}
    return found - chosen


def _following_files(files: dict[str, Path]) -> dict[str, str]:
    """Each WARC file -> the one its writer opened next (`<prefix>-<timestamp>-<serial>-<host>-<pid>`)."""
    runs: dict[tuple[str, ...], str] = {}
    for name in files:
        if found := WARC_NAME.match(PurePosixPath(name).name):
            prefix, serial, host, pid = found.groups()
            runs[(str(PurePosixPath(name).parent), prefix, host, pid, serial)] = name
    return {name: runs[key] for (*run, serial), name in runs.items()
            if (key := (*run, f"{int(serial) + 1:05d}")) in runs}


def _requisite_lists(name: str, path: Path) -> Iterator[tuple[str, list[str]]]:
    """(URL, requisite URLs) of each metadata record in a WARC file that lists requisites (a
    damaged part is passed over; it is reported when the file is checked)."""
    for item in scan_warc(WarcSource(name, path)):
        if isinstance(item, ArchiveReadError) or item.rec_type != "metadata" or not item.target_uri:
            continue
        listed = [value.split(" ", 1)[0] for key, value in item.fields if key == "requisite" and value]
        if listed:
            yield item.target_uri, listed


def _capture_files(index: CdxjIndex, url: str, ts: str) -> set[str]:
    """The file of a URL's capture nearest `ts`, and for a revisit the file of the response it
    repeats (the latest earlier capture with the same payload digest)."""
    captures = index.lookup(url)
    ranked = by_closeness(captures, ts)
    if not ranked:
        return set()
    nearest = ranked[0]
    names = {nearest.filename}
    if nearest.record_type == "revisit":
        originals = [c for c in captures if c.record_type != "revisit" and c.digest == nearest.digest
                     and c.timestamp <= nearest.timestamp]
        if originals:
            names.add(max(originals, key=lambda c: c.timestamp).filename)
    return names


def _index_lines(root: Path, chosen: set[str], *, flat: bool, every: bool) -> Iterator[str]:
    """The archive index's lines of the chosen files, named as their archive/ members."""
    with open(index_path(root), encoding="utf-8", newline="") as fh:
        for line in fh:
            if every and flat:
                yield line
                continue
            key, ts, blob = line.rstrip("\n").split(" ", 2)
            data = json.loads(blob)
            if data.get("filename") not in chosen:
                continue
            data["filename"] = PurePosixPath(data["filename"]).name
            yield f"{key} {ts} {json.dumps(data)}\n"


def unpack_wacz(wacz: Path, dest: Path) -> Path:
    """An archive folder made from a WACZ file (ours or another tool's): its WARC files in warc/,
    and its page list as JSON lines in json/ (URL, capture time, title, text: what the start page
    of `crawler serve` and `crawler history` read). Made once per WACZ version, in `dest`."""
    dest = Path(dest)
    done = dest / ".unpacked"
    if done.exists():
        return dest
    (dest / "warc").mkdir(parents=True, exist_ok=True)
    (dest / "json").mkdir(exist_ok=True)
    try:
        with zipfile.ZipFile(wacz) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if name.parts[:1] == ("archive",) and name.name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
                    with zf.open(info) as src, open(dest / "warc" / name.name, "wb") as out:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
            pages = [PurePosixPath(n) for n in zf.namelist() if n.startswith("pages/") and n.endswith(".jsonl")]
            with open(dest / "json" / "pages.jsonl", "w", encoding="utf-8") as out:
                for member in pages:
                    for text in zf.read(str(member)).decode("utf-8", "replace").splitlines()[1:]:
                        try:
                            page = json.loads(text)
                        except ValueError:
                            continue
                        if isinstance(page, dict) and page.get("url") and page.get("ts"):
                            out.write(json.dumps({
                                "url": page["url"], "final_url": page["url"], "title": page.get("title"),
                                "fetched_at": page["ts"], "text": page.get("text"), "reason": None,
                                "warc": {"wacz": wacz.name}, "source": wacz.stem, "version": 1,
                            }, ensure_ascii=False) + "\n")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise WaczError(f"{wacz}: not a readable WACZ file ({exc})") from None
    done.touch()
    return dest
