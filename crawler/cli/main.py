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


def build_parser() -> argparse.ArgumentParser:
    from crawler.cli.archive import add_archive_commands
    from crawler.cli.crawl import add_crawl_commands
    from crawler.cli.distributed import add_distributed_commands
    from crawler.cli.jobs import add_job_commands

    parser = argparse.ArgumentParser(prog="crawler", description="News scraping and archival crawler.")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines (default: on a terminal, readable text)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    add_crawl_commands(sub)
    add_job_commands(sub)
    add_archive_commands(sub)
    add_distributed_commands(sub)
    for command in sub.choices.values():
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
