"""The backend protocol: what every storage backend does, and the errors it raises.

A backend makes a *closed* local file part of the archive (`store(local_path, key)`; for a
remote archive the local copy goes only once the stored copy is verified), and gives readers
the archive's files whatever the scheme (`list`, `open_for_read`, `download`). Keys are
relative to the archive root and mirror the local layout (`warc/NAME`, `json/NAME`,
`index/NAME`). Which files wait to be stored is the spool's business (storage.backends.spool),
not the backend's. Knows nothing of Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol, runtime_checkable

from storage.archive import ArchiveLocation


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
