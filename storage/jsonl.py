"""JSON Lines output: one file per run, one whole line per write, `.open` until closed."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from storage.files import OPEN_SUFFIX, finish_open_file, local_host_tag, utc_stamp


class JsonLinesWriter:
    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "news",
        compress: bool = False,
        on_closed: Callable[[Path], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.compress = compress
        self.on_closed = on_closed
        name = f"{prefix}-{utc_stamp()}-{local_host_tag()}-{os.getpid()}.jsonl"
        self.path = self.directory / (name + OPEN_SUFFIX)
        self._fh = open(self.path, "xb")
        self.lines = 0

    @property
    def name(self) -> str:
        """The file's name once closed (before compression)."""
        return self.path.name.removesuffix(OPEN_SUFFIX)

    def write(self, obj: dict[str, Any]) -> int:
        """Writes one line; returns its number (0-based) in the file."""
        line = json.dumps(obj, ensure_ascii=False, sort_keys=False).encode("utf-8") + b"\n"
        # One write per line and a flush: a kill leaves at most one half line, cut by repair.
        self._fh.write(line)
        self._fh.flush()
        self.lines += 1
        return self.lines - 1

    def abandon(self) -> None:
        """Stop writing after a failed write: the file keeps `.open` for the next run to repair."""
        try:
            self._fh.close()
        except OSError:
            pass

    def close(self) -> Path | None:
        if self._fh.closed:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        if self.lines == 0:
            self.path.unlink()
            return None
        final = finish_open_file(self.path)
        if self.compress:
            final = gzip_json_lines(final)
        if self.on_closed:
            self.on_closed(final)
        return final


def gzip_json_lines(plain: Path) -> Path:
    """`NAME.jsonl` -> `NAME.jsonl.gz`, so that a crash at any point leaves every line in
    exactly one whole file: the gzip is written as `.open` and synced, renamed, and only then
    the plain file goes (`repair_open_files` settles the two crash windows)."""
    packing = plain.with_name(plain.name + ".gz" + OPEN_SUFFIX)
    with open(plain, "rb") as src, open(packing, "wb") as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb") as dst:
            shutil.copyfileobj(src, dst)
        raw.flush()
        os.fsync(raw.fileno())
    packed = finish_open_file(packing)
    plain.unlink()
    return packed


def read_json_line(path: Path, number: int) -> dict[str, Any] | None:
    """Line `number` (0-based) of a JSON Lines file, plain or gzip."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for index, line in enumerate(fh):
            if index == number:
                return json.loads(line)
    return None


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        return [json.loads(line) for line in fh if line.strip()]


def iter_json_file(path: Path, on_problem: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """The objects of one JSON Lines file (plain or gzip); a line that is not JSON, or a file that
    cannot be read to the end, is said to `on_problem` and the reading goes on (or stops there)."""
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for number, text in enumerate(fh, 1):
                if not text.strip():
                    continue
                try:
                    line = json.loads(text)
                except ValueError as exc:
                    on_problem(f"{path}: line {number} is not JSON ({exc}); skipped")
                    continue
                if isinstance(line, dict):
                    yield line
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        on_problem(f"{path}: cannot be read to the end ({exc})")
