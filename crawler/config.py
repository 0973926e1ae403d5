"""Typed snapshots of our settings, validated once, errors naming the setting."""

from __future__ import annotations

import os
from dataclasses import dataclass

from scrapy.settings import BaseSettings

from storage.archive import ArchiveLocation, ArchiveURIError, parse_archive_uri


class SettingError(ValueError):
    """A setting has a value we cannot use."""


def _positive_int(settings: BaseSettings, name: str, *, allow_zero: bool = False) -> int:
    try:
        value = settings.getint(name)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be an integer, got {settings.get(name)!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SettingError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def _gzip_level(settings: BaseSettings) -> int:
    level = _positive_int(settings, "ARCHIVE_WARC_GZIP_LEVEL", allow_zero=True)
    if level > 9:
        raise SettingError(f"ARCHIVE_WARC_GZIP_LEVEL must be 0-9, got {level}")
    return level


@dataclass(frozen=True)
class ArchiveConfig:
    location: ArchiveLocation
    prefix: str
    warc_max_bytes: int
    warc_gzip_level: int
    max_body_bytes: int
    json_gzip: bool
    operator: str
    user_agent: str
    robots_policy: str

    @classmethod
    def from_settings(cls, settings: BaseSettings, default_prefix: str = "news") -> ArchiveConfig:
        try:
            location = parse_archive_uri(settings.get("ARCHIVE_URI"))
        except ArchiveURIError as exc:
            raise SettingError(f"ARCHIVE_URI: {exc}") from None
        prefix = str(settings.get("ARCHIVE_PREFIX") or default_prefix)
        if not prefix.replace("_", "").isalnum():
            raise SettingError(f"ARCHIVE_PREFIX must be letters, digits or '_', got {prefix!r}")
        return cls(
            location=location,
            prefix=prefix,
            warc_max_bytes=_positive_int(settings, "ARCHIVE_WARC_MAX_BYTES"),
            warc_gzip_level=_gzip_level(settings),
            max_body_bytes=_positive_int(settings, "ARCHIVE_MAX_BODY_BYTES", allow_zero=True),
            json_gzip=settings.getbool("ARCHIVE_JSON_GZIP"),
            operator=str(settings.get("ARCHIVE_OPERATOR") or ""),
            user_agent=str(settings.get("USER_AGENT") or ""),
            robots_policy="obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        )


@dataclass(frozen=True)
class WorkerConfig:
    workers: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WorkerConfig:
        workers = _positive_int(settings, "EXTRACT_WORKERS", allow_zero=True) or os.cpu_count() or 1
        try:
            timeout = settings.getfloat("EXTRACT_TIMEOUT")
        except (TypeError, ValueError):
            raise SettingError(f"EXTRACT_TIMEOUT must be a number of seconds, got {settings.get('EXTRACT_TIMEOUT')!r}") from None
        if timeout <= 0:
            raise SettingError(f"EXTRACT_TIMEOUT must be > 0, got {timeout}")
        return cls(workers=workers, timeout=timeout)
