"""`crawler history URL`: the versions of an article, with what changed between them."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterator

from crawler.fetch.urls import strip_tracking
from storage.jsonl import read_json_line
from storage.state import StateStore, Version
from storage.wacz import iter_json_lines


def _json_path(json_dir: Path, name: str) -> Path | None:
    for candidate in (json_dir / name, json_dir / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def version_texts(root: Path, url: str) -> list[tuple[Version, dict | None]]:
    """The versions of `url`: from the crawl state (an archive folder), else from the JSON lines
    (an archive unpacked from a WACZ has no state) for `url` as people paste it: as given,
    without tracking parameters, with them, or as the canonical URL a page declared."""
    state_file = root / "state" / "crawl.sqlite3"
    versions: list[Version] = []
    if state_file.exists():
        store = StateStore(state_file)
        try:
            versions = store.versions(url)
        finally:
            store.close()
    if not versions:
        return _versions_in_lines(root, url)
    out = []
    for version in versions:
        path = _json_path(root / "json", version.json_file)
        out.append((version, read_json_line(path, version.json_line) if path else None))
    return out


def _versions_in_lines(root: Path, url: str) -> list[tuple[Version, dict | None]]:
    clean = strip_tracking(url)
    found = []
    for line in iter_json_lines(root, lambda _text: None):
        if line.get("reason") is not None or not line.get("fetched_at"):
            continue
        names = {line.get("url"), line.get("final_url")}
        if ({url, clean} & names or line.get("canonical_url") in (url, clean)
                or any(name and strip_tracking(name) == clean for name in names)):
            found.append(line)
    found.sort(key=lambda line: line["fetched_at"])
    return [(Version(url=str(line.get("final_url") or line.get("url")), version=number,
                     fetched_at=line["fetched_at"], text_digest=line.get("text_digest"), json_file="", json_line=0),
             line) for number, line in enumerate(found, 1)]


def render(url: str, versions: list[tuple[Version, dict | None]]) -> Iterator[str]:
    if not versions:
        yield f"no archived versions of {url}"
        return
    for version, record in versions:
        count = (record or {}).get("word_count")
        if count is None and record and record.get("text"):
            count = len(record["text"].split())
        words = f"{count} words" if record else "JSON line not found"
        yield f"version {version.version}  {version.fetched_at}  {words}  {version.text_digest or ''}"
    for (old, old_rec), (new, new_rec) in zip(versions, versions[1:]):
        old_text = (old_rec or {}).get("text") or ""
        new_text = (new_rec or {}).get("text") or ""
        yield ""
        yield from difflib.unified_diff(
            old_text.splitlines(), new_text.splitlines(),
            fromfile=f"version {old.version} ({old.fetched_at})", tofile=f"version {new.version} ({new.fetched_at})",
            lineterm="")
