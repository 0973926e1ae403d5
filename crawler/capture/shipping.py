"""Shipping a crawl's closed archive files to a remote archive (s3://): the wiring of
storage.backends.spool's Shipper to a crawler (its settings: crawler.config.StorageConfig).

For a remote archive the session writes into a local spool folder instead of the archive
(`STORAGE_SPOOL`, by default `~/.cache/newsarchive/spool/<bucket>/<prefix>`); the Shipper
stores each closed file off the reactor thread, retrying after `STORAGE_RETRY_INTERVAL`.
`upload_spool` is `crawler upload`: what an earlier run left in the spool.
"""

from __future__ import annotations

import structlog
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.config import ArchiveConfig, StorageConfig
from storage.backends import backend_for
from storage.backends.spool import Shipper, ShippingReport, pending
from storage.files import repair_open_files

log = structlog.get_logger()

# -- wiring -------------------------------------------------------------------------------------
def shipper_for(crawler: Crawler, config: ArchiveConfig) -> Shipper | None:
    """The shipper of a crawler's remote archive; None for a local archive (written in place).
    Call `start()` once the session that feeds it exists."""
    storage = StorageConfig.from_settings(crawler.settings, config.location)
    if storage.spool is None:
        return None
    backend = backend_for(config.location, config=storage.s3)
    return Shipper(
        backend, storage.spool, stats=crawler.stats, retry_interval=storage.retry_interval
    )


def upload_spool(settings: BaseSettings) -> ShippingReport | None:
    """Ship what waits in the spool of the archive in `ARCHIVE_URI` (`crawler upload`), after
    closing `.open` files that a dead crawl left behind. None for a local archive."""
    config = ArchiveConfig.from_settings(settings)
    storage = StorageConfig.from_settings(settings, config.location)
    if storage.spool is None:
        return None
    for sub in ("warc", "json"):
        for repair in repair_open_files(storage.spool / sub):
            log.warning(
                "repaired_open_file",
                file=repair.path.name,
                kept_bytes=repair.kept_bytes,
                dropped_bytes=repair.dropped_bytes,
            )
    backend = backend_for(config.location, config=storage.s3)
    shipper = Shipper(backend, storage.spool, retry_interval=storage.retry_interval)
    if pending(backend, storage.spool):  # nothing waiting: nothing to ask the endpoint
        shipper.start()
    return shipper.finish()
