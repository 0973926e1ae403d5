"""Where closed archive files go, and where readers get them back: one Protocol, one registry.

Writers always write to a local folder: the archive itself for a local archive, a spool folder
for a remote one. A backend makes a *closed* file part of the archive (`store(local_path, key)`;
for a remote archive the local copy goes only once the stored copy is verified), and gives
readers the archive's files whatever the scheme (`list`, `open_for_read`, `download`).

    backend = backend_for("s3://bucket/prefix", spool=Path("~/.cache/.../spool"))
    backend.store(spool / "warc" / name, "warc/" + name)      # blocking: call it off the reactor
    with backend.open_for_read("warc/" + name) as fh:          # seekable, like a local file
        ...

Keys are relative to the archive root and mirror the local layout (`warc/NAME`, `json/NAME`,
`index/NAME`). Schemes: `file` (a plain path or file:///path) and `s3` (storage.s3, loaded on
first use so that local archives do not import boto3). Knows nothing of Scrapy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol, runtime_checkable

from storage.archive import ArchiveLocation, ArchiveURIError, parse_archive_uri
from storage.files import OPEN_SUFFIX

# Folders of an archive whose closed files are shipped. `state/` is local bookkeeping, and
# `index/` is rewritten as WARC files close (merged, not immutable): both stay local.
SHIPPED_DIRS = ("warc", "json")


class StorageError(OSError):
    """Storing or reading an archive file failed. The message is one line naming the archive
    (and endpoint) and what failed; it never contains credentials.

    `kind` says what went wrong: "unreachable" (network, endpoint down), "credentials",
    "bucket" (missing), "denied", "verify" (the stored copy does not match), "conflict" (a
    different file already has that key), "config", "local" (the local file), "other".
    `retryable` errors may go away by themselves (network, a busy endpoint); the others need
    someone to fix something first.
    """

    def __init__(self, message: str, *, kind: str = "other", retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message

    @property
    def archive_wide(self) -> bool:
        """True when every other file would fail the same way (no point trying them now)."""
        return self.kind in ("unreachable", "credentials", "bucket", "denied", "config")


@dataclass(frozen=True)
class Stored:
    """A file that is now part of the archive."""

    key: str  # relative to the archive root, e.g. "warc/NAME.warc.gz"
    uri: str  # where it lives, e.g. "s3://bucket/prefix/warc/NAME.warc.gz"
    size: int
    seconds: float = 0.0
    already_there: bool = False  # an identical copy was found: nothing was sent


@dataclass
class UploadReport:
    """What `upload_pending` did: files stored, files that failed (and why), files left."""

    stored: list[Stored] = field(default_factory=list)
    failed: list[tuple[Path, StorageError]] = field(default_factory=list)
    left: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left


@runtime_checkable
class ArchiveBackend(Protocol):
    """Ships closed local files to where the archive lives, and reads them back."""

    location: ArchiveLocation

    def describe(self) -> str:
        """Where the archive lives, for messages (an endpoint, never credentials)."""
        ...

    def uri_for(self, key: str) -> str: ...

    def check(self) -> None:
        """Raise StorageError when the archive cannot be written at all (missing bucket,
        wrong credentials, endpoint unreachable). Blocking."""
        ...

    def store(self, local_path: Path, key: str) -> Stored | None:
        """Make the closed file `local_path` the archive's `key`; for a remote archive the local
        file is deleted once the stored copy is verified. None when there was nothing to do
        (another process is storing it, or it is gone). Raises StorageError; blocking."""
        ...

    def pending(self, spool: Path | None = None) -> list[Path]:
        """Closed files in the spool that still have to be stored (never `.open` files)."""
        ...

    def upload_pending(self, spool: Path | None = None) -> UploadReport: ...

    def list(self, subdir: str = "") -> list[str]:
        """Keys of the archive's files under `subdir` ("warc", "json", ...), sorted."""
        ...

    def open_for_read(self, key: str) -> BinaryIO:
        """A seekable binary file object over the archive's `key`."""
        ...

    def download(self, key: str, dest: Path) -> Path:
        """Copy `key` to the local file `dest` (written atomically, verified)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ArchiveFile:
    """One file of an archive, for readers that take named files (`storage.cdxj.NamedWarc`):
    `name` is the file name, `label` where it lives, `open()` a seekable binary stream."""

    backend: ArchiveBackend
    key: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def label(self) -> str:
        return self.backend.uri_for(self.key)

    def open(self) -> BinaryIO:
        return self.backend.open_for_read(self.key)


def archive_files(backend: ArchiveBackend, subdir: str = "warc") -> list[ArchiveFile]:
    return [ArchiveFile(backend, key) for key in backend.list(subdir)]


# -- the local spool -------------------------------------------------------------------------
def is_shippable(path: Path) -> bool:
    """A closed file: not `.open` (being written), not hidden or temporary (atomic writes)."""
    name = path.name
    return not (name.startswith(".") or name.endswith((OPEN_SUFFIX, ".tmp", ".part")))


def spool_files(spool: Path) -> list[Path]:
    """Closed files under the shipped folders of `spool`, oldest first."""
    found: list[Path] = []
    for sub in SHIPPED_DIRS:
        folder = spool / sub
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.is_file() and is_shippable(p)]

    def age(path: Path) -> tuple[float, str]:
        try:
            return (path.stat().st_mtime, str(path))
        except FileNotFoundError:
            return (0.0, str(path))

    return sorted(found, key=age)


def key_for(spool: Path, path: Path) -> str:
    """The archive key of a spool file: its path relative to the spool, with `/`."""
    return Path(path).resolve().relative_to(Path(spool).resolve()).as_posix()


def upload_all(backend: ArchiveBackend, spool: Path) -> UploadReport:
    """Store every pending spool file; stop at the first archive-wide failure (the rest stays)."""
    report = UploadReport()
    for path in backend.pending(spool):
        try:
            stored = backend.store(path, key_for(spool, path))
        except StorageError as exc:
            report.failed.append((path, exc))
            if exc.archive_wide:
                break
        else:
            if stored is not None:
                report.stored.append(stored)
    report.left = backend.pending(spool)
    return report


# -- local archives ----------------------------------------------------------------------------
class LocalBackend:
    """A folder on this machine. Writers write in place, so storing is a no-op; a file written
    elsewhere (a spool) is moved in atomically."""

    def __init__(self, location: ArchiveLocation, spool: Path | None = None) -> None:
        if location.path is None:
            raise ArchiveURIError(f"{location.uri!r}: not a local archive")
        self.location = location
        self.root = location.path
        self.spool = spool

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

    def pending(self, spool: Path | None = None) -> list[Path]:
        spool = spool or self.spool
        if spool is None or Path(spool).resolve() == self.root.resolve():
            return []
        return spool_files(Path(spool))

    def upload_pending(self, spool: Path | None = None) -> UploadReport:
        spool = spool or self.spool
        return upload_all(self, spool) if spool is not None else UploadReport()

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


# -- the registry ------------------------------------------------------------------------------
BackendFactory = Callable[[ArchiveLocation, "Path | None", "object | None"], ArchiveBackend]


def _local(location: ArchiveLocation, spool: Path | None, config: object | None) -> ArchiveBackend:
    return LocalBackend(location, spool)


def _s3(location: ArchiveLocation, spool: Path | None, config: object | None) -> ArchiveBackend:
    from storage.s3 import S3Backend, S3Config  # boto3 is imported only for S3 archives

    if config is not None and not isinstance(config, S3Config):
        raise TypeError(f"an s3 archive takes an S3Config, got {type(config).__name__}")
    return S3Backend(location, spool=spool, config=config)


_BACKENDS: dict[str, BackendFactory] = {"file": _local, "s3": _s3}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Add (or replace) the backend of a URI scheme."""
    _BACKENDS[scheme.lower()] = factory


def schemes() -> Iterator[str]:
    return iter(sorted(_BACKENDS))


def backend_for(
    location: ArchiveLocation | str | None,
    spool: Path | None = None,
    config: object | None = None,
) -> ArchiveBackend:
    """The backend for an archive URI (or a parsed location). `spool` is the local folder a
    remote archive's files are written to; `config` is scheme-specific (an S3Config for s3;
    None: everything from the standard AWS configuration)."""
    if not isinstance(location, ArchiveLocation):
        location = parse_archive_uri(location)
    factory = _BACKENDS.get(location.scheme)
    if factory is None:
        raise ArchiveURIError(
            f"{location.uri!r}: no storage backend for scheme {location.scheme!r}"
        )
    return factory(location, Path(spool) if spool is not None else None, config)
