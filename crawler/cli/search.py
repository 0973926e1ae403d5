"""Finding and following a story: `crawler search`, `crawler story`, `crawler export`.

    crawler search QUERY [--archive A] [--source S] [--lang L] [--since D] [--until D] [--limit N]
                   [--all-versions] [--json]
    crawler story URL [--archive A] [--diff] [--json]
    crawler export [ARCHIVE] --format parquet|csv|jsonl -o FILE [--latest] [--since D] [--until D]
                   [--source S] [--lang L]

The full-text index (storage.search_index, `index/search.sqlite3`) is brought up to date before
each search or story: built when missing, rebuilt when it cannot be read, each said in one line.
Exit status: 0 found or written; 1 nothing found (or some lines could not be read); 2 bad usage
(an empty query, unbalanced quotes...); 3 the index or the output cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from crawler.cli.archive import archive_option, archive_root, positional_archive
from crawler.cli.common import FatalError, UsageError, say, when_option
from crawler.runner import EXIT_OK, EXIT_PARTIAL

MARK_START, MARK_END = "**", "**"  # how a match is marked in a snippet, on the terminal and in JSON


def _filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", action="append", metavar="S", help="only articles of this source (repeatable)")
    parser.add_argument("--lang", action="append", metavar="L", help="only articles in this language: de, en, zh... (repeatable)")
    parser.add_argument("--since", metavar="D", help="only articles dated D or later: published, else fetched "
                        "(2024-03-07, 20240307, 7d, yesterday...)")
    parser.add_argument("--until", metavar="D", help="only articles dated D or earlier")


def add_search_commands(sub: Any) -> None:
    """Register search, story and export on the `crawler` subparsers."""
    search = sub.add_parser("search", help="full-text search of the archived articles (BM25, phrases, AND/OR/NOT, prefix*)")
    search.add_argument("query", nargs="*", metavar="QUERY",
                        help='words (all must match), "a phrase", AND, OR, NOT, (groups), prefix*')
    _filter_options(search)
    search.add_argument("--limit", type=int, default=20, metavar="N", help="at most N hits (default 20)")
    search.add_argument("--all-versions", action="store_true", help="every version of an article, not only the latest")
    search.add_argument("--json", action="store_true", help="one JSON object per hit")
    archive_option(search)
    search.set_defaults(func=cmd_search)

    story = sub.add_parser("story", help="an article's versions, citations, who cites it and the same story elsewhere")
    story.add_argument("url", metavar="URL")
    story.add_argument("--diff", action="store_true", help="show what changed between versions")
    story.add_argument("--json", action="store_true", help="one JSON object: article, versions, citations, cited_by, similar")
    archive_option(story)
    story.set_defaults(func=cmd_story)

    export = sub.add_parser("export", help="the articles as Parquet, CSV or JSON Lines for analysis tools")
    export.add_argument("archive_pos", nargs="?", metavar="ARCHIVE", help="archive path or file:///path")
    export.add_argument("--format", choices=("parquet", "csv", "jsonl"),
                        help="file format (default: from the file name's extension)")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    export.add_argument("--latest", action="store_true", help="one row per article (its latest version)")
    _filter_options(export)
    archive_option(export)
    export.set_defaults(func=cmd_export)


def _day(value: str | None, option: str) -> str | None:
    when = when_option(value, option)
    return when.strftime("%Y-%m-%d") if when is not None else None


def _open_index(root: Path, command: str) -> Any:
    """The archive's index, up to date; says in one line when it was built or rebuilt."""
    from storage.search_index import SearchIndexError, open_search_index

    try:
        index, report = open_search_index(root, on_problem=lambda text: say(command, text))
    except SearchIndexError as exc:
        raise FatalError(exc) from None
    if report.built == "missing":
        say(command, f"{root} had no search index: built it ({report.articles} articles from {report.files} "
                     f"JSON Lines file(s))")
    elif report.built is not None:
        say(command, f"the search index of {root} was {report.built}: rebuilt it ({report.articles} articles)")
    return index


def _marked(snippet: str) -> str:
    from storage.search_index import END, START

    return snippet.replace(START, MARK_START).replace(END, MARK_END).replace("\n", " ")


def cmd_search(args: argparse.Namespace) -> int:
    import sqlite3

    from storage.search_index import Filters
    from storage.search_query import QueryError, fts_query

    query = " ".join(args.query)
    try:
        fts_query(query)  # a bad query is said before any index is built
    except QueryError as exc:
        raise UsageError(exc) from None
    if args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    filters = Filters(sources=tuple(args.source or ()), languages=tuple(args.lang or ()),
                      since=_day(args.since, "--since"), until=_day(args.until, "--until"))
    root = archive_root(args.archive, "search")
    index = _open_index(root, "search")
    try:
        hits = index.search(query, filters, limit=args.limit, all_versions=args.all_versions)
    except QueryError as exc:
        raise UsageError(exc) from None
    except sqlite3.DatabaseError as exc:  # damaged beyond what opening it shows: rebuilt, asked again
        index.close()
        from storage.search_index import update_search_index

        say("search", f"the search index of {root} cannot be read ({exc}): rebuilding it")
        update_search_index(root, rebuild=True)
        index = _open_index(root, "search")
        hits = index.search(query, filters, limit=args.limit, all_versions=args.all_versions)
    finally:
        index.close()
    for number, hit in enumerate(hits, 1):
        if args.json:
            print(json.dumps({"url": hit.url, "title": hit.title, "source": hit.source, "language": hit.language,
                              "published": hit.published, "fetched_at": hit.fetched_at,
                              "snippet": _marked(hit.snippet), "score": hit.score, "version": hit.version},
                             ensure_ascii=False))
            continue
        facts = [hit.source or "-", hit.language or "-", f"published {(hit.published or '-')[:10]}",
                 f"fetched {hit.fetched_at[:16].replace('T', ' ')}", f"score {hit.score:.2f}"]
        if args.all_versions:
            facts.insert(2, f"version {hit.version}")
        print(f"{number}. {hit.title or hit.url}\n   {hit.url}\n   {' · '.join(facts)}\n   {_marked(hit.snippet)}\n")
    if not hits:
        say("search", f"no article matches {query!r}" + (" with those filters" if filters != Filters() else ""))
        return EXIT_PARTIAL
    return EXIT_OK


def cmd_story(args: argparse.Namespace) -> int:
    from crawler.archive.story import story, version_diffs
    from storage.archive_index import update_index

    root = archive_root(args.archive, "story")
    try:
        update_index(root, on_error=lambda exc: say("story", f"{exc} (its later records are not indexed)"))
    except OSError as exc:
        say("story", f"cannot update the CDXJ index of {root} ({exc}); citations are checked against it as it is")
    index = _open_index(root, "story")
    try:
        found = story(root, index, args.url)
    finally:
        index.close()
    if found is None:
        say("story", f"no archived article has the URL {args.url}")
        return EXIT_PARTIAL
    diffs = version_diffs(found["versions"]) if args.diff else []
    if args.json:
        for version, diff in zip(found["versions"][1:], diffs):
            version["diff"] = diff
        for version in found["versions"]:
            version.pop("text", None)
        print(json.dumps(found, ensure_ascii=False, indent=1))
        return EXIT_OK
    for line in render_story(found, diffs):
        print(line)
    return EXIT_OK


def render_story(found: dict[str, Any], diffs: list[str]) -> list[str]:
    article = found["article"]
    lines = [article.get("title") or article.get("url"), f"  {article.get('final_url') or article.get('url')}",
             f"  {article.get('source')} · {article.get('language') or '-'} · published "
             f"{(article.get('published') or '-')[:10]} · {article.get('word_count', '-')} words", ""]
    lines.append(f"versions ({len(found['versions'])}):")
    lines += [f"  {v['version']}  {v['fetched_at']}  {v.get('word_count') or '-'} words  {v.get('text_digest') or ''}"
              for v in found["versions"]]
    for diff in diffs:
        lines += ["", diff or "  (no change in the text)"]
    lines += ["", f"citations ({len(found['citations'])}):"]
    for cited in found["citations"]:
        detail = ", ".join(str(x) for x in (cited.get("status"), cited.get("captured_at"), cited.get("reason"),
                                            cited.get("title")) if x)
        lines.append(f"  [{cited['state']}] {cited['url']}" + (f"  ({detail})" if detail else ""))
    lines += ["", f"cited by ({len(found['cited_by'])}):"]
    lines += [f"  {c['title'] or c['url']}  {c['url']}  ({c['source']}, {c['fetched_at'][:10]})" for c in found["cited_by"]]
    lines += ["", f"similar ({len(found['similar'])}):"]
    lines += [f"  {s['similarity']:.2f}  {s['title'] or s['url']}  {s['url']}  ({s['source']})" for s in found["similar"]]
    return lines


def cmd_export(args: argparse.Namespace) -> int:
    from storage.export import FORMATS, ExportFilter, export_articles

    out = Path(args.output)
    fmt = args.format or next((f for f in FORMATS if out.name.endswith(f".{f}")), None)
    if fmt is None:
        raise UsageError(f"{out}: say --format parquet, csv or jsonl (the file name does not tell)")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder")
    rule = ExportFilter(latest=args.latest, since=_day(args.since, "--since"), until=_day(args.until, "--until"),
                        sources=tuple(args.source or ()),
                        languages=tuple(lang.split("-")[0].lower() for lang in args.lang or ()))
    root = archive_root(positional_archive(args), "export")
    try:
        report = export_articles(root, out, fmt, rule, on_problem=lambda text: say("export", text))
    except OSError as exc:
        raise FatalError(f"cannot write {out}: {exc.strerror or exc}") from None
    per = "article" if args.latest else "article version"
    print(f"{out}: {report.rows} rows (one per {per}) from {report.files} JSON Lines file(s), {fmt}",
          file=sys.stdout)
    return EXIT_PARTIAL if report.problems else EXIT_OK
