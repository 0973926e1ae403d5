"""The `crawler` command. Exit statuses: see crawler/runner.py (0 ok, 1 partial, 2 usage,
3 crawl could not run, 4 remote storage failed (files wait in the spool), 5 job already running).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import structlog

from crawler.runner import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STORAGE,
    EXIT_USAGE,
    CrawlFailed,
    RunSummary,
    run_spider,
    run_spiders,
)
from crawler.pipeline.workers import start_fork_server

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


def prepare_crawl() -> None:
    """As soon as a crawl command's own checks have passed (for ingest and crawl: their arguments,
    before Scrapy is imported): the fork server the extraction workers come from warms up on
    another core (about 1 s: the extractor's imports and models) while this process imports
    Scrapy and opens the crawl. (Should the archive setting then be refused, the fork server
    ends by itself once warm.)"""
    start_fork_server()
    # Scrapy's TLS context factory module calls inspect.stack() three times as it is imported
    # (for deprecated aliases), reading the source of every frame on the stack: imported here,
    # at a shallow stack, that takes 0.08 s; deep inside the spider's imports, 0.25 s.
    import scrapy.core.downloader.contextfactory  # noqa: F401


def _check_archive(settings: Any) -> int | None:
    from crawler.config import SettingError, check_settings

    try:
        check_settings(settings)
    except SettingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return None


def print_summary(sessions: Any, extra_rejected: Sequence[tuple[str, str]] = ()) -> int:
    summary = RunSummary.of(sessions if isinstance(sessions, list) else [sessions], extra_rejected)
    print(summary.line())
    for url, message in extra_rejected:
        print(f"  rejected  {url}  {message}")
    for kind, url, reason, detail in summary.failures[:200]:
        print(f"  {kind}  {url}  {reason}" + (f"  ({detail})" if detail and detail != reason else ""))
    hidden = summary.problems - min(len(summary.failures), 200) - len(extra_rejected)
    if hidden > 0:
        print(f"  ... and {hidden} more (see the JSON Lines file)")
    if summary.reasons["robots_disallowed"]:
        print(f"robots.txt disallowed {summary.reasons['robots_disallowed']} URL(s) for our user agent; they "
              "were not fetched (obeying robots.txt is a per-source setting, the operator's decision)")
    log.info("run_summary", **summary.as_dict())
    if not report_storage(sessions if isinstance(sessions, list) else [sessions]):
        return EXIT_STORAGE
    return EXIT_PARTIAL if summary.problems else EXIT_OK


def report_storage(sessions: Sequence[Any]) -> bool:
    """Wait for the uploads to a remote archive and say how they went; False if files were left."""
    ok = True
    for session in sessions:
        if session.shipper is not None:
            report = session.shipper.finish()
            _print_storage(report)
            ok = ok and report.ok
    return ok


def cmd_upload(args: argparse.Namespace) -> int:
    from crawler.capture.shipping import upload_spool

    settings = _settings(args, {"ARCHIVE_URI": args.archive})
    if (code := _check_archive(settings)) is not None:
        return code
    report = upload_spool(settings)
    if report is None:
        print(f"nothing to upload: {settings.get('ARCHIVE_URI')} is a local archive")
        return EXIT_OK
    _print_storage(report)
    return EXIT_OK if report.ok else EXIT_STORAGE


def _print_storage(report: Any) -> None:
    lines = report.lines()
    if report.ok:
        print("\n".join(lines))
    else:
        print("crawler: " + "\n".join(lines), file=sys.stderr)


def cmd_ingest(args: argparse.Namespace) -> int:
    from crawler.fetch.urls import Rejected, check_url, dedupe, read_url_lines

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
        from crawler.extract.documents import cited_urls

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
    prepare_crawl()
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
        from spiders.discovery import parse_date

        if parse_date(args.since) is None:
            print(f"crawler: --since: not a date: {args.since!r} (use YYYY-MM-DD)", file=sys.stderr)
            return EXIT_USAGE
    prepare_crawl()
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


def cmd_extract(args: argparse.Namespace) -> int:
    """The extraction of a saved page, as JSON (debugging, or one-off use)."""
    import json

    from crawler.config import SettingError, extract_options
    from crawler.extract.article import extract

    try:
        body = Path(args.file).read_bytes() if args.file != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        print(f"crawler: cannot read {args.file!r}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        options = extract_options(_settings(args, {}))
    except SettingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = extract(body, args.url or Path(args.file).resolve().as_uri(), content_type=args.content_type,
                     options=options)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return EXIT_OK if result["reason"] is None else EXIT_PARTIAL


def cmd_history(args: argparse.Namespace) -> int:
    from crawler.archive.history import render, version_texts
    from storage.archive import ArchiveURIError, parse_archive_uri

    try:
        location = parse_archive_uri(args.archive)
    except ArchiveURIError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if location.path is None:
        print("crawler: history reads a local archive (its state folder)", file=sys.stderr)
        return EXIT_USAGE
    versions = version_texts(location.path, args.url)
    for line in render(args.url, versions):
        print(line)
    return EXIT_OK if versions else EXIT_PARTIAL


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

    extract = sub.add_parser("extract", help="print the JSON extraction of a saved HTML page")
    extract.add_argument("file", metavar="FILE.html", help="the saved page ('-' for stdin)")
    extract.add_argument("--url", help="the page's URL (resolves relative links; default: the file's URI)")
    extract.add_argument("--content-type", default=None, help="the Content-Type header it was served with")
    extract.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting")
    extract.set_defaults(func=cmd_extract)

    history = sub.add_parser("history", help="the archived versions of a URL, with the text diff between them")
    history.add_argument("url", metavar="URL")
    history.add_argument("--archive", metavar="URI", help="archive location (default ./archive)")
    history.set_defaults(func=cmd_history)

    upload = sub.add_parser("upload", help="ship the files a remote archive's spool still holds")
    common(upload)
    upload.set_defaults(func=cmd_upload)

    sources = sub.add_parser("sources", help="list the sources and their discovery URLs")
    sources.set_defaults(func=cmd_sources)
    from crawler.jobs.schedule import add_job_commands

    add_job_commands(sub)
    from crawler.cli.archive import add_archive_commands

    add_archive_commands(sub)
    from crawler.distributed import add_distributed_commands

    add_distributed_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from crawler import logs

    args = build_parser().parse_args(argv)
    logs.configure(json=True if args.log_json else None, level=args.log_level.upper())
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
