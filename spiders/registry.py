"""Every declared source, by name, and which source a URL belongs to."""

from __future__ import annotations

from typing import Any

from spiders import benzinga, communicationstoday, cryptopolitan, dw, ft, itif, restofworld, reuters
from spiders.base import Source, SourceSpider

_MODULES = (reuters, ft, dw, itif, restofworld, benzinga, cryptopolitan, communicationstoday)

SOURCES: dict[str, Source] = {m.SOURCE.name: m.SOURCE for m in _MODULES}
SPIDERS: dict[str, type[SourceSpider]] = {
    m.SOURCE.name: next(v for v in vars(m).values()
                        if isinstance(v, type) and issubclass(v, SourceSpider) and v is not SourceSpider)
    for m in _MODULES
}


def source_for_url(url: str) -> Source | None:
    return next((source for source in SOURCES.values() if source.owns(url)), None)


def source_slots(slots: dict[str, Any]) -> dict[str, Any]:
    """DOWNLOAD_SLOTS with each source's politeness (delay, parallel requests) for its hosts,
    so a page of a known source is fetched under its rules whichever spider asks for it
    (a cited page, enqueued work); slots set by hand win."""
    slots = dict(slots)
    for source in SOURCES.values():
        for domain in source.domains:
            for host in (domain, f"www.{domain}"):
                slots.setdefault(host, {"concurrency": source.concurrency, "delay": source.delay})
    return slots
