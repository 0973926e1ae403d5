"""A site the registry does not know, crawled from the sitemaps and feeds a job lists (`sitemaps`,
`feeds` in a jobs file): every page they list on the site's host is an article candidate, and
its pages are reported under the host (`crawler report`)."""

from __future__ import annotations

from typing import Sequence
from urllib.parse import urlsplit

from spiders.base import Source, SourceSpider


class SiteSpider(SourceSpider):
    """The base of the spiders `site_spider` makes, one per host."""


def site_name(url: str) -> str:
    """The host of `url` as a site's name: `example.com`, `127.0.0.1:8080`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}:{parts.port}" if parts.port else host


def site_spider(sitemaps: Sequence[str] = (), feeds: Sequence[str] = ()) -> type[SiteSpider]:
    """A spider for one site: its sitemaps and feeds (all on one host)."""
    first = next(iter([*sitemaps, *feeds]))
    parts = urlsplit(first)
    hostname = (parts.hostname or "").lower()
    domain = hostname.removeprefix("www.")
    source = Source(name=site_name(first), title=domain, domains=(domain,), languages=(),
                    home=f"{parts.scheme}://{parts.netloc}/", article=r"^/.", sitemaps=tuple(sitemaps),
                    robots_sitemaps=False, feeds=tuple(feeds),
                    checked="a site of a jobs file: its sitemaps and feeds as given")
    return type(f"Site_{source.name}", (SiteSpider,), {"source": source})


def sites_of(sitemaps: Sequence[str], feeds: Sequence[str]) -> list[type[SiteSpider]]:
    """One spider per host of the URLs given, in the order first given."""
    hosts: dict[str, tuple[list[str], list[str]]] = {}
    for index, urls in enumerate((sitemaps, feeds)):
        for url in urls:
            hosts.setdefault(site_name(url), ([], []))[index].append(url)
    return [site_spider(maps, fds) for maps, fds in hosts.values()]
