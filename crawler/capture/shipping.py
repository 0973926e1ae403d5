"""Shipping a crawl's closed archive files to a remote archive (s3://): the STORAGE_* settings
and the wiring of storage.backends.spool's Shipper to a crawler.

For a remote archive the session writes into a local spool folder instead of the archive
(`STORAGE_SPOOL`, by default `~/.cache/newsarchive/spool/<bucket>/<prefix>`); the Shipper
stores each closed file off the reactor thread, retrying after `STORAGE_RETRY_INTERVAL`.
`upload_spool` is `crawler upload`: what an earlier run left in the spool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.config import ArchiveConfig, SettingError
from storage.archive import ArchiveLocation
from storage.backends import backend_for
from storage.backends.spool import Shipper, ShippingReport, default_spool, pending
from storage.files import repair_open_files

log = structlog.get_logger()

# S3Config field -> the setting that sets it (for error messages).
_S3_SETTINGS = {
    "addressing_style": "STORAGE_S3_ADDRESSING_STYLE",
    "connect_timeout": "STORAGE_S3_CONNECT_TIMEOUT",
    "endpoint_url": "STORAGE_S3_ENDPOINT_URL",
    "max_concurrency": "STORAGE_S3_MAX_CONCURRENCY",
    "multipart_chunksize": "STORAGE_S3_MULTIPART_CHUNKSIZE",
    "multipart_threshold": "STORAGE_S3_MULTIPART_THRESHOLD",
    "read_timeout": "STORAGE_S3_READ_TIMEOUT",
    "region": "STORAGE_S3_REGION",
    "sse": "STORAGE_S3_SSE",
    "sse_kms_key_id": "STORAGE_S3_SSE_KMS_KEY_ID",
    "storage_class": "STORAGE_S3_STORAGE_CLASS",
}


def _text(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    return str(value).strip() or None if value not in (None, "") else None


def _number(settings: BaseSettings, name: str, kind: type, default: float) -> Any:
    value = settings.get(name)
    if value is None or value == "":
        return kind(default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be a number, got {value!r}") from None


@dataclass(frozen=True)
class StorageConfig:
    """STORAGE_* settings: where a remote archive's files are spooled, and how S3 is reached."""

    spool: Path | None  # None: a local archive, written in place
    s3: Any  # storage.backends.s3config.S3Config for s3:// archives
    retry_interval: float

    @classmethod
    def from_settings(cls, settings: BaseSettings, location: ArchiveLocation) -> StorageConfig:
        if location.scheme == "file":
            return cls(spool=None, s3=None, retry_interval=0.0)  # written in place: nothing to ship
        retry = _number(settings, "STORAGE_RETRY_INTERVAL", float, 60)
        if retry < 0:
            raise SettingError(f"STORAGE_RETRY_INTERVAL must be >= 0 seconds, got {retry}")
        spool_setting = _text(settings, "STORAGE_SPOOL")
        try:
            spool = (
                Path(spool_setting).expanduser().resolve()
                if spool_setting
                else default_spool(location)
            )
        except ValueError as exc:
            raise SettingError(f"STORAGE_SPOOL: {exc}; set STORAGE_SPOOL") from None
        s3 = None
        if location.scheme == "s3":
            from storage.backends.s3config import S3Config

            try:
                s3 = S3Config(
                    endpoint_url=_text(settings, "STORAGE_S3_ENDPOINT_URL"),
                    region=_text(settings, "STORAGE_S3_REGION"),
                    addressing_style=_text(settings, "STORAGE_S3_ADDRESSING_STYLE"),
                    sse=_text(settings, "STORAGE_S3_SSE"),
                    sse_kms_key_id=_text(settings, "STORAGE_S3_SSE_KMS_KEY_ID"),
                    storage_class=_text(settings, "STORAGE_S3_STORAGE_CLASS"),
                    multipart_threshold=_number(
                        settings, "STORAGE_S3_MULTIPART_THRESHOLD", int, 8 << 20
                    ),
                    multipart_chunksize=_number(
                        settings, "STORAGE_S3_MULTIPART_CHUNKSIZE", int, 8 << 20
                    ),
                    max_concurrency=_number(settings, "STORAGE_S3_MAX_CONCURRENCY", int, 10),
                    connect_timeout=_number(settings, "STORAGE_S3_CONNECT_TIMEOUT", float, 10),
                    read_timeout=_number(settings, "STORAGE_S3_READ_TIMEOUT", float, 60),
                )
            except ValueError as exc:
                fields, _, problem = str(exc).partition(": ")
                names = ", ".join(_S3_SETTINGS.get(f.strip(), f.strip()) for f in fields.split(","))
                raise SettingError(f"{names}: {problem}") from None
        return cls(spool=spool, s3=s3, retry_interval=retry)


# -- wiring -------------------------------------------------------------------------------------
def shipper_for(crawler: Crawler, config: ArchiveConfig) -> Shipper | None:
    """The shipper of a crawler's remote archive; None for a local archive (written in place).
    Call `start(crawler)` once the session that feeds it exists."""
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
