"""Removing a stored body's Content-Encoding (gzip, deflate, br, zstd, stacked in any order) in
64 KiB steps, so that a decompression bomb in the archive (2 MB of gzip that inflate to 2 GiB)
is written out or refused without ever being held in memory whole.

`decode_stream` yields the decoded bytes chunk by chunk; `decode` collects them up to a cap.
A truncated body (`partial_ok`) gives what decodes; a broken or unknown encoding raises
ValueError (the reader turns it into ArchiveReadError naming the record).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import brotli
from backports import zstd

CHUNK = 64 * 1024


class DecodedTooLarge(ValueError):
    def __init__(self, limit: int):
        super().__init__(f"decodes to more than {limit} bytes")
        self.limit = limit


def _zlib(chunks: Iterable[bytes], wbits: int, *, members: bool, partial_ok: bool) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    fresh = True  # no byte fed to this member yet (trailing zero padding between gzip members)
    for chunk in chunks:
        data = chunk
        while data:
            if fresh and members:
                data = data.lstrip(b"\x00")
                if not data:
                    break
            fresh = False
            out = inflater.decompress(data, CHUNK)
            if out:
                yield out
            if inflater.eof:
                if not members:
                    return  # bytes after the end of a deflate stream are not part of it
                data = inflater.unused_data
                inflater, fresh = zlib.decompressobj(wbits), True
            else:
                data = inflater.unconsumed_tail
    if not fresh:
        rest = inflater.flush()
        if rest:
            yield rest
        if not inflater.eof and not partial_ok:
            raise ValueError("the stream ends early")


def _deflate(chunks: Iterable[bytes], partial_ok: bool) -> Iterator[bytes]:
    """zlib-wrapped deflate, as specified, or the raw deflate some servers send."""
    source = iter(chunks)
    first = next((chunk for chunk in source if chunk), b"")
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0

    def again() -> Iterator[bytes]:
        yield first
        yield from source

    return _zlib(again(), zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS, members=False, partial_ok=partial_ok)


def _brotli(chunks: Iterable[bytes], partial_ok: bool) -> Iterator[bytes]:
    decompressor = brotli.Decompressor()
    for chunk in chunks:
        out = decompressor.process(chunk, output_buffer_limit=CHUNK)
        while out:  # drained before the next input: what it holds comes out CHUNK at a time
            yield out
            out = decompressor.process(b"", output_buffer_limit=CHUNK)
    if not decompressor.is_finished() and not partial_ok:
        raise ValueError("the stream ends early")


def _zstd(chunks: Iterable[bytes], partial_ok: bool) -> Iterator[bytes]:
    decompressor = zstd.ZstdDecompressor()
    for chunk in chunks:
        data = chunk
        while not decompressor.eof:
            out = decompressor.decompress(data, CHUNK)
            data = b""
            if out:
                yield out
            if decompressor.needs_input:
                break
        if decompressor.eof:
            return
    if not decompressor.eof and not partial_ok:
        raise ValueError("the stream ends early")


def decode_stream(body: bytes, codings: list[str], *, partial_ok: bool = False) -> Iterator[bytes]:
    """The body with `codings` (in the order they were applied) removed, in chunks."""
    stream: Iterable[bytes] = (body[i:i + CHUNK] for i in range(0, len(body), CHUNK))
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            stream = _zlib(stream, 16 + zlib.MAX_WBITS, members=True, partial_ok=partial_ok)
        elif coding == "deflate":
            stream = _deflate(stream, partial_ok)
        elif coding == "br":
            stream = _brotli(stream, partial_ok)
        elif coding == "zstd":
            stream = _zstd(stream, partial_ok)
        else:
            raise ValueError(f"unsupported encoding {coding!r}")
    return iter(stream)


def decode(body: bytes, codings: list[str], *, partial_ok: bool = False, max_bytes: int = 0) -> bytes:
    """The whole decoded body; past `max_bytes` (0: no limit) DecodedTooLarge, having held at most
    that much."""
    out, size = [], 0
    for chunk in decode_stream(body, codings, partial_ok=partial_ok):
        size += len(chunk)
        if max_bytes and size > max_bytes:
            raise DecodedTooLarge(max_bytes)
        out.append(chunk)
    return b"".join(out)
