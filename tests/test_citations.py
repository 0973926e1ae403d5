"""Following the sources an article cites, and the URLs a local document lists."""

from __future__ import annotations

import socket

from conftest import run_crawler
from warcutil import json_records

PARA = ("Analysts who follow the story across outlets say the new export rules will reshape how "
        "chip makers plan their next factories, and several governments are already responding. ")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _article(title: str, links: list[str]) -> bytes:
    cites = "".join(f'<p>Point {n}: {PARA} As <a href="{href}">report number {n}</a> shows, '
                    f'the details of case {n} matter.</p>' for n, href in enumerate(links))
    return (f"<!DOCTYPE html><html lang='en'><head><title>{title}</title></head><body>"
            f"<nav><a href='/nav/home'>Home</a></nav><article><h1>{title}</h1>"
            f"<p>{PARA * 2}</p>{cites}<p>{PARA}</p></article>"
            f"<footer><a href='/imprint'>Imprint</a></footer></body></html>").encode()


def test_cited_pages_are_archived_once_and_failures_recorded(news_server, archive):
    cited = [f"/cite/source-{i}" for i in range(5)]
    for i, path in enumerate(cited):
        # Each cited page cites the main article and its neighbour back: nothing is fetched twice.
        back = [news_server.url("/cite/main"), news_server.url(cited[(i + 1) % 5])]
        news_server.set_page(path, _article(f"Source {i}", back))
    dead = f"http://127.0.0.1:{_closed_port()}/gone"
    news_server.set_page("/cite/main", _article("Main", [news_server.url(p) for p in cited] + [dead]))
    news_server.clear_log()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--follow-citations",
                         news_server.url("/cite/main"))
    assert result.code == 1  # the dead link failed
    by_url = {line["url"]: line for line in json_records(archive)}
    assert set(by_url) == {news_server.url("/cite/main"), dead, *map(news_server.url, cited)}
    for path in ["/cite/main", *cited]:
        assert news_server.hits(path) == 1, path
        assert by_url[news_server.url(path)]["reason"] is None
    assert by_url[dead]["reason"] == "connection_refused" and by_url[dead]["depth"] == 1
    assert by_url[news_server.url(cited[0])]["depth"] == 1
    assert news_server.hits("/nav/home") == 0 and news_server.hits("/imprint") == 0  # not cited in the body


def test_depth_zero_follows_nothing(news_server, archive):
    news_server.set_page("/cite/lonely", _article("Lonely", [news_server.url("/cite/never")]))
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url("/cite/lonely"))
    assert result.code == 0
    assert news_server.hits("/cite/never") == 0


def test_from_document_with_quellen_list(news_server, archive, tmp_path):
    urls = [news_server.url(f"/page/dw.com/{name}") for name in ("DW_2023_04_28", "DW_2023_06_13")]
    doc = tmp_path / "notes.txt"
    doc.write_text("Zusammenfassung der Lage (siehe oben).\n\nQuellen:\n"
                   f"1. {urls[0]}\n2. {urls[1]}.\n3. ftp://example.org/not-http\n", encoding="utf-8")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--from-document", str(doc))
    assert result.code == 0, result.stderr
    assert sorted(line["url"] for line in json_records(archive)) == sorted(urls)


def test_from_html_document(news_server, archive, tmp_path):
    doc = tmp_path / "brief.html"
    target = news_server.url("/page/restofworld.org/RestOfWorld_2025_10_21")
    doc.write_text(f"<html><body><p>See <a href='{target}'>Rest of World</a>.</p>"
                   f"<h3>Sumber:</h3><ul><li>{news_server.url('/echo?doc=1')}</li></ul></body></html>")
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--from-document", str(doc))
    assert result.code == 0, result.stderr
    assert {line["url"] for line in json_records(archive)} == {target, news_server.url("/echo?doc=1")}
