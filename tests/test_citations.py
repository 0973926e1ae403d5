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


# -- what counts as a citation (crawler/extract/citations.py) ----------------------------------------
import json  # noqa: E402

import pytest  # noqa: E402
from citingpages import citing_page  # noqa: E402
from warcutil import schema_errors  # noqa: E402

from crawler.extract.article import extract  # noqa: E402
from crawler.extract.documents import document_citations  # noqa: E402
from storage.schema import SCHEMA_VERSION  # noqa: E402

SITE, OTHER = "https://news.example", "https://reports.example.org"


def _cited(page: str, url: str = f"{SITE}/world/story-2024-1") -> list[dict]:
    result = extract(page.encode(), url)
    assert result["text"], result["reason"]
    assert result["links"] == [c["url"] for c in result["citations"]]
    return result["citations"]


@pytest.mark.parametrize("telling", [True, False], ids=["telling-classes", "meaningless-classes"])
@pytest.mark.parametrize("lang", ["de", "en", "id"])
def test_every_citation_kind_and_no_other_link(lang: str, telling: bool) -> None:
    page = citing_page(lang, SITE, OTHER, telling)
    citations = _cited(page.html, f"{SITE}/world/export-rules-{lang}-2024")
    assert [c["url"] for c in citations] == page.order  # page order, each once, nothing else
    kinds = {c["url"]: c["kind"] for c in citations}
    assert {url: kinds[url] for urls in page.cited.values() for url in urls} == {
        url: kind for kind, urls in page.cited.items() for url in urls}
    texts = {c["url"]: c["text"] for c in citations}
    assert texts[page.cited["inline"][0]] == "Reuters"
    assert [texts[u] for u in page.cited["source_list"]] == ["Reuters", "AP", "dpa"]
    assert [texts[u] for u in page.cited["plain_url"]] == ["Reuters", "AFP"]  # the outlet before the URL


def test_the_issue_page_source_list_with_short_anchors() -> None:
    para = "<p>" + "The committee published its findings after a year of hearings with industry. " * 4 + "</p>"
    items = "".join(f'<li><a href="{OTHER}/s/{i}/a.html">Source {i}</a></li>' for i in range(5))
    page = (f"<html><body><article><h1>Citing page</h1>{para}{para}<p>Sources:</p><ul>{items}</ul>{para}"
            "</article></body></html>")
    citations = _cited(page)
    assert [c["url"] for c in citations] == [f"{OTHER}/s/{i}/a.html" for i in range(5)]
    assert {c["kind"] for c in citations} == {"source_list"}


@pytest.mark.parametrize("box", [
    # the list in a box of its own after the body, its heading in a wrapper
    '<div class="a1"><div><h3>Quellen</h3></div><ul><li><a href="{o}/q/1-x.html">Spiegel</a></li>'
    '<li><a href="{o}/q/2-x.html">Zeit</a></li></ul></div>',
    # a paragraph that starts with its lead-in
    '<p>Sources: <a href="{o}/q/1-x.html">Spiegel</a>, <a href="{o}/q/2-x.html">Zeit</a></p>',
    # a French-style lead-in with a space before the colon, plain URLs one per line
    '<p>Sources :</p><p>Le Monde https://reports.example.org/q/1-x.html<br>AFP https://reports.example.org/q/2-x.html</p>',
])
def test_source_lists_in_other_shapes(box: str) -> None:
    para = "<p>" + "Die Kommission legte nach einem Jahr der Anhörungen ihren Bericht vor, sagte ein Sprecher. " * 3 + "</p>"
    page = f"<html lang='de'><body><div><div class='b'>{para}{para}{para}</div>{box.format(o=OTHER)}</div></body></html>"
    assert [c["url"] for c in _cited(page)] == [f"{OTHER}/q/1-x.html", f"{OTHER}/q/2-x.html"]


@pytest.mark.parametrize("tail", [
    '<p>Quelle: F.A.Z. <a href="{o}/rights/buy-article-rights">Artikelrechte erwerben</a></p>',  # a credit line
    '<blockquote class="twitter-tweet"><p>Chips!</p><a href="https://twitter.com/x/status/1">May 1</a></blockquote>',
    '<figure><img src="/p.jpg"><figcaption>Photo: <a href="{o}/photographer-page-1">A. Photographer</a></figcaption></figure>',
    '<p>Anonymous sources said the talks would go on. <a href="#top">Back to top</a></p>',
])
def test_links_that_are_no_citation(tail: str) -> None:
    para = "<p>" + "The committee published its findings after a year of hearings with industry. " * 4 + "</p>"
    page = f"<html><body><article>{para}{para}{tail.format(o=OTHER)}{para}</article></body></html>"
    assert _cited(page) == []


def test_citations_validate_against_the_schema(news_server, archive) -> None:
    page = citing_page("en", news_server.base_url, news_server.base_url.replace("127.0.0.1", "localhost"))
    news_server.set_page("/cite/schema-check-2024", page.html.encode())
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), news_server.url("/cite/schema-check-2024"))
    assert result.code == 0, result.stderr
    (line,) = json_records(archive)
    assert line["schema_version"] == SCHEMA_VERSION and schema_errors(line) == []
    assert [c["url"] for c in line["citations"]] == page.order == line["links"]


def test_documents_use_the_same_rules() -> None:
    markdown = (b"# Notes\n\nThe ministry confirmed it, [says Reuters](https://reports.example.org/r-1.html).\n\n"
                b"Quellen:\n- dpa: https://reports.example.org/dpa-2.html\n- https://reports.example.org/afp-3.html\n\n"
                b"## Related\n- [Another story](https://news.example/other-story-4)\n")
    citations = document_citations(markdown, "notes.md")
    assert [(c["url"], c["kind"], c["text"]) for c in citations] == [
        ("https://reports.example.org/r-1.html", "inline", "says Reuters"),
        ("https://reports.example.org/dpa-2.html", "plain_url", "dpa"),
        ("https://reports.example.org/afp-3.html", "plain_url", "reports.example.org"),
    ]
    page = citing_page("de", SITE, OTHER)
    assert [c["url"] for c in document_citations(page.html.encode(), "saved.html")] == page.order


# -- following them, and the citation tree ---------------------------------------------------------
def _serve_citing_site(news_server, lang: str) -> tuple[str, object]:
    other = news_server.base_url.replace("127.0.0.1", "localhost")  # a second host
    page = citing_page(lang, news_server.base_url, other)
    for url in page.order + page.noise:
        path = url.split(str(news_server.port), 1)[1] if str(news_server.port) in url else None
        if path:
            news_server.set_page(path, _article(f"Page {path}", []))
    news_server.set_page(f"/cite/story-{lang}", page.html.encode())
    return news_server.url(f"/cite/story-{lang}"), page


@pytest.mark.parametrize("lang", ["de", "id"])
def test_follow_citations_archives_every_source_and_nothing_else(news_server, archive, lang) -> None:
    story, page = _serve_citing_site(news_server, lang)
    news_server.clear_log()
    result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--follow-citations", story)
    assert result.code == 0, result.stderr
    lines = {line["url"]: line for line in json_records(archive)}
    assert set(lines) == {story, *page.order}
    assert all(line["reason"] is None for line in lines.values())
    for url in page.order:
        assert news_server.hits(url.split(str(news_server.port), 1)[1]) == 1, url
    for url in page.noise:
        if str(news_server.port) in url:
            assert news_server.hits(url.split(str(news_server.port), 1)[1]) == 0, url


def test_citation_tree_shows_each_source_state(news_server, archive, tmp_path) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/gone-story-1"
    sources = [news_server.url("/tree/source-article-1"), news_server.url("/tree/private/disallowed-2"), dead,
               news_server.url("/tree/missing-page-3")]
    news_server.set_page("/tree/source-article-1", _article("Source article", [news_server.url("/tree/deeper-4")]))
    news_server.set_page("/tree/private/disallowed-2", _article("Secret", []))
    news_server.set_page("/tree/missing-page-3", b"<html><body>Not found</body></html>", status=404)
    news_server.set_page("/tree/main-story", _article("Main story", sources))
    old_robots = news_server._robots
    news_server.set_robots("User-agent: *\nDisallow: /tree/private/\n")
    try:
        result = run_crawler("ingest", "--allow-private", "--archive", str(archive), "--follow-citations",
                             news_server.url("/tree/main-story"))
    finally:
        news_server.set_robots(old_robots)
    assert result.code == 1, result.stderr  # the dead source failed
    shown = run_crawler("citations", "--archive", str(archive), news_server.url("/tree/main-story"), "--depth", "2")
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "Main story" in lines[0]

    def line_of(url: str) -> str:
        return next(line for line in lines if url in line)

    assert "archived" in line_of(sources[0]) and '"Source article"' in line_of(sources[0])
    assert "robots_disallowed" in line_of(sources[1])
    assert "failed:connection_refused" in line_of(dead)
    assert "failed:error_status:404" in line_of(sources[3])
    assert "not fetched" in line_of(news_server.url("/tree/deeper-4"))  # depth 2 lists what depth 1 did not fetch

    as_json = run_crawler("citations", "--archive", str(archive), news_server.url("/tree/main-story"), "--json")
    tree = json.loads(as_json.stdout)
    states = {child["url"]: child["state"] for child in tree["citations"]}
    assert states[sources[0]] == "archived" and states[dead] == "failed:connection_refused"
    assert states[sources[1]] == "robots_disallowed"
    assert "citations" not in tree["citations"][0]  # depth 1: the sources' own citations are not listed

    missing = run_crawler("citations", "--archive", str(archive), news_server.url("/never-archived"))
    assert missing.code == 1 and "no capture" in missing.stderr
