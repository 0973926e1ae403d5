"""After a crash: teach the crawl state what the repaired files hold.

A record reaches its file before the state hears of it (the state must never point at bytes
that are not on disk), so a kill in between leaves a whole record the state does not know.
Without this, the next run would fetch that URL again and archive its payload a second time,
or write its article a second time. The files are the truth: the records and lines that
survived repair are put back into the state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from warcio.archiveiterator import ArchiveIterator


class CrawlState(Protocol):  # storage.state.StateStore, or the Redis one of distributed mode
    def payload(self, digest: str) -> Any: ...
    def previous(self, url: str) -> Any: ...
    def record_response(self, url: str, **fields: Any) -> None: ...
    def record_version(self, url: str, **fields: Any) -> None: ...
    def mark_json_done(self, url: str) -> None: ...


@dataclass
class Recovered:
    responses: int = 0  # response records the state did not know
    articles: int = 0  # JSON lines the state did not know


def _responses(warc: Path) -> Iterator[dict[str, Any]]:
    with open(warc, "rb") as fh:
        records = ArchiveIterator(fh)
        for record in records:
            if record.rec_type != "response":
                continue
            headers = record.rec_headers
            http = record.http_headers
            record.raw_stream.read()  # to the end, so the length is known
            yield {
                "url": headers.get_header("WARC-Target-URI"),
                "status": int(http.get_statuscode()) if http else 0,
                "etag": http.get_header("ETag") if http else None,
                "last_modified": http.get_header("Last-Modified") if http else None,
                "payload_digest": headers.get_header("WARC-Payload-Digest"),
                "warc_date": headers.get_header("WARC-Date"),
                "record_id": headers.get_header("WARC-Record-ID"),
                "filename": warc.name,
                "offset": records.get_record_offset(),
                "length": records.get_record_length(),
            }


def _lines(jsonl: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(jsonl, encoding="utf-8") as fh:
        for number, line in enumerate(fh):
            try:
                yield number, json.loads(line)
            except ValueError:
                continue


def recover_state(state: CrawlState, warcs: list[Path], jsonls: list[Path]) -> Recovered:
    """Record in `state` the response records of `warcs` and the article lines of `jsonls`
    (files just repaired, in the order they were written) that it does not know yet."""
    found = Recovered()
    for warc in warcs:
        for response in _responses(warc):
            digest = response["payload_digest"]
            if digest and state.payload(digest) is None:
                state.record_response(response.pop("url"), **response)
                found.responses += 1
    for jsonl in jsonls:
        for number, record in _lines(jsonl):
            url, pointer = record.get("final_url"), record.get("warc") or {}
            previous = state.previous(url) if url else None
            if previous is None or previous.json_done or previous.payload_digest != pointer.get("payload_digest"):
                continue
            if record.get("text_digest"):
                state.record_version(url, version=record.get("version", 1), text_digest=record["text_digest"],
                                     fetched_at=record["fetched_at"], json_file=jsonl.name, json_line=number)
            else:
                state.mark_json_done(url)
            found.articles += 1
    return found
