"""Where WARCs live: WARC files, folders of them, and WACZ files (the WARCs under `archive/` in
the zip, read in place), each named as index lines name it; and the CDXJ index of such a set
of WARCs (a WACZ's own index used when it has one), cached between runs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from storage.cdxj import Capture, index_warcs
from storage.warcread import ArchiveReadError, ArchiveSourceError

WARC_SUFFIXES = (".warc", ".warc.gz")
WACZ_SUFFIX = ".wacz"
_WACZ_ARCHIVE = "archive/"
_WACZ_INDEXES = ("indexes/index.cdxj", "indexes/index.cdx.gz", "indexes/index.cdx")
_INDEX_VERSION = "1"  # bump to invalidate cached indexes when the index format changes


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
