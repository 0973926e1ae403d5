"""URL validation and the address guard's verdicts."""

from __future__ import annotations

import pytest

from crawler.fetch.guard import non_public_kind, refusal
from crawler.fetch.urls import Rejected, check_url, dedupe, read_url_lines


@pytest.mark.parametrize("address,kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("192.168.0.10", "private"), ("172.16.5.4", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("::ffff:127.0.0.1", "loopback"),
    ("100.64.0.1", "non-public"), ("224.0.0.1", "multicast"),
    ("8.8.8.8", None), ("2a00:1450:4001:81b::200e", None),
])
def test_non_public_addresses(address, kind):
    assert non_public_kind(address) == kind


def test_loopback_address_is_refused_with_reason_unless_its_network_is_allowed():
    message = refusal("localhost", "127.0.0.1")
    assert message and "loopback" in message and "--allow-private" in message
    import ipaddress

    assert refusal("localhost", "127.0.0.1", [ipaddress.ip_network("127.0.0.0/30")]) is None
    assert refusal("example.org", "93.184.216.34") is None


def test_credentials_in_a_url_are_rejected_without_echoing_them():
    result = check_url("https://alice:s3cret@example.org/x")
    assert isinstance(result, Rejected) and result.reason == "credentials_in_url"
    assert "s3cret" not in result.url + result.message and "example.org" in result.url


@pytest.mark.parametrize("text,reason", [
    ("ftp://example.org/x", "unsupported_scheme"), ("file:///etc/passwd", "unsupported_scheme"),
    ("javascript:alert(1)", "unsupported_scheme"), ("http://", "invalid_url"),
    ("example.org/page", "invalid_url"), ("http://exa mple.org/", "invalid_url"),
    ("http://[::1", "invalid_url"), ("http://example.org:99999/", "invalid_url"), ("", "invalid_url"),
])
def test_bad_urls_are_rejected_with_a_reason(text, reason):
    result = check_url(text)
    assert isinstance(result, Rejected) and result.reason == reason and result.message


def test_good_urls_pass_and_are_made_safe():
    assert check_url(" https://www.dw.com/de/a-1?x=1 ") == "https://www.dw.com/de/a-1?x=1"
    assert check_url("https://example.org/ä") == "https://example.org/%C3%A4"


def test_url_lists_and_duplicates():
    lines = ["# comment", "", "https://a.example/1", "https://a.example/1#frag", "https://a.example/2"]
    urls, dupes = dedupe(read_url_lines(lines))
    assert urls == ["https://a.example/1", "https://a.example/2"] and dupes == 1
