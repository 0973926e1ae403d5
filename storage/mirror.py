"""A local copy of a remote archive's closed files, for the commands that read archives.

Archive files never change once closed (a key names one file for good), so a file already in
the mirror is not fetched again; downloads are verified by the backend and renamed into place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from storage.archive import ArchiveLocation
from storage.backends import ArchiveBackend, StorageError

MIRRORED_DIRS = ("warc", "json", "runs")


@dataclass
class MirrorReport:
    fetched: int = 0
    present: int = 0


def safe_key(key: str) -> PurePosixPath:
    """A key as a relative path that cannot leave the mirror folder."""
    path = PurePosixPath(key)
    if path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        raise StorageError(f"refusing archive key {key!r}: it would leave the mirror folder", kind="other")
    return path


def mirror_archive(backend: ArchiveBackend, dest: Path, subdirs: tuple[str, ...] = MIRRORED_DIRS) -> MirrorReport:
    report = MirrorReport()
    for sub in subdirs:
        for key in backend.list(sub):
            target = Path(dest).joinpath(*safe_key(key).parts)
            if target.exists():
                report.present += 1
                continue
            backend.download(key, target)
            report.fetched += 1
    return report


def mirror_remote(location: ArchiveLocation, subdirs: tuple[str, ...] = MIRRORED_DIRS) -> tuple[Path, MirrorReport]:
    """The local mirror of a remote archive's `subdirs`, brought up to date through its backend."""
    from storage.backends import backend_for
    from storage.backends.spool import cache_folder

    dest = cache_folder(location, "mirror")
    backend = backend_for(location)
    try:
        return dest, mirror_archive(backend, dest, subdirs)
    finally:
        backend.close()


def runs_root(uri: str) -> Path:
    """A local folder whose runs/ holds the run files of the archive at `uri`: the archive itself,
    or for a remote archive a mirror of its runs/ only (a few kB a run, not its WARC files) with
    what waits in the default spool."""
    from storage.archive import parse_archive_uri
    from storage.backends.spool import default_spool

    location = parse_archive_uri(uri)
    if location.scheme == "file" and location.path is not None:
        return location.path
    dest, _report = mirror_remote(location, ("runs",))
    waiting = default_spool(location) / "runs"
    if waiting.is_dir():
        (dest / "runs").mkdir(parents=True, exist_ok=True)
        for path in waiting.glob("*.json"):
            target = dest / "runs" / path.name
            if not target.exists():
                target.write_bytes(path.read_bytes())
    return dest
