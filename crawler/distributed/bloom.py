"""A Bloom filter over a Redis bitmap: the shared duplicate filter of distributed crawls.

scrapy-redis keeps every request fingerprint in a Redis set (40 hex characters each, about
80 bytes a URL with Redis's overhead, growing without bound). This filter has a fixed size
chosen from the expected number of URLs and the false-positive rate one accepts
(DISTRIBUTED_BLOOM_CAPACITY, DISTRIBUTED_BLOOM_ERROR_RATE): 1 million URLs at 1e-6 take 3.4 MiB.
A false positive means a URL never seen before is taken for a duplicate and not fetched in
this crawl window, with the configured probability.

Test-and-set is one Lua script, atomic in Redis, so two workers discovering the same URL at
the same moment cannot both enqueue it. The filter expires DISTRIBUTED_DUPEFILTER_TTL seconds
after its first URL (one crawl window); `crawler enqueue --new-crawl` starts a new one at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import structlog
from scrapy import Request
from scrapy.dupefilters import BaseDupeFilter
from scrapy.utils.request import fingerprint as request_fingerprint

log = structlog.get_logger()

# KEYS: bitmap, counter; ARGV: ttl seconds, bit offsets... -> {1 if new else 0, count}
_ADD = """
local new = 0
for i = 2, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then new = 1 end
end
local ttl = tonumber(ARGV[1])
if ttl > 0 and redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ttl) end
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
if new == 1 then
  count = redis.call('INCR', KEYS[2])
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 and redis.call('TTL', KEYS[2]) == -1 then redis.call('PEXPIRE', KEYS[2], left) end
end
return {new, count}
"""


def bit_offsets(fp: bytes, bits: int, hashes: int) -> list[int]:
    """The `hashes` bit positions of a fingerprint: double hashing (Kirsch and Mitzenmacher)
    over two 64-bit halves of a BLAKE2b digest."""
    digest = hashlib.blake2b(fp, digest_size=16).digest()
    h1 = int.from_bytes(digest[:8], "big")
    h2 = int.from_bytes(digest[8:], "big") | 1
    return [(h1 + i * h2) % bits for i in range(hashes)]


class BloomFilter:
    """Fingerprints in a Redis bitmap of `bits` bits, `hashes` bits per fingerprint."""

    def __init__(self, server: Any, key: str, count_key: str, *, bits: int, hashes: int, ttl: int = 0,
                 capacity: int = 0):
        self.server = server
        self.key = key
        self.count_key = count_key
        self.bits = bits
        self.hashes = hashes
        self.ttl = ttl
        self.capacity = capacity
        self._script = server.register_script(_ADD)
        self._warned_full = False

    def add(self, fp: bytes) -> bool:
        """Adds a fingerprint; True if it was new, False if (probably) seen before."""
        new, count = self._script(keys=[self.key, self.count_key], args=[self.ttl, *bit_offsets(fp, self.bits, self.hashes)])
        self._check_full(int(count))
        return bool(new)

    def add_many(self, fps: Iterable[bytes]) -> list[bool]:
        """Adds fingerprints in one round trip; for each, True if it was new."""
        pipe = self.server.pipeline(transaction=False)
        for fp in fps:
            self._script(keys=[self.key, self.count_key],
                         args=[self.ttl, *bit_offsets(fp, self.bits, self.hashes)], client=pipe)
        results = pipe.execute()
        if results:
            self._check_full(max(int(count) for _new, count in results))
        return [bool(new) for new, _count in results]

    def count(self) -> int:
        """How many new fingerprints the filter took in this window."""
        return int(self.server.get(self.count_key) or 0)

    def clear(self) -> None:
        self.server.delete(self.key, self.count_key)

    def _check_full(self, count: int) -> None:
        if self.capacity and count > self.capacity and not self._warned_full:
            self._warned_full = True
            log.warning("bloom_filter_over_capacity", key=self.key, urls=count, capacity=self.capacity,
                        hint="raise DISTRIBUTED_BLOOM_CAPACITY or shorten DISTRIBUTED_DUPEFILTER_TTL: "
                             "the false-positive rate now grows above DISTRIBUTED_BLOOM_ERROR_RATE")


class BloomDupeFilter(BaseDupeFilter):
    """Scrapy's duplicate filter interface over a shared `BloomFilter`.

    Fingerprints are Scrapy's default request fingerprints (`scrapy.utils.request.fingerprint`:
    canonical URL, method, body), the same in `crawler enqueue` and in every worker."""

    def __init__(self, bloom: BloomFilter, stats: Any = None):
        self.bloom = bloom
        self.stats = stats

    def request_seen(self, request: Request) -> bool:
        seen = not self.bloom.add(request_fingerprint(request))
        if seen and self.stats is not None:
            self.stats.inc_value("distributed/dupefilter/filtered")
        return seen

    def clear(self) -> None:
        self.bloom.clear()

    def close(self, reason: str) -> None:
        """The filter outlives a worker: it is shared, and expires with its crawl window."""

    def log(self, request: Request, spider: Any) -> None:
        log.debug("duplicate_request", url=request.url)
