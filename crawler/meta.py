"""One vocabulary for what our components tell each other on a request or a response:
the `request.meta` keys and the response flags, each named once, with who sets it.

Scrapy's own keys that we read (depth, redirect_urls, dont_retry, dont_obey_robotstxt) are
named here too, so that a reader finds every key the crawl relies on in one place.
"""

from __future__ import annotations

# --- set by the spiders ----------------------------------------------------------------------
DEPTH = "depth"  # citation depth of the page (Scrapy's DepthMiddleware keeps it up to date)
SOURCE = "source"  # the source whose rules fetched the page ("ingest" for a plain URL)
DISCOVERY = "discovery"  # "robots", "sitemap", "feed" or "section": a listing, always fetched whole
LISTING = "listing"  # what the sitemap or feed said of an article (title, published)
ALLOW_PRIVATE = "allow_private"  # the address guard lets this request reach non-public hosts
DONT_OBEY_ROBOTS = "dont_obey_robotstxt"  # (Scrapy's) the source does not obey robots.txt
DELEGATE = "delegate"  # distributed worker: the spider whose callbacks handle the response
REQUISITE = "requisite"  # a page requisite: {"page": URL of the page that needs it, "kind": "stylesheet"...}
MAX_BODY = "archive_max_body"  # this request's body cap in bytes, below ARCHIVE_MAX_BODY_BYTES (requisites)
ROBOTS_FOR = "robots_for"  # this robots.txt request is the one its host's rules are read from

# --- set by the download handlers ------------------------------------------------------------
HTTP_REASON = "http_reason"  # the status line's reason phrase as the server sent it
TRUNCATED = "truncated"  # why the body is incomplete: "length", "time", "disconnect"
REPLAYED = "archive_replay"  # answered from an archive: filename, offset, timestamp, record id
BYTES_RECEIVED = "_archive_bytes_received"  # body bytes received so far (the body cap)

# --- set by the capture middleware -----------------------------------------------------------
WARC = "warc"  # where the response record lives: filename, offset, length, record id, digest
FETCHED_AT = "fetched_at"  # the capture date (WARC-Date)
CAPTURE = "capture"  # this capture and the URL's previous one (kind, version, text digest)

# --- Scrapy's, read by us --------------------------------------------------------------------
REDIRECT_URLS = "redirect_urls"
DONT_RETRY = "dont_retry"

# --- response flags --------------------------------------------------------------------------
FLAG_CACHED = "cached"  # (Scrapy's) served from the HTTP cache: archived when first fetched
FLAG_DATALOSS = "dataloss"  # (Scrapy's) the connection ended before the announced length
FLAG_ARCHIVED = "archived"  # answered from an archive (ARCHIVE_REPLAY_FROM)
FLAG_NOT_IN_ARCHIVE = "not_in_archive"  # the archive holds no capture of the URL
FLAG_TOO_LARGE = "too_large"  # its decoded body would pass ARCHIVE_MAX_DECODED_BYTES: left undecoded

# --- reasons several layers name -------------------------------------------------------------
REFUSED_PRIVATE = "refused_private_address"  # the address guard refused the host
TOO_LARGE = "too_large"  # no article: the body is larger than we decode or extract
TOO_LARGE_TO_DECODE = "the decoded body is larger than ARCHIVE_MAX_DECODED_BYTES"

# --- what can happen to a URL, as the run summary and the progress line count it ---------------
OUTCOMES = ("new", "changed", "unchanged", "failed", "blocked", "rejected")
