"""Incremental crawl state in SQLite: what each URL looked like when last captured.

For every URL: its last ETag and Last-Modified (for conditional requests), the response record
that holds its payload (for revisit records), and the text digest and version of its article
(for new versions). Every change is committed at once, so a crash loses at most the write in
flight; WAL mode lets readers (``crawler history``) look while a crawl writes.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from w3lib.url import canonicalize_url

SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    url TEXT PRIMARY KEY,          -- canonical URL
    target_uri TEXT NOT NULL,      -- WARC-Target-URI of the record holding the payload
    etag TEXT,
    last_modified TEXT,
    status INTEGER,
    payload_digest TEXT,
    warc_date TEXT,
    record_id TEXT,
    warc_filename TEXT,
    warc_offset INTEGER,
    warc_length INTEGER,
    text_digest TEXT,              -- of the latest article version written as JSON
    version INTEGER NOT NULL DEFAULT 0,
    version_fetched_at TEXT,
    json_done INTEGER NOT NULL DEFAULT 0   -- the JSON line of this payload was written
);
CREATE TABLE IF NOT EXISTS payloads (
    payload_digest TEXT PRIMARY KEY,
    target_uri TEXT NOT NULL,
    warc_date TEXT NOT NULL,
    record_id TEXT NOT NULL,
    warc_filename TEXT,
    warc_offset INTEGER,
    warc_length INTEGER
);
CREATE TABLE IF NOT EXISTS versions (
    url TEXT NOT NULL,
    version INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    text_digest TEXT,
    json_file TEXT NOT NULL,
    json_line INTEGER NOT NULL,
    PRIMARY KEY (url, version)
);
"""


# A revisit confirmed the payload: the freshest validators win, a missing one keeps the old.
_REFRESH_VALIDATORS = (
    "UPDATE captures SET etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified) WHERE url = ?"
)


@lru_cache(maxsize=1024)  # each page asks 3-4 times (request, capture, JSON line): bounded
def url_key(url: str) -> str:
    return canonicalize_url(url, keep_fragments=False)


@dataclass(frozen=True)
class PreviousCapture:
    url: str
    target_uri: str
    etag: str | None
    last_modified: str | None
    status: int | None
    payload_digest: str | None
    warc_date: str | None
    record_id: str | None
    warc_filename: str | None
    warc_offset: int | None
    warc_length: int | None
    text_digest: str | None
    version: int
    version_fetched_at: str | None
    json_done: bool


@dataclass(frozen=True)
class StoredPayload:
    target_uri: str
    warc_date: str
    record_id: str
    warc_filename: str | None
    warc_offset: int | None
    warc_length: int | None


@dataclass(frozen=True)
class Version:
    url: str
    version: int
    fetched_at: str
    text_digest: str | None
    json_file: str
    json_line: int


class StateStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def previous(self, url: str) -> PreviousCapture | None:
        with self._lock:
            row = self._db.execute(
                "SELECT url, target_uri, etag, last_modified, status, payload_digest, warc_date, record_id,"
                " warc_filename, warc_offset, warc_length, text_digest, version, version_fetched_at, json_done"
                " FROM captures WHERE url = ?", (url_key(url),)).fetchone()
        return PreviousCapture(*row[:-1], bool(row[-1])) if row else None

    def payload(self, digest: str) -> StoredPayload | None:
        with self._lock:
            row = self._db.execute(
                "SELECT target_uri, warc_date, record_id, warc_filename, warc_offset, warc_length"
                " FROM payloads WHERE payload_digest = ?", (digest,)).fetchone()
        return StoredPayload(*row) if row else None

    def _upsert(self, *values: object) -> None:
        """Points a URL at the record holding its payload; its article is to be (re)written."""
        self._db.execute(
            "INSERT INTO captures (url, target_uri, etag, last_modified, status, payload_digest, warc_date,"
            " record_id, warc_filename, warc_offset, warc_length, json_done)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
            " ON CONFLICT(url) DO UPDATE SET target_uri=excluded.target_uri, etag=excluded.etag,"
            " last_modified=excluded.last_modified, status=excluded.status,"
            " payload_digest=excluded.payload_digest, warc_date=excluded.warc_date,"
            " record_id=excluded.record_id, warc_filename=excluded.warc_filename,"
            " warc_offset=excluded.warc_offset, warc_length=excluded.warc_length, json_done=0",
            values)

    def record_response(self, url: str, *, etag: str | None, last_modified: str | None, status: int,
                        payload_digest: str | None, warc_date: str, record_id: str, filename: str,
                        offset: int, length: int) -> None:
        """A response record was written: it now holds this URL's (and this payload's) bytes."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._upsert(url_key(url), url, etag, last_modified, status, payload_digest, warc_date,
                         record_id, filename, offset, length)
            if payload_digest:
                self._db.execute(
                    "INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (payload_digest, url, warc_date, record_id, filename, offset, length))

    def record_revisit(self, url: str, *, etag: str | None, last_modified: str | None, status: int,
                       payload_digest: str, stored: StoredPayload) -> None:
        """A revisit was written: the URL's payload lives in `stored`'s record."""
        key = url_key(url)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            row = self._db.execute("SELECT payload_digest FROM captures WHERE url = ?", (key,)).fetchone()
            if row and row[0] == payload_digest:
                self._db.execute(_REFRESH_VALIDATORS, (etag, last_modified, key))
                return
            self._upsert(key, stored.target_uri, etag, last_modified, status, payload_digest, stored.warc_date,
                         stored.record_id, stored.warc_filename, stored.warc_offset, stored.warc_length)

    def record_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """A revisit confirmed the payload: keep the freshest validators."""
        with self._lock:
            self._db.execute(_REFRESH_VALIDATORS, (etag, last_modified, url_key(url)))

    def record_version(self, url: str, *, version: int, text_digest: str | None, fetched_at: str,
                       json_file: str, json_line: int) -> None:
        """The JSON line of this URL's current payload was written as article `version`."""
        key = url_key(url)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE captures SET text_digest = ?, version = ?, version_fetched_at = ?, json_done = 1"
                " WHERE url = ?", (text_digest, version, fetched_at, key))
            self._db.execute("INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                             (key, version, fetched_at, text_digest, json_file, json_line))

    def mark_json_done(self, url: str) -> None:
        with self._lock:
            self._db.execute("UPDATE captures SET json_done = 1 WHERE url = ?", (url_key(url),))

    def versions(self, url: str) -> list[Version]:
        with self._lock:
            rows = self._db.execute(
                "SELECT url, version, fetched_at, text_digest, json_file, json_line FROM versions"
                " WHERE url = ? ORDER BY version", (url_key(url),)).fetchall()
        return [Version(*row) for row in rows]
