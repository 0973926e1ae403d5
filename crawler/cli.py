"""The `crawler` command.

Exit status: 0 everything given was archived; 1 some inputs were rejected, blocked or failed
(the rest was archived); 2 bad usage or nothing to do; 3 the archive itself could not be used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import structlog

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FATAL = 0, 1, 2, 3
log = structlog.get_logger()


def _settings(args: argparse.Namespace, overrides: dict[str, Any]) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("LOG_LEVEL", args.log_level.upper(), priority="cmdline")
    for item in getattr(args, "set", None) or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"crawler: -s expects NAME=VALUE, got {item!r}")
        settings.set(name.strip(), value, priority="cmdline")
    for name, value in overrides.items():
        if value is not None:
            settings.set(name, value, priority="cmdline")
    if getattr(args, "from_archive", None):
        settings.set("ARCHIVE_REPLAY_FROM", args.from_archive, priority="cmdline")
    return settings


def _check_archive(settings: Any) -> int | None:
    from crawler.archive_handler import ReplayConfig
    from crawler.config import ArchiveConfig, SettingError

    try:
        ArchiveConfig.from_settings(settings)
        if settings.get("ARCHIVE_REPLAY_FROM"):
            ReplayConfig.from_settings(settings)
    except SettingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return None


class CrawlFailed(RuntimeError):
    """The crawl could not run (a component failed to start)."""


def run_spiders(jobs: Sequence[tuple[type, dict[str, Any]]], settings: Any) -> list[Any]:
    """Run spiders to the end in this process, side by side; returns their archive sessions."""
    from scrapy.crawler import CrawlerProcess

    from crawler import logs
    from crawler.session import session_for

    process = CrawlerProcess(settings)
    logs.quiet_libraries(settings.get("LOG_LEVEL") or "INFO")
    errors: list[str] = []

    def failed(failure: Any) -> None:
        errors.append(f"{type(failure.value).__name__}: {failure.value}")

    crawlers = []
    for spider_cls, kwargs in jobs:
        crawler = process.create_crawler(spider_cls)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs).addErrback(failed)
    process.start()
    if errors:
        raise CrawlFailed(errors[0])
    sessions = []
    for crawler in crawlers:
        session = session_for(crawler)
        session.close()
        sessions.append(session)
    return sessions


def run_spider(spider_cls: type, settings: Any, **kwargs: Any) -> Any:
    return run_spiders([(spider_cls, kwargs)], settings)[0]


def print_summary(sessions: Any, extra_rejected: Sequence[tuple[str, str]] = ()) -> int:
    from collections import Counter

    sessions = sessions if isinstance(sessions, list) else [sessions]
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    failures = []
    for one in sessions:
        counts.update(one.outcomes.counts)
        reasons.update(one.outcomes.reasons)
        failures.extend(one.outcomes.failures)
    rejected = counts["rejected"] + len(extra_rejected)
    line = (
        f"archived: {counts['archived']}  unchanged: {counts['unchanged']}  "
        f"failed: {counts['failed']}  blocked: {counts['blocked']}  rejected: {rejected}"
    )
    print(line)
    for url, message in extra_rejected:
        print(f"  rejected  {url}  {message}")
    kinds = {"refused_private_address": "rejected", "robots_disallowed": "blocked"}
    for url, reason, detail in failures[:200]:
        kind = kinds.get(reason, "blocked" if reason.startswith("blocked") else "failed")
        print(f"  {kind}  {url}  {reason}" + (f"  ({detail})" if detail and detail != reason else ""))
    hidden = counts["failed"] + counts["blocked"] + counts["rejected"] - min(len(failures), 200)
    if hidden > 0:
        print(f"  ... and {hidden} more (see the JSON Lines file)")
    if reasons["robots_disallowed"]:
        print(f"robots.txt disallowed {reasons['robots_disallowed']} URL(s) for our user agent; they were "
              "not fetched (obeying robots.txt is a per-source setting, the operator's decision)")
    for one in sessions:
        for path in one.warc.closed_files:
            log.info("warc_file", file=str(path))
    log.info("run_summary", **{k: counts[k] for k in ("archived", "unchanged", "failed", "blocked")},
             rejected=rejected, reasons=dict(reasons),
             json_files=[str(one.json_file.name) for one in sessions if one.json_file])
    bad = counts["failed"] + counts["blocked"] + rejected
    return EXIT_PARTIAL if bad else EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from crawler.urls import Rejected, check_url, dedupe, read_url_lines

    texts = list(args.urls)
    if args.input is not None:
        if args.input == "-":
            texts += read_url_lines(sys.stdin)
        else:
            try:
                texts += read_url_lines(Path(args.input).read_text(encoding="utf-8").splitlines())
            except OSError as exc:
                print(f"crawler: cannot read URL list {args.input!r}: {exc.strerror}", file=sys.stderr)
                return EXIT_USAGE
    if args.from_document:
        from crawler.documents import cited_urls

        try:
            texts += cited_urls(Path(args.from_document))
        except OSError as exc:
            print(f"crawler: cannot read document {args.from_document!r}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    depth = args.depth if args.depth is not None else (1 if args.follow_citations else 0)
    if depth < 0:
        print("crawler: --depth must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    rejected: list[tuple[str, str]] = []
    good: list[str] = []
    for text in texts:
        checked = check_url(text)
        if isinstance(checked, Rejected):
            print(f"rejected: {checked.url!r}: {checked.message}", file=sys.stderr)
            rejected.append((checked.url, checked.message))
        else:
            good.append(checked)
    urls, duplicates = dedupe(good)
    if duplicates:
        log.info("duplicates_skipped", count=duplicates)
    if not urls:
        print("crawler: no valid URL to ingest", file=sys.stderr)
        return EXIT_USAGE if not rejected else EXIT_PARTIAL
    settings = _settings(args, {
        "ARCHIVE_URI": args.archive,
        "ARCHIVE_ALLOW_PRIVATE": True if args.allow_private else None,
    })
    if (code := _check_archive(settings)) is not None:
        return code
    from spiders.ingest import IngestSpider

    try:
        session = run_spider(IngestSpider, settings, urls=urls, depth=depth)
    except CrawlFailed as exc:
        print(f"crawler: the crawl could not run: {exc}", file=sys.stderr)
        return EXIT_FATAL
    return print_summary(session, rejected)


def cmd_crawl(args: argparse.Namespace) -> int:
    from spiders.registry import SPIDERS

    unknown = [name for name in args.sources if name not in SPIDERS]
    for name in unknown:
        print(f"crawler: unknown source {name!r} (known: {', '.join(sorted(SPIDERS))})", file=sys.stderr)
    names = [name for name in dict.fromkeys(args.sources) if name in SPIDERS]
    if not names:
        return EXIT_USAGE
    if args.since:
        from spiders.base import parse_date

        if parse_date(args.since) is None:
            print(f"crawler: --since: not a date: {args.since!r} (use YYYY-MM-DD)", file=sys.stderr)
            return EXIT_USAGE
    settings = _settings(args, {"ARCHIVE_URI": args.archive,
                                "ARCHIVE_ALLOW_PRIVATE": True if args.allow_private else None})
    if (code := _check_archive(settings)) is not None:
        return code
    jobs = [(SPIDERS[name], {"since": args.since, "max_pages": args.max_pages}) for name in names]
    try:
        sessions = run_spiders(jobs, settings)
    except CrawlFailed as exc:
        print(f"crawler: the crawl could not run: {exc}", file=sys.stderr)
        return EXIT_FATAL
    code = print_summary(sessions)
    return EXIT_PARTIAL if unknown else code


def cmd_sources(args: argparse.Namespace) -> int:
    from spiders.registry import SOURCES

    for source in SOURCES.values():
        robots = "obeys robots.txt" if source.obey_robots else "IGNORES robots.txt (operator's decision)"
        print(f"{source.name:20} {source.title} ({', '.join(source.domains)}; {', '.join(source.languages)}; {robots})")
        for url in source.discovery_urls():
            print(f"{'':20}   {url}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawler", description="News scraping and archival crawler.")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines (default: on a terminal, readable text)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--archive", metavar="URI", help="archive location: path, file:///path or s3://bucket/prefix (default ./archive)")
        p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting")
        p.add_argument("--from-archive", action="append", metavar="PATH",
                       help="answer requests from these WARC/WACZ files or folders instead of the web")

    ingest = sub.add_parser("ingest", help="archive these URLs now")
    ingest.add_argument("urls", nargs="*", metavar="URL")
    ingest.add_argument("-i", "--input", metavar="FILE", help="read URLs from FILE, one per line ('-' for stdin)")
    ingest.add_argument("--allow-private", action="store_true", help="allow hosts on loopback, private and link-local addresses")
    ingest.add_argument("--follow-citations", action="store_true",
                        help="also archive the pages cited in each article body (depth 1 unless --depth)")
    ingest.add_argument("--depth", type=int, default=None, help="follow citations to this depth (default 0)")
    ingest.add_argument("--from-document", metavar="FILE",
                        help="archive the URLs a local text or HTML document cites (inline links, Sources: lists)")
    common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    crawl = sub.add_parser("crawl", help="discover and archive new articles of the named sources")
    crawl.add_argument("sources", nargs="+", metavar="SOURCE", help="source names (see `crawler sources`)")
    crawl.add_argument("--since", metavar="DATE", help="only articles published or modified since DATE")
    crawl.add_argument("--max-pages", type=int, metavar="N", help="at most N articles per source")
    crawl.add_argument("--allow-private", action="store_true", help=argparse.SUPPRESS)
    common(crawl)
    crawl.set_defaults(func=cmd_crawl)

    sources = sub.add_parser("sources", help="list the sources and their discovery URLs")
    sources.set_defaults(func=cmd_sources)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from crawler import logs

    args = build_parser().parse_args(argv)
    logs.configure(json=True if args.log_json else None, level=args.log_level.upper())
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
