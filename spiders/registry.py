"""Every declared source, by name, and which source a URL belongs to."""

from __future__ import annotations

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
