"""The switch: with REDIS_URL set, the scheduler (queue and duplicate filter) lives in Redis."""

from __future__ import annotations

from scrapy.settings import BaseSettings

SCHEDULER = "crawler.distributed.scheduler.RedisScheduler"
STATE_STORE = "crawler.distributed.state.RedisStateStore"
HOST_PACING = "crawler.distributed.pacing.SharedHostPacing"


class DistributedAddon:
    """REDIS_URL set: requests go through the shared Redis queue and Bloom duplicate filter
    (any spider: `crawler worker`, or the same `crawler crawl SOURCE` on several machines);
    the incremental state (ARCHIVE_STATE_STORE) and the per-host pacing (ARCHIVE_HOST_PACING)
    move to Redis too. Unset: nothing changes. The core names these classes only through
    those settings: no core module imports the plug-in."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("REDIS_URL"):
            return
        for name, value in (("SCHEDULER", SCHEDULER), ("ARCHIVE_STATE_STORE", STATE_STORE),
                            ("ARCHIVE_HOST_PACING", HOST_PACING)):
            priority = max(settings.getpriority(name) or 0, 15)
            settings.set(name, value, priority=priority)
