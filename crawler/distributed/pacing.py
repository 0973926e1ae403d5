"""Per-host pacing shared by the workers of a distributed crawl.

Each worker's Scrapy spaces its own requests to a host (the host's robots.txt Crawl-delay, its
download slot's delay); N workers would together send N times the rate the host asked for.
With REDIS_URL set, a request to a host with a delay first takes that host's next turn from
Redis, in one atomic script on Redis's own clock (the workers' clocks may differ), so the turns
of all workers together are spaced by the delay.
"""

from __future__ import annotations

from typing import Any

import structlog
from redis.exceptions import RedisError
from scrapy.settings import BaseSettings

from crawler.distributed.config import DistributedConfig

log = structlog.get_logger()

# KEYS: the host's pacing key; ARGV: delay in ms -> ms to wait for this request's turn
_TAKE_TURN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = tonumber(ARGV[1])
local turn = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], turn + delay, 'PX', turn - now + delay + 1000)
return turn - now
"""


class SharedHostPacing:
    def __init__(self, client: Any, key_prefix: str) -> None:
        self._take_turn = client.register_script(_TAKE_TURN)
        self._prefix = f"{key_prefix}:pacing:"

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> SharedHostPacing:
        config = DistributedConfig.from_settings(settings)
        return cls(config.client(), config.key_prefix)

    def take_turn(self, host: str, delay: float) -> float | None:
        """Seconds this worker must wait before its request to `host` goes out; None when
        Redis cannot be asked."""
        milliseconds = max(1, round(delay * 1000))
        try:
            waited = self._take_turn(keys=[self._prefix + host], args=[milliseconds])
        except RedisError as exc:
            log.warning("shared_pacing_unavailable", host=host, error=str(exc))
            return None
        return float(waited) / 1000
