"""`scrapy crawl SOURCE` as `crawler crawl SOURCE`: the archive where the settings say, the same
one-line problems, summary and exit statuses (Scrapy's own command exits 0 whatever happened)."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from crawler.cli.common import UsageError as CrawlerUsageError
from crawler.cli.common import checked, prepare_crawl, print_summary, say
from crawler.runner import EXIT_FATAL, EXIT_USAGE, CrawlFailed, run_spiders


class Command(ScrapyCrawl):
    requires_crawler_process = False  # ours runs the crawl (crawler.runner), with the archive session

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler import logs
        from spiders.registry import SPIDERS

        if len(args) != 1:
            raise UsageError("give one source name (see `crawler sources`)")
        assert self.settings is not None
        logs.configure(level=str(self.settings.get("LOG_LEVEL") or "INFO").upper())
        name = args[0].strip().lower()
        if name not in SPIDERS:
            say("crawl", f"unknown source {args[0]!r} (known: {', '.join(sorted(SPIDERS))})")
            self.exitcode = EXIT_USAGE
            return
        try:
            settings = checked(self.settings)
        except CrawlerUsageError as exc:
            say("crawl", exc)
            self.exitcode = EXIT_USAGE
            return
        prepare_crawl()
        try:
            sessions = run_spiders([(SPIDERS[name], dict(opts.spargs))], settings)
        except CrawlFailed as exc:
            say("crawl", f"the crawl could not run: {exc}")
            self.exitcode = EXIT_FATAL
            return
        self.exitcode = print_summary(sessions)
