"""CDXJ index: same lines as the cdxj-indexer CLI, and correct binary-search lookups."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli
import pytest

from storage.cdxj import (
    Capture,
    CdxjFormatError,
    CdxjIndex,
    _HeldRecordIndexer,
    by_closeness,
    check_timestamp,
    index_warcs,
    index_written,
    timestamp_seconds,
    url_key,
)
from storage.warc import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    HttpExchange,
    Original,
    RotatingWarcWriter,
    WarcInfo,
)
from storage.warcread import ArchiveReadError

CORPUS_WARCS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "warc"
# The CLI itself fails on these (one gzip member for the whole file; records split across members).
CLI_FAILS = {"warcio__example-bad-non-chunked.warc.gz", "warcio__example-wrong-chunks.warc.gz"}
HTML = b"<!DOCTYPE html><html><head><title>T</title></head><body><p>Hello archive</p></body></html>"
T0 = datetime(2024, 3, 7, 12, 0, 0, tzinfo=UTC)


def cli_index(*paths: Path, post_append: bool = True) -> str:
    args = ["cdxj-indexer", "--sort", *(["--post-append"] if post_append else []), *map(str, paths)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def exchange(url: str, body: bytes = HTML, headers=(), *, status=200, reason="OK", when=T0,
             method="GET", request_body=b"", request_headers=()) -> HttpExchange:
    return HttpExchange(
        url=url, method=method, request_headers=[("User-Agent", "test"), *request_headers],
        status=status, reason=reason, protocol="HTTP/1.1",
        response_headers=[("Content-Type", "text/html; charset=utf-8"), *headers],
        body=body, date=when, request_body=request_body, ip_address="127.0.0.1",
    )


def write_sample_warc(directory: Path, *, with_br: bool = True, with_post: bool = False, on_written=None) -> Path:
    """Responses (plain, gzip, br), a redirect, revisits of both profiles, a metadata record."""
    writer = RotatingWarcWriter(directory, WarcInfo("test/1", "test-agent", "obey"), prefix="test",
                                on_written=on_written)
    first = writer.write_exchange(exchange("http://example.com/a?b=2&a=1"))
    writer.write_exchange(exchange("https://www.example.com/gz", gzip.compress(HTML, mtime=0),
                                   [("Content-Encoding", "gzip")]))
    if with_br:
        writer.write_exchange(exchange("http://example.com/br", brotli.compress(HTML), [("Content-Encoding", "br")]))
    writer.write_exchange(exchange("http://example.com/old", b"", [("Location", "/a?a=1&b=2")], status=301,
                                   reason="Moved Permanently"))
    original = Original("http://example.com/a?b=2&a=1", first.date, first.record_id, first.payload_digest or "")
    writer.write_revisit(exchange("http://example.com/a?b=2&a=1", when=T0 + timedelta(days=1)), original,
                         profile=PROFILE_IDENTICAL)
    writer.write_revisit(exchange("http://example.com/a?b=2&a=1", b"", status=304, reason="Not Modified",
                                  when=T0 + timedelta(days=2)), original, profile=PROFILE_NOT_MODIFIED)
    writer.write_metadata("http://example.com/a?b=2&a=1", first.record_id, [("outlink", "http://example.org/")])
    if with_post:
        writer.write_exchange(exchange(
            "http://example.com/search", method="POST", request_body=b"q=news&page=2",
            request_headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "13")],
        ))
    path = writer.close()
    assert path is not None
    return path


# -- same lines as the CLI ------------------------------------------------------------------------
def test_our_warc_indexed_like_the_cli(tmp_path: Path):
    warc = write_sample_warc(tmp_path / "warc")
    out = tmp_path / "index.cdxj"
    count = index_warcs([warc], out)
    expected = cli_index(warc, post_append=False)  # the CLI's post-append mode fails on br bodies
    assert out.read_text() == expected
    assert count == len(expected.splitlines()) == 6  # 4 responses + 2 revisits; no request/metadata
    types = [Capture.from_line(line).record_type for line in expected.splitlines()]
    assert sorted(types) == ["response"] * 4 + ["revisit"] * 2


def test_post_captures_get_their_own_key_like_the_cli(tmp_path: Path):
    warc = write_sample_warc(tmp_path / "warc", with_br=False, with_post=True)
    out = tmp_path / "index.cdxj"
    index_warcs([warc], out)
    assert out.read_text() == cli_index(warc)
    post = [Capture.from_line(line) for line in out.read_text().splitlines() if '"method"' in line]
    assert len(post) == 1
    assert post[0].urlkey == "com,example)/search?__wb_method=post&page=2&q=news"
    assert post[0].method == "POST" and post[0].request_body == "q=news&page=2"
    index = CdxjIndex(out)
    assert index.lookup("http://example.com/search") == []  # a GET never gets the POST answer
    key = url_key("http://example.com/search", "POST", b"q=news&page=2", "application/x-www-form-urlencoded")
    assert index.lookup_key(key) == post


AMF_KEY_SCRIPT = """
import sys
{first}
from storage.cdxj import url_key
import pyamf
from pyamf import remoting
envelope = remoting.Envelope(pyamf.AMF3)
envelope["/1"] = remoting.Request("service.getArticle", [{{"id": 7, "lang": "en"}}])
body = remoting.encode(envelope).getvalue()
print(url_key("https://example.com/gateway", "POST", body, "application/x-amf"))
print("pkg_resources" in sys.modules)
"""


def test_amf_post_keys_without_pkg_resources_at_import():
    """Importing the indexer keeps pkg_resources out (it costs every crawl's start-up 0.15-0.25 s):
    pyamf, which cdxj-indexer uses for AMF request bodies, still works, and pkg_resources can
    still be imported afterwards."""
    root = Path(__file__).resolve().parents[1]

    def run(first: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", AMF_KEY_SCRIPT.format(first=first)], cwd=root,
                              capture_output=True, text=True, check=True)
        return done.stdout.split()

    key, imported = run("")
    assert imported == "False"
    assert key.startswith("com,example)/gateway?__wb_method=post&request=")
    assert "service.getarticle" in key and '"lang":+"en"' in key
    assert run("import pkg_resources") == [key, "True"]  # the same key as with pkg_resources loaded
    key_after, imported = run("import storage.cdxj; import pkg_resources")
    assert (key_after, imported) == (key, "True")


@pytest.mark.parametrize("with_post", [False, True])
def test_lines_made_while_writing_are_the_lines_of_the_file(tmp_path: Path, with_post: bool):
    made: list[str] = []
    warc = write_sample_warc(tmp_path / "warc", with_post=with_post,
                             on_written=lambda name, records: made.extend(index_written(records, name)))
    out = tmp_path / "index.cdxj"
    index_warcs([warc], out)
    assert sorted(made) == out.read_text().splitlines(keepends=True)
    assert len(made) == 6 + with_post


ODD_EXCHANGES = [  # (what a server may send or a page cite, lines made from the records in hand)
    (exchange("http://example.com/spaces", headers=[("X-Note", "  padded value  ")]), False),
    (HttpExchange(url="http://example.com/no-type", method="GET", request_headers=[], status=200,
                  reason="OK", protocol="HTTP/1.1", response_headers=[], body=HTML, date=T0), True),
    (exchange("http://example.com/two-types", headers=[("Content-Type", "application/json")]), True),
    (HttpExchange(url="http://example.com/odd-type", method="GET", request_headers=[], status=200,
                  reason="", protocol="HTTP/1.0", body=HTML, date=T0,
                  response_headers=[("Content-Type", "  Text/HTML;charset=\u00e9")]), False),
    (exchange("http://xn--bcher-kva.example/caf%C3%A9?q=%C3%BC&a=%20b"), True),  # bücher/café as sent
    (exchange("HTTP://EXAMPLE.com:80/Upper?B=2&a=1"), False),
    (exchange("http://example.com/missing", b"", status=404, reason="Not Found"), True),
    (exchange("http://example.com/head", b"", method="HEAD"), True),
    (exchange("http://example.com/form", method="POST", request_body=b"q=1",
              request_headers=[("Content-Type", "application/x-www-form-urlencoded")]), False),
]


def test_lines_from_the_records_in_hand_are_the_lines_from_their_bytes(tmp_path: Path):
    """index_written makes lines from warcio's record objects when it has them: for every kind
    of record and odd header, they are the lines its bytes give. Records whose bytes would read
    back differently (untrimmed or non-ASCII headers, an upper-case scheme), and POST/PUT, whose
    key holds the request body, go by their bytes."""
    held, from_bytes, fast = [], [], []

    def on_written(name: str, records: list) -> None:
        held.extend(index_written(records, name))
        from_bytes.extend(index_written([replace(r, record=None) for r in records], name))
        fast.append(_HeldRecordIndexer.can_index(records))

    writer = RotatingWarcWriter(tmp_path, WarcInfo("test/1", "test-agent", "obey"), prefix="odd",
                                on_written=on_written)
    for ex, _ in ODD_EXCHANGES:
        writer.write_exchange(ex)
    first = writer.write_exchange(exchange("http://example.com/page"))
    original = Original("http://example.com/page", first.date, first.record_id, first.payload_digest or "")
    writer.write_revisit(exchange("http://example.com/page", when=T0 + timedelta(days=1)), original,
                         profile=PROFILE_IDENTICAL)
    writer.write_revisit(exchange("http://example.com/page", b"", status=304, reason="Not Modified",
                                  when=T0 + timedelta(days=2)), original, profile=PROFILE_NOT_MODIFIED)
    writer.close()
    assert held == from_bytes
    assert len(held) == len(ODD_EXCHANGES) + 3
    assert fast == [expected for _, expected in ODD_EXCHANGES] + [True] * 3


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS_WARCS.glob("*.warc*") if p.name not in CLI_FAILS)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_warc_indexed_like_the_cli(path: Path, tmp_path: Path):
    out = tmp_path / "index.cdxj"
    count = index_warcs([path], out)
    expected = cli_index(path)
    assert out.read_text() == expected
    assert count == len(expected.splitlines())


def test_corpus_warcs_together_like_the_cli(tmp_path: Path):
    files = corpus_files()
    out = tmp_path / "index.cdxj"
    index_warcs(files, out)
    assert out.read_text() == cli_index(*files)


@pytest.mark.parametrize("name", sorted(CLI_FAILS) + ["pywb__iana.cdxj"])
def test_files_the_cli_chokes_on_are_named_with_an_offset(name: str, tmp_path: Path):
    out = tmp_path / "index.cdxj"
    with pytest.raises(ArchiveReadError) as err:
        index_warcs([CORPUS_WARCS / name], out)
    assert err.value.file.endswith(name) and err.value.offset == 0
    assert name in str(err.value) and "offset 0" in str(err.value)
    assert not out.exists() and not list(tmp_path.iterdir())  # no index, no temporary file left


def test_on_error_keeps_the_other_files(tmp_path: Path):
    good = CORPUS_WARCS / "warcio__example.warc.gz"
    errors: list[Exception] = []
    out = tmp_path / "index.cdxj"
    count = index_warcs([CORPUS_WARCS / "warcio__example-bad-non-chunked.warc.gz", good], out,
                        on_error=errors.append)
    assert count == 2 and out.read_text() == cli_index(good)
    assert len(errors) == 1 and "warcio recompress" in str(errors[0])


def test_filenames_relative_to_dir_root(tmp_path: Path):
    warc = write_sample_warc(tmp_path / "warc" / "2024")
    out = tmp_path / "index.cdxj"
    index_warcs([warc], out, dir_root=tmp_path / "warc")
    assert {c.filename for c in CdxjIndex(out)} == {f"2024/{warc.name}"}


def test_sorting_spills_to_disk_and_merges(tmp_path: Path):
    lines = synthetic_lines(3000)
    random.Random(1).shuffle(lines)
    small, big = tmp_path / "small.cdxj", tmp_path / "big.cdxj"
    assert index_warcs([], small, lines=lines, sort_buffer_chars=20_000) == 3000
    index_warcs([], big, lines=lines)
    assert small.read_bytes() == big.read_bytes()
    assert small.read_text().splitlines() == sorted(line.rstrip("\n") for line in lines)


def test_failed_rebuild_leaves_the_old_index(tmp_path: Path):
    out = tmp_path / "index.cdxj"
    index_warcs([CORPUS_WARCS / "warcio__example.warc.gz"], out)
    before = out.read_bytes()
    with pytest.raises(ArchiveReadError):
        index_warcs([CORPUS_WARCS / "warcio__example-wrong-chunks.warc.gz"], out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["index.cdxj"]


# -- lookups over 100,000 lines --------------------------------------------------------------------
SITES = ["reuters.com", "www.ft.com", "dw.com", "itif.org", "restofworld.org"]


def synthetic_captures(n: int) -> list[tuple[str, str, str]]:
    """(urlkey, timestamp, url): n/5 URLs with 5 captures each, a week apart."""
    out = []
    start = datetime(2023, 11, 1, tzinfo=UTC)
    for i in range(n // 5):
        url = f"https://{SITES[i % len(SITES)]}/news/{i % 97}/article-{i}?id={i}"
        key = url_key(url)
        for k in range(5):
            when = start + timedelta(days=7 * k + i % 7, seconds=i)
            out.append((key, when.strftime("%Y%m%d%H%M%S"), url))
    return out


def synthetic_lines(n: int, captures: list[tuple[str, str, str]] | None = None) -> list[str]:
    lines = []
    for i, (key, ts, url) in enumerate(captures or synthetic_captures(n)):
        data = {"url": url, "mime": "text/html", "status": "200", "digest": f"sha1:{i:032d}",
                "length": str(1000 + i), "offset": str(i * 1000), "filename": f"news-{i // 5000:05d}.warc.gz"}
        lines.append(f"{key} {ts} {json.dumps(data)}\n")
    return lines


@pytest.fixture(scope="module")
def big_index(tmp_path_factory) -> tuple[Path, list[tuple[str, str, str]]]:
    path = tmp_path_factory.mktemp("cdxj") / "big.cdxj"
    captures = synthetic_captures(100_000)
    assert index_warcs([], path, lines=synthetic_lines(100_000, captures)) == 100_000
    return path, sorted(captures)


def test_exact_lookups(big_index):
    path, captures = big_index
    index = CdxjIndex(path)
    by_key: dict[str, list[str]] = {}
    for key, ts, _url in captures:
        by_key.setdefault(key, []).append(ts)
    urls = {key: url for key, _ts, url in captures}
    keys = sorted(by_key)
    sample = keys[:3] + keys[-3:] + random.Random(7).sample(keys, 300)
    for key in sample:
        found = index.lookup(urls[key])
        assert [c.timestamp for c in found] == by_key[key]
        assert {c.url for c in found} == {urls[key]}
    # Same key whatever the spelling: scheme, www., case of the host, fragment.
    url = urls[sample[10]]
    host = url.split("/")[2]
    for variant in (url.replace("https://", "http://"), url.replace(host, "www." + host.removeprefix("www.")),
                    url.replace(host, host.upper()), url + "#comments"):
        assert index.lookup(variant) == index.lookup(url), variant
    assert index.lookup(url + "&page=2") == []  # another query: another URL


def test_missing_urls(big_index):
    path, _captures = big_index
    index = CdxjIndex(path)
    assert index.lookup("https://aaa.example/") == []  # sorts before every line
    assert index.lookup("https://zzz.example/") == []  # after every line
    assert index.lookup("https://reuters.com/news/1/article-1") == []  # between lines, a prefix of some
    assert index.closest("https://reuters.com/nothing") is None


def test_time_ranges(big_index):
    path, captures = big_index
    index = CdxjIndex(path)
    key, _ts, url = captures[len(captures) // 2]
    times = [ts for k, ts, _u in captures if k == key]
    assert [c.timestamp for c in index.lookup(url, times[1], times[3])] == times[1:4]
    assert [c.timestamp for c in index.lookup(url, from_ts=times[4])] == times[4:]
    assert [c.timestamp for c in index.lookup(url, to_ts=times[0])] == times[:1]
    for prefix in ("2023", "202311", "202312", "2024", "20240101"):
        expected = [t for t in times if t.startswith(prefix)]
        assert [c.timestamp for c in index.lookup(url, prefix, prefix)] == expected, prefix
    assert index.lookup(url, "2025") == [] and index.lookup(url, to_ts="2022") == []


def test_closest(big_index):
    path, captures = big_index
    index = CdxjIndex(path)
    key, _ts, url = captures[12345]
    times = [ts for k, ts, _u in captures if k == key]
    assert index.closest(url).timestamp == times[-1]  # type: ignore[union-attr]
    assert index.closest(url, times[2]).timestamp == times[2]  # type: ignore[union-attr]
    assert index.closest(url, "1999").timestamp == times[0]  # type: ignore[union-attr]
    assert index.closest(url, "2099").timestamp == times[-1]  # type: ignore[union-attr]
    day_after = (datetime.strptime(times[1], "%Y%m%d%H%M%S") + timedelta(days=1)).strftime("%Y%m%d%H%M%S")
    assert index.closest(url, day_after).timestamp == times[1]  # type: ignore[union-attr]


def test_prefix(big_index):
    path, captures = big_index
    index = CdxjIndex(path)
    for prefix in ("https://dw.com/news/5", "http://www.ft.com/news/96/", "https://itif.org/"):
        key = url_key(prefix)
        expected = [(k, ts) for k, ts, _u in captures if k.startswith(key)]
        found = [(c.urlkey, c.timestamp) for c in index.prefix(prefix)]
        assert found == expected and found, prefix
    assert list(index.prefix("https://nowhere.example/")) == []


def test_several_files_merged_at_query_time(big_index, tmp_path: Path):
    path, captures = big_index
    lines = path.read_text().splitlines(keepends=True)
    first, second = tmp_path / "1.cdxj", tmp_path / "2.cdxj"
    first.write_text("".join(lines[0::2]))
    second.write_text("".join(lines[1::2]))
    one, two = CdxjIndex(path), CdxjIndex([first, second])
    _key, _ts, url = captures[5000]
    assert two.lookup(url) == one.lookup(url)
    assert list(two.prefix("https://restofworld.org/news/3")) == list(one.prefix("https://restofworld.org/news/3"))
    assert two.closest(url, "20231201") == one.closest(url, "20231201")


# -- bad input -------------------------------------------------------------------------------------
def test_corrupt_lines(tmp_path: Path):
    lines = sorted(synthetic_lines(50))  # 10 URLs, 5 lines each
    target = Capture.from_line(lines[20])
    lines[21] = lines[21].split(" {")[0] + ' {"url": "http://x/", "length": \n'  # JSON cut short
    path = tmp_path / "bad.cdxj"
    path.write_text("".join(lines))
    with pytest.raises(CdxjFormatError) as err:
        CdxjIndex(path).lookup(target.url)
    offset = sum(len(line.encode()) for line in lines[:21])
    assert err.value.offset == offset and str(path) in str(err.value)
    assert "JSON" in str(err.value) and "index_warcs" in str(err.value)
    lenient = CdxjIndex(path, strict=False)
    found = lenient.lookup(target.url)
    assert len(found) == 4 and lenient.skipped_lines == 1


@pytest.mark.parametrize("bad, problem", [
    ("com,x)/ 2024 {}", "14 digits"),
    ("com,x)/ 20240101000000", "expected"),
    ('com,x)/ 20240101000000 {"url": "http://x/"}', "no 'length'"),
    ('com,x)/ 20240101000000 {"length": "a", "offset": "1", "filename": "f"}', "integers"),
    ("com,x)/ 20240101000000 [1]", "not an object"),
])
def test_line_parse_errors(bad: str, problem: str):
    with pytest.raises(ValueError, match=problem):
        Capture.from_line(bad)


def test_unsorted_index_is_detected(tmp_path: Path):
    lines = sorted(synthetic_lines(10))
    path = tmp_path / "unsorted.cdxj"
    path.write_text(lines[1] + lines[0] + "".join(lines[2:]))
    with pytest.raises(CdxjFormatError, match="not sorted"):
        CdxjIndex(path).lookup(Capture.from_line(lines[0]).url)


def test_timestamps():
    assert check_timestamp(" 2024 ") == "2024"
    for bad in ("202", "2024-03-07", "202403071200001", "２０２４", ""):
        with pytest.raises(ValueError, match="4 to 14 digits"):
            check_timestamp(bad)
    assert timestamp_seconds("2024") == timestamp_seconds("20240101000000")
    assert timestamp_seconds("2024023") == timestamp_seconds("20240229000000")  # clamped into February
    caps = [Capture.from_line(line) for line in synthetic_lines(5)]
    assert by_closeness(caps)[0] == caps[-1]
    assert by_closeness(caps, caps[2].timestamp)[0] == caps[2]


def test_missing_index_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="index_warcs"):
        CdxjIndex(tmp_path / "none.cdxj")
