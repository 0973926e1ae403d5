"""File lifecycle shared by WARC and JSON Lines files: `.open` while written, renamed when
closed, and repaired by the next run when a crash left one behind."""

from __future__ import annotations

import os
import re
import socket
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

OPEN_SUFFIX = ".open"
_CHUNK = 1 << 20
# <prefix>-<14 digits>-<serial>-<host>-<pid>.<ext>.open ; host has no "-" (we replace them).
_NAME_RE = re.compile(r"-(?P<host>[^-]+)-(?P<pid>\d+)\.[a-z.]+\.open$")


def utc_stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(timezone.utc)).strftime("%Y%m%d%H%M%S")


def local_host_tag() -> str:
    return socket.gethostname().replace("-", "_") or "localhost"


def finish_open_file(path: Path) -> Path:
    """Rename `NAME.open` to `NAME` (atomic on one filesystem)."""
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    os.replace(path, final)
    return final


def _writer_alive(path: Path) -> bool:
    """True when the process that writes `path` still runs on this host."""
    match = _NAME_RE.search(path.name)
    if not match or match["host"] != local_host_tag():
        return False
    return process_alive(int(match["pid"]))


def process_alive(pid: int) -> bool:
    """True when a process `pid` runs on this host (ours, or another user's)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Repair:
    path: Path
    kept_bytes: int
    dropped_bytes: int
    closed: Path | None  # the file under its final name; None when nothing whole was left


def whole_gzip_members_end(path: Path) -> int:
    """Offset just past the last complete gzip member that holds a whole WARC record."""
    good_end = 0
    with open(path, "rb") as fh:
        while True:
            fh.seek(good_end)
            decomp = zlib.decompressobj(wbits=31)
            head = b""
            total = read = 0
            try:
                while not decomp.eof:
                    chunk = fh.read(_CHUNK)
                    if not chunk:
                        break
                    read += len(chunk)
                    out = decomp.decompress(chunk)
                    total += len(out)
                    if len(head) < 65536:
                        head += out[:65536]
            except zlib.error:
                break
            if not decomp.eof or not _is_whole_record(head, total):
                break
            good_end += read - len(decomp.unused_data)
    return good_end


def _is_whole_record(head: bytes, total: int) -> bool:
    header, sep, _ = head.partition(b"\r\n\r\n")
    if not sep or not header.startswith(b"WARC/"):
        return False
    match = re.search(rb"\r\nContent-Length:\s*(\d+)", header, re.IGNORECASE)
    return bool(match) and total - len(header) - 4 >= int(match.group(1))


def whole_lines_end(path: Path) -> int:
    """Offset just past the last newline: a half-written JSON line is dropped."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pos = size
        while pos > 0:
            step = min(_CHUNK, pos)
            fh.seek(pos - step)
            chunk = fh.read(step)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                return pos - step + idx + 1
            pos -= step
    return 0


def repair_open_files(directory: Path) -> list[Repair]:
    """Close every `.open` file left by a dead writer: cut it back to whole records/lines and
    drop the `.open` suffix. Files of live writers (this host, pid alive) are left alone."""
    repairs: list[Repair] = []
    if not directory.is_dir():
        return repairs
    for path in sorted(directory.glob("*" + OPEN_SUFFIX)):
        if _writer_alive(path):
            continue
        size = path.stat().st_size
        if path.name.endswith(".jsonl.gz" + OPEN_SUFFIX):
            # a gzip copy cut short: the plain file it was made from is still whole
            if path.with_name(path.name.removesuffix(".gz" + OPEN_SUFFIX)).exists():
                path.unlink()
                repairs.append(Repair(path=path, kept_bytes=0, dropped_bytes=size, closed=None))
            continue
        if path.name.endswith(".warc.gz" + OPEN_SUFFIX):
            end = whole_gzip_members_end(path)
        else:
            end = whole_lines_end(path)
        if end < size:
            with open(path, "r+b") as fh:
                fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())
        closed = None
        if end == 0:
            path.unlink()
        else:
            closed = finish_open_file(path)
        repairs.append(Repair(path=path, kept_bytes=end, dropped_bytes=size - end, closed=closed))
    for packed in sorted(directory.glob("*.jsonl.gz")):
        # killed between the rename of a whole gzip copy and the removal of its plain file
        plain = packed.with_name(packed.name.removesuffix(".gz"))
        if plain.exists() and not _writer_alive(plain.with_name(plain.name + OPEN_SUFFIX)):
            size = plain.stat().st_size
            plain.unlink()
            repairs.append(Repair(path=plain, kept_bytes=0, dropped_bytes=size, closed=None))
    return repairs
