"""Server-side request forgery guard: refuse hosts that resolve to non-public addresses.

Checked for every request, redirects and robots.txt included, before anything is sent.
ARCHIVE_ALLOW_PRIVATE (CLI `--allow-private`) or `request.meta["allow_private"]` lifts it.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import meta


class PrivateAddressRefused(IgnoreRequest):
    """The host resolves to an address we do not fetch without ARCHIVE_ALLOW_PRIVATE."""


def non_public_kind(address: str) -> str | None:
    """Why `address` is not a public internet address, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    if not ip.is_global:
        return "non-public"
    return None


def resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def check_host(host: str) -> str | None:
    """A message saying why `host` is refused, or None when every address is public."""
    try:
        addresses = resolve(host)
    except (socket.gaierror, UnicodeError):
        return None  # unresolvable: let the download fail with the DNS error
    for address in addresses:
        kind = non_public_kind(address)
        if kind:
            return (
                f"host {host!r} resolves to a {kind} address ({address}); "
                "refused to prevent server-side request forgery (use --allow-private to allow)"
            )
    return None


class AddressGuardMiddleware:
    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        if crawler.settings.get("ARCHIVE_REPLAY_FROM"):
            raise NotConfigured  # answered from an archive: nothing goes to the network
        return cls(crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE"))

    async def process_request(self, request: Request) -> None:
        if self.allow_private or request.meta.get(meta.ALLOW_PRIVATE):
            return None
        host = urlsplit(request.url).hostname
        if not host:
            return None
        if host not in self._verdicts:
            if len(self._verdicts) > 10_000:
                self._verdicts.clear()
            self._verdicts[host] = await maybe_deferred_to_future(deferToThread(check_host, host))
        verdict = self._verdicts[host]
        if verdict:
            raise PrivateAddressRefused(verdict)
        return None
