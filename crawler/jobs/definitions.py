"""Crawl jobs: their definitions in a TOML file, validated, and their schedules.

    [[jobs]]
    name = "china-ai"
    sources = ["dw", "restofworld"]
    urls = ["https://itif.org/publications/2024/09/16/china-is-rapidly-becoming-a-leading-innovator-in-advanced-industries/"]
    schedule = "0 */6 * * *"        # cron (5 fields or @hourly/@daily/...), or every = "6h"
    archive = "s3://my-bucket/news"  # or a path (relative to the jobs file), file:///path

`load_jobs` validates the whole file and reports every problem at once (`JobsFileError`), each
naming the job and the field; `next_run` says when a job runs next; `job_settings` and
`job_spiders` say what one run is made of; `lock_path` where its lock lives (`crawler.jobs.lock`):
`<archive>/state/jobs/` for a local archive, the spool's `state/jobs/` for S3. Running jobs
and the scheduler are in `crawler.jobs.schedule`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from crawler.dates import EXPECTED, parse_age, parse_when
from storage.archive import ArchiveURIError, parse_archive_uri

JOB_KEYS = ("name", "sources", "urls", "sitemaps", "feeds", "schedule", "every", "timezone", "archive",
            "allow_private", "max_pages", "max_duration", "since", "depth", "on_anomaly", "settings")
TOP_KEYS = ("jobs", "defaults")
# Set through the job's own fields, never through its settings table.
RESERVED_SETTINGS = {"ARCHIVE_URI": "archive", "ARCHIVE_ALLOW_PRIVATE": "allow_private",
                     "CLOSESPIDER_TIMEOUT": "max_duration"}

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_SETTING = re.compile(r"[A-Z][A-Z0-9_]*")
_DURATION = re.compile(r"(?:\d+[smhdw])+")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_JOBS_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*jobs[ \t]*\]\]", re.MULTILINE)


# -- job definitions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    name: str
    archive: str  # a URI; a relative path in the file is made absolute (relative to the file)
    sources: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()  # of sites the registry does not know (spiders/site.py)
    feeds: tuple[str, ...] = ()
    schedule: str | None = None  # cron expression
    every: int | None = None  # seconds
    timezone: str = "UTC"  # the cron expression's time zone
    allow_private: bool = False
    max_pages: int | None = None  # per source
    max_duration: int | None = None  # seconds, for the whole run (CLOSESPIDER_TIMEOUT)
    since: datetime | None = None  # a fixed date ...
    since_age: int | None = None  # ... or an age in seconds, counted back from the run's start
    depth: int = 0  # citation following for `urls`
    # run when a run finds a source degraded, the report as JSON on its standard input: a shell
    # command line (a string) or a program and its arguments (a list)
    on_anomaly: str | tuple[str, ...] | None = None
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def since_at(self, now: datetime) -> datetime | None:
        if self.since_age is not None:
            return now - timedelta(seconds=self.since_age)
        return self.since

    def describe_schedule(self) -> str:
        if self.every is not None:
            return f"every {format_duration(self.every)}"
        return f"cron {self.schedule!r} ({self.timezone})"


@dataclass(frozen=True)
class JobsFile:
    path: Path
    jobs: tuple[Job, ...]

    def get(self, name: str) -> Job | None:
        return next((job for job in self.jobs if job.name == name), None)

    @property
    def names(self) -> list[str]:
        return [job.name for job in self.jobs]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a jobs file. `index` counts [[jobs]] tables from 1; None: the file."""

    message: str
    index: int | None = None
    job: str | None = None
    field: str | None = None
    line: int | None = None  # of the job's [[jobs]] header, when it has one

    def where(self) -> str:
        if self.index is None:
            return "defaults" if self.job == "defaults" else ""
        return f"jobs[{self.index}]" + (f" ({self.job})" if self.job else "")

    def __str__(self) -> str:
        parts = [p for p in (self.where(), self.field) if p]
        return ": ".join([*parts, self.message])


class JobsFileError(ValueError):
    """The jobs file has problems; `problems` lists every one of them. `valid` holds the jobs
    that have none of their own (empty when the file as a whole is unusable)."""

    def __init__(self, path: Path, problems: Sequence[Problem], valid: Sequence[Job] = ()):
        self.path = Path(path)
        self.problems = list(problems)
        self.valid = JobsFile(self.path, tuple(valid))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.path}:{p.line}: {p}" if p.line else f"{self.path}: {p}" for p in self.problems]

    def of_job(self, name: str) -> list[Problem]:
        return [p for p in self.problems if p.job == name or p.index is None]


def parse_duration(value: Any) -> int:
    """"90s", "30m", "6h", "1d", "2w", "1h30m" or a number of seconds -> seconds (> 0)."""
    if isinstance(value, bool):
        # ValueError, not TypeError: a wrong value in a file, reported like the others
        raise ValueError(f"expected a duration like '30m', '6h' or '1d', got {value!r}")  # noqa: TRY004
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and _DURATION.fullmatch(text := value.replace(" ", "").lower()):
        seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", text))
    else:
        raise ValueError(f"expected a duration like '30m', '6h' or '1d', got {value!r}")
    if seconds <= 0:
        raise ValueError(f"must be more than 0 seconds, got {value!r}")
    return seconds


def format_duration(seconds: int) -> str:
    out = []
    for unit in ("w", "d", "h", "m", "s"):
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out) or "0s"


def _zone(name: str) -> Any:
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def next_run(job: Job, after: datetime) -> datetime:
    """The job's first run strictly after `after` (UTC; a naive `after` is taken as UTC)."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    if job.every is not None:
        return (after + timedelta(seconds=job.every)).astimezone(UTC)
    from croniter import croniter

    assert job.schedule is not None
    nxt = croniter(job.schedule, after.astimezone(_zone(job.timezone))).get_next(datetime)
    return nxt.astimezone(UTC)


class _Checker:
    """Turns one job table into a Job, collecting every problem on the way."""

    def __init__(self, table: dict[str, Any], index: int, line: int | None, base: Path,
                 problems: list[Problem], from_defaults: frozenset[str] = frozenset()):
        self.table = table
        self.from_defaults = from_defaults
        self.index = index
        self.line = line
        self.base = base
        self.problems = problems
        self.count = 0
        name = table.get("name")
        self.name = name if isinstance(name, str) and name else None

    def problem(self, field_name: str | None, message: str) -> None:
        self.count += 1
        if field_name and re.split(r"[.\[]", field_name)[0] in self.from_defaults:
            message += " (from [defaults])"
        self.problems.append(Problem(message, self.index, self.name, field_name, self.line))

    def check(self) -> Job | None:
        from spiders.registry import SOURCES

        t = self.table
        for key in t:
            if key not in JOB_KEYS:
                close = difflib.get_close_matches(key, JOB_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(JOB_KEYS)})"
                self.problem(key, f"unknown key{hint}")
        name = t.get("name")
        if name is None:
            self.problem("name", "missing (every job needs a name)")
        elif not isinstance(name, str) or not _NAME.fullmatch(name):
            self.problem("name", f"must be lower-case letters, digits, '-' or '_' (at most 64), got {name!r}")

        before = self.count
        sources: list[str] = []
        for i, given in enumerate(self._list("sources")):
            source = given.strip().lower() if isinstance(given, str) else given  # case-insensitive
            if source not in SOURCES:
                self.problem(f"sources[{i}]", f"unknown source {source!r} (known: {', '.join(sorted(SOURCES))})")
            elif source not in sources:
                sources.append(source)
        urls, sitemaps, feeds = self._urls("urls"), self._urls("sitemaps"), self._urls("feeds")
        if not any(key in t for key in ("sources", "urls", "sitemaps", "feeds")):
            self.problem("sources", "missing: a job needs sources, urls, sitemaps or feeds")
        elif not (sources or urls or sitemaps or feeds) and self.count == before:
            self.problem("sources", "sources, urls, sitemaps and feeds are all empty: nothing to crawl")
        on_anomaly = self._command("on_anomaly")

        schedule, every = t.get("schedule"), t.get("every")
        tz = self._str("timezone", "UTC")
        if tz is not None:
            try:
                _zone(tz)
            except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
                self.problem("timezone", f"unknown time zone {tz!r} (use an IANA name like 'Europe/Berlin')")
                tz = None
        every_s: int | None = None
        if schedule is not None and every is not None:
            self.problem("schedule", "give schedule (cron) or every (interval), not both")
        elif schedule is None and every is None:
            self.problem("schedule", "missing: give schedule = \"<cron expression>\" or every = \"6h\"")
        elif schedule is not None:
            schedule = self._cron(schedule, tz or "UTC")
        else:
            try:
                every_s = parse_duration(every)
            except ValueError as exc:
                self.problem("every", str(exc))

        archive = self._archive()
        allow_private = self._bool("allow_private")
        max_pages = self._int("max_pages", minimum=1)
        depth = self._int("depth", minimum=0)
        max_duration = None
        if t.get("max_duration") is not None:
            try:
                max_duration = parse_duration(t["max_duration"])
            except ValueError as exc:
                self.problem("max_duration", str(exc))
        since, since_age = self._since()
        problems_before_settings = self.count
        settings = self._settings()
        if archive is not None and self.count == problems_before_settings:
            self._check_settings(Job(name="check", archive=archive, allow_private=bool(allow_private),
                                     settings=MappingProxyType(settings)))
        if self.count:
            return None
        assert isinstance(name, str) and archive is not None
        job = Job(name=name, archive=archive, sources=tuple(sources), urls=tuple(urls),
                  sitemaps=tuple(sitemaps), feeds=tuple(feeds), on_anomaly=on_anomaly, schedule=schedule, every=every_s, timezone=tz or "UTC",
                  allow_private=bool(allow_private), max_pages=max_pages, max_duration=max_duration,
                  since=since, since_age=since_age, depth=depth or 0,
                  settings=MappingProxyType(settings))
        return job

    # -- one field each -------------------------------------------------------------------

    def _urls(self, key: str) -> list[str]:
        from crawler.fetch.urls import Rejected, check_url

        urls: list[str] = []
        for i, text in enumerate(self._list(key)):
            checked = check_url(text)
            if isinstance(checked, Rejected):
                self.problem(f"{key}[{i}]", f"{checked.message}: {text!r}")
            elif checked not in urls:
                urls.append(checked)
        return urls

    def _command(self, key: str) -> str | tuple[str, ...] | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return tuple(value)
        self.problem(key, f"expected a command line (a string) or a program and its arguments (a list of "
                     f"strings), got {value!r}")
        return None

    def _list(self, key: str) -> list[str]:
        value = self.table.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, f"expected a list of strings, got {value!r}")
            return []
        return value

    def _str(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            self.problem(key, f"expected a string, got {value!r}")
            return None
        return value

    def _bool(self, key: str) -> bool | None:
        value = self.table.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {value!r}")
            return None
        return value

    def _int(self, key: str, minimum: int) -> int | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(key, f"expected an integer >= {minimum}, got {value!r}")
            return None
        return value

    def _cron(self, expr: Any, tz: str) -> str | None:
        from croniter import croniter

        if not isinstance(expr, str):
            self.problem("schedule", f"expected a cron expression string, got {expr!r}")
            return None
        text = " ".join(expr.split())
        if not text.startswith("@") and len(text.split()) != 5:
            self.problem("schedule", f"bad cron expression {expr!r}: expected 5 fields "
                         "(minute hour day-of-month month day-of-week) or @hourly, @daily, ...")
            return None
        try:
            croniter(text, datetime.now(_zone(tz))).get_next(datetime)
        except (ValueError, KeyError) as exc:  # croniter's errors are ValueErrors
            reason = re.sub(r"^\[[^]]*\]\s*", "", str(exc)) or type(exc).__name__
            if "failed to find" in reason:
                reason = "it never matches a date"
            self.problem("schedule", f"bad cron expression {expr!r}: {reason}")
            return None
        return text

    def _archive(self) -> str | None:
        value = self.table.get("archive")
        if value is None:
            self.problem("archive", "missing: where to archive (a path, file:///path or s3://bucket/prefix)")
            return None
        if not isinstance(value, str):
            self.problem("archive", f"expected a string, got {value!r}")
            return None
        try:
            location = parse_archive_uri(value)
        except ArchiveURIError as exc:
            self.problem("archive", str(exc))
            return None
        if location.scheme == "file" and urlsplit(value).scheme != "file":
            path = Path(value).expanduser()
            return str(path if path.is_absolute() else (self.base / path).resolve())
        return value

    def _since(self) -> tuple[datetime | None, int | None]:
        value = self.table.get("since")
        if value is None:
            return None, None
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)), None
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC), None
        if isinstance(value, str):
            if (age := parse_age(value)) is not None:
                return None, age  # relative to each run
            try:
                return parse_when(value), None
            except ValueError as exc:
                self.problem("since", str(exc))
                return None, None
        self.problem("since", f"expected {EXPECTED}, got {value!r}")
        return None, None

    def _settings(self) -> dict[str, Any]:
        value = self.table.get("settings", {})
        if not isinstance(value, dict):
            self.problem("settings", f"expected a table of Scrapy settings, got {value!r}")
            return {}
        from crawler.config import SettingError, check_override, known_settings

        known = known_settings()
        out = {}
        for key, setting in value.items():
            if key in RESERVED_SETTINGS:
                self.problem(f"settings.{key}", f"set the job's {RESERVED_SETTINGS[key]!r} field instead")
            elif not _SETTING.fullmatch(key):
                self.problem(f"settings.{key}", "setting names are UPPER_CASE (see crawler/settings.py)")
            else:
                try:
                    check_override(key, setting, known)
                    out[key] = setting
                except SettingError as exc:
                    self.problem(f"settings.{key}", str(exc))
        return out

    def _check_settings(self, job: Job) -> None:
        """The archive settings as the run will see them, checked like the CLI checks them."""
        from crawler.config import SettingError, check_settings

        settings = job_settings(job)
        try:
            check_settings(settings)
        except SettingError as exc:
            self.problem("settings", str(exc))


def _merge(defaults: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **table}
    if isinstance(defaults.get("settings"), dict) and isinstance(table.get("settings"), dict):
        merged["settings"] = {**defaults["settings"], **table["settings"]}
    return merged


def load_jobs(path: str | Path) -> JobsFile:
    """The jobs of a TOML file, validated; raises JobsFileError listing every problem.

    A `[defaults]` table gives values for every job (a job's own keys win; `settings`
    tables are merged). Relative archive paths are relative to the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobsFileError(path, [Problem(f"cannot read the jobs file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise JobsFileError(path, [Problem(f"not UTF-8 text: {exc}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise JobsFileError(path, [Problem(f"not valid TOML: {exc}")]) from None
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(Problem(f"unknown top-level key {key!r} (expected [[jobs]] tables and "
                                    "an optional [defaults] table)"))
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.append(Problem("[defaults] must be a table", job="defaults"))
        defaults = {}
    for key in defaults:
        if key not in JOB_KEYS or key == "name":
            problems.append(Problem("unknown key" if key != "name" else "a default name makes no sense",
                                    job="defaults", field=key))
    defaults = {k: v for k, v in defaults.items() if k in JOB_KEYS and k != "name"}
    tables = data.get("jobs")
    if tables is None:
        problems.append(Problem("no jobs: add one or more [[jobs]] tables"))
        tables = []
    elif not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(Problem("'jobs' must be [[jobs]] tables"))
        tables = []
    lines = [text.count("\n", 0, m.start()) + 1 for m in _JOBS_HEADER.finditer(text)]
    if len(lines) != len(tables):  # jobs written as an inline array: no line to point at
        lines = []
    file_level = len(problems)
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    base = path.resolve().parent
    for i, table in enumerate(tables, start=1):
        inherited = frozenset(key for key in defaults if key not in table)
        checker = _Checker(_merge(defaults, table), i, lines[i - 1] if lines else None, base, problems,
                           inherited)
        job = checker.check()
        name = table.get("name")
        if isinstance(name, str) and name in seen:
            checker.problem("name", f"duplicate: jobs[{seen[name]}] has the same name")
            job = None
        elif isinstance(name, str):
            seen[name] = i
        if job is not None:
            jobs.append(job)
    if problems:
        raise JobsFileError(path, problems, [] if file_level else jobs)
    return JobsFile(path, tuple(jobs))


# -- where a job's lock lives ---------------------------------------------------------------

def state_dir_for(job: Job, state_dir: str | Path | None = None) -> Path:
    """The local folder for a job's state: `state_dir` if given, else the `state/` folder of
    the folder the run writes to: the archive itself, or for S3 the local spool
    (STORAGE_SPOOL, by default under ~/.cache/newsarchive/spool/)."""
    if state_dir:
        return Path(state_dir).expanduser().resolve()
    location = parse_archive_uri(job.archive)
    if location.scheme == "file":
        assert location.path is not None
        return location.path / "state"
    from crawler.config import StorageConfig

    spool = StorageConfig.from_settings(job_settings(job), location).spool
    assert spool is not None
    return spool / "state"


def lock_path(job: Job, state_dir: str | Path | None = None) -> Path:
    return state_dir_for(job, state_dir) / "jobs" / f"{job.name}.lock"


# -- running one job, in this process -------------------------------------------------------

def job_settings(job: Job, *, log_level: str = "INFO") -> Any:
    """Scrapy settings of a run: the project's, the job's overrides, then its own fields."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("LOG_LEVEL", log_level.upper(), priority="cmdline")
    for name, value in job.settings.items():
        settings.set(name, value, priority="cmdline")
    settings.set("ARCHIVE_URI", job.archive, priority="cmdline")
    settings.set("ARCHIVE_JOB", job.name, priority="cmdline")
    settings.set("ARCHIVE_ALLOW_PRIVATE", job.allow_private, priority="cmdline")
    if job.max_duration is not None:
        settings.set("CLOSESPIDER_TIMEOUT", job.max_duration, priority="cmdline")
    return settings


def job_spiders(job: Job, now: datetime | None = None) -> list[tuple[type, dict[str, Any]]]:
    """What run_spiders is given: one spider per source, and the ingest spider for urls."""
    from spiders.ingest import IngestSpider
    from spiders.registry import SPIDERS
    from spiders.site import sites_of

    since = job.since_at(now or datetime.now(UTC))
    spiders: list[tuple[type, dict[str, Any]]] = [
        (SPIDERS[name], {"since": since, "max_pages": job.max_pages}) for name in job.sources]
    spiders += [(site, {"since": since, "max_pages": job.max_pages}) for site in sites_of(job.sitemaps, job.feeds)]
    if job.urls:
        spiders.append((IngestSpider, {"urls": list(job.urls), "depth": job.depth}))
    return spiders
