"""Reading archives back in tests, with warcio (a third-party reader)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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
    with open(path, "rb") as fh:
        for rec, record in zip(out, ArchiveIterator(fh)):
            rec.content = record.content_stream().read()
    return out


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
