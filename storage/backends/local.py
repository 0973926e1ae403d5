"""Archives in a folder on this machine (`file:///path`, or a plain path)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from storage.archive import ArchiveLocation, ArchiveURIError
from storage.backends.base import StorageError, Stored
from storage.backends.spool import is_shippable


class LocalBackend:
    """A folder on this machine. Writers write in place, so storing is a no-op; a file written
    elsewhere (a spool) is moved in atomically."""

    def __init__(self, location: ArchiveLocation) -> None:
        if location.path is None:
            raise ArchiveURIError(f"{location.uri!r}: not a local archive")
        self.location = location
        self.root = location.path

    def describe(self) -> str:
        return str(self.root)

    def uri_for(self, key: str) -> str:
        return str(self._path(key))

    def _path(self, key: str) -> Path:
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts:
            raise StorageError(f"{self.root}: bad archive key {key!r}", kind="config")
        return self.root.joinpath(*rel.parts)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"{self.root}: cannot create the archive folder: {exc.strerror}", kind="local"
            ) from None
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root}: the archive folder is not writable", kind="local")

    def store(self, local_path: Path, key: str) -> Stored | None:
        target = self._path(key)
        started = time.monotonic()
        try:
            if not local_path.exists():
                return None
            if target.exists() and os.path.samefile(local_path, target):
                return Stored(key, str(target), target.stat().st_size, already_there=True)
            size = local_path.stat().st_size
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(local_path, target)
            except OSError:  # another filesystem: copy next to the target, then rename
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
                )
                try:
                    with os.fdopen(fd, "wb") as out, open(local_path, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                local_path.unlink()
        except OSError as exc:
            raise StorageError(
                f"{target}: storing {local_path} failed: {exc.strerror or exc}", kind="local"
            ) from None
        return Stored(key, str(target), size, seconds=time.monotonic() - started)

    def list(self, subdir: str = "") -> list[str]:
        base = self._path(subdir) if subdir else self.root
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and is_shippable(p)
        )

    def open_for_read(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise StorageError(
                f"{self.root}: no file {key!r} in the archive", kind="other"
            ) from None

    def download(self, key: str, dest: Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, self.open_for_read(key) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest

    def close(self) -> None:
        return None
