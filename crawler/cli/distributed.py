"""`crawler worker` and `crawler enqueue`: the distributed mode's commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from crawler.cli.common import checked, prepare_crawl, print_summary, settings_from
from crawler.runner import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CrawlFailed, run_spider


def _redis_url(args: argparse.Namespace) -> str | None:
    return args.redis or os.environ.get("REDIS_URL") or None


def _check_distributed(settings: Any) -> int | None:
    from crawler.config import SettingError
    from crawler.distributed.config import DistributedConfig

    try:
        DistributedConfig.from_settings(settings)
    except SettingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return None


def _check_reachable(settings: Any) -> int | None:
    from redis.exceptions import RedisError

    from crawler.distributed.config import DistributedConfig, redact

    config = DistributedConfig.from_settings(settings)
    client = config.client()
    try:
        client.ping()
    except RedisError as exc:
        print(f"crawler: cannot reach Redis at {redact(config.redis_url)} (REDIS_URL): {exc}", file=sys.stderr)
        return EXIT_FATAL
    finally:
        client.close()
    return None


def cmd_worker(args: argparse.Namespace) -> int:
    from scrapy.settings import SETTINGS_PRIORITIES

    settings = settings_from(args, {"ARCHIVE_URI": args.archive, "REDIS_URL": _redis_url(args),
                                "DISTRIBUTED_IDLE_TIMEOUT": args.idle_timeout})
    if args.idle_timeout is None and settings.getpriority("DISTRIBUTED_IDLE_TIMEOUT") < SETTINGS_PRIORITIES["cmdline"]:
        settings.set("DISTRIBUTED_IDLE_TIMEOUT", -1, priority="cmdline")  # a worker waits for work
    if not settings.get("REDIS_URL"):
        print("crawler: worker needs --redis URL (or REDIS_URL): the Redis server that holds the shared queue",
              file=sys.stderr)
        return EXIT_USAGE
    checked(settings)
    for check in (_check_distributed, _check_reachable):
        if (code := check(settings)) is not None:
            return code
    prepare_crawl()
    from spiders.worker import WorkerSpider

    try:
        session = run_spider(WorkerSpider, settings)
    except CrawlFailed as exc:
        print(f"crawler: the worker could not run: {exc}", file=sys.stderr)
        return EXIT_FATAL
    return print_summary(session)


def cmd_enqueue(args: argparse.Namespace) -> int:
    from crawler.config import SettingError
    from crawler.distributed.enqueue import RedisUnavailable, enqueue_work
    from crawler.fetch.urls import Rejected, check_url, dedupe, read_url_lines
    from spiders.registry import SPIDERS

    texts = list(args.work)
    if args.input is not None:
        try:
            lines = sys.stdin if args.input == "-" else Path(args.input).read_text(encoding="utf-8").splitlines()
            texts += read_url_lines(lines)
        except OSError as exc:
            print(f"crawler: cannot read {args.input!r}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    sources: list[str] = []
    good: list[str] = []
    rejected = 0
    for text in texts:
        if "://" not in text and "." not in text and "/" not in text:
            if text in SPIDERS:
                sources.append(text)
            else:
                print(f"rejected: {text!r}: unknown source (known: {', '.join(sorted(SPIDERS))})", file=sys.stderr)
                rejected += 1
            continue
        verdict = check_url(text)
        if isinstance(verdict, Rejected):
            print(f"rejected: {verdict.url!r}: {verdict.message}", file=sys.stderr)
            rejected += 1
        else:
            good.append(verdict)
    urls, _dupes = dedupe(good)
    sources = list(dict.fromkeys(sources))
    if not urls and not sources:
        print("crawler: nothing to enqueue (give URLs or source names)", file=sys.stderr)
        return EXIT_USAGE if not rejected else EXIT_PARTIAL
    redis_url = _redis_url(args)
    settings = settings_from(args, {"REDIS_URL": redis_url})
    if not settings.get("REDIS_URL"):
        print("crawler: enqueue needs --redis URL (or REDIS_URL)", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = enqueue_work(settings, urls=urls, sources=sources, allow_private=args.allow_private,
                              new_crawl=args.new_crawl)
    except SettingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RedisUnavailable as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(report.line())
    for url in report.duplicates[:50]:
        print(f"  already seen  {url}")
    return EXIT_PARTIAL if rejected else EXIT_OK


def add_distributed_commands(subparsers: Any) -> None:
    redis_help = "the Redis server holding the shared queue, redis://[:password@]host:6379/0 (default: $REDIS_URL)"
    worker = subparsers.add_parser(
        "worker", help="serve the shared Redis queue: fetch, archive and extract what was enqueued",
        description="One of any number of workers, on any number of machines, sharing one crawl through "
                    "Redis. Each writes its own WARC and JSON Lines files (host and pid in their names) to "
                    "the archive. Exit status: 0 ok, 1 some pages failed or were blocked, 2 bad usage, "
                    "3 the worker could not run (Redis unreachable), 4 remote storage failed.")
    worker.add_argument("--redis", metavar="URL", help=redis_help)
    worker.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                        help="stop once the queue has been empty, with nothing in flight on any worker, for "
                             "this long (default: keep waiting for work)")
    worker.add_argument("--archive", metavar="URI", help="archive location: path, file:///path or s3://bucket/prefix "
                                                          "(default ./archive)")
    worker.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting")
    worker.add_argument("--from-archive", action="append", metavar="PATH",
                        help="answer requests from these WARC/WACZ files or folders instead of the web")
    worker.set_defaults(func=cmd_worker)

    enqueue = subparsers.add_parser(
        "enqueue", help="seed the shared Redis queue with URLs to archive and sources to crawl",
        description="URLs are archived as `crawler ingest` would; a source name queues its discovery "
                    "pages (as `crawler crawl`). URLs already seen in this crawl window are skipped. "
                    "Exit status: 0 ok, 1 some inputs were rejected, 2 bad usage, 3 Redis unreachable.")
    enqueue.add_argument("work", nargs="*", metavar="SOURCE|URL")
    enqueue.add_argument("-i", "--input", metavar="FILE", help="read URLs (and source names) from FILE ('-': stdin)")
    enqueue.add_argument("--redis", metavar="URL", help=redis_help)
    enqueue.add_argument("--allow-private", action="store_true",
                         help="this work (and the pages found from it) may reach loopback and private addresses")
    enqueue.add_argument("--new-crawl", action="store_true",
                         help="start a new crawl window: empty the duplicate filter first")
    enqueue.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting")
    enqueue.set_defaults(func=cmd_enqueue)
