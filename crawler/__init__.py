"""The crawler core, one package per stage (see ARCHITECTURE.md): fetch policy, capture,
extraction, pipeline, the offline archive side, jobs, the distributed plug-in, the CLI."""

import os
from importlib.metadata import PackageNotFoundError, version

# tldextract (used by Scrapy's cookie middleware) would fetch the Public Suffix List over the
# network on first use; an empty URL list makes it use its bundled snapshot, offline.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


def software_version() -> str:
    try:
        return version("newsarchive")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "0+unknown"
