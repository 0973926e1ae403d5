"""The archive commands of `crawler`: replay, index, lookup, get, serve, export-wacz (search, story
and export: crawler/cli/search.py).

    crawler replay [WARC|WACZ|folder|archive URI ...] --out FILE.jsonl
    crawler index [ARCHIVE] [--update]
    crawler lookup URL [--from TS] [--to TS] [--prefix] [--json] [--archive URI]
    crawler get URL [--at TS] [-o FILE] [--raw] [--archive URI]
    crawler serve [ARCHIVE] [--port N] [--bind ADDR]
    crawler export-wacz [ARCHIVE] -o FILE.wacz [--since DATE] [--source NAME ...]

Exit status as for the other commands: 0 done; 1 some records or inputs could not be used (the
rest was); 2 bad usage or nothing to do; 3 the archive or output could not be used at all.
Archives are local folders (a path or file:///path) or s3:// archives, read through their
backend into a local mirror of their closed files (`_mirror_remote`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.cli.common import (
    FatalError,
    UsageError,
    parsed_option,
    say,
    settings_from,
    when_option,
)
from crawler.runner import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE


def _local_archive(text: str | None, command: str) -> Path:
    """The local folder (or file) an archive URI names. The hook for remote archives: an s3://
    archive would be read through storage.backends.backend_for(uri) here."""
    from storage.archive import ArchiveURIError, parse_archive_uri

    try:
        location = parse_archive_uri(text)
    except ArchiveURIError as exc:
        raise UsageError(str(exc)) from None
    if location.scheme != "file" or location.path is None:
        return _mirror_remote(location)
    return location.path


def _mirror_remote(location: Any) -> Path:
    """A remote archive is read through its backend into a local mirror (closed files are
    immutable: only files not mirrored yet are downloaded, verified)."""
    from storage.backends import StorageError
    from storage.mirror import mirror_remote

    try:
        dest, report = mirror_remote(location)
    except StorageError as exc:
        raise FatalError(f"reading {location.uri}: {exc}") from None
    print(f"crawler: {location.uri}: {report.fetched} file(s) fetched, {report.present} already in "
          f"the local mirror {dest}", file=sys.stderr)
    return dest


def archive_root(text: str | None, command: str) -> Path:
    """An archive folder for any form an archive comes in: the folder itself, a WACZ file
    (unpacked once into a cache), or WARC files (a file, or a folder of them: linked into one)."""
    import hashlib
    import tempfile

    from storage.wacz import WaczError, unpack_wacz

    root = _local_archive(text, command)
    if (root / "warc").is_dir():
        return root
    if not root.exists():
        raise UsageError(f"{root} does not exist")
    stat = root.stat()
    key = hashlib.sha1(f"{root.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    derived = Path(tempfile.gettempdir()) / "newsarchive-derived" / f"{root.name}-{key}"
    if root.is_file() and root.name.endswith(".wacz"):
        try:
            return unpack_wacz(root, derived)
        except (WaczError, OSError) as exc:
            raise UsageError(exc) from None
    warcs = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                               and p.name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")))
    if not warcs or not warcs[0].name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
        raise UsageError(f"{root} is neither an archive folder (with warc/), a WACZ file nor WARC files")
    (derived / "warc").mkdir(parents=True, exist_ok=True)
    (derived / "json").mkdir(exist_ok=True)
    for warc in warcs:
        link = derived / "warc" / warc.name
        if not link.exists():
            link.symlink_to(warc.resolve())
    return derived


def _index_dir(settings: Any) -> Path:
    configured = settings.get("ARCHIVE_REPLAY_INDEX_DIR")
    return Path(configured or Path(tempfile.gettempdir()) / "newsarchive-replay").expanduser()


def archive_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--archive", metavar="URI",
                        help="the archive: a folder, file:///path, a WACZ file or WARC files (default ./archive)")


def _set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting")


def add_archive_commands(sub: Any) -> None:
    """Register replay, index, lookup, get, serve and export-wacz on the `crawler` subparsers."""
    replay = sub.add_parser("replay", help="re-extract the JSON lines from archived WARC/WACZ files (no network)")
    replay.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="WARC or WACZ files, folders, or archive URIs (default: the archive's warc/ folder)")
    replay.add_argument("-o", "--out", required=True, metavar="FILE.jsonl", help="write the JSON lines here ('-': stdout)")
    replay.add_argument("--workers", type=int, metavar="N", help="extraction processes (default EXTRACT_WORKERS: one per core)")
    archive_option(replay)
    _set_option(replay)
    replay.set_defaults(func=cmd_replay)

    history = sub.add_parser("history", help="the archived versions of a URL, with the text diff between them")
    history.add_argument("url", metavar="URL")
    archive_option(history)
    history.set_defaults(func=cmd_history)

    citations = sub.add_parser("citations", help="what an article cites, and what the archive holds of each source")
    citations.add_argument("url", metavar="URL")
    citations.add_argument("--depth", type=int, default=1, metavar="N",
                           help="also list what archived sources cite, down to N levels (default 1)")
    citations.add_argument("--json", action="store_true", help="one JSON object with the tree")
    archive_option(citations)
    citations.set_defaults(func=cmd_citations)

    index = sub.add_parser("index", help="(re)build the archive's CDXJ index (index/index.cdxj) and its full-text "
                           "index (index/search.sqlite3)")
    index.add_argument("archive_pos", nargs="?", metavar="ARCHIVE", help="archive path or file:///path")
    index.add_argument("--update", action="store_true", help="only index WARC and JSON Lines files that are not indexed yet")
    archive_option(index)
    index.set_defaults(func=cmd_index)

    lookup = sub.add_parser("lookup", help="list the captures of a URL (or of every URL under a prefix)")
    lookup.add_argument("url", metavar="URL")
    lookup.add_argument("--from", dest="from_ts", metavar="TS", help="captures at or after TS (4 to 14 digits, yyyyMMddhhmmss)")
    lookup.add_argument("--to", dest="to_ts", metavar="TS", help="captures at or before TS (a prefix: --to 2024 means all of 2024)")
    lookup.add_argument("--prefix", action="store_true", help="every URL under this one (e.g. https://example.com/news/)")
    lookup.add_argument("--json", action="store_true", help="one JSON object per capture")
    lookup.add_argument("--limit", type=int, metavar="N", help="at most N captures")
    archive_option(lookup)
    _set_option(lookup)
    lookup.set_defaults(func=cmd_lookup)

    get = sub.add_parser("get", help="write the archived payload of a URL (decoded) to stdout or a file")
    get.add_argument("url", metavar="URL")
    get.add_argument("--at", metavar="TS", help="the capture closest to TS (default: the latest)")
    get.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    get.add_argument("--raw", action="store_true", help="keep the Content-Encoding (bytes as received)")
    archive_option(get)
    _set_option(get)
    get.set_defaults(func=cmd_get)

    serve = sub.add_parser("serve", help="browse the archive in a web browser (pywb)")
    serve.add_argument("archive_pos", nargs="?", metavar="ARCHIVE", help="archive path or file:///path")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port)")
    serve.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--title", help="title of the start page")
    archive_option(serve)
    _set_option(serve)
    serve.set_defaults(func=cmd_serve)

    export = sub.add_parser("export-wacz", help="package the archive as a WACZ file (ReplayWeb.page, pywb)")
    export.add_argument("archive_pos", nargs="?", metavar="ARCHIVE", help="archive path or file:///path")
    export.add_argument("-o", "--output", required=True, metavar="FILE.wacz", help="the WACZ file to write")
    export.add_argument("--since", metavar="DATE", help="only pages fetched at or after WHEN (2024-03-07, 20240307, 7d, yesterday...)")
    export.add_argument("--source", action="append", metavar="NAME", help="only pages of this source (repeatable)")
    export.add_argument("--title", help="the package's title")
    archive_option(export)
    export.set_defaults(func=cmd_export_wacz)


def positional_archive(args: argparse.Namespace) -> str | None:
    if args.archive_pos and args.archive and args.archive_pos != args.archive:
        raise UsageError(f"two archives given ({args.archive_pos} and --archive {args.archive}); give one")
    return args.archive_pos or args.archive


# -- replay ----------------------------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:
    from crawler.archive.replay import ReplayProgress, replay
    from crawler.config import ArchiveConfig, SettingError, WorkerConfig, extract_options
    from storage.reader import ArchiveReader
    from storage.sources import find_warcs
    from storage.warcread import ArchiveSourceError

    settings = settings_from(args)
    try:
        options = extract_options(settings)
        workers = WorkerConfig.from_settings(settings)
        max_decoded = ArchiveConfig.from_settings(settings).max_decoded_bytes
    except SettingError as exc:
        raise UsageError(exc) from None
    count = workers.workers if args.workers is None else args.workers
    if count < 1:
        raise UsageError("--workers must be 1 or more")

    problems = 0
    paths: list[Path] = []
    for text in args.sources or [args.archive]:
        try:
            path = _local_archive(text, "replay")
        except UsageError as exc:
            say("replay", exc)
            problems += 1
            continue
        if path.is_dir() and (path / "warc").is_dir():
            path = path / "warc"  # an archive folder: its WARC files
        try:
            find_warcs(path)
        except ArchiveSourceError as exc:
            say("replay", exc)
            problems += 1
            continue
        paths.append(path)
    try:
        warcs = find_warcs(paths)
    except ArchiveSourceError as exc:
        raise UsageError(exc) from None
    if not warcs:
        say("replay", "no WARC or WACZ file to replay in " + (", ".join(map(str, paths)) or "the inputs given"))
        return EXIT_PARTIAL if problems else EXIT_USAGE

    def fallback() -> Any:  # an index, for revisits without WARC-Refers-To (other crawlers' files)
        return ArchiveReader.open(paths, _index_dir(settings), on_error=lambda _exc: None)

    def run(out: Any) -> Any:
        return replay(warcs, out, options=options, workers=count, timeout=workers.timeout,
                      on_problem=lambda exc: say("replay", exc), progress=ReplayProgress(sys.stderr), fallback=fallback,
                      max_decoded=max_decoded)

    to_stdout = args.out == "-"
    out_path = Path(args.out)
    if to_stdout:
        report = run(sys.stdout)
    else:
        tmp = out_path.with_name(f".{out_path.name}.tmp")  # renamed once complete
        try:
            with open(tmp, "w", encoding="utf-8", newline="\n") as out:
                report = run(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, out_path)
        except OSError as exc:
            if exc.filename not in (str(tmp), str(out_path), None):
                raise FatalError(f"replay stopped: {exc}") from None
            raise FatalError(f"cannot write {out_path}: {exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
    problems += len(report.problems)
    for url, errors in report.schema_errors[:5]:
        say("replay", f"{url}: the line does not validate against the schema: {'; '.join(errors[:3])}")
    summary = (f"replayed {report.pages} pages ({report.articles} articles, {report.pages - report.articles} "
               f"without one) from {report.files} WARC file(s) into {'stdout' if to_stdout else out_path} in "
               f"{report.seconds:.1f} s; {problems} problem(s) (records or files that could not be read)")
    print(summary, file=sys.stderr if to_stdout else sys.stdout)
    return EXIT_PARTIAL if problems else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from crawler.archive.history import render, version_texts

    root = archive_root(positional_archive(args) if hasattr(args, "archive_pos") else args.archive, "history")
    versions = version_texts(root, args.url)
    for line in render(args.url, versions):
        print(line)
    return EXIT_OK if versions else EXIT_PARTIAL


def cmd_citations(args: argparse.Namespace) -> int:
    from crawler.archive.citations import ArchiveLines, citation_tree, render

    if args.depth < 0:
        raise UsageError("--depth must be 0 or more")
    root = archive_root(args.archive, "citations")
    lines = ArchiveLines.read(root, lambda problem: say("citations", problem))
    tree = citation_tree(lines, args.url, args.depth)
    if tree is None:
        say("citations", f"the archive holds no capture of {args.url}")
        return EXIT_PARTIAL
    if args.json:
        print(json.dumps(tree, ensure_ascii=False))
    else:
        for line in render(tree):
            print(line)
    return EXIT_OK


# -- index, lookup, get ----------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from storage.archive_index import closed_warcs, rebuild_index, update_index
    from storage.search_index import SearchIndexError, update_search_index

    root = archive_root(positional_archive(args), "index")
    def on_error(exc: Exception) -> None:
        say("index", exc)

    try:
        report = update_index(root, on_error=on_error) if args.update else rebuild_index(root, on_error=on_error)
    except OSError as exc:
        raise FatalError(f"cannot write the index of {root}: {exc}") from None
    files = len(closed_warcs(root))
    what = "rebuilt" if report.rebuilt else f"updated ({len(report.indexed)} new file(s))"
    lines = f"{report.lines} captures" if report.lines is not None else "no new captures"
    print(f"{report.path}: {what}; {lines}; {files} WARC file(s)")
    try:
        found = update_search_index(root, rebuild=not args.update, on_problem=lambda text: say("index", text))
    except SearchIndexError as exc:
        raise FatalError(exc) from None
    what = "rebuilt" if found.built else f"updated ({found.files} new file(s))"
    print(f"{root / 'index' / 'search.sqlite3'}: {what}; {found.articles} article versions from {found.files} "
          f"JSON Lines file(s)")
    return EXIT_OK if report.ok and not found.problems else EXIT_PARTIAL


@dataclasses.dataclass
class _Opened:
    index: Any
    reader: Callable[[], Any]
    root: Path | None = None  # an archive folder (its JSON lines name canonical URLs)


def _matching_urls(opened: _Opened, url: str, command: str) -> list[str]:
    """The capture URLs to look `url` up under, as people paste URLs: the URL as given; else
    without tracking parameters (utm_*, fbclid, ...); else captured URLs that are `url` once
    their own tracking parameters are dropped (a page archived from a feed link); else the page
    that declared `url` its canonical URL. Says which matched when it is not the URL given."""
    from urllib.parse import urlsplit, urlunsplit

    from crawler.fetch.urls import strip_tracking
    from storage.wacz import iter_json_lines

    if opened.index.lookup(url):
        return [url]
    clean = strip_tracking(url)
    if clean != url and opened.index.lookup(clean):
        say(command, f"no capture of {url}; found {clean} (the URL without tracking parameters)")
        return [clean]
    parts = urlsplit(clean)
    if parts.scheme in ("http", "https") and parts.netloc:
        tracked = sorted({c.url for c in opened.index.prefix(urlunsplit(parts._replace(query="", fragment="")))
                          if strip_tracking(c.url) == clean})
        if tracked:
            say(command, f"no capture of {url}; found {', '.join(tracked)} (with tracking parameters)")
            return tracked
    if opened.root is not None:
        declared = sorted({str(line.get("final_url") or line.get("url")) for line in iter_json_lines(opened.root, lambda _t: None)
                           if line.get("canonical_url") in (url, clean) and line.get("warc")})
        found = [u for u in declared if opened.index.lookup(u)]
        if found:
            say(command, f"no capture of {url}; found {', '.join(found)} (which declared it its canonical URL)")
            return found
    return [url]


def _open_index(text: str | None, command: str, args: argparse.Namespace) -> _Opened:
    """The index to search and a reader of its records: an archive folder's own index (brought
    up to date first), or for WARC/WACZ files and other folders an index cached on the side."""
    from storage.archive_index import index_path, update_index
    from storage.cdxj import CdxjIndex
    from storage.reader import ArchiveReader
    from storage.warcread import ArchiveSourceError

    path = _local_archive(text, command)
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if path.is_dir() and (path / "warc").is_dir():
        try:
            update_index(path, on_error=lambda exc: say(command, f"{exc} (its later records are not indexed)"))
        except OSError as exc:
            if not index_path(path).is_file():
                raise FatalError(f"cannot build the index of {path}: {exc}") from None
            say(command, f"cannot update the index of {path} ({exc}); searching it as it is")
        index = CdxjIndex(index_path(path))
        return _Opened(index, lambda: ArchiveReader(path / "warc", index), path)
    try:
        reader = ArchiveReader.open(path, _index_dir(settings_from(args)),
                                    on_error=lambda exc: say(command, f"{exc} (its later records are not indexed)"))
    except ArchiveSourceError as exc:
        raise UsageError(exc) from None
    return _Opened(reader.index, lambda: reader)


def cmd_lookup(args: argparse.Namespace) -> int:
    from storage.cdxj import CdxjFormatError, check_timestamp

    from_ts = parsed_option(args.from_ts, "--from", check_timestamp)
    to_ts = parsed_option(args.to_ts, "--to", check_timestamp)
    opened = _open_index(args.archive, "lookup", args)
    found = 0
    try:
        if args.prefix:
            captures: Any = (
                c for c in opened.index.prefix(args.url)
                if (from_ts is None or c.timestamp >= from_ts.ljust(14, "0"))
                and (to_ts is None or c.timestamp[: len(to_ts)] <= to_ts)
            )
        else:
            captures = [c for u in _matching_urls(opened, args.url, "lookup") for c in opened.index.lookup(u, from_ts, to_ts)]
        for capture in captures:
            if args.limit is not None and found >= args.limit:
                break
            found += 1
            if args.json:
                print(json.dumps(dataclasses.asdict(capture), ensure_ascii=False))
            else:
                status = str(capture.status) if capture.status is not None else capture.record_type
                print(f"{capture.timestamp}  {status:>3}  {capture.mime or '-'}  {capture.url}  "
                      f"{capture.filename}@{capture.offset}")
    except CdxjFormatError as exc:
        raise FatalError(exc) from None
    except BrokenPipeError:  # `| head`
        sys.stderr.close()
        return EXIT_OK
    if not found:
        where = "under" if args.prefix else "of"
        say("lookup", f"no capture {where} {args.url}" + (" in that time range" if from_ts or to_ts else ""))
        return EXIT_PARTIAL
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    from storage.cdxj import CdxjFormatError, check_timestamp
    from storage.warcread import ArchiveReadError

    at = parsed_option(args.at, "--at", check_timestamp)
    opened = _open_index(args.archive, "get", args)
    try:
        capture = opened.index.closest(_matching_urls(opened, args.url, "get")[0], at)
    except CdxjFormatError as exc:
        raise FatalError(exc) from None
    if capture is None:
        say("get", f"no capture of {args.url}")
        return EXIT_PARTIAL
    try:
        response = opened.reader().get(capture)
    except ArchiveReadError as exc:
        say("get", exc)
        return EXIT_PARTIAL
    kind = f" (revisit of {response.revisit.target_date or 'an earlier capture'})" if response.revisit else ""
    location = response.header("Location")
    note = f", redirect to {location}" if location and 300 <= response.status < 400 else ""
    # Written as it decodes, 64 KiB at a time: a body of any size (a decompression bomb too)
    # goes to the file or the pipe without being held in memory.
    chunks = iter([response.body]) if args.raw else response.decoded_chunks()
    written = 0
    try:
        with (open(args.output, "wb") if args.output else open(sys.stdout.fileno(), "wb", closefd=False)) as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
    except ArchiveReadError as exc:
        say("get", exc)
        return EXIT_PARTIAL
    except OSError as exc:
        raise FatalError(f"cannot write {args.output or 'to standard output'}: {exc.strerror or exc}") from None
    print(f"{capture.timestamp} {response.status} {response.header('Content-Type') or '-'} {response.url}{kind}{note} "
          f"[{capture.filename} offset {capture.offset}; {written} bytes]", file=sys.stderr)
    return EXIT_OK


# -- serve, export-wacz ----------------------------------------------------------------------------
def _free_port(bind: str) -> int:
    with socket.socket() as sock:
        sock.bind((bind if bind not in ("", "0.0.0.0") else "127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alerts(settings: Any) -> Any:
    from crawler.config import AlertConfig, SettingError

    try:
        return AlertConfig.from_settings(settings)
    except SettingError as exc:
        raise UsageError(exc) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from crawler.archive.serve import ServeError, find_wayback, serve

    root = archive_root(positional_archive(args), "serve")
    settings = settings_from(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number")
    try:
        wayback = find_wayback(settings.get("ARCHIVE_PYWB_BIN") or None)
    except ServeError as exc:
        raise FatalError(exc) from None
    port = args.port or _free_port(args.bind)

    def ready(url: str, count: int) -> None:
        print(f"serving {root} at {url} ({count} articles on the start page); Ctrl-C to stop", flush=True)

    try:
        status = serve(root, port=port, bind=args.bind, wayback=wayback, title=args.title, on_ready=ready,
                       on_problem=lambda text: say("serve", text), alerts=_alerts(settings))
    except ServeError as exc:
        raise FatalError(exc) from None
    if status != 0:
        say("serve", f"pywb stopped with status {status}")
        return EXIT_FATAL
    return EXIT_OK


def cmd_export_wacz(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from crawler.dates import timestamp
    from storage.wacz import WaczError, export_archive

    root = archive_root(positional_archive(args), "export-wacz")
    when = when_option(args.since or None, "--since")
    since = timestamp(when) if when is not None else None
    out = Path(args.output)
    if not out.name.endswith(".wacz"):
        raise UsageError(f"{out}: a WACZ file name ends with .wacz")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder")
    try:
        software = f"newsarchive/{version('newsarchive')}"
    except PackageNotFoundError:
        software = "newsarchive/0+unknown"
    try:
        report = export_archive(root, out, software=software, since=since, sources=args.source, title=args.title,
                                on_problem=lambda text: say("export-wacz", text))
    except WaczError as exc:
        say("export-wacz", exc)
        return EXIT_PARTIAL
    except OSError as exc:
        raise FatalError(f"cannot write {out}: {exc}") from None
    print(f"{out}: {len(report.warcs)} WARC file(s), {report.pages} pages, {report.index_lines} index lines, "
          f"{report.bytes / 1e6:.1f} MB")
    return EXIT_PARTIAL if report.problems else EXIT_OK
