"""Validation of user-given URLs: one clear reason per rejected URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

ALLOWED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Rejected:
    url: str
    reason: str  # snake_case code
    message: str


def check_url(text: str) -> str | Rejected:
    """The URL ready to fetch, or why it cannot be fetched."""
    raw = text.strip()
    if not raw:
        return Rejected(text, "invalid_url", "empty URL")
    if any(ch.isspace() for ch in raw):
        return Rejected(raw, "invalid_url", "URL contains white space")
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        return Rejected(raw, "invalid_url", f"malformed URL ({exc})")
    scheme = parts.scheme.lower()
    if not scheme:
        return Rejected(raw, "invalid_url", "no scheme (expected http:// or https://)")
    if scheme not in ALLOWED_SCHEMES:
        return Rejected(raw, "unsupported_scheme", f"unsupported scheme {scheme!r} (only http and https)")
    if parts.username is not None or parts.password is not None:
        return Rejected(redact_url(raw), "credentials_in_url",
                        "user name or password in the URL (not supported: it would be written to the archive)")
    if not parts.hostname:
        return Rejected(raw, "invalid_url", "no host name")
    host = parts.hostname
    if host.startswith(".") or ".." in host or any(c in host for c in "<>\"{}|\\^`"):
        return Rejected(raw, "invalid_url", f"malformed host name {host!r}")
    del port
    return safe_url_string(raw)


def redact_url(url: str) -> str:
    """The URL with any user name and password replaced by "***" (for messages and records)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()


# Query parameters that only say where a click came from (campaigns, ad clicks, newsletters,
# DW's RSS "maca"): a page is the same without them.
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid",
                             "mc_eid", "igshid", "mkt_tok", "_hsenc", "_hsmi", "maca", "ncid", "cmpid", "ocid"})


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters (utm_* and TRACKING_PARAMS) and without a fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    kept = [pair for pair in parse_qsl(parts.query, keep_blank_values=True)
            if not pair[0].lower().startswith("utm_") and pair[0].lower() not in TRACKING_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(kept), fragment=""))


def read_url_lines(lines: Iterable[str | bytes], name: str = "<input>",
                   on_problem: Callable[[str, str], None] | None = None) -> list[str]:
    """One URL per line; blank lines and `#` comments skipped. A line that is not UTF-8 is left
    out, and `on_problem` told which (NAME:LINE): the other lines still count."""
    urls = []
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                if on_problem:
                    on_problem(f"{name}:{number}", f"not UTF-8 text (byte 0x{line[exc.start]:02x} at column "
                                                   f"{exc.start + 1}); line skipped")
                continue
        text = line.strip()
        if text and not text.startswith("#"):
            urls.append(text)
    return urls


def dedupe(urls: Iterable[str]) -> tuple[list[str], int]:
    """Keep the first of URLs that are the same once canonicalised; count the rest."""
    seen: set[str] = set()
    kept = []
    duplicates = 0
    for url in urls:
        key = canonicalize_url(url, keep_fragments=False)
        if key in seen:
            duplicates += 1
        else:
            seen.add(key)
            kept.append(url)
    return kept, duplicates
