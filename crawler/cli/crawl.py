"""The crawl commands: `ingest` (archive these URLs now), `crawl` (a source's new articles),
`sources`, `extract` (one saved page), `history` (a URL's versions) and `upload` (what a remote
archive's spool still holds)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import structlog

from crawler.cli.common import (
    checked,
    prepare_crawl,
    print_storage,
    print_summary,
    settings_from,
    when_option,
)
from crawler.runner import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_STORAGE,
    EXIT_USAGE,
    CrawlFailed,
    run_spider,
    run_spiders,
)

log = structlog.get_logger()


def cmd_upload(args: argparse.Namespace) -> int:
    from crawler.capture.shipping import upload_spool

    settings = checked(settings_from(args, {"ARCHIVE_URI": args.archive}))
    report = upload_spool(settings)
    if report is None:
        print(f"nothing to upload: {settings.get('ARCHIVE_URI')} is a local archive")
        return EXIT_OK
    print_storage(report)
    return EXIT_OK if report.ok else EXIT_STORAGE


def cmd_ingest(args: argparse.Namespace) -> int:
    from crawler.fetch.urls import Rejected, check_url, dedupe, read_url_lines

    texts = list(args.urls)
    rejected: list[tuple[str, str]] = []
    if args.input is not None:
        def problem(where: str, message: str) -> None:
            print(f"crawler: {where}: {message}", file=sys.stderr)
            rejected.append((where, message))

        try:
            raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
        except OSError as exc:
            print(f"crawler: cannot read URL list {args.input!r}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        texts += read_url_lines(raw.splitlines(), "stdin" if args.input == "-" else args.input, problem)
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
    good: list[str] = []
    for text in texts:
        verdict = check_url(text)
        if isinstance(verdict, Rejected):
            print(f"rejected: {verdict.url!r}: {verdict.message}", file=sys.stderr)
            rejected.append((verdict.url, verdict.message))
        else:
            good.append(verdict)
    urls, duplicates = dedupe(good)
    if duplicates:
        log.info("duplicates_skipped", count=duplicates)
    if not urls:
        print("crawler: no valid URL to ingest", file=sys.stderr)
        return EXIT_USAGE if not rejected else EXIT_PARTIAL
    prepare_crawl()
    settings = checked(settings_from(args, {
        "ARCHIVE_URI": args.archive,
        "ARCHIVE_ALLOW_PRIVATE": True if args.allow_private else None,
        "ARCHIVE_REQUISITES": False if args.no_requisites else None,
    }))
    from spiders.ingest import IngestSpider

    try:
        session = run_spider(IngestSpider, settings, urls=urls, depth=depth)
    except CrawlFailed as exc:
        print(f"crawler: the crawl could not run: {exc}", file=sys.stderr)
        return EXIT_FATAL
    return print_summary(session, rejected)


def cmd_crawl(args: argparse.Namespace) -> int:
    from spiders.registry import SPIDERS

    given = [name.strip().lower() for name in args.sources]  # source names are case-insensitive
    unknown = [name for name in given if name not in SPIDERS]
    for name in unknown:
        print(f"crawler: unknown source {name!r} (known: {', '.join(sorted(SPIDERS))})", file=sys.stderr)
    names = [name for name in dict.fromkeys(given) if name in SPIDERS]
    if not names:
        return EXIT_USAGE
    since = when_option(args.since or None, "--since")
    prepare_crawl()
    settings = checked(settings_from(args, {"ARCHIVE_URI": args.archive,
                                           "ARCHIVE_ALLOW_PRIVATE": True if args.allow_private else None,
                                           "ARCHIVE_REQUISITES": False if args.no_requisites else None}))
    jobs = [(SPIDERS[name], {"since": since, "max_pages": args.max_pages}) for name in names]
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
        options = extract_options(settings_from(args))
    except SettingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = extract(body, args.url or Path(args.file).resolve().as_uri(), content_type=args.content_type,
                     options=options)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return EXIT_OK if result["reason"] is None else EXIT_PARTIAL


def add_crawl_commands(sub: Any) -> None:
    def common(p: argparse.ArgumentParser, *, from_archive: bool = True) -> None:  # from_archive: a crawl
        p.add_argument("--archive", metavar="URI", help="archive location: path, file:///path or s3://bucket/prefix (default ./archive)")
        p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting")
        if from_archive:
            p.add_argument("--from-archive", action="append", metavar="PATH",
                           help="answer requests from these WARC/WACZ files or folders instead of the web")
            p.add_argument("--no-requisites", action="store_true",
                           help="archive the pages only, not the stylesheets, scripts, images and fonts they "
                                "need to look right in replay (ARCHIVE_REQUISITES=False)")

    ingest = sub.add_parser("ingest", help="archive these URLs now")
    ingest.add_argument("urls", nargs="*", metavar="URL", help="pages to archive (http or https)")
    ingest.add_argument("-i", "--input", metavar="FILE", help="read URLs from FILE, one per line ('-' for stdin)")
    ingest.add_argument("--allow-private", action="store_true", help="allow hosts on loopback, private and link-local addresses")
    ingest.add_argument("--follow-citations", action="store_true",
                        help="also archive the pages cited in each article body (depth 1 unless --depth)")
    ingest.add_argument("--depth", type=int, default=None,
                        help="follow citations to this depth (default: 1 with --follow-citations, else 0)")
    ingest.add_argument("--from-document", metavar="FILE",
                        help="archive the URLs a local text or HTML document cites (inline links, Sources: lists)")
    common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    crawl = sub.add_parser("crawl", help="discover and archive new articles of the named sources")
    crawl.add_argument("sources", nargs="+", metavar="SOURCE", help="source names (see `crawler sources`)")
    crawl.add_argument("--since", metavar="WHEN", help="only articles published or modified since WHEN "
                       "(2024-03-07, 2024-03-07T12:00, 7d, 24h, today, yesterday)")
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

    upload = sub.add_parser("upload", help="ship the files a remote archive's spool still holds")
    common(upload, from_archive=False)
    upload.set_defaults(func=cmd_upload)

    sources = sub.add_parser("sources", help="list the sources and their discovery URLs")
    sources.set_defaults(func=cmd_sources)
