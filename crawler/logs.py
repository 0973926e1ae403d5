"""Logging set-up, done only by the CLI: structlog for our events, Scrapy's stdlib logging
bridged through structlog's ProcessorFormatter. Console output on a terminal, JSON otherwise."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(*, json: bool | None = None, level: str = "INFO") -> None:
    if json is None:
        json = not sys.stderr.isatty()
    shared: list = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
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
    for noisy in ("scrapy.core.scraper", "scrapy.core.engine", "scrapy.middleware",
                  "scrapy.utils.log", "scrapy.addons", "filelock", "charset_normalizer",
                  "trafilatura", "htmldate", "courlan",
                  # boto3 at DEBUG logs request headers: Authorization, X-Amz-Security-Token.
                  "botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(floor)
