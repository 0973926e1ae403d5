"""The archive's full-text index: every article line of json/, in SQLite FTS5, `index/search.sqlite3`.

Why SQLite FTS5: it ships with Python (nothing to install or run), one file next to the CDXJ
index, BM25 ranking, phrases, AND/OR/NOT, prefixes and snippets built in, readers and a writer at
once, and transactions, so a crawl adding its lines never leaves a half-indexed file. At 100,000
articles a query takes milliseconds (bench/search_scaling.py has the figures and the comparison
with tantivy and FTS5's trigram tokenizer).

Tables: `articles` holds each version's facts, text and JSON line (the FTS5 table `fts` indexes
its title, text and the CJK bigrams of both as external content, so the text is stored once);
`files` the JSON Lines files indexed (by name without `.gz`: a file gzipped after indexing is not
indexed again); `cites` which article cites which URL (for "cited by"); `lsh` the MinHash buckets
(storage.similarity); `outcomes` the pages that gave no article, with their reason (the state of
a citation that failed). Text is folded by unicode61 with remove_diacritics 2: case and
diacritics (Ära = ara, Hürde = hurde, pequeño = pequeno).

Kept current two ways: a crawl's session calls `update_search_index` when its JSON file closes;
every reader (`open_search_index`) first indexes the files that are not indexed yet. A missing
index is built, and an index SQLite cannot read (or of an older layout) is rebuilt from the lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.jsonl import iter_json_file
from storage.search_query import QueryError, cjk_bigrams, fts_query
from storage.similarity import SIMILAR_THRESHOLD, buckets, signature, similarity
from storage.wacz import json_line_files

INDEX_FILE = "search.sqlite3"
LAYOUT = "2"  # the tables' layout: an index of another layout is rebuilt
START, END = "\x02", "\x03"  # what snippets mark matches with; the caller renders them
SNIPPET_WORDS = 24
WRITE_CACHE_KIB = 65536

TABLES = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE files(name TEXT PRIMARY KEY, lines INTEGER NOT NULL, articles INTEGER NOT NULL);
CREATE TABLE articles(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,              -- the article: its final URL (else the URL asked for)
    url TEXT NOT NULL,
    canonical TEXT,
    source TEXT, language TEXT, lang TEXT, title TEXT, published TEXT, fetched_at TEXT NOT NULL,
    day TEXT,                       -- yyyy-mm-dd: published, else fetched (--since/--until)
    version INTEGER, latest INTEGER NOT NULL DEFAULT 0,
    text TEXT, cjk TEXT,
    record TEXT NOT NULL,           -- the JSON line without its text
    minhash BLOB);
CREATE INDEX articles_key ON articles(key, fetched_at);
CREATE INDEX articles_url ON articles(url);
CREATE INDEX articles_canonical ON articles(canonical);
CREATE INDEX articles_latest ON articles(latest, fetched_at);
CREATE VIRTUAL TABLE fts USING fts5(title, text, cjk, content='articles', content_rowid='id',
                                    tokenize='unicode61 remove_diacritics 2');
CREATE TABLE cites(url TEXT NOT NULL, id INTEGER NOT NULL);
CREATE INDEX cites_url ON cites(url);
CREATE TABLE lsh(bucket INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY(bucket, id)) WITHOUT ROWID;
CREATE TABLE outcomes(url TEXT PRIMARY KEY, reason TEXT, error TEXT, status INTEGER, fetched_at TEXT);
"""
ARTICLE_COLUMNS = "id, key, url, source, language, title, published, fetched_at, version, latest"


class SearchIndexError(RuntimeError):
    """The index cannot be built or written (a full disk, a read-only folder)."""


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # primary subtags: de, en, zh...
    since: str | None = None  # yyyy-mm-dd, inclusive, on the article's date (published, else fetched)
    until: str | None = None


@dataclass(frozen=True)
class Hit:
    id: int
    url: str
    title: str | None
    source: str | None
    language: str | None
    published: str | None
    fetched_at: str
    version: int
    snippet: str  # matches between START and END
    score: float  # BM25, higher is better


@dataclass
class UpdateReport:
    files: int = 0  # files indexed by this update
    lines: int = 0
    articles: int = 0
    built: str | None = None  # why the index was (re)built: "missing", "unreadable: ...", "older layout"
    problems: list[str] = field(default_factory=list)


def search_index_path(root: Path) -> Path:
    return Path(root) / "index" / INDEX_FILE


def day_of(value: Any) -> str | None:
    text = str(value or "")
    return text[:10] if len(text) >= 10 and text[4] == "-" and text[7] == "-" else None


def cited_urls(record: dict[str, Any]) -> list[str]:
    """The URLs an article cites: its `citations` (url, text, kind) where the line has them,
    else its `links`; each once, in order."""
    urls: list[str] = []
    for item in record.get("citations") or []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            urls.append(item["url"])
    for link in record.get("links") or []:
        if isinstance(link, str):
            urls.append(link)
    return list(dict.fromkeys(urls))


@contextlib.contextmanager
def _writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time (a crawl closing its file, a search bringing the index up to date)."""
    lock_path = Path(root) / "index" / ".search.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


class SearchIndex:
    """An open index. Reads are plain method calls; `add_file` is the one way lines get in."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # -- writing ---------------------------------------------------------------------------------
    def indexed_files(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT name FROM files")}

    def add_file(self, path: Path, lines: Iterable[dict[str, Any]],
                 signatures: Mapping[str, bytes | None] | None = None) -> tuple[int, int]:
        """Index the lines of one JSON Lines file in one transaction; returns (lines, articles).
        `signatures`: MinHash signatures already made, by text digest (a crawl makes them as it
        writes its lines, while it waits for pages, so its end does not)."""
        count = articles = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for line in lines:
                count += 1
                articles += self._add_line(line, signatures or {})
            self.conn.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                              (path.name.removesuffix(".gz"), count, articles))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return count, articles

    def _add_line(self, line: dict[str, Any], signatures: Mapping[str, bytes | None]) -> int:
        url = str(line.get("url") or "")
        text = line.get("text")
        fetched = str(line.get("fetched_at") or "")
        if line.get("reason") is not None or not isinstance(text, str) or not text.strip() or not url or not fetched:
            if line.get("reason") is not None and url:
                for name in {url, str(line.get("final_url") or url)}:
                    self.conn.execute("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?)",
                                      (name, line.get("reason"), line.get("error"), line.get("status"), fetched))
            return 0
        key = str(line.get("final_url") or url)
        title = line.get("title") if isinstance(line.get("title"), str) else None
        language = line.get("language") if isinstance(line.get("language"), str) else None
        record = {name: value for name, value in line.items() if name != "text"}
        digest = line.get("text_digest")
        sig = signatures[digest] if isinstance(digest, str) and digest in signatures else signature(text)
        cur = self.conn.execute(
            "INSERT INTO articles (key, url, canonical, source, language, lang, title, published, fetched_at,"
            " day, version, text, cjk, record, minhash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (key, url, line.get("canonical_url"), line.get("source"), language,
             (language or "").split("-")[0].lower() or None, title, line.get("published"), fetched,
             day_of(line.get("published")) or day_of(fetched), int(line.get("version") or 1), text,
             cjk_bigrams(f"{title or ''}\n{text}"), json.dumps(record, ensure_ascii=False), sig))
        new_id = cur.lastrowid
        self.conn.execute("INSERT INTO fts (rowid, title, text, cjk) SELECT id, title, text, cjk FROM articles "
                          "WHERE id = ?", (new_id,))
        current = self.conn.execute("SELECT id, fetched_at FROM articles INDEXED BY articles_key "
                                    "WHERE key = ? AND latest = 1", (key,)).fetchone()
        if current is None or fetched >= current["fetched_at"]:
            if current is not None:
                self.conn.execute("UPDATE articles SET latest = 0 WHERE id = ?", (current["id"],))
            self.conn.execute("UPDATE articles SET latest = 1 WHERE id = ?", (new_id,))
        self.conn.executemany("INSERT INTO cites VALUES (?, ?)", [(u, new_id) for u in cited_urls(line)])
        if sig is not None:
            self.conn.executemany("INSERT OR IGNORE INTO lsh VALUES (?, ?)", [(b, new_id) for b in buckets(sig)])
        return 1

    # -- reading ---------------------------------------------------------------------------------
    def count(self, *, latest: bool = True) -> int:
        where = " WHERE latest = 1" if latest else ""
        return int(self.conn.execute(f"SELECT count(*) FROM articles{where}").fetchone()[0])

    def facets(self) -> dict[str, list[tuple[str, int]]]:
        """Sources and languages of the latest versions, with their counts (for filter menus)."""
        out = {}
        for column in ("source", "lang"):
            rows = self.conn.execute(f"SELECT {column}, count(*) FROM articles WHERE latest = 1 AND {column} "
                                     f"IS NOT NULL GROUP BY {column} ORDER BY count(*) DESC")
            out[column] = [(row[0], row[1]) for row in rows]
        return out

    def _filters(self, filters: Filters, all_versions: bool) -> tuple[str, list[Any]]:
        where, params = [], []
        if not all_versions:
            where.append("a.latest = 1")
        if filters.sources:
            where.append(f"a.source IN ({','.join('?' * len(filters.sources))})")
            params.extend(filters.sources)
        if filters.languages:
            where.append(f"a.lang IN ({','.join('?' * len(filters.languages))})")
            params.extend(lang.split("-")[0].lower() for lang in filters.languages)
        if filters.since:
            where.append("a.day >= ?")
            params.append(filters.since)
        if filters.until:
            where.append("a.day <= ?")
            params.append(filters.until)
        return "".join(f" AND {clause}" for clause in where), params

    def search(self, query: str, filters: Filters = Filters(), *, limit: int = 20, offset: int = 0,
               all_versions: bool = False) -> list[Hit]:
        """Ranked hits (BM25, a title match weighs 4 times a text match). QueryError for a query
        that cannot be searched (empty, unbalanced quotes...)."""
        match = fts_query(query)
        where, params = self._filters(filters, all_versions)
        sql = (f"SELECT a.id, bm25(fts, 4.0, 1.0, 1.0) AS score FROM fts JOIN articles a ON a.id = fts.rowid "
               f"WHERE fts MATCH ?{where} ORDER BY score LIMIT ? OFFSET ?")
        try:
            ranked = self.conn.execute(sql, [match, *params, limit, offset]).fetchall()
            hits = []
            for row in ranked:
                article = self.conn.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?",
                                            (row["id"],)).fetchone()
                snippet = self.conn.execute(
                    "SELECT snippet(fts, 1, ?, ?, '…', ?) FROM fts WHERE fts MATCH ? AND rowid = ?",
                    (START, END, SNIPPET_WORDS, match, row["id"])).fetchone()[0] or ""
                if START not in snippet:  # matched in the title or the CJK bigrams only
                    snippet = self._snippet(row["id"], query, match)
                hits.append(Hit(id=article["id"], url=article["key"], title=article["title"], source=article["source"],
                                language=article["language"], published=self._published(article),
                                fetched_at=article["fetched_at"], version=article["version"] or 1,
                                snippet=snippet, score=round(-float(row["score"]), 4)))
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc) or "syntax error" in str(exc):
                raise QueryError(f"{query!r} cannot be searched ({exc})") from None
            raise
        return hits

    def latest(self, filters: Filters = Filters(), *, limit: int = 20, offset: int = 0) -> list[Hit]:
        """The articles (latest versions), newest fetch first: what a start page lists."""
        where, params = self._filters(filters, False)
        rows = self.conn.execute(f"SELECT {ARTICLE_COLUMNS}, substr(text, 1, 300) AS lead FROM articles a "
                                 f"WHERE 1{where} ORDER BY fetched_at DESC, id DESC LIMIT ? OFFSET ?",
                                 [*params, limit, offset]).fetchall()
        return [Hit(id=row["id"], url=row["key"], title=row["title"], source=row["source"], language=row["language"],
                    published=self._published(row), fetched_at=row["fetched_at"], version=row["version"] or 1,
                    snippet=" ".join((row["lead"] or "").split()[:SNIPPET_WORDS]) + " …", score=0.0) for row in rows]

    @staticmethod
    def _published(article: sqlite3.Row) -> str | None:
        return str(article["published"]) if article["published"] else None

    def _snippet(self, article_id: int, query: str, match: str) -> str:
        """A snippet when the text's own has no match: around the first CJK term of the query found
        in the text, else the title's match and the text's first words."""
        from storage.search_query import CJK_RUN, plain_terms

        text = self.conn.execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()[0] or ""
        for term in plain_terms(query):
            for run in CJK_RUN.findall(term):
                at = text.find(run)
                if at >= 0:
                    start, end = max(0, at - 40), at + len(run) + 60
                    return (("…" if start else "") + text[start:at] + START + run + END + text[at + len(run):end]
                            + ("…" if end < len(text) else "")).replace("\n", " ")
        words = text.split()
        lead = " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS else "")
        title = self.conn.execute("SELECT highlight(fts, 0, ?, ?) FROM fts WHERE fts MATCH ? AND rowid = ?",
                                  (START, END, match, article_id)).fetchone()
        return f"{title[0]} — {lead}" if title and title[0] and START in title[0] else lead

    def find(self, urls: Iterable[str]) -> sqlite3.Row | None:
        """The latest version of the article any of `urls` names (its URL, final URL or canonical)."""
        names = list(dict.fromkeys(urls))
        marks = ",".join("?" * len(names))
        row = self.conn.execute(
            f"SELECT key FROM articles WHERE key IN ({marks}) OR url IN ({marks}) OR canonical IN ({marks}) "
            "ORDER BY fetched_at DESC LIMIT 1", names * 3).fetchone()
        if row is None:
            return None
        return self.conn.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles INDEXED BY articles_key "
                                 "WHERE key = ? AND latest = 1", (row["key"],)).fetchone()

    def record(self, article_id: int) -> dict[str, Any]:
        """The whole JSON line of one version (its text put back)."""
        row = self.conn.execute("SELECT record, text FROM articles WHERE id = ?", (article_id,)).fetchone()
        record = json.loads(row["record"])
        record["text"] = row["text"]
        return dict(record)

    def versions(self, key: str) -> list[sqlite3.Row]:
        return self.conn.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE key = ? ORDER BY fetched_at, id",
                                 (key,)).fetchall()

    def cited_by(self, urls: Iterable[str], *, exclude_key: str | None = None) -> list[sqlite3.Row]:
        """The articles (latest versions) that cite any of `urls`, newest first."""
        names = list(dict.fromkeys(urls))
        cols = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS.split(", "))
        return [row for row in self.conn.execute(
            f"SELECT DISTINCT {cols} FROM cites c JOIN articles a ON a.id = c.id "
            f"WHERE c.url IN ({','.join('?' * len(names))}) AND a.latest = 1 ORDER BY a.fetched_at DESC", names)
            if row["key"] != exclude_key]

    def similar(self, article_id: int, *, limit: int = 20,
                threshold: float = SIMILAR_THRESHOLD) -> list[tuple[sqlite3.Row, float]]:
        """Other articles (latest versions) whose text is a near-duplicate of this version's,
        with the estimated similarity, most similar first."""
        row = self.conn.execute("SELECT key, minhash FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None or row["minhash"] is None:
            return []
        marks = ",".join("?" * len(buckets(row["minhash"])))
        candidates = self.conn.execute(
            f"SELECT DISTINCT a.id, a.key, a.minhash FROM lsh l CROSS JOIN articles a ON a.id = l.id "
            f"WHERE l.bucket IN ({marks}) AND a.key != ? AND a.latest = 1",
            [*buckets(row["minhash"]), row["key"]]).fetchall()
        scored = sorted(((similarity(row["minhash"], c["minhash"]), c["id"]) for c in candidates), reverse=True)
        out = []
        for score, other in scored:
            if score < threshold or len(out) >= limit:
                break
            out.append((self.conn.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (other,)).fetchone(),
                        round(score, 3)))
        return out

    def outcome(self, url: str) -> sqlite3.Row | None:
        """Why a page gave no article (failed, blocked, not HTML...), if it was tried."""
        return self.conn.execute("SELECT * FROM outcomes WHERE url = ?", (url,)).fetchone()

    def close(self) -> None:
        self.conn.close()


# -- opening, building, updating -------------------------------------------------------------------
def _usable(path: Path) -> str | None:
    """None if the index at `path` can be used; else why it must be rebuilt."""
    if not path.is_file():
        return "missing"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
            conn.execute("SELECT count(*) FROM files").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"unreadable ({exc})"
    if row is None or row[0] != LAYOUT:
        return "of an older layout"
    return None


def _build_empty(path: Path) -> None:
    """A new, empty index at `path`, made on the side and renamed into place."""
    building = path.with_name(path.name + ".building")
    for stale in (building, Path(f"{building}-journal")):
        stale.unlink(missing_ok=True)
    conn = sqlite3.connect(building, isolation_level=None)
    try:
        conn.executescript(TABLES)
        conn.execute("INSERT INTO meta VALUES ('layout', ?)", (LAYOUT,))
    finally:
        conn.close()
    Path(f"{path}-journal").unlink(missing_ok=True)  # a hot journal of the old file must not touch the new one
    os.replace(building, path)


def _index_new_files(index: SearchIndex, root: Path, report: UpdateReport,
                     on_problem: Callable[[str], None], signatures: Mapping[str, bytes | None] | None) -> None:
    done = index.indexed_files()
    for path in json_line_files(root):
        if path.name.removesuffix(".gz") in done:
            continue

        def problem(text: str) -> None:
            report.problems.append(text)
            on_problem(text)

        lines, articles = index.add_file(path, iter_json_file(path, problem), signatures)
        report.files += 1
        report.lines += lines
        report.articles += articles


def update_search_index(root: Path, *, rebuild: bool = False, on_problem: Callable[[str], None] | None = None,
                        signatures: Mapping[str, bytes | None] | None = None) -> UpdateReport:
    """Bring `root`'s index up to date with its JSON lines: build it if missing, rebuild it if it
    cannot be read (or `rebuild`), else index the files not indexed yet. SearchIndexError when
    the index cannot be written."""
    root = Path(root)
    report = UpdateReport()
    path = search_index_path(root)
    try:
        with _writer_lock(root):
            why = "asked (--rebuild)" if rebuild else _usable(path)
            if why is not None:
                report.built = why
                _build_empty(path)
            index = SearchIndex(_connect(path), path)
            # A file's lines go in as one transaction: with SQLite's default 2 MB page cache a big
            # file's pages spill to disk again and again (10,000 lines: 86 articles/s instead of
            # several hundred). WRITE_CACHE_KIB bounds what the writer holds, whatever the archive.
            index.conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            try:
                _index_new_files(index, root, report, on_problem or (lambda _text: None), signatures)
            finally:
                index.close()
    except (OSError, sqlite3.Error) as exc:
        raise SearchIndexError(f"cannot write the search index {path}: {exc}") from None
    return report


def open_search_index(root: Path, *, on_problem: Callable[[str], None] | None = None
                      ) -> tuple[SearchIndex, UpdateReport]:
    """The index of `root`, brought up to date first (built when missing, rebuilt when unreadable)."""
    report = update_search_index(root, on_problem=on_problem)
    path = search_index_path(root)
    return SearchIndex(_connect(path), path), report


__all__ = ["Filters", "Hit", "QueryError", "SearchIndex", "SearchIndexError", "UpdateReport", "cited_urls",
           "open_search_index", "search_index_path", "update_search_index"]
