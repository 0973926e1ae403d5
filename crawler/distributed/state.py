"""The incremental state (storage/state.py) in Redis, shared by every worker of a crawl.

Same methods and the same answers as `storage.state.StateStore` (SQLite), so conditional
requests, revisit records and article versions work across workers: a page archived by one
worker is a revisit for the others. Selected by crawler.capture.session when REDIS_URL is set.

Keys (prefix DISTRIBUTED_KEY_PREFIX, default "newsarchive"):
    <prefix>:state:capture:<canonical url>   hash: the columns of the SQLite `captures` row
    <prefix>:state:payload:<payload digest>  JSON of the `payloads` row, written once (SET NX)
    <prefix>:state:versions:<canonical url>  hash: version number -> JSON of a `versions` row
They do not expire: like the SQLite file, they are the archive's memory (about 600 bytes a URL).
"""

from __future__ import annotations

import json
from typing import Any

from scrapy.settings import BaseSettings

from crawler.distributed.config import DistributedConfig
from storage.state import PreviousCapture, StoredPayload, Version, url_key

_INT_FIELDS = ("status", "warc_offset", "warc_length")
_CAPTURE_FIELDS = ("target_uri", "etag", "last_modified", "status", "payload_digest", "warc_date", "record_id",
                   "warc_filename", "warc_offset", "warc_length")


class RedisStateStore:
    def __init__(self, client: Any, prefix: str):
        self.r = client  # decode_responses=True
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RedisStateStore:
        config = DistributedConfig.from_settings(settings)
        return cls(config.client(decode=True), config.state_prefix)

    def close(self) -> None:
        self.r.close()

    def _capture(self, key: str) -> str:
        return f"{self.prefix}:capture:{key}"

    def _payload(self, digest: str) -> str:
        return f"{self.prefix}:payload:{digest}"

    def _versions(self, key: str) -> str:
        return f"{self.prefix}:versions:{key}"

    # -- reads --------------------------------------------------------------------------------
    def previous(self, url: str) -> PreviousCapture | None:
        key = url_key(url)
        row = self.r.hgetall(self._capture(key))
        if not row:
            return None
        ints = {name: int(row[name]) if row.get(name) not in (None, "") else None for name in _INT_FIELDS}
        return PreviousCapture(
            url=key, target_uri=row["target_uri"], etag=row.get("etag"), last_modified=row.get("last_modified"),
            status=ints["status"], payload_digest=row.get("payload_digest"), warc_date=row.get("warc_date"),
            record_id=row.get("record_id"), warc_filename=row.get("warc_filename"), warc_offset=ints["warc_offset"],
            warc_length=ints["warc_length"], text_digest=row.get("text_digest"), version=int(row.get("version") or 0),
            version_fetched_at=row.get("version_fetched_at"), json_done=row.get("json_done") == "1")

    def payload(self, digest: str) -> StoredPayload | None:
        raw = self.r.get(self._payload(digest))
        return StoredPayload(**json.loads(raw)) if raw else None

    def versions(self, url: str) -> list[Version]:
        key = url_key(url)
        rows = self.r.hgetall(self._versions(key))
        out = [Version(url=key, version=int(number), **json.loads(raw)) for number, raw in rows.items()]
        return sorted(out, key=lambda v: v.version)

    # -- writes -------------------------------------------------------------------------------
    def _upsert(self, pipe: Any, key: str, values: dict[str, Any]) -> None:
        """Points a URL at the record holding its payload; its article is to be (re)written."""
        name = self._capture(key)
        present = {k: str(v) for k, v in values.items() if v is not None}
        absent = [k for k, v in values.items() if v is None]
        pipe.hset(name, mapping={**present, "json_done": "0"})
        if absent:
            pipe.hdel(name, *absent)

    def record_response(self, url: str, *, etag: str | None, last_modified: str | None, status: int,
                        payload_digest: str | None, warc_date: str, record_id: str, filename: str,
                        offset: int, length: int) -> None:
        values = dict(zip(_CAPTURE_FIELDS, (url, etag, last_modified, status, payload_digest, warc_date, record_id,
                                            filename, offset, length)))
        pipe = self.r.pipeline()
        self._upsert(pipe, url_key(url), values)
        if payload_digest:
            stored = {"target_uri": url, "warc_date": warc_date, "record_id": record_id,
                      "warc_filename": filename, "warc_offset": offset, "warc_length": length}
            pipe.set(self._payload(payload_digest), json.dumps(stored), nx=True)
        pipe.execute()

    def record_revisit(self, url: str, *, etag: str | None, last_modified: str | None, status: int,
                       payload_digest: str, stored: StoredPayload) -> None:
        key = url_key(url)
        if self.r.hget(self._capture(key), "payload_digest") == payload_digest:
            self.record_validators(url, etag, last_modified)
            return
        values = dict(zip(_CAPTURE_FIELDS, (stored.target_uri, etag, last_modified, status, payload_digest,
                                            stored.warc_date, stored.record_id, stored.warc_filename,
                                            stored.warc_offset, stored.warc_length)))
        pipe = self.r.pipeline()
        self._upsert(pipe, key, values)
        pipe.execute()

    def record_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        fresh = {k: v for k, v in (("etag", etag), ("last_modified", last_modified)) if v is not None}
        name = self._capture(url_key(url))
        if fresh and self.r.exists(name):
            self.r.hset(name, mapping=fresh)

    def record_version(self, url: str, *, version: int, text_digest: str | None, fetched_at: str,
                       json_file: str, json_line: int) -> None:
        key = url_key(url)
        name = self._capture(key)
        pipe = self.r.pipeline()
        if self.r.exists(name):
            fields = {"version": str(version), "version_fetched_at": fetched_at, "json_done": "1"}
            if text_digest is not None:
                fields["text_digest"] = text_digest
            pipe.hset(name, mapping=fields)
            if text_digest is None:
                pipe.hdel(name, "text_digest")
        row = {"fetched_at": fetched_at, "text_digest": text_digest, "json_file": json_file, "json_line": json_line}
        pipe.hset(self._versions(key), str(version), json.dumps(row))
        pipe.execute()

    def mark_json_done(self, url: str) -> None:
        name = self._capture(url_key(url))
        if self.r.exists(name):
            self.r.hset(name, "json_done", "1")
