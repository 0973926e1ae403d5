"""Politeness: robots.txt Crawl-delay and Retry-After, honoured without blocking the reactor.

Scrapy obeys robots.txt Allow/Disallow but ignores Crawl-delay, and its RetryMiddleware
retries a 429 or 503 at once, whatever Retry-After asks for.
"""

from __future__ import annotations

import email.utils
import math
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import structlog
from protego import Protego
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import decode_robotstxt
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message
from twisted.internet.defer import DeferredLock

from crawler import meta
from crawler.config import PolitenessConfig

log = structlog.get_logger()

# Statuses whose Retry-After means "come back later" (RFC 9110 10.2.3); on a 3xx it does not.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def robots_delay(body: bytes, user_agent: str) -> float | None:
    """Seconds robots.txt asks between two requests of `user_agent`, or None.

    The larger of Crawl-delay and the interval of Request-rate (n requests per m seconds),
    whatever time window Request-rate names.
    """
    parser = Protego.parse(decode_robotstxt(body, None))
    delays = [parser.crawl_delay(user_agent) or 0.0]
    rate = parser.request_rate(user_agent)
    if rate is not None and rate.requests > 0:
        delays.append(rate.seconds / rate.requests)
    delay = max(delays)
    return delay if delay > 0 else None


def _robots_netloc(request: Request) -> str | None:
    """The host whose robots.txt this request fetched, or None. A redirected robots.txt
    counts for the host it was asked from, which is how RobotsTxtMiddleware files it."""
    redirects = request.meta.get(meta.REDIRECT_URLS)
    first = urlsplit(redirects[0]) if redirects else urlparse_cached(request)
    return first.netloc if first.path == "/robots.txt" else None


class CrawlDelayMiddleware:
    """Spaces the requests to each host by its robots.txt Crawl-delay.

    Registered after RobotsTxtMiddleware (100): the robots.txt of a host is fetched through
    the downloader middlewares before any page of that host passes here, so its response
    teaches the delay first. Requests to one host then go through a FIFO turnstile that
    lets one pass per delay; waiting is a timer, never a blocked reactor.

    With ARCHIVE_HOST_PACING set (the distributed plug-in sets it to its Redis pacing,
    crawler/distributed/pacing.py) the turns are taken from that shared pacing instead, for
    the Crawl-delay or the host's download-slot delay, whichever is
    longer: the workers together keep the pace one process would.
    """

    def __init__(self, crawler: Crawler, config: PolitenessConfig, shared: Any = None):
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_delay = config.max_crawl_delay
        self.user_agent = config.robots_user_agent
        self.shared = shared
        self._delays: dict[str, float] = {}
        self._last: dict[str, float] = {}  # netloc -> monotonic time the last request passed
        self._locks: dict[str, DeferredLock] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayMiddleware:
        shared = None
        if pacing := crawler.settings.get("ARCHIVE_HOST_PACING"):
            shared = load_object(pacing).from_settings(crawler.settings)
        elif not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("ROBOTSTXT_OBEY is off")
        return cls(crawler, PolitenessConfig.from_settings(crawler.settings), shared)

    async def process_request(self, request: Request) -> None:
        if request.meta.get(meta.DONT_OBEY_ROBOTS):
            return None
        netloc = urlparse_cached(request).netloc
        delay = self._delays.get(netloc)
        if self.shared is not None:
            shared_delay = max(delay or 0.0, self._slot_delay(request))
            if await self._took_shared_turn(netloc, shared_delay):
                return None
        if not delay:
            return None
        lock = self._locks.setdefault(netloc, DeferredLock())
        await maybe_deferred_to_future(lock.acquire())
        try:
            wait = self._last.get(netloc, -math.inf) + delay - time.monotonic()
            if wait > 0:
                assert self.stats is not None
                self.stats.inc_value("politeness/crawl_delay_waits")
                await sleep(wait)
            # Measured when the request really goes on, so a late timer never shortens a gap.
            self._last[netloc] = time.monotonic()
        finally:
            lock.release()
        return None

    def _slot_delay(self, request: Request) -> float:
        """The delay of the download slot `request` will go through (DOWNLOAD_DELAY, a
        source's DOWNLOAD_SLOTS entry, or what AutoThrottle made of it)."""
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        if downloader is None:
            return self.crawler.settings.getfloat("DOWNLOAD_DELAY")
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        if slot is not None:
            return float(slot.delay)
        configured = downloader.per_slot_settings.get(key, {})
        return float(configured.get("delay", self.crawler.settings.getfloat("DOWNLOAD_DELAY")))

    async def _took_shared_turn(self, netloc: str, delay: float) -> bool:
        """Waits for this request's turn at `netloc` among all workers; False when Redis cannot
        be asked (this worker then keeps its own pace, as a single process would)."""
        if delay <= 0:
            return True
        wait = self.shared.take_turn(netloc, delay)
        if wait is None:
            return False
        if wait > 0:
            assert self.stats is not None
            self.stats.inc_value("politeness/shared_turn_waits")
            await sleep(wait)
        return True

    def process_response(self, request: Request, response: Response) -> Response:
        netloc = _robots_netloc(request)
        if netloc is not None and 200 <= response.status < 300:
            self.learn(netloc, response.body)
        return response

    def learn(self, netloc: str, robots_body: bytes) -> None:
        asked = robots_delay(robots_body, self.user_agent)
        delay = min(asked, self.max_delay) if asked else 0.0
        if self._delays.get(netloc, 0.0) == delay:
            return
        self._delays[netloc] = delay
        if not delay:
            return
        # The robots.txt fetch itself was a request to this host.
        self._last[netloc] = max(self._last.get(netloc, -math.inf), time.monotonic())
        if asked is not None and asked > delay:
            log.warning("crawl_delay_capped", host=netloc, asked=asked, delay=delay,
                        setting="ARCHIVE_MAX_CRAWL_DELAY")
        else:
            log.info("crawl_delay", host=netloc, delay=delay)


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After value asks to wait (delay-seconds or HTTP-date), None if unreadable.

    A date is measured from `now` (the response's Date header when it has one, so the server's
    clock is compared with itself); a date in the past means 0.
    """
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
        return max(0.0, seconds)
    return seconds if seconds >= 0 else None  # an infinite wait is "too long", NaN unreadable


def _server_now(response: Response) -> datetime | None:
    date = response.headers.get(b"Date")
    if not date:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, except that a 429/503 with Retry-After is retried only after
    that wait (a timer), and not at all when the wait is beyond ARCHIVE_MAX_RETRY_AFTER."""

    def __init__(self, settings: BaseSettings, max_retry_after: float = 120.0):
        super().__init__(settings)  # RETRY_* settings, read as the stock middleware does
        self.max_retry_after = max_retry_after

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        config = PolitenessConfig.from_settings(crawler.settings)
        middleware = cls(crawler.settings, max_retry_after=config.max_retry_after)
        middleware.crawler = crawler
        return middleware

    # Scrapy 2.19 middleware signature (no spider argument); the base class still has it.
    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get(meta.DONT_RETRY, False) or response.status not in self.retry_http_codes:
            return response
        reason = response_status_message(response.status)
        wait = None
        if response.status in RETRY_AFTER_STATUSES:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"), _server_now(response))
        if wait is None:
            return self._retry(request, reason) or response
        stats = self.crawler.stats
        assert stats is not None
        if wait > self.max_retry_after:
            stats.inc_value("politeness/retry_after_too_long")
            log.warning("retry_after_too_long", url=request.url, status=response.status,
                        retry_after=wait, setting="ARCHIVE_MAX_RETRY_AFTER")
            return response
        retry = self._retry(request, reason)
        if retry is None:  # retries used up: no point in waiting
            return response
        if wait > 0:
            stats.inc_value("politeness/retry_after_waits")
            log.info("retry_after_wait", url=request.url, status=response.status, seconds=wait)
            await sleep(wait)
        return retry
