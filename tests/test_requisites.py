"""Page requisites: every stylesheet, script, image, icon and font an archived page needs, fetched
once per crawl through the same guard, robots.txt, politeness and WARC capture as pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conftest import run_crawler
from requisitesite import build, png
from warcutil import all_records, json_records


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def site(news_server):
    cdn = news_server.base_url.replace("127.0.0.1", "localhost")
    built = build(news_server.base_url, cdn, prefix="/req")
    for url, (body, content_type) in built.files.items():
        news_server.set_page(_path(url), body, content_type=content_type)
    return built


def test_every_requisite_archived_once_and_none_stored_again(news_server, site, archive):
    news_server.clear_log()
    pages = list(site.pages.values())
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), *pages, requisites=True)
    assert result.code == 0, result.stderr
    responses = [r for r in all_records(archive) if r.type == "response"]
    archived = [r.uri for r in responses]
    for url in site.requisites:
        assert archived.count(url) == 1, url  # in the WARC, once though both pages use it
        assert news_server.hits(_path(url)) == 1, url
    assert {line["url"] for line in json_records(archive)} == set(pages)  # no article line for a requisite
    assert f"requisites: fetched {len(site.requisites)}  unchanged 0  failed 0" in result.stdout
    metadata = [r for r in all_records(archive) if r.type == "metadata" and r.uri == pages[0]]
    listed = metadata[-1].raw.decode()
    from_css = {url for url in site.requisites if any(n in url for n in ("/css/extra", "/fonts/", "hero-bg"))}
    for url in set(site.requisites) - from_css:  # the page's own; the stylesheet's come later
        assert f"requisite: {url} {site.requisites[url]}" in listed, url
    # ... in the stylesheets' own metadata records, which export-wacz follows to pack a page whole
    by_stylesheets = "".join(r.raw.decode() for r in all_records(archive) if r.type == "metadata" and ".css" in r.uri)
    for url in from_css:
        assert f"requisite: {url} {site.requisites[url]}" in by_stylesheets, url

    # The pages change, their requisites do not: nothing of them is stored again.
    for path, url in site.pages.items():
        body, content_type = site.files[url]
        news_server.set_page(path, body.replace(b"</article>", b"<p>An update.</p></article>"), content_type)
    news_server.clear_log()
    again = run_crawler("ingest", "--allow-private", "--archive", str(archive), *pages, requisites=True)
    assert again.code == 0, again.stderr
    second = [r.uri for r in all_records(archive) if r.type == "response"][len(responses):]
    assert set(pages) <= set(second) and not set(second) & set(site.requisites)
    # a stylesheet not modified (304) is not read again: what it imports was archived with it
    assert f"requisites: fetched 0  unchanged {len(site.requisites) - len(from_css)}  failed 0" in again.stdout
    revisits = {r.uri for r in all_records(archive) if r.type == "revisit"}
    assert set(site.requisites) - from_css <= revisits


def test_no_requisites_option(news_server, site, archive):
    news_server.clear_log()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--no-requisites",
                         site.pages["/req/story-one"])
    assert result.code == 0, result.stderr
    assert all(news_server.hits(_path(url)) == 0 for url in site.requisites)
    assert "requisites:" not in result.stdout


def test_broken_requisites_are_recorded_and_the_page_archived(news_server, archive):
    base = news_server.base_url
    news_server.set_page("/bad/missing-style.css", b"<html><body>Not found</body></html>", status=404)
    news_server.set_page("/bad/login.css", b"<!DOCTYPE html><html><body>Please log in</body></html>")
    news_server.set_page("/bad/huge.png", png(2000, 2000, (1, 2, 3)) + b"\x00" * 400_000, content_type="image/png")
    news_server.set_page("/bad/loop.png", b"", status=302, headers=[("Location", "/bad/loop.png")])
    urls = ", ".join(f"url(/bad/sprite-{n}.png)" for n in range(2000))
    news_server.set_page("/bad/sprites.css", f".a {{ background: {urls}; }}".encode(), content_type="text/css")
    page = (f"<html><head><title>Broken</title><link rel=stylesheet href='/bad/missing-style.css'>"
            f"<link rel=stylesheet href='/bad/login.css'><link rel=stylesheet href='/bad/sprites.css'></head>"
            f"<body><article><p>{'A story whose page needs broken things. ' * 20}</p>"
            f"<img src='/bad/huge.png'><img src='/bad/loop.png'><img src='http://10.0.0.1/private.png'>"
            f"</article></body></html>").encode()
    news_server.set_page("/bad/page", page)
    news_server.clear_log()
    result = run_crawler("ingest", "--archive", str(archive), base + "/bad/page",
                         "-s", "ARCHIVE_ALLOW_NETWORKS=127.0.0.0/8", "-s", "ARCHIVE_REQUISITES_MAX_BYTES=100000",
                         "-s", "ARCHIVE_REQUISITES_PER_PAGE=50", requisites=True)
    assert result.code == 0, result.stdout + result.stderr  # the page is archived; requisites do not fail a run
    (line,) = json_records(archive)
    assert line["url"] == base + "/bad/page" and line["reason"] is None
    summary = result.stdout
    print(summary)
    for reason in ("error_status:404", "not_a_stylesheet", "truncated:length", "refused_private_address",
                   "redirect_loop"):
        assert reason in result.stderr, reason  # each failure has its log line
    sprites = sum(news_server.hits(f"/bad/sprite-{n}.png") for n in range(2000))
    assert 0 < sprites <= 50  # the page's cap counts its stylesheets' url()s
    assert "ARCHIVE_REQUISITES_PER_PAGE" in summary
    assert news_server.hits("/bad/loop.png") <= 25  # a redirect loop ends


def test_a_dead_requisite_host_is_looked_up_once(news_server, archive):
    from dnsserver import ScriptedDNSServer

    images = "".join(f"<img src='http://dead-cdn.test/img/photo-{n}.jpg'>" for n in range(20))
    news_server.set_page("/bad/dead-cdn", (f"<html><body><article><p>{'A story with its photos on a CDN. ' * 20}"
                                           f"</p>{images}</article></body></html>").encode())
    with ScriptedDNSServer({"dead-cdn.test": ["NXDOMAIN"]}) as dns:
        result = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url("/bad/dead-cdn"),
                             "-s", f"ARCHIVE_DNS_SERVERS={dns.address}", "-s", "DNSCACHE_ENABLED=False",
                             requisites=True)
        asked = dns.queries["dead-cdn.test"]
    assert result.code == 0, result.stderr
    assert "failed 20  (dns_error 20)" in result.stdout
    # robots.txt and twenty photos, each retried once: the look-ups asked together share one answer
    assert asked <= 10, asked


def test_a_filtered_wacz_holds_every_requisite_of_its_pages(news_server, site, archive, tmp_path):
    """export-wacz --since packs the files of the chosen pages' requisites too: those a later
    crawl only revisited (their payloads are in the first crawl's file), and a stylesheet's fonts
    and images, which a crawl that found the stylesheet unmodified never asked for again."""
    import io
    import zipfile
    from datetime import UTC, datetime

    from warcio.archiveiterator import ArchiveIterator

    pages = list(site.pages.values())
    first = run_crawler("ingest", "--allow-private", "--archive", str(archive), *pages, requisites=True)
    assert first.code == 0, first.stderr
    for path, url in site.pages.items():
        body, content_type = site.files[url]
        news_server.set_page(path, body.replace(b"</article>", b"<p>An update.</p></article>"), content_type)
    since = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    while datetime.now(UTC).strftime("%Y%m%d%H%M%S") == since:  # the second crawl's pages, not the first's
        pass
    since = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    second = run_crawler("ingest", "--allow-private", "--archive", str(archive), *pages, requisites=True)
    assert second.code == 0, second.stderr

    wacz = tmp_path / "second.wacz"
    exported = run_crawler("export-wacz", str(archive), "-o", str(wacz), "--since", since)
    assert exported.code == 0, exported.stderr
    responses, revisits = {}, {}
    with zipfile.ZipFile(wacz) as zf:
        for name in zf.namelist():
            if name.startswith("archive/"):
                for record in ArchiveIterator(io.BytesIO(zf.read(name))):
                    digest = record.rec_headers.get_header("WARC-Payload-Digest")
                    if record.rec_type == "response":
                        responses.setdefault(record.rec_headers.get_header("WARC-Target-URI"), set()).add(digest)
                    elif record.rec_type == "revisit":
                        revisits.setdefault(record.rec_headers.get_header("WARC-Target-URI"), set()).add(digest)
        listed = [line for line in zf.read("pages/pages.jsonl").decode().splitlines()[1:]]
    assert len(listed) == len(pages)  # the second crawl's pages only
    for url in pages:
        assert url in responses, url
    for url in site.requisites:
        # a payload to show: the response itself, or the one its revisit repeats
        assert url in responses or revisits.get(url, set()) & responses.get(url, set()), url
        if url in revisits:
            assert revisits[url] <= responses.get(url, set()), url
