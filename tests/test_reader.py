"""Reading archived records back: our own WARCs, other tools' WARCs, revisits, damage, WACZ."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import shutil
import subprocess
import zipfile
import zlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import brotli
import pytest
from test_cdxj import CORPUS_WARCS, HTML, T0, exchange
from warcio.archiveiterator import ArchiveIterator

from storage.cdxj import CdxjIndex, index_warcs
from storage.reader import ArchiveReader, read_record
from storage.sources import cached_index, find_warcs
from storage.warc import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    Original,
    RecordLocation,
    RotatingWarcWriter,
    WarcInfo,
)
from storage.warcread import ArchiveReadError, ArchiveSourceError

BIG = b"".join(hashlib.sha256(str(i).encode()).hexdigest().encode() for i in range(300))  # compresses badly
COOKIES = [("Set-Cookie", "session=abc; Path=/"), ("Set-Cookie", "consent=yes; Path=/")]


def sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict[str, RecordLocation]]:
    """A WARC written by our writer: each kind of record we produce, by name."""
    writer = RotatingWarcWriter(tmp_path / "warc", WarcInfo("test/1", "test-agent", "obey"), prefix="test")
    at: dict[str, RecordLocation] = {}
    at["plain"] = writer.write_exchange(exchange("http://example.com/a", headers=COOKIES, reason="Totally Fine"))
    at["gzip"] = writer.write_exchange(exchange("http://example.com/gz", gzip.compress(HTML, mtime=0),
                                                [("Content-Encoding", "gzip")]))
    at["br"] = writer.write_exchange(exchange("http://example.com/br", brotli.compress(HTML),
                                              [("Content-Encoding", "br")]))
    at["deflate"] = writer.write_exchange(exchange("http://example.com/deflate", zlib.compress(HTML),
                                                   [("Content-Encoding", "deflate")]))
    cut = gzip.compress(BIG, mtime=0)[:300]
    at["truncated"] = writer.write_exchange(
        replace(exchange("http://example.com/big", cut, [("Content-Encoding", "gzip")]), truncated="length"))
    plain = at["plain"]
    original = Original("http://example.com/a", plain.date, plain.record_id, plain.payload_digest or "")
    at["revisit"] = writer.write_revisit(
        exchange("http://example.com/a", headers=[("X-Later", "1")], when=T0 + timedelta(days=1)), original,
        profile=PROFILE_IDENTICAL)
    at["not_modified"] = writer.write_revisit(
        exchange("http://example.com/a", b"", [("ETag", '"v1"')], status=304, reason="Not Modified",
                 when=T0 + timedelta(days=2)), original, profile=PROFILE_NOT_MODIFIED)
    path = writer.close()
    assert path is not None
    return path, at


# -- our own records -------------------------------------------------------------------------------
def test_read_back_what_the_writer_wrote(written):
    path, at = written
    rec = read_record(path, at["plain"].offset)
    assert (rec.url, rec.status, rec.reason, rec.protocol) == ("http://example.com/a", 200, "Totally Fine", "HTTP/1.1")
    assert [v for k, v in rec.headers if k == "Set-Cookie"] == [v for _k, v in COOKIES]
    assert rec.header_values("set-cookie") == [v for _k, v in COOKIES]
    assert rec.body == rec.decoded_body() == HTML
    assert rec.record_id == at["plain"].record_id and rec.payload_digest == at["plain"].payload_digest
    assert rec.payload_digest == sha1_digest(HTML)
    assert rec.ip_address == "127.0.0.1" and rec.truncated is None and rec.record_type == "response"
    assert rec.date == at["plain"].date and rec.timestamp == "20240307120000"
    assert (rec.filename, rec.offset) == (path.name, at["plain"].offset)


@pytest.mark.parametrize("name, encoding", [("gzip", "gzip"), ("br", "br"), ("deflate", "deflate")])
def test_bodies_stay_encoded_and_decode(written, name: str, encoding: str):
    path, at = written
    rec = read_record(path, at[name].offset)
    assert rec.header("Content-Encoding") == encoding
    assert rec.body != HTML and rec.payload_digest == sha1_digest(rec.body)
    assert rec.decoded_body() == HTML


def test_truncated_body_decodes_as_far_as_it_goes(written):
    path, at = written
    rec = read_record(path, at["truncated"].offset)
    assert rec.truncated == "length" and len(rec.body) == 300
    assert BIG.startswith(rec.decoded_body()) and len(rec.decoded_body()) > 100


def test_unknown_encoding_is_an_error(tmp_path: Path):
    writer = RotatingWarcWriter(tmp_path, WarcInfo("t", "t", "obey"))
    loc = writer.write_exchange(exchange("http://example.com/z", b"xyz", [("Content-Encoding", "zz")]))
    path = writer.close()
    rec = read_record(path, loc.offset)  # type: ignore[arg-type]
    with pytest.raises(ArchiveReadError, match="Content-Encoding 'zz'"):
        rec.decoded_body()


def test_revisits_resolve_through_the_index(written, tmp_path: Path):
    path, at = written
    index_path = tmp_path / "index.cdxj"
    index_warcs([path], index_path)
    reader = ArchiveReader([path.parent], CdxjIndex(index_path))

    unresolved = reader.read(path.name, at["revisit"].offset)
    assert unresolved.record_type == "revisit" and not unresolved.resolved and unresolved.body == b""

    same = reader.resolve(unresolved)
    assert same.resolved and same.body == HTML and same.status == 200
    assert same.header("X-Later") == "1"  # identical payload: the revisit's own headers
    assert same.record_id == at["revisit"].record_id and same.timestamp == "20240308120000"
    assert same.revisit is not None and same.revisit.original_offset == at["plain"].offset

    captures = {c.timestamp: c for c in reader.index.lookup("http://example.com/a")}  # type: ignore[union-attr]
    not_modified = reader.get(captures["20240309120000"])
    assert (not_modified.status, not_modified.reason) == (200, "Totally Fine")  # the original's
    assert not_modified.header_values("Set-Cookie") == [v for _k, v in COOKIES]
    assert not_modified.body == HTML and not_modified.revisit.not_modified  # type: ignore[union-attr]


def test_revisit_needs_an_index_and_its_original(written, tmp_path: Path):
    path, at = written
    with pytest.raises(ArchiveReadError, match="needs an index"):
        ArchiveReader([path]).resolve(read_record(path, at["revisit"].offset))
    only_revisits = tmp_path / "only.cdxj"
    index_warcs([path], only_revisits)
    lines = [line for line in only_revisits.read_text().splitlines(keepends=True) if "20240307" not in line]
    only_revisits.write_text("".join(lines))
    reader = ArchiveReader([path], CdxjIndex(only_revisits))
    with pytest.raises(ArchiveReadError, match="original is not in the index") as err:
        reader.resolve(reader.read(path.name, at["revisit"].offset))
    assert err.value.offset == at["revisit"].offset


def test_revisits_of_other_tools_across_files(tmp_path: Path):
    """pywb's dupes.warc.gz revisits records of iana.warc.gz (WARC 0.18 profile, no WARC-Refers-To)."""
    sources = [CORPUS_WARCS / "pywb__dupes.warc.gz", CORPUS_WARCS / "pywb__iana.warc.gz"]
    reader = ArchiveReader.open(sources, tmp_path / "cache")
    revisits = [c for c in reader.index if c.record_type == "revisit"]  # type: ignore[union-attr]
    assert len(revisits) >= 9
    for capture in revisits:
        rec = reader.get(capture)
        assert rec.resolved and rec.status == 200 and rec.body
        assert sha1_digest(rec.body) == capture.digest == rec.payload_digest
    home = reader.get(next(c for c in revisits if c.url == "http://www.iana.org/"))
    assert home.revisit.original_filename == "pywb__iana.warc.gz"  # type: ignore[union-attr]


def test_other_tools_records(tmp_path: Path):
    chunked = CORPUS_WARCS / "warcio__example-iana.org-chunked.warc"
    rec = read_record(chunked, 405)
    assert rec.header("Transfer-Encoding") == "chunked"  # kept as stored
    assert rec.body.startswith(b"<!doctype html>") and rec.body.rstrip().endswith(b"</html>")  # no chunk framing
    resource = read_record(CORPUS_WARCS / "warcio__example-resource.warc.gz", 802)
    assert (resource.record_type, resource.status) == ("resource", 200)
    assert resource.header("Content-Type").startswith("text/html")  # type: ignore[union-attr]
    with pytest.raises(ArchiveReadError, match="without an HTTP status line"):
        read_record(CORPUS_WARCS / "cdxj-indexer__missing-http.warc.gz", 0)


# -- damaged files ---------------------------------------------------------------------------------
def damaged(tmp_path: Path, source: Path, data: bytes) -> Path:
    path = tmp_path / ("damaged-" + source.name)
    path.write_bytes(data)
    return path


def test_truncated_last_record(written, tmp_path: Path):
    path, at = written
    data = path.read_bytes()
    last = max(loc.offset for loc in at.values())
    bad = damaged(tmp_path, path, data[: last + (len(data) - last) // 2])
    with pytest.raises(ArchiveReadError) as err:
        read_record(bad, last)
    assert (err.value.file, err.value.offset) == (str(bad), last)
    assert "truncated" in str(err.value)
    assert read_record(bad, at["plain"].offset).body == HTML  # what comes before is intact
    errors: list[Exception] = []
    out = tmp_path / "index.cdxj"
    index_warcs([bad], out, on_error=errors.append)
    assert len(errors) == 1 and errors[0].offset == last  # type: ignore[attr-defined]
    assert len(out.read_text().splitlines()) == 6  # every record before the damage


@pytest.mark.parametrize("kept", [1, 10, 30])
def test_file_cut_in_the_first_bytes_of_its_last_gzip_member(written, tmp_path: Path, kept: int):
    # so little of the member is left that it decompresses to nothing: not a clean end of file
    path, _at = written
    data = path.read_bytes()
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        last = [it.get_record_offset() for record in it][-1]
    bad = damaged(tmp_path, path, data[: last + kept])
    errors: list[Exception] = []
    index_warcs([bad], tmp_path / "index.cdxj", on_error=errors.append)
    assert len(errors) == 1 and errors[0].offset == last  # type: ignore[attr-defined]
    assert "truncated" in str(errors[0])


def test_gzip_trailer_cut_off(written, tmp_path: Path):
    path, _at = written
    data = path.read_bytes()
    bad = damaged(tmp_path, path, data[:-3])  # the last member's size field is incomplete
    with pytest.raises(ArchiveReadError, match="gzip member ends early"):
        index_warcs([bad], tmp_path / "index.cdxj")


def test_garbage_in_the_middle(written, tmp_path: Path):
    path, at = written
    data = path.read_bytes()
    where = at["gzip"].offset
    junk = b"<html>oops, a web page got in here</html>\n" * 3
    bad = damaged(tmp_path, path, data[:where] + junk + data[where:])
    with pytest.raises(ArchiveReadError) as err:
        read_record(bad, where)
    assert err.value.offset == where and "not a WARC record" in str(err.value) and "oops" in str(err.value)
    assert read_record(bad, where + len(junk)).decoded_body() == HTML  # the record itself moved on intact
    with pytest.raises(ArchiveReadError) as err:
        index_warcs([bad], tmp_path / "index.cdxj")
    assert err.value.offset == where


def test_corrupt_gzip(written, tmp_path: Path):
    path, at = written
    data = bytearray(path.read_bytes())
    start = at["br"].offset
    data[start + 40 : start + 60] = bytes(20)
    bad = damaged(tmp_path, path, bytes(data))
    with pytest.raises(ArchiveReadError, match="corrupt gzip") as err:
        read_record(bad, start)
    assert err.value.offset == start
    with pytest.raises(ArchiveReadError, match="corrupt gzip"):
        index_warcs([bad], tmp_path / "index.cdxj")


def test_not_a_warc(tmp_path: Path):
    page = tmp_path / "page.warc.gz"
    page.write_bytes(gzip.compress(b"<!doctype html><html><body>Not an archive</body></html>\n"))
    text = tmp_path / "notes.warc"
    text.write_text("hello world this is not a warc\n" * 5)  # warcio alone would read it as ARC
    for path in (page, text):
        with pytest.raises(ArchiveReadError) as err:
            read_record(path, 0)
        assert (err.value.file, err.value.offset) == (str(path), 0)
        assert "not a WARC record" in str(err.value)
        with pytest.raises(ArchiveReadError, match="not a WARC record"):
            index_warcs([path], tmp_path / "index.cdxj")


def test_bad_offsets(written):
    path, at = written
    size = path.stat().st_size
    with pytest.raises(ArchiveReadError, match="outside the file"):
        read_record(path, size + 10)
    with pytest.raises(ArchiveReadError, match="a request record"):
        read_record(path, at["plain"].offset + at["plain"].length)  # the request after the response
    with pytest.raises(ArchiveReadError) as err:
        read_record(path, at["plain"].offset + 7)  # inside a gzip member
    assert err.value.offset == at["plain"].offset + 7
    with pytest.raises(ArchiveReadError, match="cannot be opened"):
        read_record(path.with_name("missing.warc.gz"), 0)


# -- sources and WACZ ------------------------------------------------------------------------------
def test_find_warcs_names_and_errors(written, tmp_path: Path):
    path, _at = written
    nested = tmp_path / "more" / "2024"
    nested.mkdir(parents=True)
    shutil.copy(path, nested / "other.warc.gz")
    (nested / "busy.warc.gz.open").write_bytes(b"")
    (nested / "notes.txt").write_text("x")
    found = find_warcs([path.parent, tmp_path / "more", path])  # the same file twice is fine
    assert sorted(found) == ["2024/other.warc.gz", path.name]
    shutil.copy(path, nested / path.name)
    with pytest.raises(ArchiveSourceError, match="both be named"):
        find_warcs([path.parent, nested / path.name])
    with pytest.raises(ArchiveSourceError, match="does not exist"):
        find_warcs([tmp_path / "nowhere"])
    with pytest.raises(ArchiveSourceError, match="not a WARC or WACZ"):
        find_warcs([nested / "notes.txt"])


def test_cached_index_is_reused_until_a_file_changes(written, tmp_path: Path):
    path, _at = written
    cache = tmp_path / "cache"
    key = str(path.parent)
    first = cached_index(find_warcs([path.parent]), cache, key=key)
    built = first.stat().st_mtime_ns
    assert cached_index(find_warcs([path.parent]), cache, key=key) == first
    assert first.stat().st_mtime_ns == built  # reused
    shutil.copy(CORPUS_WARCS / "warcio__example.warc.gz", path.parent / "z.warc.gz")
    second = cached_index(find_warcs([path.parent]), cache, key=key)
    assert second == first and "z.warc.gz" in second.read_text()  # same file, rebuilt
    rebuilt = second.stat().st_mtime_ns
    os.utime(path, ns=(built + 10**9, built + 10**9))  # touched
    assert cached_index(find_warcs([path.parent]), cache, key=key).stat().st_mtime_ns != rebuilt


def wacz_create(tmp_path: Path, *warcs: Path) -> Path:
    out = tmp_path / "crawl.wacz"
    subprocess.run(["wacz", "create", "-o", str(out), *map(str, warcs)], check=True,
                   capture_output=True, cwd=tmp_path, timeout=120)
    return out


def test_wacz_created_by_the_wacz_tool(tmp_path: Path):
    # No br body: `wacz create` indexes with cdxj-indexer's post-append mode, whose brotli
    # decoding fails with Brotli >= 1.2.
    writer = RotatingWarcWriter(tmp_path / "warc", WarcInfo("t", "t", "obey"))
    first = writer.write_exchange(exchange("http://example.com/a"))
    writer.write_exchange(exchange("http://example.com/gz", gzip.compress(HTML, mtime=0),
                                   [("Content-Encoding", "gzip")]))
    original = Original("http://example.com/a", first.date, first.record_id, first.payload_digest or "")
    writer.write_revisit(exchange("http://example.com/a", when=T0 + timedelta(days=1)), original,
                         profile=PROFILE_IDENTICAL)
    warc = writer.close()
    assert warc is not None
    wacz = wacz_create(tmp_path, warc)
    with zipfile.ZipFile(wacz) as zf:
        assert "indexes/index.cdx.gz" in zf.namelist()

    (member,) = find_warcs([wacz]).values()
    assert member.name == f"crawl.wacz#{warc.name}" and member.data_start is not None  # read in place
    reader = ArchiveReader.open([wacz], tmp_path / "cache")
    captures = reader.index.lookup("http://example.com/a")  # type: ignore[union-attr]
    assert [c.record_type for c in captures] == ["response", "revisit"]
    assert all(c.filename == member.name for c in captures)
    assert [reader.get(c).body for c in captures] == [HTML, HTML]
    gz = reader.index.closest("http://example.com/gz")  # type: ignore[union-attr]
    assert gz is not None and reader.get(gz).decoded_body() == HTML


def test_wacz_without_index_and_compressed(written, tmp_path: Path):
    path, at = written
    wacz = tmp_path / "zipped.wacz"
    with zipfile.ZipFile(wacz, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, f"archive/{path.name}")
        zf.writestr("datapackage.json", "{}")
    reader = ArchiveReader.open([wacz], tmp_path / "cache")
    capture = reader.index.closest("http://example.com/br")  # type: ignore[union-attr]
    assert capture is not None and capture.filename == f"zipped.wacz#{path.name}"
    assert reader.get(capture).decoded_body() == HTML
    revisit = reader.get(reader.index.closest("http://example.com/a", "20240308"))  # type: ignore[arg-type, union-attr]
    assert revisit.body == HTML
    with pytest.raises(ArchiveReadError, match="zipped.wacz!archive/"):
        reader.read(capture.filename, at["br"].offset + 5)


def test_broken_wacz(tmp_path: Path):
    fake = tmp_path / "fake.wacz"
    fake.write_bytes(b"PK not really")
    with pytest.raises(ArchiveSourceError, match="not a readable WACZ"):
        find_warcs([fake])


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_a_bomb_decodes_in_steps_and_stops_at_the_cap(encoding):
    from newsserver import bomb

    from storage.decoding import CHUNK, DecodedTooLarge, decode, decode_stream

    body = bomb(encoding, 64)
    sizes = [len(chunk) for chunk in decode_stream(body, [encoding])]
    assert sum(sizes) == 64 << 20 and max(sizes) <= 2 * CHUNK  # a step at a time (brotli rounds up)
    with pytest.raises(DecodedTooLarge):
        decode(body, [encoding], max_bytes=1 << 20)


def test_stacked_raw_and_cut_encodings_decode_as_before():
    import os
    import zlib

    import brotli

    from storage.decoding import decode

    page = b"<html>" + os.urandom(200_000).hex().encode()
    raw = zlib.compressobj(wbits=-15)
    assert decode(raw.compress(page) + raw.flush(), ["deflate"]) == page  # raw deflate, as some servers send
    assert decode(gzip.compress(brotli.compress(page)), ["br", "gzip"]) == page
    two = gzip.compress(page[:1000]) + b"\0\0" + gzip.compress(page[1000:])
    assert decode(two, ["gzip"]) == page
    cut = gzip.compress(page)[:50_000]
    assert page.startswith(decode(cut, ["gzip"], partial_ok=True))
    with pytest.raises(ValueError, match="ends early"):
        decode(cut, ["gzip"])
