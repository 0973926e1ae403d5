"""The shared scheduler: scrapy-redis's, made reliable for workers that die.

What scrapy-redis 0.9.1 does with Scrapy 2.19, and what this module changes:
- Its `Scheduler` and `PriorityQueue` are kept: the queue is a Redis sorted set of pickled
  request dicts scored by -priority (tools that read scrapy-redis queues read ours), the
  connection comes from its settings (REDIS_URL, REDIS_PARAMS).
- Its `pop` removes a request from Redis when a worker takes it (ZRANGE + ZREMRANGEBYRANK):
  a worker killed with requests in its downloader loses them for good. Here a take moves
  the request, atomically (Lua), into the worker's processing hash; it leaves that hash only
  when the engine is done with it (downloaded, parsed, its items through the pipelines, its
  new requests pushed to Redis). Each worker beats a heartbeat key; a worker that stops
  beating for DISTRIBUTED_HEARTBEAT_TIMEOUT seconds is dead, and any other worker moves its
  processing hash back into the queue. A worker that stops cleanly puts back what it held.
- Its scheduler flushes the queue and the duplicate filter when a spider closes unless
  SCHEDULER_PERSIST is set: with several workers that would wipe the shared crawl, so the
  queue always persists and the filter expires with its crawl window instead.
- Its scheduler passes `spider=` to the stats collector (deprecated in Scrapy 2.19, an error
  under `-W error`) and builds Scrapy's own dupefilter through the deprecated `from_settings`;
  both paths are replaced here. Its dupefilter (a set of every fingerprint) is replaced by a
  Bloom filter (crawler/distributed/bloom.py).
- Scrapy downloads ahead of extraction (its scraper takes up to 5 MB of responses): a worker
  would take hundreds of requests while others wait, and redo them all if killed. A worker
  holds at most DISTRIBUTED_MAX_IN_FLIGHT requests (default twice CONCURRENT_REQUESTS).
- With a plain spider, Scrapy closes when the queue is empty; here a worker stays while any
  worker still has requests in flight (they may yield more), and stops once the queue has
  been empty and nothing in flight for DISTRIBUTED_IDLE_TIMEOUT seconds (< 0: never).
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any

import structlog
from redis.exceptions import RedisError
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler.distributed.bloom import BloomDupeFilter, BloomFilter
from crawler.distributed.config import DistributedConfig, Keys, bloom_size, new_worker_id, redact

log = structlog.get_logger()

# Seconds between the scheduler's own checks: acks, heartbeat, dead workers, new work while idle.
POLL_INTERVAL = 0.5

# KEYS: queue, processing; ARGV: token -> {field, request} or nil
_TAKE = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
local field = r[2] .. ':' .. ARGV[1]
redis.call('HSET', KEYS[2], field, r[1])
return {field, r[1]}
"""

# KEYS: processing, queue, alive, workers; ARGV: worker id, force -> requests requeued, -1 if alive
_REQUEUE = """
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local entries = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #entries, 2 do
  local field = entries[i]
  local score = string.sub(field, 1, string.find(field, ':', 1, true) - 1)
  redis.call('ZADD', KEYS[2], score, entries[i + 1])
  n = n + 1
end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '1' then redis.call('SREM', KEYS[4], ARGV[1]) end
return n
"""


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue whose takes go through a per-worker processing hash."""

    def __init__(self, server: Any, spider: Spider, keys: Keys, worker: str, serializer: Any = None):
        super().__init__(server, spider, keys.queue, serializer)
        self.keys = keys
        self.worker = worker
        self.processing_key = keys.processing(worker)
        self._take = server.register_script(_TAKE)
        self._requeue = server.register_script(_REQUEUE)
        self._tokens = itertools.count()

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)

    def take(self) -> tuple[str, Request] | None:
        """The highest-priority request, now held in this worker's processing hash."""
        while True:
            found = self._take(keys=[self.key, self.processing_key], args=[f"{self.worker}.{next(self._tokens)}"])
            if not found:
                return None
            field, data = found[0].decode("ascii"), found[1]
            try:
                return field, self._decode_request(data)
            except Exception as exc:  # noqa: BLE001 - a request this worker's code cannot rebuild: keep it aside
                log.error("undecodable_request", error=f"{type(exc).__name__}: {exc}",
                          kept_in=f"{self.keys.base}:undecodable")
                pipe = self.server.pipeline()
                pipe.lpush(f"{self.keys.base}:undecodable", data).hdel(self.processing_key, field)
                pipe.execute()

    def ack(self, fields: list[str]) -> None:
        if fields:
            self.server.hdel(self.processing_key, *fields)

    def heartbeat(self, timeout: float) -> None:
        pipe = self.server.pipeline()
        pipe.set(self.keys.alive(self.worker), b"1", px=int(timeout * 1000)).sadd(self.keys.workers, self.worker)
        pipe.execute()

    def requeue_dead(self) -> dict[str, int]:
        """Moves the requests held by workers that stopped beating back into the queue."""
        requeued = {}
        for raw in self.server.smembers(self.keys.workers):
            other = raw.decode()
            if other == self.worker:
                continue
            n = self._requeue(keys=[self.keys.processing(other), self.key, self.keys.alive(other), self.keys.workers],
                              args=[other, "0"])
            if n > 0:
                requeued[other] = int(n)
        return requeued

    def requeue_own(self) -> int:
        return int(self._requeue(keys=[self.processing_key, self.key, self.keys.alive(self.worker), self.keys.workers],
                                 args=[self.worker, "1"]))

    def leave(self) -> None:
        pipe = self.server.pipeline()
        pipe.delete(self.keys.alive(self.worker)).srem(self.keys.workers, self.worker)
        pipe.execute()

    def in_flight(self) -> int:
        """Requests taken and not yet done, by all workers (dead ones until requeued)."""
        workers = [raw.decode() for raw in self.server.smembers(self.keys.workers)]
        if not workers:
            return 0
        pipe = self.server.pipeline(transaction=False)
        for worker in workers:
            pipe.hlen(self.keys.processing(worker))
        return sum(pipe.execute())


class RedisScheduler(Scheduler):
    """scrapy-redis's scheduler with a reliable queue, a Bloom duplicate filter and idle stop."""

    def __init__(self, crawler: Crawler, config: DistributedConfig, server: Any):
        super().__init__(server, persist=True)
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        self.worker = new_worker_id()
        self.queue: ReliableQueue
        self._handed: dict[str, Request] = {}  # given to the engine, not yet done
        self._local: deque[tuple[str, Request]] = deque()  # taken to wake an idle engine
        self._feeding: dict[int, str] = {}
        self._waiting = False  # the engine found nothing to do at its last look
        self._idle_since: float | None = None
        self._stopping = False
        self._timer: task.LoopingCall | None = None
        self._last_beat = self._last_recover = 0.0
        self._warned_no_inprogress = False
        self._unpushed: deque[Request] = deque()  # produced while Redis was unreachable
        self._last_complaint = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        config = DistributedConfig.from_settings(crawler.settings)
        server = config.client()
        try:
            server.ping()
        except RedisError as exc:
            raise RuntimeError(f"cannot reach Redis at {redact(config.redis_url)} (REDIS_URL): {exc}") from None
        scheduler = cls(crawler, config, server)
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    # -- Scrapy's scheduler interface -------------------------------------------------------
    def open(self, spider: Spider) -> None:
        self.spider = spider
        keys = self.config.keys(spider.name)
        self.queue = ReliableQueue(self.server, spider, keys, self.worker)
        bits, hashes = bloom_size(self.config.bloom_capacity, self.config.bloom_error_rate)
        bloom = BloomFilter(self.server, keys.dupefilter, keys.dupefilter_count, bits=bits, hashes=hashes,
                            ttl=self.config.dupefilter_ttl, capacity=self.config.bloom_capacity)
        self.df = BloomDupeFilter(bloom, self.stats)
        self.queue.heartbeat(self.config.heartbeat_timeout)
        self._last_beat = time.monotonic()
        requeued = self._recover()
        log.info("worker_joined", worker=self.worker, redis=redact(self.config.redis_url), queue_key=keys.queue,
                 queued=len(self.queue), requeued_from_dead_workers=requeued)
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(POLL_INTERVAL, now=False)

    def close(self, reason: str) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        try:
            while self._unpushed:
                self.queue.push(self._unpushed.popleft())
            self._reconcile(closing=True)
            put_back = self.queue.requeue_own()
            self.queue.leave()
        except RedisError as exc:
            log.error("worker_leave_failed", worker=self.worker, error=str(exc),
                      hint="its requests are requeued by another worker once its heartbeat expires; "
                           "requests it found while Redis was unreachable are listed here, to enqueue again",
                      unpushed=[request.url for request in self._unpushed])
            return
        log.info("worker_left", worker=self.worker, reason=reason, requeued=put_back)

    def enqueue_request(self, request: Request) -> bool:
        field = self._feeding.pop(id(request), None)
        if field is not None:  # taken from Redis by _tick to wake the engine
            self._local.append((field, request))
            return True
        try:
            if not request.dont_filter and self.df.request_seen(request):
                return False
            self.queue.push(request)
        except RedisError as exc:
            self._unreachable(exc)
            self._unpushed.append(request)  # pushed by _tick once Redis answers again
            return True
        self._inc("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        try:
            self._reconcile()
            if len(self._handed) >= self.config.max_in_flight:
                return None  # asked again when the engine finishes one
            if self._local:
                field, request = self._local.popleft()
            else:
                taken = self.queue.take()
                if taken is None:
                    return None
                field, request = taken
        except RedisError as exc:
            self._unreachable(exc)
            return None
        self._handed[field] = request
        self._waiting = False
        self._idle_since = None
        self._inc("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self._local or self._unpushed:
            return True
        try:
            return len(self.queue) > 0
        except RedisError as exc:
            self._unreachable(exc)
            return True  # cannot tell: not idle

    # -- idle, acks, heartbeat, recovery -----------------------------------------------------
    def spider_idle(self) -> None:
        """Keeps the worker open while there is or may be work, up to the idle timeout."""
        self._waiting = True
        try:
            verdict = self._verdict(time.monotonic())
        except RedisError as exc:
            self._unreachable(exc)
            verdict = "unknown"
        if verdict != "stop":
            raise DontCloseSpider

    def _unreachable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_complaint >= 10:
            self._last_complaint = now
            log.error("redis_unavailable", error=str(exc), redis=redact(self.config.redis_url),
                      hint="the worker keeps its requests and retries")

    def _verdict(self, now: float) -> str:
        self._reconcile()
        if self._local or self._unpushed or len(self.queue) > 0:
            self._idle_since = None
            return "work"
        if self.queue.in_flight() > 0:  # others' requests may yield more work, or be requeued
            self._idle_since = None
            return "busy"
        if self._idle_since is None:
            self._idle_since = now
        if self.config.idle_timeout < 0 or now - self._idle_since < self.config.idle_timeout:
            return "wait"
        return "stop"

    def _tick(self) -> None:
        if self._stopping:
            return
        now = time.monotonic()
        try:
            while self._unpushed:
                self.queue.push(self._unpushed[0])
                self._unpushed.popleft()
            self._reconcile()
            if now - self._last_beat >= self.config.heartbeat_timeout / 3:
                self.queue.heartbeat(self.config.heartbeat_timeout)
                self._last_beat = now
            if now - self._last_recover >= min(2.0, self.config.heartbeat_timeout / 3):
                self._recover()
            if not self._waiting:
                return
            verdict = self._verdict(now)
            if verdict == "work":
                self._wake_engine()
            elif verdict == "stop":
                self._stopping = True
                log.info("worker_idle_stop", worker=self.worker, idle_timeout=self.config.idle_timeout)
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="finished"))
        except RedisError as exc:
            self._unreachable(exc)

    def _wake_engine(self) -> None:
        """Hands the engine one request: its loop then pulls the others from Redis itself."""
        engine = self.crawler.engine
        if engine is None or self._local:
            return
        taken = self.queue.take()
        if taken is None:
            return
        field, request = taken
        self._feeding[id(request)] = field
        self._waiting = False
        engine.crawl(request)
        if self._feeding.pop(id(request), None) is not None:  # the engine did not take it
            self._local.append((field, request))

    def _recover(self) -> dict[str, int]:
        self._last_recover = time.monotonic()
        requeued = self.queue.requeue_dead()
        for worker, count in requeued.items():
            log.warning("requeued_dead_worker_requests", dead_worker=worker, requests=count, worker=self.worker)
            self._inc("distributed/requeued_from_dead_workers", count)
        return requeued

    def _reconcile(self, closing: bool = False) -> None:
        """Acks the requests the engine is done with (see the module docstring)."""
        if not self._handed:
            return
        in_progress = self._engine_in_progress()
        if in_progress is None:
            if not closing:
                return  # cannot tell: keep holding them; a clean close acks them all
            done = list(self._handed)
        else:
            done = [field for field, request in self._handed.items() if request not in in_progress]
        for field in done:
            del self._handed[field]
        if done:
            self.queue.ack(done)
            self._inc("distributed/acked", len(done))

    def _engine_in_progress(self) -> set[Request] | None:
        # Scrapy has no public signal for "this request is finished" (download, callback, item
        # pipelines and new requests all done); the engine slot's in-progress set is exactly
        # that, and has been since Scrapy 1.0. pyproject pins Scrapy below 2.20.
        slot = getattr(self.crawler.engine, "_slot", None)
        in_progress = getattr(slot, "inprogress", None)
        if in_progress is None and slot is not None and not self._warned_no_inprogress:
            self._warned_no_inprogress = True
            log.warning("no_engine_inprogress", hint="this Scrapy hides the engine's in-progress set: requests "
                        "are acked only at a clean stop, a killed worker's are all requeued")
        return in_progress

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)
