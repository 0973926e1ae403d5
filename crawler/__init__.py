"""The crawler core: settings, capture, extraction, pipelines, CLI."""

import os

# tldextract (used by Scrapy's cookie middleware) would fetch the Public Suffix List over the
# network on first use; an empty URL list makes it use its bundled snapshot, offline.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
