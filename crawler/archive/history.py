"""`crawler history URL`: the versions of an article, with what changed between them."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterator

from storage.jsonl import read_json_line
from storage.state import StateStore, Version


def _json_path(json_dir: Path, name: str) -> Path | None:
    for candidate in (json_dir / name, json_dir / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def version_texts(root: Path, url: str) -> list[tuple[Version, dict | None]]:
    state_file = root / "state" / "crawl.sqlite3"
    if not state_file.exists():
        return []
    store = StateStore(state_file)
    try:
        versions = store.versions(url)
    finally:
        store.close()
    out = []
    for version in versions:
        path = _json_path(root / "json", version.json_file)
        out.append((version, read_json_line(path, version.json_line) if path else None))
    return out


def render(url: str, versions: list[tuple[Version, dict | None]]) -> Iterator[str]:
    if not versions:
        yield f"no archived versions of {url}"
        return
    for version, record in versions:
        words = f"{record['word_count']} words" if record else "JSON line not found"
        yield f"version {version.version}  {version.fetched_at}  {words}  {version.text_digest or ''}"
    for (old, old_rec), (new, new_rec) in zip(versions, versions[1:]):
        old_text = (old_rec or {}).get("text") or ""
        new_text = (new_rec or {}).get("text") or ""
        yield ""
        yield from difflib.unified_diff(
            old_text.splitlines(), new_text.splitlines(),
            fromfile=f"version {old.version} ({old.fetched_at})", tofile=f"version {new.version} ({new.fetched_at})",
            lineterm="")
