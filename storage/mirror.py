"""A local copy of a remote archive's closed files, for the commands that read archives.

Archive files never change once closed (a key names one file for good), so a file already in
the mirror is not fetched again; downloads are verified by the backend and renamed into place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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
