"""A story in the archive: one article, its versions, what it cites (and whether each cited page
is archived, or why not), who cites it, and the same story elsewhere (near-duplicate texts).

What `crawler story URL` prints and the article page of `crawler serve` shows. The article is
found by its URL as people paste it: as given, without tracking parameters, or as the canonical
URL a page declared. Citations come from the line's `citations` (url, text, kind) when it has
them, else from its `links`; their state from the archive's CDXJ index (a capture and its HTTP
status) and, for pages that gave no article, the reason their JSON line records.
"""

from __future__ import annotations

import difflib
import itertools
import sqlite3
from pathlib import Path
from typing import Any

from crawler.fetch.urls import strip_tracking
from storage.archive_index import index_path
from storage.cdxj import CdxjIndex
from storage.search_index import SearchIndex


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    return {"url": row["key"], "title": row["title"], "source": row["source"], "language": row["language"],
            "published": row["published"], "fetched_at": row["fetched_at"], "version": row["version"]}


def _citations(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The line's citations as {url, text, kind}: `citations` where present, else `links`."""
    if isinstance(record.get("citations"), list):
        items = [c for c in record["citations"] if isinstance(c, dict) and isinstance(c.get("url"), str)]
        return [{"url": c["url"], "text": c.get("text"), "kind": c.get("kind")} for c in items]
    return [{"url": link, "text": None, "kind": None} for link in record.get("links") or [] if isinstance(link, str)]


def citation_state(index: SearchIndex, cdxj: CdxjIndex | None, url: str) -> dict[str, Any]:
    """Whether a cited page is archived: its latest capture (time, HTTP status) and article, or
    the reason it gave none, or not tried."""
    state: dict[str, Any] = {"state": "not archived", "captured_at": None, "status": None, "title": None,
                             "reason": None}
    capture = None
    if cdxj is not None:
        try:
            captures = [c for c in cdxj.lookup(url) if c.record_type in ("response", "revisit")]
        except ValueError:
            captures = []
        capture = captures[-1] if captures else None
    article = index.find([url, strip_tracking(url)])
    outcome = index.outcome(url)
    if capture is not None:
        state.update(captured_at=capture.timestamp, status=capture.status)
    if article is not None:
        state.update(state="archived", title=article["title"], captured_at=state["captured_at"] or article["fetched_at"])
    elif outcome is not None:
        state.update(state="archived, no article" if capture is not None else "failed", reason=outcome["reason"],
                     status=state["status"] or outcome["status"])
    elif capture is not None:
        state["state"] = "archived"
    return state


def version_diffs(versions: list[dict[str, Any]]) -> list[str]:
    """Unified diffs of the text between consecutive versions (one string each)."""
    out = []
    for old, new in itertools.pairwise(versions):
        out.append("\n".join(difflib.unified_diff(
            (old.get("text") or "").splitlines(), (new.get("text") or "").splitlines(),
            fromfile=f"version {old['version']} ({old['fetched_at']})",
            tofile=f"version {new['version']} ({new['fetched_at']})", lineterm="")))
    return out


def story(root: Path, index: SearchIndex, url: str, *, similar_limit: int = 20) -> dict[str, Any] | None:
    """The story of the article `url` names, as one JSON-ready object with the keys article,
    versions, citations, cited_by, similar; None when no archived article has that URL."""
    names = list(dict.fromkeys([url, strip_tracking(url)]))
    latest = index.find(names)
    if latest is None:
        return None
    record = index.record(latest["id"])
    cdxj_file = index_path(root)
    cdxj = CdxjIndex(cdxj_file, strict=False) if cdxj_file.is_file() else None
    versions = []
    for row in index.versions(latest["key"]):
        line = index.record(row["id"])
        versions.append({"version": row["version"], "fetched_at": row["fetched_at"],
                         "text_digest": line.get("text_digest"), "word_count": line.get("word_count"),
                         "title": row["title"], "text": line.get("text")})
    citations = [{**cited, **citation_state(index, cdxj, cited["url"])} for cited in _citations(record)]
    cited_by = [_summary(row) for row in index.cited_by(
        [*names, latest["key"], *([record["canonical_url"]] if record.get("canonical_url") else [])],
        exclude_key=latest["key"])]
    similar = [{**_summary(row), "similarity": score} for row, score in index.similar(latest["id"], limit=similar_limit)]
    return {"article": record, "versions": versions, "citations": citations, "cited_by": cited_by,
            "similar": similar}
