"""What runs in the extraction workers: one fetched page in, the reason it has no article or its
extraction out. Imports nothing of Scrapy or Twisted, so a worker process stays light; and the
crawler process, which only names `analyse_page` to the workers, never imports the extractor."""

from __future__ import annotations

from typing import Any

from crawler.extract.blocking import BODY_HEAD_BYTES, detect_block
from crawler.extract.options import ExtractOptions
from crawler.extract.requisites import RequisiteKinds

# no page to look into for requisites: not HTML, or nothing (or too much) to parse
NO_PAGE = frozenset({"not_html", "empty", "too_large", "parse_error"})


def analyse_page(status: int, headers: Any, body: bytes, url: str, content_type: str | None,
                 options: ExtractOptions, requisites: RequisiteKinds | None = None,
                 ) -> tuple[str | None, dict[str, Any] | None]:
    """What a fetched page holds: (reason there is no article, extraction). Pure and picklable:
    it runs in the extraction workers, for live crawls and for replays alike. With
    ``requisites``, the extraction also lists the page's requisites (``(url, kind)`` pairs)
    under "requisites": a worker parses the page anyway, the crawler process need not."""
    blocked = detect_block(status, headers, body[:BODY_HEAD_BYTES])
    if blocked:
        return f"blocked:{blocked}", None
    if not 200 <= status < 300:
        return (f"error_status:{status}" if status >= 400 else f"no_content:{status}"), None
    from crawler.extract.article import (
        extract,  # imported by the workers' preload, not by the crawler
    )

    measured: dict[str, int] = {}
    extraction = extract(body, url, content_type=content_type, options=options, measured=measured)
    extraction["text_words"] = measured.get("words", 0)  # for the run's figures (storage/runstats.py)
    if requisites is not None and extraction.get("reason") not in NO_PAGE:
        from crawler.extract.requisites import page_requisites

        extraction["requisites"] = page_requisites(body, url, requisites)
    return None, extraction


def warm_up() -> None:
    """Pay the lazy costs (language model, compiled rules) before the first real page."""
    from crawler.extract.article import extract

    extract(b"<html lang='en'><body><article><p>" + b"Warming up the extraction worker. " * 20
            + b"</p></article></body></html>", "http://localhost/warm-up")
