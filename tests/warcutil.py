"""Reading archives back in tests, with warcio (a third-party reader)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import brotli

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders


@dataclass
class Rec:
    file: str
    offset: int
    type: str
    uri: str | None
    warc: StatusAndHeaders
    http: StatusAndHeaders | None
    raw: bytes  # payload as stored (content-encoding intact)
    content: bytes  # payload decoded (content-encoding removed)


def warc_files(archive: Path) -> list[Path]:
    return sorted((archive / "warc").glob("*.warc.gz"))


def read_records(path: Path) -> list[Rec]:
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            raw = record.raw_stream.read()
            out.append(Rec(path.name, it.get_record_offset(), record.rec_type,
                           record.rec_headers.get_header("WARC-Target-URI"),
                           record.rec_headers, record.http_headers, raw, b""))
    for rec in out:
        rec.content = _decoded(rec)
    return out


def _decoded(rec: Rec) -> bytes:
    # warcio decodes "br" only with brotlipy, which clashes with Scrapy's brotli; decode here.
    encoding = (rec.http.get_header("Content-Encoding") or "").lower() if rec.http else ""
    if encoding == "br":
        return brotli.decompress(rec.raw)
    if encoding in ("gzip", "x-gzip"):
        import gzip

        return gzip.decompress(rec.raw)
    return rec.raw


REPO = Path(__file__).resolve().parents[1]
_TOOLS_WARCIO = Path(os.environ.get("PYWB_BIN") or REPO / ".tools" / "pywb" / "bin") / "warcio"


def warcio_check(paths: list[Path]) -> subprocess.CompletedProcess:
    """`warcio check -v`, from the pywb venv where warcio has brotlipy to decode "br" bodies."""
    cmd = [str(_TOOLS_WARCIO)] if _TOOLS_WARCIO.exists() else [sys.executable, "-m", "warcio.cli"]
    return subprocess.run([*cmd, "check", "-v", *map(str, paths)], capture_output=True, text=True)


def all_records(archive: Path) -> list[Rec]:
    return [rec for path in warc_files(archive) for rec in read_records(path)]


def responses(archive: Path) -> dict[str, Rec]:
    """The last response record per target URI."""
    return {r.uri: r for r in all_records(archive) if r.type == "response" and r.uri}


def json_records(archive: Path) -> list[dict]:
    lines = []
    for path in sorted((archive / "json").glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return lines


def record_at(archive: Path, filename: str, offset: int):
    """The record at `offset` of `filename`, read with one seek."""
    fh = open(archive / "warc" / filename, "rb")
    fh.seek(offset)
    record = next(iter(ArchiveIterator(fh)))
    return record, fh


def schema_errors(line: dict) -> list[str]:
    """The JSON line against the contract, read by the pure-Python jsonschema: a second,
    independent validator besides the jsonschema-rs one the crawler checks every line with."""
    from jsonschema import Draft202012Validator

    from storage.schema import load_schema

    return [error.message for error in Draft202012Validator(load_schema()).iter_errors(line)]

