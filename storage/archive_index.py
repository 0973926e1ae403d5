"""The archive's own CDXJ index, `index/index.cdxj`: every closed WARC file of `warc/`, in one
sorted file (storage.cdxj's format and order), kept up to date by merging in what is new.

    index_closed_warc(root, path)   # a WARC file was just closed: merge its lines in
    update_index(root)              # merge every closed WARC not indexed yet (cheap when none)
    rebuild_index(root)             # start again from the WARC files

`index/index.files.json` lists the WARC files the index covers (name, size, mtime), so an update
indexes only the new ones; a listed file that changed or disappeared makes it rebuild. Index
lines name their WARC by its path relative to `warc/` (its file name in the usual flat layout).
Writers hold an exclusive lock (`index/.index.lock`) and replace the index atomically, so
readers never see half an index and two writers (two spiders closing files at once, or a
crawl and `crawler index`) never lose each other's lines. Knows nothing of Scrapy.
"""

from __future__ import annotations

import fcntl
import heapq
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from storage.cdxj import index_warcs
from storage.files import OPEN_SUFFIX

INDEX_NAME = "index.cdxj"
MANIFEST_NAME = "index.files.json"
LOCK_NAME = ".index.lock"
_MANIFEST_VERSION = 1
WARC_NAME_SUFFIXES = (".warc.gz", ".warc")


@dataclass
class IndexReport:
    """What an index update did: lines now in the index, files indexed, files that failed."""

    path: Path
    lines: int | None = None  # None: not counted (nothing was new)
    indexed: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    rebuilt: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def index_path(root: Path) -> Path:
    return Path(root) / "index" / INDEX_NAME


def warc_dir(root: Path) -> Path:
    return Path(root) / "warc"


def closed_warcs(root: Path) -> dict[str, Path]:
    """The closed WARC files of an archive, by their name in the index (path relative to
    `warc/`); files still being written (`.open`) and hidden/temporary files are left out."""
    base = warc_dir(root)
    found: dict[str, Path] = {}
    if not base.is_dir():
        return found
    for path in sorted(base.rglob("*")):
        if path.name.startswith(".") or path.name.endswith(OPEN_SUFFIX) or not path.is_file():
            continue
        if path.name.endswith(WARC_NAME_SUFFIXES):
            found[path.relative_to(base).as_posix()] = path
    return found


def _stat_row(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _read_manifest(root: Path) -> dict[str, list[int]] | None:
    try:
        data = json.loads((Path(root) / "index" / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != _MANIFEST_VERSION:
        return None
    files = data.get("files")
    return files if isinstance(files, dict) else None


def write_manifest(root: Path, files: dict[str, list[int]]) -> None:
    """Record which WARC files (name: [size, mtime_ns]) the index covers."""
    path = Path(root) / "index" / MANIFEST_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"version": _MANIFEST_VERSION, "files": files}, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    folder = Path(root) / "index"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def stale_files(root: Path) -> tuple[list[str], bool]:
    """(closed WARC files not in the index yet, whether a full rebuild is needed: no index, or a
    file it covers changed or disappeared)."""
    manifest = _read_manifest(root)
    files = closed_warcs(root)
    if manifest is None or not index_path(root).is_file():
        return sorted(files), True
    for name, row in manifest.items():
        path = files.get(name)
        if path is None or _stat_row(path) != row:
            return sorted(files), True
    return [name for name in sorted(files) if name not in manifest], False


def rebuild_index(root: Path, *, on_error: Callable[[Exception], None] | None = None) -> IndexReport:
    """Index every closed WARC of the archive again, from scratch. A damaged file is reported
    through `on_error` (its records before the damage are kept) and the others still indexed."""
    root = Path(root)
    with _locked(root):
        return _rebuild(root, on_error)


def _rebuild(root: Path, on_error: Callable[[Exception], None] | None,
             known: tuple[str, list[str]] | None = None) -> IndexReport:
    """Index every closed WARC file; `known`: (name, lines) of one whose lines are in hand."""
    report = IndexReport(index_path(root), rebuilt=True)
    files = closed_warcs(root)
    to_read = [path for name, path in files.items() if known is None or name != known[0]]

    def failed(exc: Exception) -> None:
        report.errors.append(exc)
        if on_error is not None:
            on_error(exc)

    report.lines = index_warcs(to_read, report.path, dir_root=warc_dir(root), on_error=failed,
                               lines=known[1] if known else ())
    os.chmod(report.path, 0o644)  # index_warcs writes it through mkstemp: private
    report.indexed = sorted(files)
    write_manifest(root, {name: _stat_row(path) for name, path in files.items()})
    return report


def update_index(root: Path, *, on_error: Callable[[Exception], None] | None = None) -> IndexReport:
    """Bring the index up to date: merge in the closed WARC files it does not cover yet, or
    rebuild it when it is missing or a file it covers changed. Cheap when nothing is new (one
    stat per WARC file)."""
    root = Path(root)
    with _locked(root):
        new, rebuild = stale_files(root)
        if rebuild:
            return _rebuild(root, on_error)
        report = IndexReport(index_path(root))
        if new:
            files = closed_warcs(root)
            _merge(root, {name: files[name] for name in new}, report, on_error)
        return report


def index_closed_warc(archive_root: Path, warc_path: Path, lines: list[str] | None = None) -> IndexReport:
    """Merge the index lines of one WARC file that was just closed into the archive's sorted
    index; when there is no index yet, index every closed WARC of the archive. Only that file
    is read: files that left the folder (a spool whose files were uploaded) keep their lines.
    Lines of an earlier indexing of the same file are replaced, so calling it twice is harmless.
    A damaged file does not raise: its error is in the report and its readable records are
    indexed. `lines`: the file's index lines, made as it was written (storage.cdxj.index_written);
    then the file is not read. Raises OSError when the index cannot be written."""
    root = Path(archive_root)
    warc_path = Path(warc_path)
    with _locked(root):
        try:
            name = warc_path.resolve().relative_to(warc_dir(root).resolve()).as_posix()
        except ValueError:
            raise ValueError(f"{warc_path} is not in the archive's warc folder {warc_dir(root)}") from None
        if not index_path(root).is_file():
            return _rebuild(root, None, (name, lines) if lines is not None else None)
        report = IndexReport(index_path(root))
        _merge(root, {name: warc_path}, report, None, lines)
        return report


def _merge(root: Path, files: dict[str, Path], report: IndexReport,
           on_error: Callable[[Exception], None] | None, lines: list[str] | None = None) -> None:
    """Index `files` (or take their ready-made `lines`) into a sorted run and merge it with the
    index (dropping any lines the index already had for those files); then record them in the
    manifest."""
    index = report.path

    def failed(exc: Exception) -> None:
        report.errors.append(exc)
        if on_error is not None:
            on_error(exc)

    fd, run_name = tempfile.mkstemp(prefix=".run.", suffix=".cdxj", dir=index.parent)
    os.close(fd)
    run = Path(run_name)
    fd, out_name = tempfile.mkstemp(prefix=f".{index.name}.", suffix=".tmp", dir=index.parent)
    try:
        if lines is None:
            index_warcs(list(files.values()), run, dir_root=warc_dir(root), on_error=failed)
        else:
            index_warcs([], run, lines=lines)
        names = set(files)
        count = 0
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out, \
                open(index, encoding="utf-8", newline="") as old, \
                open(run, encoding="utf-8", newline="") as fresh:
            kept = (line for line in old if not _names_file(line, names))
            for line in heapq.merge(kept, fresh):
                out.write(line)
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.chmod(out_name, 0o644)  # mkstemp makes it private; an index is as readable as the WARCs
        os.replace(out_name, index)
    except BaseException:
        Path(out_name).unlink(missing_ok=True)
        raise
    finally:
        run.unlink(missing_ok=True)
    manifest = _read_manifest(root) or {}
    for name, path in files.items():
        manifest[name] = _stat_row(path)
    write_manifest(root, manifest)
    report.lines = count
    report.indexed = sorted(files)


def _names_file(line: str, names: set[str]) -> bool:
    """True when an index line points into one of these WARC files."""
    if not names or '"filename"' not in line:
        return False
    if not any(json.dumps(name) in line for name in names):
        return False
    try:
        return json.loads(line.split(" ", 2)[2]).get("filename") in names
    except (IndexError, ValueError, AttributeError):
        return False

