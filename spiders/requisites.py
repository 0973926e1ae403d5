"""Fetching an archived page's requisites (stylesheets, scripts, images, icons, fonts) soon after it.

The requisites are found where the page is parsed anyway: an article's in the extraction
worker (crawler/extract/analysis.py), a section page's in its callback. They are fetched as
ordinary Scrapy requests, so they pass the address guard, robots.txt of their host (unless
ARCHIVE_REQUISITES_OBEY_ROBOTS is off), the host's politeness and the WARC capture like
everything else; each once per crawl (Scrapy's duplicate filter), conditionally across crawls
(crawler/capture/incremental.py). A stylesheet's ``@import`` and ``url()``, and with
ARCHIVE_REQUISITES_IFRAMES an iframe document's own requisites, count for the page that
needed the stylesheet or iframe. No requisite becomes a JSON line: the run summary counts
them (fetched, unchanged, failed by reason) and the page's WARC metadata record lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import meta
from crawler.capture.session import ArchiveSession
from crawler.config import RequisitesConfig
from crawler.extract.requisites import (
    IFRAME,
    MEDIA,
    STYLESHEET,
    RequisiteKinds,
    css_requisites,
    looks_like_css,
    page_requisites,
)
from crawler.pipeline.items import failure_reason
from crawler.pipeline.records import requisite_fields

# requisites go before the articles still waiting (0), after discovery (50, 100): a page's
# requisites are fetched soon after it, so an interrupted crawl leaves mostly whole pages
PRIORITY = 20
# how many pages' budgets are remembered (a requisite's stylesheet arrives soon after its page)
PAGES_REMEMBERED = 10_000


@dataclass
class _Budget:
    requests: int = 0
    bytes: int = 0
    capped: bool = False


class RequisiteFetcher:
    """Turns the requisites found for a page into requests, within the per-page caps, and
    counts what became of them in the archive session's outcomes."""

    def __init__(self, config: RequisitesConfig, crawler: Any = None, note: Any = None,
                 callbacks: tuple[Any, Any] | None = None):
        self.config = config
        self.crawler = crawler  # its archive session counts the outcomes (None: not counted)
        # the spider's methods that hand responses and failures back here (a request's callback
        # must be a spider method to travel through a distributed queue)
        self.callback, self.errback = callbacks or (self.fetched, self.failed)
        self.kinds = config.kinds
        self.note = note  # (key, text) -> None: a limit reached, said once in the summary
        self._budgets: dict[str, _Budget] = {}

    @property
    def session(self) -> ArchiveSession | None:
        return self.crawler.get_extension(ArchiveSession) if self.crawler is not None else None

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def for_page(self, page_url: str, found: Iterable[Any], source: str) -> list[Request]:
        """Requests for requisites found in a page (``(url, kind)`` pairs)."""
        if not self.enabled:
            return []
        return [r for url, kind in found if (r := self._request(url, kind, page_url, source)) is not None]

    def for_response(self, response: Response, source: str) -> list[Request]:
        """Requisites of a page parsed in this process (a section page)."""
        if not self.enabled or response.status >= 300 or not hasattr(response, "selector"):
            return []
        return self.for_page(response.url, page_requisites(response.selector.root, response.url, self.kinds), source)

    def _request(self, url: str, kind: str, page_url: str, source: str) -> Request | None:
        budget = self._budget(page_url)
        per_page = self.config.per_page
        if (per_page and budget.requests >= per_page) or budget.bytes >= self.config.page_bytes:
            if not budget.capped:
                budget.capped = True
                self._note(page_url, budget)
            return None
        budget.requests += 1
        limit = self.config.media_bytes if kind == MEDIA else self.config.max_bytes
        facts: dict[str, Any] = {
            meta.REQUISITE: {"page": page_url, "kind": kind},
            meta.SOURCE: source,
            meta.MAX_BODY: limit,
            "allow_offsite": True,  # CDNs are hosts of their own, outside a source's domains
            "max_retry_times": 1,  # (Scrapy's) a page is worth its retries; an icon, one
        }
        if not self.config.obey_robots:
            facts[meta.DONT_OBEY_ROBOTS] = True
        return Request(url, callback=self.callback, errback=self.errback, meta=facts, priority=PRIORITY)

    def _budget(self, page_url: str) -> _Budget:
        budget = self._budgets.get(page_url)
        if budget is None:
            if len(self._budgets) >= PAGES_REMEMBERED:
                self._budgets.pop(next(iter(self._budgets)))
            budget = self._budgets[page_url] = _Budget()
        return budget

    def _note(self, page_url: str, budget: _Budget) -> None:
        if self.note is None:
            return
        if self.config.per_page and budget.requests >= self.config.per_page:
            self.note("requisites_per_page", f"requisites: pages asked for more than {self.config.per_page} "
                      f"(ARCHIVE_REQUISITES_PER_PAGE), e.g. {page_url}: the rest were not fetched")
        else:
            self.note("requisites_page_bytes", f"requisites: pages needed more than {self.config.page_bytes} "
                      f"bytes (ARCHIVE_REQUISITES_PAGE_BYTES), e.g. {page_url}: the rest were not fetched")

    # -- callbacks ------------------------------------------------------------------------------
    def fetched(self, response: Response) -> Iterator[Request]:
        facts = response.meta.get(meta.REQUISITE) or {}
        page_url, kind = facts.get("page", response.url), facts.get("kind")
        self._budget(page_url).bytes += len(response.body)
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        capture = response.meta.get(meta.CAPTURE) or {}
        truncated = response.meta.get(meta.TRUNCATED)
        counted = response.meta
        if response.status >= 400:
            self._count(counted, "failed", response.url, f"error_status:{response.status}")
        elif truncated:
            self._count(counted, "failed", response.url, f"truncated:{truncated}")
        elif response.status == 304 or capture.get("kind") == "revisit":
            self._count(counted, "unchanged", response.url)
        elif kind == STYLESHEET and response.status == 200 and not looks_like_css(content_type, response.body):
            self._count(counted, "failed", response.url, "not_a_stylesheet", detail=content_type)
        else:
            self._count(counted, "fetched", response.url)
            if response.status != 200:
                return
            source = response.meta.get(meta.SOURCE, "")
            if kind == STYLESHEET:
                found = css_requisites(response.body, response.url)
                self._list(response, found)
                yield from self.for_page(page_url, found, source)
            elif kind == IFRAME and "html" in content_type.lower():
                one_level = RequisiteKinds(iframes=False, media=self.kinds.media)
                yield from self.for_page(page_url, page_requisites(response.body, response.url, one_level), source)

    def _list(self, response: Response, found: list[Any]) -> None:
        """A stylesheet's own requisites (its fonts, backgrounds, imports) in a metadata record of
        its capture, as a page's are in the page's: what export-wacz follows to pack a page whole."""
        session = self.session
        record_id = (response.meta.get(meta.CAPTURE) or {}).get("record_id")
        if found and session is not None and record_id:
            session.write_metadata_soon(response.url, record_id, requisite_fields(found))

    def failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self._count(request.meta, "failed", request.url, failure_reason(failure), detail=str(failure.value))

    def _count(self, facts: Any, outcome: str, url: str, reason: str | None = None, detail: str = "") -> None:
        session = self.session
        if session is not None:
            session.outcomes.add_requisite(outcome, url, reason, detail)
            page = (facts.get(meta.REQUISITE) or {}).get("page") or url
            session.runs.requisite(facts.get(meta.SOURCE), page, outcome)
