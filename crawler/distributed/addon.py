"""The switch: with REDIS_URL set, the scheduler (queue and duplicate filter) lives in Redis."""

from __future__ import annotations

from scrapy.settings import BaseSettings

SCHEDULER = "crawler.distributed.scheduler.RedisScheduler"


class DistributedAddon:
    """REDIS_URL set: requests go through the shared Redis queue and Bloom duplicate filter
    (any spider: `crawler worker`, or the same `crawler crawl SOURCE` on several machines);
    the incremental state moves to Redis too (crawler.capture.session). Unset: nothing changes."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("REDIS_URL"):
            return
        priority = max(settings.getpriority("SCHEDULER") or 0, 15)
        settings.set("SCHEDULER", SCHEDULER, priority=priority)
