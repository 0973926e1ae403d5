"""Is a response a block (an anti-bot challenge, a captcha, an access-denied page) rather than
the content asked for?

`detect_block` is a pure function of status, headers and the head of the body. Vendor markers
are markup, cookies and headers, not words, and body markers count only on a short page, so an
article that talks about Cloudflare or captchas (or quotes their pages) is not a block page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Union

# Only this much of a body is looked at; a page that does not end within it is not "short".
BODY_HEAD_BYTES = 64 * 1024
# Visible characters (scripts, styles and tags removed) of a "short" page. Challenge and
# interstitial pages have 40-750; the shortest page of the corpus (people.com.cn) has 2,700.
SHORT_TEXT_CHARS = 1500
# Visible characters of a page that is nothing but a captcha (those we know have 100-500);
# a news brief has more in its navigation alone.
CAPTCHA_TEXT_CHARS = 600
# Statuses that say "not for you" by themselves, when no page tells us more.
STATUS_KINDS = {401: "http_401", 403: "http_403", 429: "http_429"}

HeaderValue = Union[str, bytes]
Headers = Union[
    Mapping[HeaderValue, Union[HeaderValue, Iterable[HeaderValue]]],
    Iterable[tuple[HeaderValue, HeaderValue]],
]


@dataclass(frozen=True)
class Signature:
    """How one vendor's block responses show themselves.

    headers: (name, value regex) that is conclusive on any response.
    error_headers: (name, value regex) conclusive only on a 401/403/405/429/503 (the vendor's
        cookie or header is on its ordinary pages too).
    body: groups of regexes on the lower-cased, entity-decoded head of the body; a group
        matches when all of its regexes do; conclusive on a short page.
    """

    kind: str
    headers: tuple[tuple[str, str], ...] = ()
    error_headers: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, ...], ...] = ()


# Markers as served by each vendor. Cloudflare's bot-detection script
# (/cdn-cgi/challenge-platform/scripts/jsd/main.js) and Turnstile widgets, reCAPTCHA on comment
# forms, DataDome's tags.js and PerimeterX's init.js are all on ordinary article pages too:
# none of them is a marker here.
SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "cloudflare",
        headers=(("cf-mitigated", r"challenge"),),
        body=(
            (r"cf[_-]chl",),  # window._cf_chl_opt, cf-chl-widget, __cf_chl_tk, cf_chl_prog
            (r"<title>\s*just a moment\.\.\.\s*</title>",),
            (r"/cdn-cgi/challenge-platform/h/[a-z]/orchestrate/",),
            (r"id=[\"']?cf-browser-verification",),
            (r"<title>\s*attention required! \| cloudflare\s*</title>",),
            (r"id=[\"']?cf-error-details", r"cloudflare"),
            (r"id=[\"']?cf-wrapper", r"ray id"),
        ),
    ),
    Signature(
        "aws_waf",
        headers=(("x-amzn-waf-action", r"."),),
        body=(
            (r"window\.gokuprops\s*=",),
            (r"awswafintegration", r"/challenge\.js"),
            (r"awswafcaptcha",),
            (r"\.awswaf\.com/[^\"'\s]*/(?:challenge|captcha)\.js",
             r"id=[\"']?(?:challenge|captcha)-container"),
            (r"aws-waf-token", r"challenge"),
        ),
    ),
    Signature(
        "datadome",
        error_headers=(("x-datadome", r"."), ("x-datadome-cid", r"."), ("x-dd-b", r"."),
                       ("set-cookie", r"^\s*datadome=")),
        body=(
            (r"captcha-delivery\.com",),
            (r"var dd\s*=\s*\{", r"'cid'\s*:"),
        ),
    ),
    Signature(
        "perimeterx",
        error_headers=(("set-cookie", r"^\s*_pxhd="), ("x-px-block", r".")),
        body=(
            (r"id=[\"']?px-captcha",),
            (r"captcha\.px-cdn\.net",),
            (r"_pxappid", r"px-captcha|/captcha\.js|press (&|and) hold"),
            (r"_pxhd", r"access to this page has been denied"),
        ),
    ),
    Signature(
        "akamai",
        error_headers=(("server", r"^akamaighost"),),
        body=(
            (r"<title>\s*access denied\s*</title>", r"you don't have permission to access",
             r"reference #"),
            (r"errors\.edgesuite\.net",),
            (r"sec-if-cpt-container",),
            (r"/_sec/cp_challenge/",),
        ),
    ),
    Signature(
        "imperva",
        error_headers=(("x-iinfo", r"."),),
        body=(
            (r"_incapsula_resource",),
            (r"incapsula incident id",),
        ),
    ),
    Signature(
        "sucuri",
        error_headers=(("x-sucuri-block", r"."),),
        body=(
            (r"sucuri website firewall", r"access denied"),
            (r"cloudproxy\.sucuri\.net",),
        ),
    ),
)

# A generic captcha page: next to nothing but a captcha service's widget ...
CAPTCHA_WIDGETS = (
    r"class=[\"'][^\"']*\b(?:g-recaptcha|h-captcha|cf-turnstile|frc-captcha)\b",
    r"(?:google\.com|recaptcha\.net)/recaptcha/(?:api|enterprise)\.js",
    r"hcaptcha\.com/1/api\.js",
    r"challenges\.cloudflare\.com/turnstile/",
)
# ... and words asking the reader to prove they are human.
CAPTCHA_WORDS = (
    r"captcha", r"not a robot", r"are you (?:a )?(?:human|robot)",
    r"verify (?:that )?you(?:'re| are) (?:a )?human", r"human verification", r"security check",
    r"kein roboter", r"sicherheits(?:über)?prüfung", r"sind sie ein mensch",
    r"bist du ein mensch",
    r"je ne suis pas un robot", r"no soy un robot", r"bukan robot",
)
# A generic access-denied interstitial: its title or a heading is one of these, alone or with
# a site name after a separator ("Access Denied | Example"); "Access denied: court rules ..."
# is a headline, not an interstitial.
ACCESS_DENIED_TITLES = (
    r"access denied", r"access to this page has been denied", r"you have been blocked",
    r"request blocked", r"request rejected", r"zugriff verweigert", r"zugang verweigert",
    r"accès refusé", r"acceso denegado", r"accesso negato", r"akses ditolak",
    r"toegang geweigerd",
)

_ERROR_STATUSES = frozenset({401, 403, 405, 429, 503})
_INVISIBLE = re.compile(r"<(script|style|template|svg|head)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_TITLES = re.compile(r"<(title|h1|h2)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)
_HeaderRules = tuple[tuple[str, re.Pattern[str]], ...]


class _Compiled(NamedTuple):
    kind: str
    headers: _HeaderRules
    error_headers: _HeaderRules
    body: tuple[tuple[re.Pattern[str], ...], ...]


def _compile(sig: Signature) -> _Compiled:
    return _Compiled(
        sig.kind,
        tuple((name, re.compile(value, re.I)) for name, value in sig.headers),
        tuple((name, re.compile(value, re.I)) for name, value in sig.error_headers),
        tuple(tuple(re.compile(p) for p in group) for group in sig.body),
    )


def _any_of(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_SIGNATURES = tuple(_compile(sig) for sig in SIGNATURES)
_CAPTCHA_WIDGET = _any_of(CAPTCHA_WIDGETS)
_CAPTCHA_WORD = _any_of(CAPTCHA_WORDS)
_ACCESS_DENIED = re.compile(
    r"^(?:%s)\s*(?:\(\d{3}\))?\s*(?:[|\-\u2013\u2014\u00b7]\s*[^|]{0,60})?$"
    % "|".join(ACCESS_DENIED_TITLES)
)


def _text(value: HeaderValue) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _header_map(headers: Headers | None) -> dict[str, list[str]]:
    """Lower-cased name -> every value; from a mapping (Scrapy's Headers included) or pairs."""
    out: dict[str, list[str]] = {}
    items = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, values in items:
        if isinstance(values, (str, bytes)):
            values = [values]
        out.setdefault(_text(name).lower(), []).extend(_text(v) for v in values)
    return out


def _headers_match(found: dict[str, list[str]], rules: _HeaderRules) -> bool:
    return any(rx.search(value) for name, rx in rules for value in found.get(name, ()))


def _visible_text(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", markup))).split())


def _titles(markup: str) -> list[str]:
    """Text of <title>, <h1> and <h2>, whitespace collapsed."""
    return [" ".join(html.unescape(_TAG.sub(" ", m[2])).split()) for m in _TITLES.finditer(markup)]


def detect_block(status: int, headers: Headers | None, body_head: bytes) -> str | None:
    """The kind of block this response is ("cloudflare", "captcha", "http_403" ...), or None
    when it is not one. `body_head` may be the whole body; only BODY_HEAD_BYTES are read.

    Vendors first (their headers, then their markup on a short page), then a generic captcha
    page, then the status (401, 403, 429), then a generic access-denied page (which matters
    when it comes with a status that does not say so, such as 200).
    """
    found = _header_map(headers)
    for sig in _SIGNATURES:
        if _headers_match(found, sig.headers):
            return sig.kind
    if status in _ERROR_STATUSES:
        for sig in _SIGNATURES:
            if _headers_match(found, sig.error_headers):
                return sig.kind

    head = body_head[:BODY_HEAD_BYTES]
    markup = head.decode("utf-8", errors="replace").lower()
    # A page that does not end within the head is not short, whatever its head holds.
    text = _visible_text(markup) if len(head) < BODY_HEAD_BYTES else None
    short = text is not None and len(text) < SHORT_TEXT_CHARS
    if short:
        decoded = html.unescape(markup)  # Akamai writes "Reference&#32;&#35;18.2f..."
        for sig in _SIGNATURES:
            if any(all(rx.search(decoded) for rx in group) for group in sig.body):
                return sig.kind
        if (
            len(text) < CAPTCHA_TEXT_CHARS
            and "<article" not in markup
            and _CAPTCHA_WIDGET.search(markup)
            and any(_CAPTCHA_WORD.search(t) for t in [*_titles(markup), text])
        ):
            return "captcha"
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if short and any(_ACCESS_DENIED.search(t) for t in _titles(markup)):
        return "access_denied"
    return None
