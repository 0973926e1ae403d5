"""Logging set-up, done only by the CLI: structlog for our events, Scrapy's stdlib logging
bridged through structlog's ProcessorFormatter. Console output on a terminal, JSON otherwise.

Below DEBUG, what a person does not need is left out: Scrapy's start-up banners (versions,
overridden settings), its stats dump and per-minute counts, and the log lines and tracebacks of
failures that are expected and recorded anyway (a host that does not resolve, a refused
connection: each URL gets its line and its reason in the summary). A traceback is shown only for
a real bug, once, plainly, with a pointer to --log-level DEBUG."""

from __future__ import annotations

import logging
import sys

import structlog

_json_mode = False

# Scrapy's records of failures we record ourselves (one line per URL in the summary), its start-up
# banners (versions, overridden settings), stats dump, per-minute counts and components switched
# off by a setting: at DEBUG only (a filter on the handler: Scrapy resets logger levels when it
# configures its logging).
QUIET_BELOW_DEBUG = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt",
                     "scrapy.crawler", "scrapy.statscollectors", "scrapy.extensions.logstats",
                     "scrapy.middleware", "scrapy.utils.log")
# Our events a terminal shows in the printed summary instead (JSON logs keep them): a page
# without an article, a requisite that failed (counted by reason: a page's missing icons are
# no news), the run's figures, and the search index brought up to date.
SUMMARISED = frozenset({"no_article", "run_summary", "requisite_failed", "search_indexed"})
BUG_HINT = "this looks like a bug; run again with --log-level DEBUG for the details"


def json_mode() -> bool:
    return _json_mode


class _Plain(logging.Filter):
    """Leaves out what a person does not need below DEBUG; a real error keeps its traceback,
    with a pointer to DEBUG."""

    def __init__(self, console: bool):
        super().__init__()
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(QUIET_BELOW_DEBUG) and record.levelno < logging.CRITICAL:
            return False
        if self.console and isinstance(record.msg, dict) and record.msg.get("event") in SUMMARISED:
            return False
        if record.exc_info and record.levelno >= logging.ERROR:
            record.msg = f"{record.getMessage()} ({BUG_HINT})" if isinstance(record.msg, str) else record.msg
            if isinstance(record.msg, dict):
                record.msg = {**record.msg, "hint": BUG_HINT}
            record.args = ()
        return True


def configure(*, json: bool | None = None, level: str = "INFO") -> None:
    global _json_mode
    if json is None:
        json = not sys.stderr.isatty()
    _json_mode = json
    shared: list = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(),
                                           exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json else (lambda _l, _m, e: e),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.setLevel(level)
    if logging.getLevelName(level) > logging.DEBUG:
        handler.addFilter(_Plain(console=not json))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_libraries(level)


def quiet_libraries(level: str = "INFO") -> None:
    """Per-item and per-request chatter of libraries is noise at INFO. Call again after Scrapy
    has (re)applied its own logging config."""
    floor = max(logging.WARNING, logging.getLevelName(level))
    for noisy in ("scrapy.core.scraper", "scrapy.core.engine",
                  "scrapy.addons", "filelock", "charset_normalizer",
                  "trafilatura", "htmldate", "courlan",
                  # boto3 at DEBUG logs request headers: Authorization, X-Amz-Security-Token.
                  "botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(floor)
