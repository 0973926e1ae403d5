"""detect_block: every vendor's block page is recognised, no real news page ever is.

Block pages are in tests/fixtures/blocks/, written after what each vendor serves; files named
not_block_*.html are pages that look suspicious (they talk about, or embed, the same vendors)
and are not blocks.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from newsserver import CORPUS, corpus_pages
from scrapy.http import Headers

from crawler.extract.blocking import BODY_HEAD_BYTES, SIGNATURES, detect_block

FIXTURES = Path(__file__).parent / "fixtures" / "blocks"
HTML = ("Content-Type", "text/html; charset=UTF-8")
CF = [("Server", "cloudflare"), ("CF-RAY", "8f3c1a2b9d4e5f60-FRA")]

# fixture, status, headers as the vendor sends them, expected kind
CASES = [
    ("cloudflare_managed_challenge.html", 403,
     [HTML, *CF, ("cf-mitigated", "challenge"), ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate")],
     "cloudflare"),
    ("cloudflare_iuam_legacy.html", 503, [HTML, *CF, ("Retry-After", "8")], "cloudflare"),
    ("cloudflare_blocked_1020.html", 403, [HTML, *CF], "cloudflare"),
    ("aws_waf_challenge.html", 202,
     [HTML, ("Server", "CloudFront"), ("x-amzn-waf-action", "challenge"), ("X-Cache", "Error from cloudfront")],
     "aws_waf"),
    ("aws_waf_captcha.html", 405, [HTML, ("x-amzn-waf-action", "captcha")], "aws_waf"),
    ("datadome_captcha.html", 403,
     [HTML, ("X-DataDome", "protected"), ("X-DD-B", "1"),
      ("Set-Cookie", "datadome=kL4j~Xz2yWq8Rt0sMv6nB3cD1fG5hJ9p; Max-Age=31536000; Domain=.example-news.com; Path=/; Secure; SameSite=Lax")],
     "datadome"),
    ("datadome_interstitial.html", 403, [HTML, ("X-DataDome", "protected")], "datadome"),
    ("perimeterx_press_and_hold.html", 403,
     [HTML, ("Set-Cookie", "_pxhd=Zm9yIHRlc3Rz:3f2a1b0c-9d8e-11ef-a7b6-5c4d3e2f1a0b; Expires=Tue, 11 Nov 2025 08:12:25 GMT; path=/")],
     "perimeterx"),
    ("akamai_access_denied.html", 403, [("Server", "AkamaiGHost"), ("Mime-Version", "1.0"), ("Content-Type", "text/html")], "akamai"),
    ("akamai_access_denied_no_link.html", 403, [("Server", "AkamaiGHost"), ("Content-Type", "text/html")], "akamai"),
    ("akamai_bot_manager_interstitial.html", 200, [HTML, ("Cache-Control", "no-store")], "akamai"),
    ("imperva_incapsula.html", 200,
     [("Content-Type", "text/html"), ("X-CDN", "Imperva"), ("X-Iinfo", "7-48213655-0 0NNN RT(1731312345012 43) q(0 -1 -1 -1) r(0 -1) B12(4,316,0) U18"),
      ("Set-Cookie", "visid_incap_2211=AbCdEfGh; expires=Tue, 11 Nov 2025 08:12:25 GMT; HttpOnly; path=/; Domain=.example-news.com")],
     "imperva"),
    ("sucuri_blocked.html", 403, [HTML, ("Server", "Sucuri/Cloudproxy"), ("X-Sucuri-ID", "14013"), ("X-Sucuri-Block", "BNP005")], "sucuri"),
    ("captcha_recaptcha.html", 200, [HTML, ("Cache-Control", "no-store")], "captcha"),
    ("captcha_hcaptcha_de.html", 200, [HTML], "captcha"),
    ("access_denied_en.html", 200, [HTML], "access_denied"),
    ("access_denied_de.html", 200, [HTML], "access_denied"),
]
NOT_BLOCKS = sorted(FIXTURES.glob("not_block_*.html"))
# What a protected site sends with every page: none of it says "blocked" on a 200.
PROTECTED_SITE_HEADERS = [
    HTML, *CF, ("X-DataDome", "protected"),
    ("Set-Cookie", "datadome=kL4j~Xz2yWq8Rt0sMv6nB3cD1fG5hJ9p; Path=/; Secure"),
    ("Set-Cookie", "_pxhd=Zm9yIHRlc3Rz; path=/"), ("Server", "AkamaiGHost"),
]


def corpus_html(site: str, name: str) -> bytes:
    return gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes())


@pytest.mark.parametrize(("name", "status", "headers", "kind"), CASES, ids=[c[0] for c in CASES])
def test_block_pages_are_detected(name, status, headers, kind):
    body = (FIXTURES / name).read_bytes()
    assert detect_block(status, headers, body) == kind


@pytest.mark.parametrize(("name", "status", "headers", "kind"), CASES, ids=[c[0] for c in CASES])
def test_block_pages_are_detected_by_their_markup_alone(name, status, headers, kind):
    body = (FIXTURES / name).read_bytes()
    assert detect_block(200, [], body) == kind


def test_every_vendor_and_fixture_is_covered():
    kinds = {kind for *_rest, kind in CASES}
    assert {sig.kind for sig in SIGNATURES} | {"captcha", "access_denied"} <= kinds
    named = {name for name, *_rest in CASES} | {p.name for p in NOT_BLOCKS}
    assert {p.name for p in FIXTURES.glob("*.html")} == named


@pytest.mark.parametrize("path", NOT_BLOCKS, ids=lambda p: p.name)
def test_pages_that_mention_or_embed_vendors_are_not_blocks(path):
    body = path.read_bytes()
    assert detect_block(200, [], body) is None
    assert detect_block(200, PROTECTED_SITE_HEADERS, body) is None
    # An error status stays a status, the prose does not make it a vendor block.
    assert detect_block(403, [HTML], body) == "http_403"
    assert detect_block(503, [HTML], body) is None


@pytest.mark.parametrize(("site", "name"), corpus_pages(with_truth=False), ids="/".join)
def test_no_corpus_page_is_a_block(site, name):
    body = corpus_html(site, name)
    assert detect_block(200, [], body) is None
    assert detect_block(200, PROTECTED_SITE_HEADERS, body) is None
    # A body cut short (a dropped connection) is no block either.
    for cut in (4096, 16384, 40000):
        assert detect_block(200, [HTML], body[:cut]) is None, cut


def test_corpus_is_there():
    assert len(corpus_pages(with_truth=False)) >= 100


@pytest.mark.parametrize(("status", "headers", "kind"), [
    (403, [("cf-mitigated", "challenge")], "cloudflare"),
    (200, {"CF-Mitigated": ["challenge"]}, "cloudflare"),
    (405, [("X-Amzn-Waf-Action", "captcha")], "aws_waf"),
    (202, {b"x-amzn-waf-action": [b"challenge"]}, "aws_waf"),
    (403, [("X-DataDome", "protected")], "datadome"),
    (429, [("Set-Cookie", "datadome=abc; Path=/")], "datadome"),
    (403, [("Set-Cookie", "_pxhd=abc; path=/")], "perimeterx"),
    (403, [("Server", "AkamaiGHost")], "akamai"),
    (403, [("X-Iinfo", "7-48213655-0 0NNN")], "imperva"),
    (200, [("X-DataDome", "protected"), ("Server", "AkamaiGHost")], None),
    (404, [("X-DataDome", "protected")], None),
])
def test_vendor_headers(status, headers, kind):
    assert detect_block(status, headers, b"") == kind


def test_scrapy_headers_are_accepted():
    assert detect_block(403, Headers({"cf-mitigated": "challenge"}), b"") == "cloudflare"
    assert detect_block(403, Headers({"Server": ["AkamaiGHost"]}), b"") == "akamai"


@pytest.mark.parametrize(("status", "kind"), [
    (401, "http_401"), (403, "http_403"), (429, "http_429"),
    (200, None), (404, None), (500, None), (503, None),
])
def test_status_alone(status, kind):
    body = b"<html><head><title>Error</title></head><body><h1>Error</h1></body></html>"
    assert detect_block(status, [HTML], body) == kind


def test_only_the_head_of_a_long_page_counts():
    article = corpus_html("dw.com", "DW_2024_01_30")
    challenge = (FIXTURES / "cloudflare_managed_challenge.html").read_bytes()
    assert len(article) > BODY_HEAD_BYTES
    assert detect_block(200, [], article + challenge) is None
    # A short page with a long <script> is still short: only visible text counts.
    script = b"<script>var data = '" + b"x" * 40000 + b"';</script>"
    assert detect_block(200, [], challenge.replace(b"</body>", script + b"</body>")) == "cloudflare"


@pytest.mark.parametrize("title", [
    "Access denied: court blocks police request for reporter's data",
    "Why access denied errors are rising",
    "Zugriff verweigert? So kommen Sie wieder in Ihr Konto",
])
def test_headlines_about_access_are_not_interstitials(title):
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>Short text.</p></body></html>"
    assert detect_block(200, [HTML], body.encode()) is None


@pytest.mark.parametrize("title", ["Access Denied", "Access denied | Example News", "Zugriff verweigert (403)",
                                   "Akses ditolak - Contoh Berita"])
def test_access_denied_titles(title):
    body = f"<html><head><title>{title}</title></head><body><p>Sorry.</p></body></html>"
    assert detect_block(200, [HTML], body.encode()) == "access_denied"
