"""Scrapy settings of the crawler, and our own (ARCHIVE_*, EXTRACT_*, STORAGE_*), alphabetical.

Components read them only in `from_crawler`, through the frozen config classes in
`crawler.config`; nothing reads this module directly.
"""

from __future__ import annotations

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- our settings ------------------------------------------------------------------------
# Allow fetching hosts that resolve to loopback, private, link-local or reserved addresses.
ARCHIVE_ALLOW_PRIVATE = False
# Who runs the crawl (name and contact), written to every warcinfo record; empty: not stated.
ARCHIVE_CONTACT_URL = "https://github.com/newsarchive/newsarchive#crawler"
ARCHIVE_OPERATOR = ""
# Compress the JSON Lines file of a run with gzip when it is closed.
ARCHIVE_JSON_GZIP = False
# Bodies beyond this many bytes are cut and archived with WARC-Truncated: length.
ARCHIVE_MAX_BODY_BYTES = 32 * 1024 * 1024
# Seconds: a robots.txt Crawl-delay (or Request-rate interval) above this is cut to it; 0: ignored.
ARCHIVE_MAX_CRAWL_DELAY = 60
# A 429/503 whose Retry-After asks for more seconds than this is not retried (it is recorded).
ARCHIVE_MAX_RETRY_AFTER = 120
# File name prefix of WARC and JSON Lines files; empty: the spider's name (source or "ingest").
ARCHIVE_PREFIX = ""
# WARC/WACZ files or folders to answer every request from instead of the network (a string is
# split on commas/whitespace); empty: fetch from the web. (CLI: --from-archive)
ARCHIVE_REPLAY_FROM: list[str] = []
# Replay the capture closest to this UTC timestamp (4-14 digits, e.g. "2024" or
# "20240307120000"); empty: the latest capture.
ARCHIVE_REPLAY_AT = ""
# Where the replay index is cached (rebuilt when a WARC is added, removed or changed);
# empty: <temp dir>/newsarchive-replay.
ARCHIVE_REPLAY_INDEX_DIR = ""
# Where the archive lives: a path, file:///path or s3://bucket/prefix.
ARCHIVE_URI = "./archive"
# A WARC file is closed and a new one opened once it reaches this size.
ARCHIVE_WARC_MAX_BYTES = 1_000_000_000
# Extraction worker processes; 0 means one per CPU core.
EXTRACT_WORKERS = 0
# Seconds one page may take to extract before it is given up with reason "extract_timeout".
EXTRACT_TIMEOUT = 60
# Seconds between progress lines while crawling; 0 turns them off.
ARCHIVE_PROGRESS_INTERVAL = 5.0

# --- Scrapy ------------------------------------------------------------------------------
# Robots.txt is obeyed; every robots.txt fetch is archived like any other response.
ROBOTSTXT_OBEY = True
USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive/newsarchive#crawler)"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 60
# Our own cap (ARCHIVE_MAX_BODY_BYTES) truncates and archives instead of discarding.
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
# A connection dropped mid-body still gives a response, archived with WARC-Truncated.
DOWNLOAD_FAIL_ON_DATALOSS = False
DOWNLOAD_HANDLERS = {
    "http": "crawler.download.CaptureHTTPDownloadHandler",
    "https": "crawler.download.CaptureHTTPDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100): a refused host is not contacted at all.
    "crawler.netguard.AddressGuardMiddleware": 50,
    # After robots.txt (100), which it learns Crawl-delay from: spaces requests per host.
    "crawler.politeness.CrawlDelayMiddleware": 110,
    # Retries as the stock middleware does, but waits for Retry-After first.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.politeness.RetryAfterMiddleware": 550,
    # Next to the download handler: sees bodies as received, every redirect and retry.
    "crawler.capture.WarcCaptureMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ExtractionPipeline": 300,
    "crawler.pipelines.RecordPipeline": 800,
}
# Switches the download handler to the archive when ARCHIVE_REPLAY_FROM is set.
ADDONS = {"crawler.addons.ReplayAddon": 0}
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "crawler.progress.Progress": 500,
}
RETRY_TIMES = 2
# Error responses (after retries) reach the spider: they get a JSON line with their status.
HTTPERROR_ALLOW_ALL = True
COOKIES_ENABLED = True
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"
# The CLI configures logging (structlog); Scrapy must not add its own root handler.
LOG_INSTALL_ROOT_HANDLER = False
