"""Seeding the shared queue: URLs to archive and sources to discover, for `crawler worker`s."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError
from scrapy.settings import BaseSettings
from scrapy.utils.request import fingerprint
from scrapy_redis.queue import PriorityQueue

from crawler.distributed.bloom import BloomFilter
from crawler.distributed.config import DistributedConfig, bloom_size, redact


class RedisUnavailable(RuntimeError):
    """The Redis server of REDIS_URL could not be reached."""


@dataclass
class EnqueueReport:
    urls: list[str] = field(default_factory=list)  # enqueued
    duplicates: list[str] = field(default_factory=list)  # seen in this crawl window already
    sources: list[str] = field(default_factory=list)
    requests: int = 0  # requests pushed
    queued: int = 0  # queue length afterwards

    def line(self) -> str:
        return (f"enqueued: {len(self.urls)} URL(s), {len(self.sources)} source(s) ({self.requests} requests); "
                f"already seen in this crawl: {len(self.duplicates)}; queue now holds {self.queued}")


def enqueue_work(settings: BaseSettings, *, urls: Sequence[str] = (), sources: Sequence[str] = (),
                 allow_private: bool = False, new_crawl: bool = False) -> EnqueueReport:
    """Pushes page requests for `urls` and discovery requests for `sources` (names from
    spiders.registry) into the queue that `crawler worker` serves. URLs go through the shared
    duplicate filter; `new_crawl` empties it first (pages seen in the last window are fetched
    again, conditionally). `allow_private` lets this work (and the pages found from it) reach
    loopback and private addresses. Raises SettingError, ValueError (unknown source) or
    RedisUnavailable."""
    from spiders.worker import WorkerSpider

    config = DistributedConfig.from_settings(settings)
    spider = WorkerSpider()
    source_requests = [request for name in sources
                       for request in asyncio.run(spider.source_requests(name, allow_private=allow_private))]
    url_requests = [spider.url_request(url, allow_private=allow_private) for url in urls]
    server = config.client()
    keys = config.keys(spider.name)
    bits, hashes = bloom_size(config.bloom_capacity, config.bloom_error_rate)
    bloom = BloomFilter(server, keys.dupefilter, keys.dupefilter_count, bits=bits, hashes=hashes,
                        ttl=config.dupefilter_ttl, capacity=config.bloom_capacity)
    queue = PriorityQueue(server, spider, keys.queue)
    report = EnqueueReport(sources=list(sources))
    try:
        if new_crawl:
            bloom.clear()
        fresh = bloom.add_many([fingerprint(request) for request in url_requests]) if url_requests else []
        pipe = server.pipeline(transaction=False)
        for request in source_requests:
            _push(pipe, queue, request)
        for request, new in zip(url_requests, fresh):
            if new:
                _push(pipe, queue, request)
                report.urls.append(request.url)
            else:
                report.duplicates.append(request.url)
        pipe.execute()
        report.queued = len(queue)
    except RedisError as exc:
        raise RedisUnavailable(f"cannot reach Redis at {redact(config.redis_url)} (REDIS_URL): {exc}") from None
    finally:
        server.close()
    report.requests = len(source_requests) + len(report.urls)
    return report


def _push(pipe: Any, queue: PriorityQueue, request: Any) -> None:
    # scrapy-redis's PriorityQueue.push, pipelined: same member (serialized dict), same score.
    pipe.execute_command("ZADD", queue.key, -request.priority, queue._encode_request(request))
