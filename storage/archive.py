"""Where an archive lives: a storage URI parsed once, and the local folder layout.

`file:///path`, a plain path (default `./archive`) or `s3://bucket/prefix`. Files are always
written to a local folder first; a backend (storage.backends) ships closed files to where the
archive lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_ARCHIVE = "./archive"
SUBDIRS = ("warc", "json", "index", "state")


class ArchiveURIError(ValueError):
    """The archive URI cannot be used; the message says why."""


@dataclass(frozen=True)
class ArchiveLocation:
    uri: str
    scheme: str  # "file" or "s3"
    path: Path | None = None  # local root (file)
    bucket: str | None = None
    prefix: str = ""


def parse_archive_uri(uri: str | None) -> ArchiveLocation:
    uri = (uri or DEFAULT_ARCHIVE).strip()
    if not uri:
        raise ArchiveURIError("archive URI is empty")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ArchiveURIError(f"{uri!r}: file URIs must name a local path (file:///path)")
            path = Path(unquote(parts.path))
        else:
            path = Path(uri)
        return ArchiveLocation(uri=uri, scheme="file", path=path.expanduser().resolve())
    if scheme == "s3":
        if not parts.netloc:
            raise ArchiveURIError(f"{uri!r}: an S3 archive needs a bucket: s3://bucket/prefix")
        return ArchiveLocation(uri=uri, scheme="s3", bucket=parts.netloc, prefix=parts.path.strip("/"))
    raise ArchiveURIError(
        f"{uri!r}: unsupported archive scheme {scheme!r}; use a path, file:///path or s3://bucket/prefix"
    )


@dataclass
class LocalArchive:
    """The local folder files are written to: `warc/`, `json/`, `index/`, `state/`."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for sub in SUBDIRS:
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def json_dir(self) -> Path:
        return self.root / "json"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"


def local_root(location: ArchiveLocation, spool: Path | None = None) -> Path:
    """The folder files are written to: the archive itself, or the spool for remote archives."""
    if location.scheme == "file":
        assert location.path is not None
        return location.path
    if spool is None:
        raise ArchiveURIError(f"{location.uri!r}: a remote archive needs a local spool folder")
    return spool
