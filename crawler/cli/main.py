"""The `crawler` command: one console script, a subcommand for each use. Exit statuses: see
crawler/runner.py (0 ok, 1 partial, 2 usage, 3 could not run, 4 remote storage failed (files
wait in the spool), 5 job already running).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from crawler.cli.common import FatalError, UsageError, say
from crawler.runner import EXIT_FATAL, EXIT_USAGE

CRAWL_EXITS = ("0 everything given was archived; 1 some URLs were rejected, blocked or failed (the rest "
               "was archived); 2 bad usage or settings, nothing done; 3 the crawl could not run; 4 files "
               "could not be stored in the remote archive (they wait in the spool)")
# Per command: (exit statuses, an example). The one place the help of every command is completed.
COMMANDS = {
    "ingest": (CRAWL_EXITS, "crawler ingest https://www.dw.com/en/some-article/a-68123456 --follow-citations"),
    "crawl": (CRAWL_EXITS, "crawler crawl dw restofworld --since 2d --max-pages 50"),
    "sources": ("0", "crawler sources"),
    "extract": ("0 an article was extracted; 1 no article (the reason is in the JSON); 2 bad usage",
                "crawler extract saved.html --url https://www.dw.com/en/x/a-1"),
    "history": ("0 versions were found; 1 none; 2 bad usage", "crawler history https://www.dw.com/en/x/a-1"),
    "upload": ("0 nothing left to upload; 2 bad usage or settings; 4 files are still waiting in the spool",
               "crawler upload --archive s3://my-bucket/news"),
    "run-job": (CRAWL_EXITS + "; 5 the job is already running (nothing was done); 6 the job ran, but a source "
                "degraded: its run has anomalies (they are said, and passed to on_anomaly)",
                "crawler run-job /etc/newsarchive/jobs.toml china-ai"),
    "schedule": ("0 stopped by SIGINT/SIGTERM once its runs had ended, or with --once every run exited 0; "
                 "1 with --once, some run did not exit 0; 2 bad jobs file or usage",
                 "crawler schedule jobs.toml --check"),
    "replay": ("0 every record was replayed; 1 some files or records could not be read (the rest was); "
               "2 bad usage or settings; 3 the output cannot be written",
               "crawler replay archive/warc --out again.jsonl"),
    "citations": ("0 the article is in the archive (its tree was shown); 1 the archive holds no capture of it; "
                  "2 bad usage", "crawler citations https://www.dw.com/en/x/a-1 --depth 2"),
    "index": ("0 the index is complete; 1 some files could not be read (the rest is indexed); 2 bad usage",
              "crawler index ./archive"),
    "lookup": ("0 captures were found; 1 none; 2 bad usage", "crawler lookup https://www.dw.com/en/x/a-1"),
    "get": ("0 the payload was written; 1 no such capture, or it cannot be read; 2 bad usage",
            "crawler get https://www.dw.com/en/x/a-1 -o page.html"),
    "serve": ("0 stopped; 2 bad usage; 3 pywb could not run", "crawler serve ./archive --port 8080"),
    "export-wacz": ("0 the WACZ holds every file; 1 damaged files were left out (said one per line); "
                    "2 bad usage; 3 the WACZ could not be written",
                    "crawler export-wacz ./archive -o news.wacz --since 7d"),
    "search": ("0 articles were found; 1 none; 2 bad usage (an empty query, unbalanced quotes...); 3 the search "
               "index cannot be written", 'crawler search \'"Silicon Valley" AND chip*\' --lang en --since 30d'),
    "story": ("0 the article was found; 1 no archived article has that URL; 2 bad usage; 3 the search index "
              "cannot be written", "crawler story https://www.dw.com/en/x/a-1 --json"),
    "export": ("0 every article line was written; 1 some lines could not be read (the rest was written); "
               "2 bad usage; 3 the file cannot be written",
               "crawler export ./archive --format parquet -o articles.parquet --latest --since 2024-01-01"),
    "report": ("0 no source degraded; 2 bad usage or settings; 6 some source's latest run has anomalies",
               "crawler report ./archive --since 30d --html health.html"),
    "worker": (CRAWL_EXITS, "crawler worker --redis redis://queue-host:6379/0 --archive s3://my-bucket/news"),
    "enqueue": ("0 everything given was queued; 1 some inputs were rejected; 2 bad usage; 3 Redis cannot be "
                "reached", "crawler enqueue --redis redis://queue-host:6379/0 dw https://example.org/a"),
}


def build_parser() -> argparse.ArgumentParser:
    from crawler import software_version
    from crawler.cli.archive import add_archive_commands
    from crawler.cli.crawl import add_crawl_commands
    from crawler.cli.distributed import add_distributed_commands
    from crawler.cli.jobs import add_job_commands
    from crawler.cli.report import add_report_command
    from crawler.cli.search import add_search_commands

    parser = argparse.ArgumentParser(
        prog="crawler", description="News scraping and archival crawler: archives what servers send "
        "(WARC) and the article text with its metadata (JSON Lines).",
        epilog="Every command: crawler COMMAND --help. Settings: -s NAME=VALUE (crawler/settings.py).")
    parser.add_argument("--version", action="version", version=f"crawler (newsarchive) {software_version()}")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines (default: on a terminal, readable text)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    add_crawl_commands(sub)
    add_job_commands(sub)
    add_archive_commands(sub)
    add_search_commands(sub)
    add_report_command(sub)
    add_distributed_commands(sub)
    for name, command in sub.choices.items():
        exits, example = COMMANDS[name]
        command.description = command.description or next(
            action.help for action in sub._choices_actions if action.dest == name)  # its one-line purpose
        statuses = "\n".join(f"  {status}" for status in exits.split("; "))
        command.epilog = f"exit status:\n{statuses}\n\nexample:\n  {example}"
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        # Also after the command (`crawler ingest URL --log-json`). SUPPRESS: absent there, they
        # leave the values given before the command alone.
        command.add_argument("--log-json", action="store_true", default=argparse.SUPPRESS,
                             help="log JSON lines (default: on a terminal, readable text)")
        command.add_argument("--log-level", default=argparse.SUPPRESS, help="DEBUG, INFO, WARNING, ERROR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from crawler import logs

    args = build_parser().parse_args(argv)
    logs.configure(json=True if args.log_json else None, level=args.log_level.upper())
    try:
        return int(args.func(args))
    except UsageError as exc:
        say(args.command, exc)
        return EXIT_USAGE
    except FatalError as exc:
        say(args.command, exc)
        return EXIT_FATAL


if __name__ == "__main__":
    sys.exit(main())
