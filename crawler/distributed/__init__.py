"""Distributed crawling: several workers sharing one frontier and one duplicate filter in Redis.

Switched on by one setting, ``REDIS_URL`` (CLI: ``crawler worker --redis URL``,
``crawler enqueue --redis URL``); off by default. Built on scrapy-redis (its connection
settings, its scheduler and its priority-queue format), with three additions it lacks:

- ``scheduler.RedisScheduler``: requests a worker has taken stay in a per-worker processing
  hash until the engine is done with them, so a killed worker's requests are requeued
  (scrapy-redis pops them for good);
- ``bloom.BloomDupeFilter``: a fixed-size Bloom filter over a Redis bitmap, with an expiry,
  instead of scrapy-redis's ever-growing set of 40-character fingerprints;
- ``state.RedisStateStore``: the incremental state (storage/state.py) in Redis hashes, so the
  workers agree on what is archived already.

``spiders/worker.py`` is the spider every ``crawler worker`` runs; ``enqueue.enqueue_work``
seeds it. See docs/distributed.md.
"""
