"""Content-Encoding decoding: our middleware answers exactly as Scrapy's own for every kind of
body (whole, several members, cut, damaged, stacked encodings), takes its fast path only for one
whole gzip member within the size limit, and turns a body that decodes past the limit into an
empty response flagged too_large (Scrapy drops it)."""

from __future__ import annotations

import gzip
import struct
import zlib

import brotli
import pytest
from newsserver import CORPUS
from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.fetch.compression import FastGzipCompressionMiddleware, inflate_gzip_member

PAGE = gzip.decompress((CORPUS / "pages" / "reuters.com" / "Reuters_2024_03_07.html.gz").read_bytes())
MEMBER = gzip.compress(PAGE, 6)


def bad_crc(member: bytes) -> bytes:
    crc = struct.unpack("<I", member[-8:-4])[0]
    return member[:-8] + struct.pack("<I", crc ^ 1) + member[-4:]


BODIES = {  # name: (Content-Encoding, body)
    "one member": (b"gzip", MEMBER),
    "x-gzip": (b"x-gzip", MEMBER),
    "two members": (b"gzip", gzip.compress(PAGE[:1000]) + gzip.compress(PAGE[1000:])),
    "trailing bytes": (b"gzip", MEMBER + b"\0\0garbage"),
    "bad checksum": (b"gzip", bad_crc(MEMBER)),
    "cut in the data": (b"gzip", MEMBER[: len(MEMBER) // 2]),
    "cut in the trailer": (b"gzip", MEMBER[:-3]),
    "not gzip": (b"gzip", PAGE[:5000]),
    "empty": (b"gzip", b""),
    "gzip of brotli": (b"br, gzip", gzip.compress(brotli.compress(PAGE))),
    "deflate": (b"deflate", zlib.compress(PAGE)),
    "brotli": (b"br", brotli.compress(PAGE)),
}


def _crawler(**settings: object):
    ours = {name: getattr(project, name) for name in dir(project) if name.startswith("ARCHIVE_")}
    return get_crawler(settings_dict={**ours, **settings})


def middlewares(**settings: object) -> tuple[HttpCompressionMiddleware, HttpCompressionMiddleware]:
    return (
        HttpCompressionMiddleware.from_crawler(_crawler(**settings)),
        FastGzipCompressionMiddleware.from_crawler(_crawler(**settings)),
    )


def outcome(middleware: HttpCompressionMiddleware, encoding: bytes, body: bytes) -> object:
    request = Request("http://127.0.0.1/page")
    response = Response(
        request.url,
        body=body,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": encoding},
        request=request,
    )
    try:
        decoded = middleware.process_response(request, response)
    except Exception as exc:  # noqa: BLE001 - the outcome compared may be an error
        return type(exc), str(exc)
    return type(decoded), decoded.body, decoded.headers.to_unicode_dict()


@pytest.mark.parametrize("name", list(BODIES))
def test_every_body_is_decoded_as_scrapy_decodes_it(name):
    encoding, body = BODIES[name]
    scrapys, ours = middlewares()
    assert outcome(ours, encoding, body) == outcome(scrapys, encoding, body)


@pytest.mark.parametrize("limit", [len(PAGE) - 1, len(PAGE), 1000])
@pytest.mark.parametrize("setting", ["DOWNLOAD_MAXSIZE", "ARCHIVE_MAX_DECODED_BYTES"])
def test_a_body_decoding_past_the_limit_goes_on_empty_and_flagged(limit, setting):
    scrapys, ours = middlewares(DOWNLOAD_MAXSIZE=limit)
    ours = middlewares(**{setting: limit})[1]
    for name in ("one member", "two members", "deflate", "brotli"):
        encoding, body = BODIES[name]
        theirs = outcome(scrapys, encoding, body)
        if limit >= len(PAGE):
            assert outcome(ours, encoding, body) == theirs
            continue
        assert theirs[0] is IgnoreRequest  # Scrapy drops the response whole
        request = Request("http://127.0.0.1/page")
        flagged = ours.process_response(request, Response(request.url, body=body, request=request,
                                                          headers={"Content-Encoding": encoding}))
        assert flagged.body == b"" and "too_large" in flagged.flags, name


def test_fast_path_takes_one_whole_member_within_the_limit_only():
    assert inflate_gzip_member(MEMBER) == PAGE
    assert inflate_gzip_member(MEMBER, max_size=len(PAGE)) == PAGE
    assert inflate_gzip_member(MEMBER, max_size=len(PAGE) - 1) is None
    for name in ("two members", "trailing bytes", "bad checksum", "cut in the data",
                 "cut in the trailer", "not gzip", "empty"):
        assert inflate_gzip_member(BODIES[name][1]) is None, name


def test_scrapy_still_decodes_through_the_method_we_replace():
    """If Scrapy stopped calling `_decode`, pages would still decode (with its slower gunzip):
    this says so instead of letting the fast path go unused."""
    seen = []

    class Watched(FastGzipCompressionMiddleware):
        @staticmethod
        def _decode(body: bytes, encoding: bytes, max_size: int) -> bytes:
            seen.append(encoding)
            return FastGzipCompressionMiddleware._decode(body, encoding, max_size)

    watched = Watched.from_crawler(_crawler())
    assert outcome(watched, *BODIES["one member"])[1] == PAGE
    assert seen == [b"gzip"]
