"""Scrapy settings of the crawler, and our own (ARCHIVE_*, EXTRACT_*, STORAGE_*), alphabetical.

Components read them only in `from_crawler`, through the frozen config classes in
`crawler.config`; nothing reads this module directly.
"""

from __future__ import annotations

from scrapy.settings import default_settings as scrapy_defaults

BOT_NAME = "newsarchive"
# `scrapy crawl SOURCE` behaves as `crawler crawl SOURCE` (summary, exit statuses, the archive).
COMMANDS_MODULE = "crawler.cli.scrapy_commands"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- our settings ------------------------------------------------------------------------
# When `crawler report` and each job run call a source degraded: its latest run against the runs
# before it (at most ARCHIVE_ALERT_HISTORY of them), on shares of the pages it fetched. A site
# turning to a bot wall or a paywall moves these by tens of points; a steady source's runs vary
# by a few (tests/test_report.py: ten runs with pages new, changed and unchanged, no alarm).
# Blocked pages (challenges, bot walls): at least this share of the run, and this much above before.
ARCHIVE_ALERT_BLOCKED_SHARE = 0.2
# Articles with a date (or an author, or a title): the share falling by this much (0.3: 95% -> 65%).
ARCHIVE_ALERT_COVERAGE_DROP = 0.3
# Runs of a source a latest run is compared with (the most recent ones).
ARCHIVE_ALERT_HISTORY = 10
# A run's shares are judged only when it fetched at least this many pages of the source.
ARCHIVE_ALERT_MIN_PAGES = 5
# Paywalled pages: the share rising by this much (and at least to it).
ARCHIVE_ALERT_PAYWALL_RISE = 0.2
# Runs in a row without a new article, for a source whose earlier runs had new ones as a rule.
ARCHIVE_ALERT_QUIET_RUNS = 3
# The median word count of the pages with text falling to this fraction of what it was, or lower.
ARCHIVE_ALERT_WORD_COUNT_RATIO = 0.5
# Networks fetched from although they are not public (CIDR: "10.1.2.0/24"; a bare address is one
# host), for an operator's own internal servers; everything else non-public stays refused.
ARCHIVE_ALLOW_NETWORKS: list[str] = []
# Allow fetching hosts that resolve to loopback, private, link-local or reserved addresses.
ARCHIVE_ALLOW_PRIVATE = False
# Send If-None-Match / If-Modified-Since for pages archived before (incremental crawls).
ARCHIVE_CONDITIONAL_REQUESTS = True
# Where publishers can reach whoever runs the crawl: goes into the User-Agent. Set it.
ARCHIVE_CONTACT_URL = ""
# DNS servers to resolve host names with ("ADDRESS[:PORT]", e.g. "127.0.0.1:5353"); empty: the
# system's resolver. Either way every answer is checked by the address guard before use.
ARCHIVE_DNS_SERVERS: list[str] = []
# Per-host pacing shared between processes: the dotted path of a class with from_settings(settings)
# and take_turn(host, delay); empty: each process paces its own requests. (Set by the
# distributed plug-in.)
ARCHIVE_HOST_PACING = ""
# The scheduled job a run belongs to (set by `crawler run-job`): its files are named after it,
# <job>_<spider>-<timestamp>-...; empty: after the spider (the source, or "ingest").
ARCHIVE_JOB = ""
# Compress the JSON Lines file of a run with gzip when it is closed.
ARCHIVE_JSON_GZIP = False
# Bodies beyond this many bytes are cut and archived with WARC-Truncated: length.
ARCHIVE_MAX_BODY_BYTES = 32 * 1024 * 1024
# Cited links followed at most from one article (in page order); 0: no limit. Articles cite a
# few dozen sources at most; a page with thousands of links is a link farm, not a story.
ARCHIVE_MAX_CITATIONS_PER_PAGE = 200
# Cited pages followed at most in one crawl (--follow-citations); the rest are left, and the
# summary says so. 0: no limit.
ARCHIVE_MAX_CITED_PAGES = 5000
# Seconds: a robots.txt Crawl-delay (or Request-rate interval) above this is cut to it; 0: ignored.
ARCHIVE_MAX_CRAWL_DELAY = 60
# A Content-Encoding body (gzip, deflate, br, zstd) is decoded in 64 KiB steps up to this many
# bytes: past it the page is recorded "too_large" (archived as sent, not extracted) instead of
# a decompression bomb filling the memory. Sitemaps may hold 50 MB uncompressed.
ARCHIVE_MAX_DECODED_BYTES = 64 * 1024 * 1024
# A 429/503 whose Retry-After asks for more seconds than this is not retried (it is recorded).
ARCHIVE_MAX_RETRY_AFTER = 120
# Who runs the crawl, written to every warcinfo record; empty: not stated.
ARCHIVE_OPERATOR = ""
# File name prefix of WARC and JSON Lines files; empty: the spider's name (source or "ingest").
ARCHIVE_PREFIX = ""
# Seconds between progress lines while crawling; 0 turns them off.
ARCHIVE_PROGRESS_INTERVAL = 5.0
# pywb's bin folder (its own venv), for `crawler serve`; empty: the ARCHIVE_PYWB_BIN environment
# variable, else <repo>/.tools/pywb/bin, else the PATH.
ARCHIVE_PYWB_BIN = ""
# Replay the capture closest to this UTC timestamp (4-14 digits, e.g. "2024" or
# "20240307120000"); empty: the latest capture.
ARCHIVE_REPLAY_AT = ""
# WARC/WACZ files or folders to answer every request from instead of the network (a string is
# split on commas/whitespace); empty: fetch from the web. (CLI: --from-archive)
ARCHIVE_REPLAY_FROM: list[str] = []
# Where the replay index is cached (rebuilt when a WARC is added, removed or changed);
# empty: <temp dir>/newsarchive-replay.
ARCHIVE_REPLAY_INDEX_DIR = ""
# Page requisites: the stylesheets, scripts, images, icons and fonts an archived HTML page needs
# to look right in replay are fetched soon after it, each once per crawl (crawler/extract/requisites.py,
# spiders/requisites.py). --no-requisites turns it off.
ARCHIVE_REQUISITES = True
# Also the documents of the page's iframes (one level deep: not the iframes' own iframes).
ARCHIVE_REQUISITES_IFRAMES = False
# A requisite larger than this is cut (archived with WARC-Truncated: length). News sites' largest
# stylesheets and hero images run to a few MB.
ARCHIVE_REQUISITES_MAX_BYTES = 10 * 1024 * 1024
# Also audio and video files, each cut at this many bytes; 0: none (the default: a news video
# runs to hundreds of MB and is rarely needed to read the page).
ARCHIVE_REQUISITES_MEDIA_BYTES = 0
# Obey each requisite host's robots.txt (the default, as for pages); False is an operator's
# decision (some CDNs disallow everything and their pages then replay unstyled).
ARCHIVE_REQUISITES_OBEY_ROBOTS = True
# Bytes of requisites fetched at most for one page (its stylesheets' fonts and images included);
# the rest are left. A news page needs 1-5 MB.
ARCHIVE_REQUISITES_PAGE_BYTES = 50 * 1024 * 1024
# Requisites fetched at most for one page (a stylesheet's url()s count for its page); 0: no limit.
# News pages ask for 50-150; a stylesheet with thousands of url()s is a sprite sheet or a trap.
ARCHIVE_REQUISITES_PER_PAGE = 300
# Keep the archive's full-text index (index/search.sqlite3) current: a run's JSON lines are
# indexed when its JSON file closes (local archives; `crawler search` indexes the rest on use).
ARCHIVE_SEARCH_INDEX = True
# The incremental state store: the dotted path of a class with from_settings(settings); empty:
# SQLite in the archive (state/crawl.sqlite3). (Set by the distributed plug-in.)
ARCHIVE_STATE_STORE = ""
# Where the archive lives: a path, file:///path or s3://bucket/prefix.
ARCHIVE_URI = "./archive"
# gzip level of each WARC record (0-9): 6 gives files within 2% of 9's size for a third of the
# CPU; 1 halves the CPU again for files about 40% larger.
ARCHIVE_WARC_GZIP_LEVEL = 6
# A WARC file is closed and a new one opened once it reaches this size.
ARCHIVE_WARC_MAX_BYTES = 1_000_000_000
# Distributed mode (REDIS_URL set; see docs/distributed.md). Expected URLs per crawl window of
# the shared duplicate filter, and its false-positive rate (a new URL taken for a duplicate):
# 10 million URLs at 1e-6 take 34 MiB of Redis, allocated when the first URL is added.
DISTRIBUTED_BLOOM_CAPACITY = 10_000_000
# The duplicate filter's false-positive rate (see DISTRIBUTED_BLOOM_CAPACITY).
DISTRIBUTED_BLOOM_ERROR_RATE = 1e-6
# Seconds the duplicate filter lives after its first URL (one crawl window); 0: until
# `crawler enqueue --new-crawl`. A URL seen in the window is not fetched again in it.
DISTRIBUTED_DUPEFILTER_TTL = 86_400
# Seconds without a heartbeat after which a worker is dead and its requests are requeued.
DISTRIBUTED_HEARTBEAT_TIMEOUT = 60.0
# Seconds the shared queue must stay empty, with no request in flight on any worker, before a
# worker stops; negative: never (`crawler worker` waits unless --idle-timeout is given).
DISTRIBUTED_IDLE_TIMEOUT = 0.0
# Every Redis key of the distributed mode starts with this (one Redis may serve several archives).
DISTRIBUTED_KEY_PREFIX = "newsarchive"
# Requests one worker holds at most (taken from the queue, not yet archived and extracted);
# 0: twice CONCURRENT_REQUESTS. Fewer: work spreads more evenly, a killed worker's redo is smaller.
DISTRIBUTED_MAX_IN_FLIGHT = 0
# Boilerplate phrase lists used by the text layer (crawler/boilerplate.toml).
EXTRACT_BOILERPLATE_LANGUAGES = ["en", "de", "id", "fr", "es", "zh"]
# Remove consent, newsletter, comment, share, related and paywall boxes before trafilatura.
EXTRACT_CLEAN_DOM = True
# Drop short paragraphs that are boilerplate by what they say, after trafilatura.
EXTRACT_CLEAN_TEXT = True
# Look harder for dates (htmldate's extensive search, offline) when the page declares none.
EXTRACT_DATE_EXTENSIVE = True
# Detect the language (py3langid) when the page does not declare it.
EXTRACT_DETECT_LANGUAGE = True
# Compare trafilatura's result with its fallback extractors (readability, jusText); False is its
# fast mode: about 15% less CPU a page, a little less text found (F1 0.943 -> 0.933 on the corpus).
EXTRACT_FALLBACK = True
# trafilatura's focus: "balanced", "precision" or "recall".
EXTRACT_FOCUS = "balanced"
# Keep tables in the article text.
EXTRACT_INCLUDE_TABLES = True
# Pages larger than this many bytes are not extracted (reason "too_large"); they are archived.
EXTRACT_MAX_BYTES = 20_000_000
# Fewer words than this is not an article (reason "too_short").
EXTRACT_MIN_WORDS = 8
# A body shorter than this on a page marked not free or showing a paywall is a teaser.
EXTRACT_TEASER_WORDS = 150
# Seconds one page may take to extract before it is given up with reason "extract_timeout".
EXTRACT_TIMEOUT = 60
# Extraction worker processes; 0 means one per CPU core.
EXTRACT_WORKERS = 0
# Seconds new closed files wait in the spool, untried, after the remote archive was unreachable;
# refusals that do not go away by themselves (wrong credentials, missing bucket) stop tries for the run.
STORAGE_RETRY_INTERVAL = 60.0
# S3 addressing style: "path", "virtual" or "auto"; empty: boto3's (or the AWS config file's) choice.
STORAGE_S3_ADDRESSING_STYLE = ""
# Seconds to wait for a connection to the S3 endpoint.
STORAGE_S3_CONNECT_TIMEOUT = 10.0
# S3-compatible endpoint (MinIO, Ceph, R2, ...); empty: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL or AWS.
STORAGE_S3_ENDPOINT_URL = ""
# Parallel part uploads of one multipart upload.
STORAGE_S3_MAX_CONCURRENCY = 10
# Part size of multipart uploads (5 MiB to 5 GiB; raised automatically to stay within 10,000 parts).
# 8 MiB parts and 10 threads are boto3's defaults; with them bench/s3_upload.py sent 200 MB faster
# than with 64 MiB parts and 4 threads (70 against 65 MB/s, local endpoint, 2 cores).
STORAGE_S3_MULTIPART_CHUNKSIZE = 8 * 1024 * 1024
# Files of this size or more are uploaded in parts.
STORAGE_S3_MULTIPART_THRESHOLD = 8 * 1024 * 1024
# Seconds to wait for an answer on a connection to the S3 endpoint.
STORAGE_S3_READ_TIMEOUT = 60.0
# Region; empty: AWS_DEFAULT_REGION / AWS_REGION or the AWS config file.
STORAGE_S3_REGION = ""
# Server-side encryption: "AES256", "aws:kms" or "aws:kms:dsse" (optionally with a KMS key id);
# empty: the bucket's default.
STORAGE_S3_SSE = ""
# The KMS key of STORAGE_S3_SSE "aws:kms"; empty: the account's default key.
STORAGE_S3_SSE_KMS_KEY_ID = ""
# S3 storage class (STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, ...); empty: STANDARD.
STORAGE_S3_STORAGE_CLASS = ""
# Local folder a remote archive's files are written to until their upload is confirmed;
# empty: $XDG_CACHE_HOME (or ~/.cache)/newsarchive/spool/<bucket>/<prefix>.
STORAGE_SPOOL = ""

# The Redis server of the distributed mode (scrapy-redis's setting; REDIS_PARAMS too): set, the
# request queue, the duplicate filter and the incremental state live there. Empty: one machine.
REDIS_URL = ""

# --- Scrapy ------------------------------------------------------------------------------
# Robots.txt is obeyed; every robots.txt fetch is archived like any other response.
ROBOTSTXT_OBEY = True
# Empty: "newsarchive/<version> (+<ARCHIVE_CONTACT_URL>)", an honest name with a contact.
USER_AGENT = ""
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
# Outputs of one response processed at once. A response gives one page item (or requests, which
# are only scheduled): Scrapy's default of 100 starts 100 asyncio tasks for every response, a
# few milliseconds of CPU per page for nothing.
CONCURRENT_ITEMS = 4
DOWNLOAD_TIMEOUT = 60
# Our own cap (ARCHIVE_MAX_BODY_BYTES) truncates and archives instead of discarding; a
# DOWNLOAD_MAXSIZE given with -s or in a jobs file is taken as that cap (crawler/fetch/addon.py).
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
# A connection dropped mid-body still gives a response, archived with WARC-Truncated.
DOWNLOAD_FAIL_ON_DATALOSS = False
# Scrapy's downloader statistics (bytes and counts of every request and response) are read by
# nothing of ours, and taking them (each request serialised to count its bytes) cost 8-20% of
# the crawler thread's CPU per page requisite (bench/ingest_throughput.py --requisites).
DOWNLOADER_STATS = False
DOWNLOAD_HANDLERS = {
    "http": "crawler.capture.handler.CaptureHTTPDownloadHandler",
    "https": "crawler.capture.handler.CaptureHTTPDownloadHandler",
    # Only the web: a file://, ftp://, s3:// or data: URL in a sitemap, feed or citation must
    # never read local files or reach other services (the address guard refuses them first).
    "file": None,
    "ftp": None,
    "s3": None,
    "data": None,
}
# Every address a host name resolves to is checked before a connection is made to it.
TWISTED_DNS_RESOLVER = "crawler.fetch.guard.GuardedResolver"
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100): a refused URL or host is not contacted at all.
    "crawler.fetch.guard.AddressGuardMiddleware": 50,
    # Scrapy's robots.txt rules, read from a source's own robots.txt request: one fetch per host.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.fetch.robots.SharedRobotsTxtMiddleware": 100,
    # Below the retry middleware: the resolver's refusal is reported as such, never retried.
    "crawler.fetch.guard.ResolverRefusalMiddleware": 595,
    # After robots.txt (100), which it learns Crawl-delay from: spaces requests per host.
    "crawler.fetch.politeness.CrawlDelayMiddleware": 110,
    # Adds validators from the state store; sits before the cache (900) and the capture (950).
    "crawler.capture.incremental.ConditionalRequestMiddleware": 560,
    # Retries as the stock middleware does, but waits for Retry-After first.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.fetch.politeness.RetryAfterMiddleware": 550,
    # Scrapy's meta-refresh redirects, without decoding the whole page to find them.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.fetch.redirects.HeadMetaRefreshMiddleware": 580,
    # Scrapy's redirects, with loops and over-long chains recorded, and no redirect dropped as a
    # duplicate (every URL given ends with a line of its own).
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.fetch.redirects.AccountedRedirectMiddleware": 600,
    # Scrapy's Content-Encoding decoding, with gzip inflated by zlib-ng (half the CPU).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.fetch.compression.FastGzipCompressionMiddleware": 590,
    # Next to the download handler: sees bodies as received, every redirect and retry.
    "crawler.capture.middleware.WarcCaptureMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipeline.pipelines.ExtractionPipeline": 300,
    "crawler.pipeline.pipelines.RecordPipeline": 800,
}
# Settings decided from other settings: the user agent, the archive download handler.
ADDONS = {"crawler.fetch.addon.NewsArchiveAddon": 0, "crawler.distributed.addon.DistributedAddon": 10}
# No listening consoles: an archival crawl takes no commands from the network. They are left
# out of the base list rather than set to None in EXTENSIONS, which Scrapy would import to
# compare (the remote control pulls in aiohttp: 0.2 s of every start-up).
EXTENSIONS_BASE = {
    name: order
    for name, order in scrapy_defaults.EXTENSIONS_BASE.items()
    if name not in ("scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl")
}
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {"crawler.capture.session.ArchiveSession": 0, "crawler.pipeline.progress.CrawlProgress": 500}
RETRY_TIMES = 2
# Error responses (after retries) reach the spider: they get a JSON line with their status.
HTTPERROR_ALLOW_ALL = True
COOKIES_ENABLED = True
HTTPCACHE_ENABLED = False
LOG_LEVEL = "INFO"
# The CLI configures logging (structlog); Scrapy must not add its own root handler.
LOG_INSTALL_ROOT_HANDLER = False
