"""Typed snapshots of our settings, one frozen dataclass per area, validated once, errors naming
the setting; and `check_settings`, the one check of them all that commands run before a crawl.

Components read settings only in `from_crawler`, through these classes.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from crawler.extract.options import ExtractOptions
from crawler.extract.requisites import RequisiteKinds
from storage.archive import ArchiveLocation, ArchiveURIError, parse_archive_uri
from storage.backends.spool import default_spool
from storage.cdxj import check_timestamp


class SettingError(ValueError):
    """A setting has a value we cannot use."""


def count(settings: BaseSettings, name: str, *, allow_zero: bool = False) -> int:
    """A whole number setting, > 0 (or >= 0)."""
    try:
        value = settings.getint(name)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be an integer, got {settings.get(name)!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SettingError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def flag(settings: BaseSettings, name: str) -> bool:
    """A True/False setting."""
    try:
        return settings.getbool(name)
    except ValueError:
        raise SettingError(f"{name} is True or False (or 1 or 0), got {settings.get(name)!r}") from None


def share(settings: BaseSettings, name: str) -> float:
    """A share setting: above 0, at most 1."""
    try:
        value = settings.getfloat(name)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be a number, got {settings.get(name)!r}") from None
    if not 0 < value <= 1:
        raise SettingError(f"{name} must be a share above 0 and at most 1 (0.2 is 20%), got {value}")
    return value


def seconds(settings: BaseSettings, name: str) -> float:
    """A duration setting in seconds, >= 0."""
    try:
        value = settings.getfloat(name)
    except (TypeError, ValueError):
        got = settings.get(name)
        raise SettingError(f"{name} must be a number of seconds, got {got!r}") from None
    if not 0 <= value < math.inf:
        raise SettingError(f"{name} must be >= 0 seconds, got {value}")
    return value


def networks(settings: BaseSettings, name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A list of networks in CIDR notation ("10.1.2.0/24"; a bare address is one host)."""
    found = []
    for item in settings.getlist(name):
        try:
            found.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise SettingError(f"{name}: {item!r} is not a network (CIDR notation, e.g. 10.1.2.0/24)") from None
    return found


def dns_servers(settings: BaseSettings) -> list[tuple[str, int]]:
    """ARCHIVE_DNS_SERVERS as (address, port) pairs."""
    servers = []
    for item in settings.getlist("ARCHIVE_DNS_SERVERS"):
        text = str(item).strip()
        if text.startswith("["):  # [IPv6] or [IPv6]:port
            host, _, rest = text[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif text.count(":") == 1:
            host, port = text.split(":")
        else:  # IPv4 or a bare IPv6 address
            host, port = text, "53"
        try:
            ipaddress.ip_address(host)
            servers.append((host, int(port)))
        except ValueError:
            raise SettingError(f"ARCHIVE_DNS_SERVERS: {item!r} is not ADDRESS[:PORT]") from None
    return servers


def _gzip_level(settings: BaseSettings) -> int:
    level = count(settings, "ARCHIVE_WARC_GZIP_LEVEL", allow_zero=True)
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
    max_decoded_bytes: int
    json_gzip: bool
    operator: str
    user_agent: str
    robots_policy: str
    search_index: bool = True

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
            warc_max_bytes=count(settings, "ARCHIVE_WARC_MAX_BYTES"),
            warc_gzip_level=_gzip_level(settings),
            max_body_bytes=count(settings, "ARCHIVE_MAX_BODY_BYTES", allow_zero=True),
            max_decoded_bytes=count(settings, "ARCHIVE_MAX_DECODED_BYTES"),
            json_gzip=settings.getbool("ARCHIVE_JSON_GZIP"),
            operator=str(settings.get("ARCHIVE_OPERATOR") or ""),
            user_agent=str(settings.get("USER_AGENT") or ""),
            robots_policy="obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            search_index=settings.getbool("ARCHIVE_SEARCH_INDEX"),
        )


@dataclass(frozen=True)
class WorkerConfig:
    workers: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WorkerConfig:
        workers = count(settings, "EXTRACT_WORKERS", allow_zero=True) or os.cpu_count() or 1
        timeout = seconds(settings, "EXTRACT_TIMEOUT")
        if timeout <= 0:
            raise SettingError(f"EXTRACT_TIMEOUT must be > 0, got {timeout}")
        return cls(workers=workers, timeout=timeout)


@dataclass(frozen=True)
class PolitenessConfig:
    max_crawl_delay: float
    max_retry_after: float
    robots_user_agent: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PolitenessConfig:
        return cls(
            max_crawl_delay=seconds(settings, "ARCHIVE_MAX_CRAWL_DELAY"),
            max_retry_after=seconds(settings, "ARCHIVE_MAX_RETRY_AFTER"),
            robots_user_agent=str(
                settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or ""
            ),
        )


@dataclass(frozen=True)
class FollowConfig:
    """How far citations are followed: a page's cited links and a crawl's cited pages are capped,
    so a page with 10,000 links (or a chain of them, with --depth) cannot flood the crawl."""

    max_per_page: int
    max_per_crawl: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FollowConfig:
        return cls(max_per_page=count(settings, "ARCHIVE_MAX_CITATIONS_PER_PAGE", allow_zero=True),
                   max_per_crawl=count(settings, "ARCHIVE_MAX_CITED_PAGES", allow_zero=True))


@dataclass(frozen=True)
class RequisitesConfig:
    """Which page requisites are fetched, and how much of them (ARCHIVE_REQUISITES_*)."""

    enabled: bool
    iframes: bool
    media_bytes: int  # 0: no audio or video
    max_bytes: int
    page_bytes: int
    per_page: int
    obey_robots: bool

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RequisitesConfig:
        return cls(enabled=flag(settings, "ARCHIVE_REQUISITES"),
                   iframes=flag(settings, "ARCHIVE_REQUISITES_IFRAMES"),
                   media_bytes=count(settings, "ARCHIVE_REQUISITES_MEDIA_BYTES", allow_zero=True),
                   max_bytes=count(settings, "ARCHIVE_REQUISITES_MAX_BYTES"),
                   page_bytes=count(settings, "ARCHIVE_REQUISITES_PAGE_BYTES"),
                   per_page=count(settings, "ARCHIVE_REQUISITES_PER_PAGE", allow_zero=True),
                   obey_robots=flag(settings, "ARCHIVE_REQUISITES_OBEY_ROBOTS"))

    @property
    def kinds(self) -> RequisiteKinds:
        """The optional kinds to look for in a page (iframe documents, audio and video)."""
        return RequisiteKinds(iframes=self.iframes, media=self.media_bytes > 0)


def split_sources(value: Any) -> list[str]:
    """ARCHIVE_REPLAY_FROM as a list: a string is split on commas and whitespace."""
    if not value:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    return [str(part) for part in value if str(part).strip()]


@dataclass(frozen=True)
class ReplayConfig:
    sources: tuple[str, ...]
    at: str | None  # 4 to 14 digit timestamp; None: the latest capture
    index_dir: Path

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ReplayConfig:
        sources = tuple(split_sources(settings.get("ARCHIVE_REPLAY_FROM")))
        missing = [s for s in sources if not Path(s).expanduser().exists()]
        if missing:
            raise SettingError(f"ARCHIVE_REPLAY_FROM: {', '.join(missing)} does not exist")
        at = str(settings.get("ARCHIVE_REPLAY_AT") or "").strip() or None
        if at is not None:
            try:
                at = check_timestamp(at)
            except ValueError as exc:
                raise SettingError(f"ARCHIVE_REPLAY_AT: {exc}") from None
        index_dir = settings.get("ARCHIVE_REPLAY_INDEX_DIR") or Path(tempfile.gettempdir()) / "newsarchive-replay"
        return cls(sources=sources, at=at, index_dir=Path(index_dir).expanduser())


def extract_options(settings: BaseSettings) -> ExtractOptions:
    """The EXTRACT_* settings as the options the extraction workers get."""
    defaults = ExtractOptions()

    def read(name: str, getter: str, default: Any) -> Any:
        try:
            return getattr(settings, getter)(name, default)
        except (TypeError, ValueError) as exc:
            raise SettingError(f"{name}: {exc}") from None

    languages = read("EXTRACT_BOILERPLATE_LANGUAGES", "getlist", list(defaults.boilerplate_languages))
    try:
        return ExtractOptions(
            focus=str(read("EXTRACT_FOCUS", "get", defaults.focus)).strip().lower(),
            fallback=read("EXTRACT_FALLBACK", "getbool", defaults.fallback),
            include_tables=read("EXTRACT_INCLUDE_TABLES", "getbool", defaults.include_tables),
            clean_dom=read("EXTRACT_CLEAN_DOM", "getbool", defaults.clean_dom),
            clean_text=read("EXTRACT_CLEAN_TEXT", "getbool", defaults.clean_text),
            boilerplate_languages=tuple(str(lang).strip().lower() for lang in languages),
            detect_language=read("EXTRACT_DETECT_LANGUAGE", "getbool", defaults.detect_language),
            date_extensive=read("EXTRACT_DATE_EXTENSIVE", "getbool", defaults.date_extensive),
            min_words=read("EXTRACT_MIN_WORDS", "getint", defaults.min_words),
            teaser_words=read("EXTRACT_TEASER_WORDS", "getint", defaults.teaser_words),
            max_bytes=read("EXTRACT_MAX_BYTES", "getint", defaults.max_bytes),
        )
    except ValueError as exc:  # the options' own checks name the setting
        raise SettingError(str(exc)) from None


def progress_interval(settings: BaseSettings) -> float:
    """Seconds between progress lines; 0: none."""
    return seconds(settings, "ARCHIVE_PROGRESS_INTERVAL")


# Settings of the components we use beyond Scrapy's and ours (scrapy-redis reads these).
PLUGIN_SETTINGS = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PARAMS", "REDIS_ENCODING",
                   "REDIS_START_URLS_KEY", "REDIS_START_URLS_AS_SET", "SCHEDULER_PERSIST",
                   "SCHEDULER_QUEUE_CLASS", "SCHEDULER_QUEUE_KEY", "SCHEDULER_DUPEFILTER_CLASS",
                   "SCHEDULER_DUPEFILTER_KEY", "SCHEDULER_FLUSH_ON_START", "SCHEDULER_IDLE_BEFORE_CLOSE",
                   "DUPEFILTER_KEY", "DUPEFILTER_DEBUG")


def known_settings() -> dict[str, Any]:
    """Every setting name a crawl reads, with its default: Scrapy's, ours, and its plug-ins'."""
    from scrapy.settings import default_settings

    from crawler import settings as ours

    known = {name: getattr(default_settings, name) for name in dir(default_settings) if name.isupper()}
    known.update({name: None for name in PLUGIN_SETTINGS})
    known.update({name: getattr(ours, name) for name in dir(ours) if name.isupper()})
    return known


def check_override(name: str, value: Any, known: dict[str, Any] | None = None) -> None:
    """A setting given by a person (`-s NAME=VALUE`, a jobs file): its name must be known, its value
    of the default's kind. Raises SettingError naming the setting (and the nearest known name)."""
    import difflib
    import json

    known = known_settings() if known is None else known
    if name not in known:
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {near[0]}?" if near else " (see crawler/settings.py and Scrapy's settings)"
        raise SettingError(f"unknown setting {name}{hint}")
    default = known[name]
    if not isinstance(value, str) or default is None or isinstance(default, str):
        return  # a typed value (from TOML) or a free-form setting: the area's config checks it
    text = value.strip()
    if isinstance(default, bool):
        try:
            BaseSettings({name: text}).getbool(name)
        except ValueError:
            raise SettingError(f"{name} is True or False (or 1 or 0), got {value!r}") from None
    elif isinstance(default, (int, float)):
        try:
            float(text)
        except ValueError:
            raise SettingError(f"{name} is a number, got {value!r}") from None
    elif isinstance(default, dict) and text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise SettingError(f"{name} is a JSON object ({{...}}), got {value!r}")


# S3Config field -> the setting that sets it (for error messages).
S3_SETTINGS = {
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
                names = ", ".join(S3_SETTINGS.get(f.strip(), f.strip()) for f in fields.split(","))
                raise SettingError(f"{names}: {problem}") from None
        return cls(spool=spool, s3=s3, retry_interval=retry)


@dataclass(frozen=True)
class AlertConfig:
    """When a source's latest run counts as degraded (ARCHIVE_ALERT_*, crawler/archive/report.py)."""

    blocked_share: float
    coverage_drop: float
    history: int
    min_pages: int
    paywall_rise: float
    quiet_runs: int
    word_count_ratio: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> AlertConfig:
        return cls(blocked_share=share(settings, "ARCHIVE_ALERT_BLOCKED_SHARE"),
                   coverage_drop=share(settings, "ARCHIVE_ALERT_COVERAGE_DROP"),
                   history=count(settings, "ARCHIVE_ALERT_HISTORY"),
                   min_pages=count(settings, "ARCHIVE_ALERT_MIN_PAGES"),
                   paywall_rise=share(settings, "ARCHIVE_ALERT_PAYWALL_RISE"),
                   quiet_runs=count(settings, "ARCHIVE_ALERT_QUIET_RUNS"),
                   word_count_ratio=share(settings, "ARCHIVE_ALERT_WORD_COUNT_RATIO"))


def check_settings(settings: BaseSettings) -> None:
    """Every area's settings checked at once, before a crawl starts: raises the first SettingError."""
    archive = ArchiveConfig.from_settings(settings)
    StorageConfig.from_settings(settings, archive.location)
    WorkerConfig.from_settings(settings)
    PolitenessConfig.from_settings(settings)
    FollowConfig.from_settings(settings)
    RequisitesConfig.from_settings(settings)
    AlertConfig.from_settings(settings)
    extract_options(settings)
    progress_interval(settings)
    networks(settings, "ARCHIVE_ALLOW_NETWORKS")
    dns_servers(settings)
    if settings.get("ARCHIVE_REPLAY_FROM"):
        ReplayConfig.from_settings(settings)
    for name in ("ARCHIVE_STATE_STORE", "ARCHIVE_HOST_PACING", "TWISTED_DNS_RESOLVER"):
        if path := settings.get(name):
            try:
                load_object(path)
            except (ImportError, AttributeError, NameError, ValueError) as exc:
                raise SettingError(f"{name}: cannot load {path!r} ({type(exc).__name__}: {exc})") from None
