"""`crawler citations URL`: what an article cites and what the archive holds of each source.

Read from the archive alone (its JSON lines): for each cited URL the state of its best
capture: ``archived`` (title, capture date; an archived page without an article says why),
``blocked:<kind>``, ``paywalled``, ``robots_disallowed``, ``failed:<reason>``, or
``not_fetched``; archived sources with their own citations, down to a depth. A URL met
again further down the tree is named, not expanded twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from crawler.fetch.urls import strip_tracking
from storage.wacz import iter_json_lines

ARCHIVED, NOT_FETCHED = "archived", "not_fetched"
# states of a page that was fetched but is not the article it should be
NAMED_STATES = ("paywalled", "robots_disallowed")


@dataclass
class ArchiveLines:
    """The archive's JSON lines by URL: as requested, after redirects, canonical, and each
    without tracking parameters; for each URL the line that says most about it."""

    by_url: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path, on_problem: Callable[[str], None]) -> ArchiveLines:
        lines = cls()
        for line in iter_json_lines(root, on_problem):
            if line.get("url"):
                lines.add(line)
        return lines

    def add(self, line: dict[str, Any]) -> None:
        names = {line.get("url"), line.get("final_url"), line.get("canonical_url")}
        for name in [n for n in names if n]:
            for key in {name, strip_tracking(name)}:
                known = self.by_url.get(key)
                if known is None or _rank(line) > _rank(known):
                    self.by_url[key] = line

    def find(self, url: str) -> dict[str, Any] | None:
        return self.by_url.get(url) or self.by_url.get(strip_tracking(url))


def _rank(line: dict[str, Any]) -> tuple[int, str]:
    """An article beats an archived page without one, which beats a failure; then the newest."""
    if line.get("reason") is None and line.get("warc"):
        quality = 2
    elif line.get("warc") and (line.get("status") or 0) < 400:
        quality = 1
    else:
        quality = 0
    return quality, str(line.get("fetched_at") or "")


def state_of(line: dict[str, Any] | None) -> tuple[str, str | None]:
    """(state, why) of a URL's best line: why an archived page holds no article."""
    if line is None:
        return NOT_FETCHED, None
    reason = line.get("reason")
    if reason is None:
        return ARCHIVED, None
    if reason.startswith("blocked:") or reason in NAMED_STATES:
        return reason, None
    if line.get("warc") and (line.get("status") or 0) < 400:
        return ARCHIVED, reason
    return f"failed:{reason}", None  # the error page is archived, the source is gone


def citation_tree(lines: ArchiveLines, url: str, depth: int = 1) -> dict[str, Any] | None:
    """The tree of what ``url`` cites (None when the archive holds no line of it)."""
    line = lines.find(url)
    if line is None:
        return None
    seen: set[str] = set()
    return _node(lines, url, line, depth, seen, {"url": url})


def _node(lines: ArchiveLines, url: str, line: dict[str, Any] | None, depth: int,
          seen: set[str], node: dict[str, Any]) -> dict[str, Any]:
    state, why = state_of(line)
    node.update(state=state, no_article=why)
    if line is not None:
        node.update(title=line.get("title"), fetched_at=line.get("fetched_at"),
                    archived_url=line.get("final_url") or line.get("url"))
    key = strip_tracking(url)
    if line is None or state != ARCHIVED or depth <= 0:
        return node
    if key in seen:
        node["repeated"] = True  # shown above: its citations are not listed again
        return node
    seen.add(key)
    node["citations"] = [
        _node(lines, cited["url"], lines.find(cited["url"]), depth - 1, seen, dict(cited))
        for cited in _citations_of(line)
    ]
    return node


def _citations_of(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The line's citations; lines written before schema 1.1 have only `links`."""
    citations = line.get("citations")
    if isinstance(citations, list):
        return [c for c in citations if isinstance(c, dict) and c.get("url")]
    return [{"url": link, "text": "", "kind": "link"} for link in line.get("links") or []]


def render(tree: dict[str, Any]) -> Iterator[str]:
    """The tree as text lines, a journalist's view of a story's footing."""
    yield _describe(tree)
    citations = tree.get("citations")
    if citations is not None and not citations:
        yield "  cites nothing"
    yield from _children(tree, "")
    counts: dict[str, int] = {}
    for node in _walk(tree):
        counts[node["state"].split(":")[0]] = counts.get(node["state"].split(":")[0], 0) + 1
    if citations:
        yield ""
        yield "sources: " + ", ".join(f"{state} {count}" for state, count in sorted(counts.items()))


def _children(node: dict[str, Any], indent: str) -> Iterator[str]:
    children = node.get("citations") or []
    for index, child in enumerate(children):
        last = index == len(children) - 1
        yield f"{indent}{'└─' if last else '├─'} {_describe(child)}"
        yield from _children(child, indent + ("   " if last else "│  "))


def _describe(node: dict[str, Any]) -> str:
    parts = []
    if node.get("kind"):
        parts.append(f"[{node['kind']}]")
    if node.get("text"):
        parts.append(node["text"])
    parts.append(node["url"])
    state = node["state"]
    if state == ARCHIVED:
        when = (node.get("fetched_at") or "")[:19].replace("T", " ")
        detail = f"archived {when}"
        if node.get("no_article"):
            detail += f", no article ({node['no_article']})"
        elif node.get("title"):
            detail += f' "{node["title"]}"'
        if node.get("repeated"):
            detail += " (its citations above)"
        parts.append(f"— {detail}")
    else:
        parts.append(f"— {state.replace('_', ' ') if state == NOT_FETCHED else state}")
    return " ".join(parts)


def _walk(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for child in tree.get("citations") or []:
        yield child
        yield from _walk(child)
