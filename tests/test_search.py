"""Finding and following a story: `crawler search`, `crawler story`, `crawler export` over an
archive made by `crawler ingest` from the corpus pages (served by tests/newsserver.py). What
search must find is computed from the archive's own JSON lines, folded the way people expect
(case and diacritics), never written down by hand."""

from __future__ import annotations

import csv
import gzip
import html
import json
import re
import sqlite3
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import REPO, run_crawler
from test_incremental import PARAS, page

from storage.export import arrow_schema

CORPUS = REPO.parent / "shared" / "corpus"
PAGES = [
    ("dw.com", "DW_2024_01_30"), ("reuters.com", "Reuters_2024_03_07"), ("reuters.com", "Reuters_2023_05_16"),
    ("restofworld.org", "RestOfWorld_2025_10_21"), ("people.com.cn", "People_2024_04_24"),
    ("nikkei.com", "Nikkei_2025_01_27"), ("dw.com", "traf_dw.com-elephants"),
    ("mediaindonesia.com", "MediaIndonesia_2026_01_20"), ("ft.com", "metascraper_ft_2024capture"),
    ("heise.de", "Heise_2024_04_19"), ("vnexpress.net", "VnExpress_2025_10_22"),
]
WRAPPED = "/elsewhere/oman-spaceports"  # the Rest of World article in another site's template
CITING = "/story/citing"
CHANGING = "/story/changing"


def corpus_path(site: str, name: str) -> str:
    return f"/page/{site}/{name}"


def wrapped_copy() -> bytes:
    """The Rest of World article's text (its ground truth) in a page of another design: a site
    header, navigation, a related-stories box and a footer around it."""
    truth = json.loads((CORPUS / "pages" / "restofworld.org" / "RestOfWorld_2025_10_21.truth.json").read_text())
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in truth["text"].split("\n\n") if p.strip())
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(truth['title'])} | "
            f"Gulf Wire</title></head><body><header><a href='/'>Gulf Wire</a><nav><a href='/world'>World</a> "
            f"<a href='/tech'>Tech</a></nav></header><main><article><h1>{html.escape(truth['title'])}</h1>"
            f"<p class='byline'>By Gulf Wire staff</p>{paras}</article><aside><h2>Related</h2><ul>"
            f"<li><a href='/a'>Markets close higher</a></li></ul></aside></main>"
            f"<footer>© Gulf Wire</footer></body></html>").encode()


def citing_page(news_server) -> bytes:
    dw = news_server.url(corpus_path("dw.com", "DW_2024_01_30"))
    cited = [f'<p>As <a href="{dw}">Deutsche Welle reported</a>, the election is near. '
             f'A <a href="{news_server.url("/status/404")}">vanished page</a> was cited too, and '
             f'<a href="{news_server.url("/reports/2024/never-fetched")}">one never fetched</a>.</p>']
    own = ["Election observers from three countries arrived in the capital on Monday and began visiting "
           "polling stations in the northern provinces, where turnout was low four years ago.",
           "The observers said they would publish a first assessment two days after the vote and a full "
           "report, covering the counting of ballots and the media coverage, within two months.",
           "Opposition parties welcomed the mission but asked for more observers in rural districts, "
           "where they say intimidation of voters has been reported in previous elections."]
    return page("Observers and the election", cited + own)


@pytest.fixture(scope="module")
def archive(news_server, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("search") / "archive"
    news_server.set_page(WRAPPED, wrapped_copy())
    news_server.set_page(CITING, citing_page(news_server))
    news_server.set_page(CHANGING, page("Bridge repairs", ["The first estimate said marmalade prices."] + PARAS))
    paths = [corpus_path(*p) for p in PAGES] + [WRAPPED, CITING, CHANGING, "/status/404"]
    first = run_crawler("ingest", "--allow-private", "--archive", str(root), *map(news_server.url, paths))
    assert first.code == 1, first.stdout + first.stderr  # the 404
    news_server.set_page(CHANGING, page("Bridge repairs", ["The second estimate said quince prices."] + PARAS))
    second = run_crawler("ingest", "--allow-private", "--archive", str(root), news_server.url(CHANGING))
    assert second.code == 0, second.stdout + second.stderr
    return root


def lines(root: Path) -> list[dict]:
    out = []
    for path in sorted((root / "json").iterdir()):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            out += [json.loads(text) for text in fh if text.strip()]
    return out


def articles(root: Path, *, latest: bool = True) -> list[dict]:
    found = [line for line in lines(root) if line.get("reason") is None and line.get("text")]
    if not latest:
        return found
    newest: dict[str, dict] = {}
    for line in found:
        key = line.get("final_url") or line["url"]
        if key not in newest or line["fetched_at"] >= newest[key]["fetched_at"]:
            newest[key] = line
    return list(newest.values())


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def words(line: dict) -> set[str]:
    return set(re.findall(r"[^\W_]+", fold(f"{line.get('title') or ''} {line['text']}")))


def search(root: Path, *query: str) -> tuple[int, list[dict], str]:
    result = run_crawler("search", "--archive", str(root), "--json", "--limit", "100", *query)
    return result.code, [json.loads(text) for text in result.stdout.splitlines() if text.strip()], result.stderr


def urls(hits: list[dict]) -> set[str]:
    return {hit["url"] for hit in hits}


def expected(root: Path, keep, **filters) -> set[str]:
    return {line.get("final_url") or line["url"] for line in articles(root) if keep(words(line))
            and all(str(line.get(k) or "").startswith(v) for k, v in filters.items())}


# -- search ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["Putin", "spaceports", "Hürde", "hurde", "ELEPHANTS", "éléphants"])
def test_search_finds_exactly_the_articles_holding_a_word(archive, word):
    want = expected(archive, lambda ws: fold(word) in ws)
    code, hits, stderr = search(archive, word)
    assert want, f"no article holds {word!r}: pick a word the corpus pages have"
    assert (code, urls(hits)) == (0, want), stderr
    for hit in hits:
        assert set(hit) >= {"url", "title", "source", "language", "published", "fetched_at", "snippet", "score"}
    assert any("**" in hit["snippet"] for hit in hits)  # the match is marked


def test_phrases_booleans_and_prefixes(archive):
    both = lambda a, b: lambda ws: a in ws and b in ws  # noqa: E731
    code, hits, _ = search(archive, '"Silicon Valley"')
    texts = {line.get("final_url") or line["url"]: fold(line["text"]) for line in articles(archive)}
    assert code == 0 and urls(hits) == {u for u, t in texts.items() if "silicon valley" in t}
    assert urls(search(archive, "Putin AND Nadeschdin")[1]) == expected(archive, both("putin", "nadeschdin"))
    assert urls(search(archive, "spaceports OR elephants")[1]) == expected(
        archive, lambda ws: "spaceports" in ws or "elephants" in ws)
    assert urls(search(archive, "prices NOT quince")[1]) == expected(
        archive, lambda ws: "prices" in ws and "quince" not in ws)
    assert urls(search(archive, "(spaceports OR elephants) AND Oman")[1]) == expected(
        archive, lambda ws: ("spaceports" in ws or "elephants" in ws) and "oman" in ws)
    prefix = expected(archive, lambda ws: any(w.startswith("spaceport") for w in ws))
    assert urls(search(archive, "spaceport*")[1]) == prefix and len(prefix) >= 2


def test_filters(archive):
    everything = expected(archive, lambda ws: "the" in ws)
    assert urls(search(archive, "the", "--lang", "en")[1]) == expected(archive, lambda ws: "the" in ws, language="en")
    assert urls(search(archive, "the", "--source", "ingest")[1]) == everything
    code, hits, stderr = search(archive, "the", "--source", "dw")
    assert (code, hits) == (1, []) and "no article matches" in stderr
    dated = {line.get("final_url") or line["url"] for line in articles(archive) if "the" in words(line)
             and "2024-01-01" <= (line.get("published") or line["fetched_at"])[:10] <= "2024-12-31"}
    assert dated and urls(search(archive, "the", "--since", "2024-01-01", "--until", "2024-12-31")[1]) == dated


def test_chinese_and_japanese_are_searchable(archive):
    for site in ("people.com.cn", "nikkei.com"):
        line = next(a for a in articles(archive) if site.split(".")[0] in a["url"].lower())
        run = max(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]{4,}", line["text"]), key=len)[:4]
        hits = search(archive, run)[1]
        assert line["url"] in urls(hits), run
        assert all(run in a["text"] or run in (a.get("title") or "") for a in articles(archive)
                   if a["url"] in urls(hits))


def test_latest_version_unless_all_versions(archive, news_server):
    url = news_server.url(CHANGING)
    assert search(archive, "quince")[1][0]["url"] == url
    code, hits, _ = search(archive, "marmalade")
    assert (code, hits) == (1, [])
    old = search(archive, "marmalade", "--all-versions")[1]
    assert [(hit["url"], hit["version"]) for hit in old] == [(url, 1)]
    assert sorted(hit["version"] for hit in search(archive, "prices", "--all-versions")[1] if hit["url"] == url) == [1, 2]


def test_a_crawl_is_searchable_when_it_ends(news_server, tmp_path):
    root = tmp_path / "archive"
    news_server.set_page("/fresh/1", page("Fresh tram story", ["A zeppelin hangar is planned."] + PARAS))
    result = run_crawler("ingest", "--allow-private", "--archive", str(root), news_server.url("/fresh/1"))
    assert result.code == 0, result.stderr
    json_file = next((root / "json").iterdir()).name
    with sqlite3.connect(root / "index" / "search.sqlite3") as conn:  # before any search runs
        assert [row[0] for row in conn.execute("SELECT name FROM files")] == [json_file]
        assert conn.execute("SELECT count(*) FROM fts WHERE fts MATCH 'zeppelin'").fetchone()[0] == 1
    code, hits, stderr = search(root, "zeppelin")
    assert code == 0 and urls(hits) == {news_server.url("/fresh/1")} and "built" not in stderr


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("query,message", [
    ("", "the query is empty"), ('"Silicon Valley', "unbalanced quotes"), ("NOT Putin", "NOT needs a term"),
    ("Putin OR", "needs a term after it"), ("(Putin OR", "unbalanced parentheses"),
    ("Putin)", "unbalanced parentheses"), ("!!! ...", "no word to search for"),
])
def test_bad_queries_get_one_clear_line(archive, query, message):
    result = run_crawler("search", "--archive", str(archive), query)
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith("crawler search: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_punctuation_in_words_is_searched_not_a_syntax_error(archive):
    code, hits, stderr = search(archive, "U.S.")
    assert code in (0, 1) and "Traceback" not in stderr


def copy_archive(archive: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(archive, dest, symlinks=True)
    return dest


def test_missing_index_is_built_on_first_use(archive, tmp_path):
    root = copy_archive(archive, tmp_path / "copy")
    (root / "index" / "search.sqlite3").unlink()
    code, hits, stderr = search(root, "Putin")
    assert code == 0 and urls(hits) == expected(root, lambda ws: "putin" in ws)
    assert "had no search index: built it" in stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_index_is_rebuilt(archive, tmp_path, damage):
    root = copy_archive(archive, tmp_path / "copy")
    db = root / "index" / "search.sqlite3"
    if damage == "garbage":
        db.write_bytes(b"this is not an index\n" * 500)
    else:
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    code, hits, stderr = search(root, "Putin")
    assert "Traceback" not in stderr and "rebuil" in stderr
    assert code == 0 and urls(hits) == expected(root, lambda ws: "putin" in ws)


def test_index_command_rebuilds_both_indexes(archive, tmp_path):
    root = copy_archive(archive, tmp_path / "copy")
    result = run_crawler("index", str(root))
    assert result.code == 0, result.stderr
    assert "index.cdxj: rebuilt" in result.stdout and "search.sqlite3: rebuilt" in result.stdout
    assert urls(search(root, "Putin")[1]) == expected(root, lambda ws: "putin" in ws)


# -- story -----------------------------------------------------------------------------------------
def story(root: Path, url: str) -> dict:
    result = run_crawler("story", "--archive", str(root), "--json", "--diff", url)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_story_lists_the_same_article_in_another_template_as_similar(archive, news_server):
    original = news_server.url(corpus_path("restofworld.org", "RestOfWorld_2025_10_21"))
    found = story(archive, original)
    assert set(found) == {"article", "versions", "citations", "cited_by", "similar"}
    assert [s["url"] for s in found["similar"]] == [news_server.url(WRAPPED)]
    assert found["similar"][0]["similarity"] >= 0.5
    back = story(archive, news_server.url(WRAPPED))
    assert [s["url"] for s in back["similar"]] == [original]
    for other in (corpus_path("dw.com", "DW_2024_01_30"), CITING, corpus_path("nikkei.com", "Nikkei_2025_01_27")):
        assert story(archive, news_server.url(other))["similar"] == []


def test_story_citations_cited_by_and_versions(archive, news_server):
    dw = news_server.url(corpus_path("dw.com", "DW_2024_01_30"))
    citing = story(archive, news_server.url(CITING))
    states = {c["url"]: c for c in citing["citations"]}
    assert states[dw]["state"] == "archived" and states[dw]["title"].startswith("Russland-Wahl")
    gone = states[news_server.url("/status/404")]
    assert gone["state"] == "archived, no article" and gone["status"] == 404 and gone["reason"]
    assert states[news_server.url("/reports/2024/never-fetched")]["state"] == "not archived"
    assert [c["url"] for c in story(archive, dw)["cited_by"]] == [news_server.url(CITING)]
    changing = story(archive, news_server.url(CHANGING))
    assert [v["version"] for v in changing["versions"]] == [1, 2]
    assert "-The first estimate said marmalade prices." in changing["versions"][1]["diff"]
    assert "quince" in changing["article"]["text"]


def test_story_of_an_unknown_url(archive):
    result = run_crawler("story", "--archive", str(archive), "https://example.org/never")
    assert result.code == 1 and result.stderr.startswith("crawler story: no archived article")


# -- export ----------------------------------------------------------------------------------------
def expected_row(line: dict, schema) -> dict:
    def fit(value, kind):
        import pyarrow as pa

        if value is None:
            return None
        if pa.types.is_struct(kind):
            return {kind.field(i).name: fit(value.get(kind.field(i).name), kind.field(i).type)
                    for i in range(kind.num_fields)}
        return value

    return {field.name: fit(line.get(field.name), field.type) for field in schema}


def test_parquet_export_equals_the_json_lines(archive, tmp_path):
    out = tmp_path / "articles.parquet"
    result = run_crawler("export", str(archive), "--format", "parquet", "-o", str(out))
    assert result.code == 0, result.stderr
    table = pq.read_table(out)
    schema = arrow_schema()
    assert table.schema.names == schema.names
    assert str(table.schema.field("authors").type) == "list<element: string>"
    assert table.to_pylist() == [expected_row(line, schema) for line in articles(archive, latest=False)]
    latest = tmp_path / "latest.parquet"
    assert run_crawler("export", str(archive), "-o", str(latest), "--latest").code == 0
    rows = pq.read_table(latest).to_pylist()
    assert sorted(r["url"] for r in rows) == sorted(line["url"] for line in articles(archive))
    assert next(r for r in rows if r["url"].endswith(CHANGING))["version"] == 2


def test_csv_and_jsonl_exports_with_filters(archive, tmp_path):
    out = tmp_path / "de.csv"
    result = run_crawler("export", "--archive", str(archive), "-o", str(out), "--lang", "de")
    assert result.code == 0, result.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    want = [line for line in articles(archive, latest=False) if line.get("language") == "de"]
    assert [r["url"] for r in rows] == [line["url"] for line in want] and want
    assert [json.loads(r["authors"]) for r in rows] == [line["authors"] for line in want]
    out = tmp_path / "all.jsonl"
    assert run_crawler("export", str(archive), "-o", str(out), "--since", "2024-01-01", "--until", "2024-12-31").code == 0
    got = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
    assert got == [line for line in articles(archive, latest=False)
                   if "2024-01-01" <= (line.get("published") or line["fetched_at"])[:10] <= "2024-12-31"] and got


def test_export_usage_errors(archive, tmp_path):
    result = run_crawler("export", str(archive), "-o", str(tmp_path / "x.xlsx"))
    assert result.code == 2 and "--format" in result.stderr
    result = run_crawler("export", str(archive), "-o", str(tmp_path / "no" / "x.csv"))
    assert result.code == 2 and "is not a folder" in result.stderr
    result = run_crawler("export", str(archive), "-o", str(tmp_path / "x.csv"), "--since", "someday")
    assert result.code == 2 and result.stderr.startswith("crawler export: --since")
