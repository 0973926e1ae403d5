"""Server-side request forgery guard: nothing is fetched from a non-public address, nor over
any scheme but http and https, nor with credentials in the URL, unless the operator allows it.

Two parts, because a host name is only safe at the moment it is connected to:
- `GuardedResolver` (TWISTED_DNS_RESOLVER) checks every address a name resolves to, as it is
  handed to the connection: the address that was checked is the address connected to (a name
  that answers a public address to one look-up and a private one to the next cannot slip
  through), and no verdict is kept apart from the answer it was made on. A failed look-up is a
  failure, never an allowance.
- `AddressGuardMiddleware` (first downloader middleware, so redirects, meta refreshes,
  robots.txt, sitemaps, feeds, citations and requisites all pass it) refuses other schemes,
  URLs with credentials, URLs without a host and literal non-public addresses, and turns the
  resolver's refusals into `PrivateAddressRefused` with its reason.

ARCHIVE_ALLOW_PRIVATE (CLI `--allow-private`) lifts the address checks for the whole crawl,
`request.meta["allow_private"]` for one request's host, ARCHIVE_ALLOW_NETWORKS for some networks.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from typing import Any, Sequence
from urllib.parse import urlsplit

import structlog
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.resolver import CachingThreadedResolver, dnscache
from scrapy.utils.misc import load_object
from twisted.internet import defer
from twisted.internet.base import ThreadedResolver
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from twisted.python.failure import Failure
from zope.interface import implementer

from crawler import meta
from crawler.config import SettingError, dns_servers, networks
from crawler.fetch.urls import ALLOWED_SCHEMES, redact_url

log = structlog.get_logger()

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class PrivateAddressRefused(IgnoreRequest):
    """The host is, or resolves to, an address we do not fetch without ARCHIVE_ALLOW_PRIVATE."""


class UnsafeURLRefused(IgnoreRequest):
    """A URL we never fetch: a scheme other than http/https, credentials, or no host."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


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


def refusal(host: str, address: str, allowed: Sequence[Network] = ()) -> str | None:
    """Why a connection to `address` (what `host` resolved to) is refused, or None."""
    kind = non_public_kind(address)
    if kind is None or any(ipaddress.ip_address(address.split("%", 1)[0]) in net for net in allowed):
        return None
    return (f"host {host!r} resolves to a {kind} address ({address}); refused to prevent "
            "server-side request forgery (use --allow-private to allow)")


class AddressRefused(DNSLookupError):
    """Raised by the resolver: Twisted's name resolution treats it as a failed look-up."""


@implementer(IResolverSimple)
def _not_resolved(failure: Failure, name: str) -> Failure:
    """twisted.names' failures (NXDOMAIN, SERVFAIL, a query timeout) as the DNSLookupError the
    system resolver gives: an expected failure of the URL, which Twisted's name-resolution
    layer would otherwise log as a critical error with its traceback."""
    if failure.check(DNSLookupError):
        return failure
    return Failure(DNSLookupError(f"{name}: {failure.getErrorMessage() or failure.type.__name__}"))


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver (or ARCHIVE_DNS_SERVERS' DNS servers), with every answer
    checked before it reaches the connection. Refusals are remembered per name only to say
    why the download failed (`refusal_of`), never to allow anything."""

    def __init__(self, reactor: Any, cache_size: int, timeout: float, *, allow_private: bool = False,
                 allowed_networks: Sequence[Network] = (), nameservers: Sequence[tuple[str, int]] = ()):
        super().__init__(reactor, cache_size, timeout)
        self.allow_private = allow_private
        self.allowed_networks = tuple(allowed_networks)
        self.allowed_hosts: set[str] = set()
        self._refusals: OrderedDict[str, str] = OrderedDict()
        self._pending: dict[str, list[defer.Deferred[str]]] = {}  # name -> who else waits
        self._names = None
        if nameservers:
            from twisted.names import client

            self._names = client.Resolver(servers=list(nameservers), reactor=reactor)

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"),
                   allow_private=settings.getbool("ARCHIVE_ALLOW_PRIVATE"),
                   allowed_networks=networks(settings, "ARCHIVE_ALLOW_NETWORKS"),
                   nameservers=dns_servers(settings))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if name in dnscache:
            answer = defer.succeed(dnscache[name])
        elif name in self._pending:
            answer = defer.Deferred()  # asked already: one look-up answers every asker
            self._pending[name].append(answer)
        else:
            self._pending[name] = []
            answer = self._lookup(name)
            answer.addBoth(self._answered, name)
            if dnscache.limit:
                answer.addCallback(self._cache_result, name)
        return answer.addCallback(self._checked, name)

    def _answered(self, result: Any, name: str) -> Any:
        """Hands a look-up's answer to the others who asked meanwhile (a page's photos on one
        CDN: one look-up for those asked together). A failure is not remembered: a retry asks
        again, and a failed look-up never allows anything."""
        for waiter in self._pending.pop(name, []):
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)
        return result

    def _lookup(self, name: str) -> defer.Deferred[str]:
        try:
            return defer.succeed(str(ipaddress.ip_address(name)))  # an address needs no look-up
        except ValueError:
            pass
        if self._names is not None:
            answer = self._names.getHostByName(name, timeout=(max(1, int(self.timeout)),))
            return answer.addErrback(_not_resolved, name)
        return ThreadedResolver.getHostByName(self, name, (self.timeout,))  # type: ignore[arg-type]

    def _checked(self, address: str, name: str) -> str:
        if self.allow_private or name.lower() in self.allowed_hosts:
            return address
        reason = refusal(name, address, self.allowed_networks)
        if reason is None:
            self._refusals.pop(name, None)
            return address
        self._refusals[name] = reason
        self._refusals.move_to_end(name)
        while len(self._refusals) > 10_000:
            self._refusals.popitem(last=False)
        log.info("address_refused", host=name, address=address)
        raise AddressRefused(reason)

    def refusal_of(self, host: str) -> str | None:
        return self._refusals.get(host)

    def allow_host(self, host: str) -> None:
        self.allowed_hosts.add(host.lower())


def _installed_resolver() -> Any:
    from twisted.internet import reactor

    return getattr(reactor, "resolver", None)


class AddressGuardMiddleware:
    def __init__(self, allow_private: bool, allowed_networks: Sequence[Network] = ()):
        self.allow_private = allow_private
        self.allowed_networks = tuple(allowed_networks)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        settings = crawler.settings
        # Answered from an archive (ARCHIVE_REPLAY_FROM), http and https reach no network: the
        # addresses need no check, the schemes still do (a file:// URL would read a local file).
        allow_private = settings.getbool("ARCHIVE_ALLOW_PRIVATE") or bool(settings.get("ARCHIVE_REPLAY_FROM"))
        resolver = load_object(settings.get("TWISTED_DNS_RESOLVER"))
        if not allow_private and not (isinstance(resolver, type) and issubclass(resolver, GuardedResolver)):
            raise SettingError("TWISTED_DNS_RESOLVER must be crawler.fetch.guard.GuardedResolver (or a "
                               "subclass): it checks each address before a connection is made to it")
        return cls(allow_private, networks(settings, "ARCHIVE_ALLOW_NETWORKS"))

    def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise UnsafeURLRefused("unsupported_scheme", f"unsupported scheme {scheme!r} (only http and https)")
        if parts.username is not None or parts.password is not None:
            raise UnsafeURLRefused("credentials_in_url",
                                   f"{redact_url(request.url)}: user name or password in the URL (not supported)")
        host = parts.hostname
        if not host:
            raise UnsafeURLRefused("invalid_url", "no host name in the URL")
        if self.allow_private:
            return None
        if request.meta.get(meta.ALLOW_PRIVATE):
            resolver = _installed_resolver()
            if isinstance(resolver, GuardedResolver):
                resolver.allow_host(host)
            return None
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None  # a name: the resolver checks what it resolves to
        reason = refusal(host, host, self.allowed_networks)
        if reason:
            raise PrivateAddressRefused(reason)
        return None


class ResolverRefusalMiddleware:
    """Just above the download handler (below the retry middleware, which must not retry it): a
    failed look-up that was the resolver's refusal becomes PrivateAddressRefused, with why."""

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            return None
        resolver = _installed_resolver()
        host = urlsplit(request.url).hostname or ""
        reason = resolver.refusal_of(host) if isinstance(resolver, GuardedResolver) else None
        if reason:
            raise PrivateAddressRefused(reason)
        return None
