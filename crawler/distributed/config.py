"""The distributed settings (REDIS_URL, DISTRIBUTED_*), validated once, and the Redis key names."""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.settings import BaseSettings

from crawler.config import SettingError
from storage.files import local_host_tag

REDIS_SCHEMES = ("redis", "rediss", "unix")
# A Redis string holds at most 512 MiB: the largest Bloom filter one key can hold.
MAX_BLOOM_BITS = 512 * 1024 * 1024 * 8


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + netloc, parts.path, parts.query, parts.fragment))


def bloom_size(capacity: int, error_rate: float) -> tuple[int, int]:
    """(bits, hash functions) of a Bloom filter holding `capacity` items at `error_rate`:
    m = -n ln p / (ln 2)^2 and k = m/n ln 2, the textbook optimum."""
    bits = math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2)
    hashes = max(1, round(bits / capacity * math.log(2)))
    return bits, hashes


@dataclass(frozen=True)
class Keys:
    """Where one spider's shared crawl lives in Redis (every key starts with `base`)."""

    base: str

    @property
    def queue(self) -> str:  # sorted set of serialized requests, scrapy-redis PriorityQueue format
        return f"{self.base}:requests"

    @property
    def dupefilter(self) -> str:  # Bloom filter bitmap
        return f"{self.base}:dupefilter"

    @property
    def dupefilter_count(self) -> str:  # how many new fingerprints the filter took
        return f"{self.base}:dupefilter:count"

    @property
    def workers(self) -> str:  # set of worker ids that may hold requests
        return f"{self.base}:workers"

    def processing(self, worker: str) -> str:  # hash "<score>:<token>" -> request taken by `worker`
        return f"{self.base}:processing:{worker}"

    def alive(self, worker: str) -> str:  # heartbeat key, expires when the worker stops beating
        return f"{self.base}:alive:{worker}"


@dataclass(frozen=True)
class DistributedConfig:
    redis_url: str
    key_prefix: str
    idle_timeout: float  # seconds; < 0: never stop
    heartbeat_timeout: float
    bloom_capacity: int
    bloom_error_rate: float
    dupefilter_ttl: int  # seconds; 0: no expiry
    max_in_flight: int  # requests one worker holds (taken, not done) at most
    redis_params: dict[str, Any]

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> DistributedConfig:
        url = str(settings.get("REDIS_URL") or "")
        if not url:
            raise SettingError("REDIS_URL is not set (distributed mode needs a Redis server: redis://host:6379/0)")
        scheme = urlsplit(url).scheme
        if scheme not in REDIS_SCHEMES:
            raise SettingError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {redact(url)!r}")
        prefix = str(settings.get("DISTRIBUTED_KEY_PREFIX") or "")
        if not prefix or any(c.isspace() for c in prefix):
            raise SettingError(f"DISTRIBUTED_KEY_PREFIX must be a non-empty word, got {prefix!r}")
        idle = _number(settings, "DISTRIBUTED_IDLE_TIMEOUT")
        heartbeat = _number(settings, "DISTRIBUTED_HEARTBEAT_TIMEOUT")
        if heartbeat < 1:
            raise SettingError(f"DISTRIBUTED_HEARTBEAT_TIMEOUT must be >= 1 second, got {heartbeat}")
        capacity = int(_number(settings, "DISTRIBUTED_BLOOM_CAPACITY"))
        if capacity < 1:
            raise SettingError(f"DISTRIBUTED_BLOOM_CAPACITY must be > 0, got {capacity}")
        error_rate = _number(settings, "DISTRIBUTED_BLOOM_ERROR_RATE")
        if not 0 < error_rate < 1:
            raise SettingError(f"DISTRIBUTED_BLOOM_ERROR_RATE must be between 0 and 1, got {error_rate}")
        bits, _ = bloom_size(capacity, error_rate)
        if bits > MAX_BLOOM_BITS:
            raise SettingError(
                f"DISTRIBUTED_BLOOM_CAPACITY {capacity} at DISTRIBUTED_BLOOM_ERROR_RATE {error_rate} needs "
                f"{bits // 8 // 2**20} MiB, more than one Redis string holds (512 MiB): lower either")
        ttl = int(_number(settings, "DISTRIBUTED_DUPEFILTER_TTL"))
        if ttl < 0:
            raise SettingError(f"DISTRIBUTED_DUPEFILTER_TTL must be >= 0 seconds, got {ttl}")
        in_flight = int(_number(settings, "DISTRIBUTED_MAX_IN_FLIGHT"))
        if in_flight < 0:
            raise SettingError(f"DISTRIBUTED_MAX_IN_FLIGHT must be >= 0, got {in_flight}")
        in_flight = in_flight or 2 * max(1, settings.getint("CONCURRENT_REQUESTS"))
        return cls(redis_url=url, key_prefix=prefix, idle_timeout=idle, heartbeat_timeout=heartbeat,
                   bloom_capacity=capacity, bloom_error_rate=error_rate, dupefilter_ttl=ttl,
                   max_in_flight=in_flight, redis_params=dict(settings.getdict("REDIS_PARAMS")))

    def keys(self, spider_name: str) -> Keys:
        return Keys(f"{self.key_prefix}:{spider_name}")

    @property
    def state_prefix(self) -> str:
        return f"{self.key_prefix}:state"

    def client(self, *, decode: bool = False) -> Any:
        """A Redis client (scrapy-redis's connection defaults, REDIS_PARAMS on top)."""
        from scrapy_redis import connection, defaults

        params = {**defaults.REDIS_PARAMS, **self.redis_params}
        params["decode_responses"] = decode
        return connection.get_redis(url=self.redis_url, **params)


def _number(settings: BaseSettings, name: str) -> float:
    try:
        return settings.getfloat(name)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be a number, got {settings.get(name)!r}") from None


def new_worker_id() -> str:
    """host-pid-random: unique among the workers of one Redis, readable in `redis-cli keys`."""
    return f"{local_host_tag()}-{os.getpid()}-{secrets.token_hex(3)}"
