"""Where closed archive files go, and where readers get them back: one Protocol, one registry.

Writers always write to a local folder: the archive itself for a local archive, a spool folder
for a remote one (storage.backends.spool, which also holds the shipper). A backend makes a
*closed* file part of the archive and gives readers the archive's files whatever the scheme
(the protocol: storage.backends.base).

    backend = backend_for("s3://bucket/prefix")
    backend.store(spool / "warc" / name, "warc/" + name)      # blocking: call it off the reactor
    with backend.open_for_read("warc/" + name) as fh:          # seekable, like a local file
        ...

Schemes: `file` (a plain path or file:///path: storage.backends.local) and `s3`
(storage.backends.s3, loaded on first use so that local archives do not import boto3). A new
backend is a module here, registered for its scheme with `register_backend`. Knows nothing of
Scrapy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from storage.archive import ArchiveLocation, ArchiveURIError, parse_archive_uri
from storage.backends.base import (
    ArchiveBackend,
    ArchiveFile,
    StorageError,
    Stored,
    archive_files,
)
from storage.backends.local import LocalBackend

__all__ = [
    "ArchiveBackend",
    "ArchiveFile",
    "BackendFactory",
    "LocalBackend",
    "StorageError",
    "Stored",
    "archive_files",
    "backend_for",
    "register_backend",
    "schemes",
]

# A factory takes the parsed location and the scheme's own configuration (None: defaults).
BackendFactory = Callable[[ArchiveLocation, "object | None"], ArchiveBackend]


def _local(location: ArchiveLocation, config: object | None) -> ArchiveBackend:
    return LocalBackend(location)


def _s3(location: ArchiveLocation, config: object | None) -> ArchiveBackend:
    # boto3 is imported only for S3 archives
    from storage.backends.s3 import S3Backend
    from storage.backends.s3config import S3Config

    if config is not None and not isinstance(config, S3Config):
        raise TypeError(f"an s3 archive takes an S3Config, got {type(config).__name__}")
    return S3Backend(location, config=config)


_BACKENDS: dict[str, BackendFactory] = {"file": _local, "s3": _s3}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Add (or replace) the backend of a URI scheme."""
    _BACKENDS[scheme.lower()] = factory


def schemes() -> Iterator[str]:
    return iter(sorted(_BACKENDS))


def backend_for(
    location: ArchiveLocation | str | None, *, config: object | None = None
) -> ArchiveBackend:
    """The backend for an archive URI (or a parsed location). `config` is scheme-specific (an
    S3Config for s3; None: everything from the standard AWS configuration)."""
    if not isinstance(location, ArchiveLocation):
        location = parse_archive_uri(location)
    factory = _BACKENDS.get(location.scheme)
    if factory is None:
        raise ArchiveURIError(
            f"{location.uri!r}: no storage backend for scheme {location.scheme!r}"
        )
    return factory(location, config)
