"""crawler.extract.article.extract: contract, clean text, metadata, bad input, real corpus pages."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import socket
from pathlib import Path

import pytest
import trafilatura

from crawler.config import extract_options
from crawler.extract.article import EXTRACTOR_VERSION, RESULT_KEYS, ExtractOptions, extract

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
CORPUS = Path(os.environ.get("NEWS_CORPUS", "/work/shared/corpus")) / "pages"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="dev corpus not available")


def squash(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


# --- hand-written news pages --------------------------------------------------------------------
# Each language twice: with telling class names/ids ("named") and with meaningless ones
# ("opaque", e.g. class="x1 y2"). Consent banner before the article; newsletter box and
# "recommended" block inside it; comment form after it; bylines and reading time.

EN_BODY = [
    "Container traffic through Rotterdam, Europe's largest port, stood still",
    "The walkout was called by the FNV union after talks with terminal operators",
    '"Nobody here is against new technology," said Niels de Vries',
    "The port authority said the disruption was costing shippers",
    "The dispute centres on the second phase of an automation scheme",
    "Researchers at Erasmus University estimated last year",
    "Terminal operator Hutchison Ports ECT Rotterdam said in a statement",
    "Economists warned that a prolonged stoppage would ripple",
    "The strike is scheduled to last until Saturday morning.",
]
EN_BOILERPLATE = [
    "cookies",
    "Accept All",
    "Reject All",
    "Manage preferences",
    "newsletter",
    "inbox",
    "Sign up",
    "Terms of Use",
    "unsubscribe",
    "Recommended",
    "Related",
    "Antwerp volumes climb",
    "Red Sea attacks",
    "Leave a comment",
    "will not be published",
    "Post comment",
    "5 min read",
    "By Maria Jansen",
    "Photo:",
    "Share this article",
    "All rights reserved",
    "Facebook",
]
DE_BODY = [
    "Betreiber großer Rechenzentren in Deutschland müssen ihre Abwärme",
    "Der Branchenverband Bitkom hält die Vorgaben für schwer umsetzbar.",
    "Das Bundeswirtschaftsministerium verweist dagegen auf Pilotprojekte",
    "Offen ist, wer die Leitungen zwischen Rechenzentrum und Wärmenetz bezahlt.",
    "Nach Angaben des Borderstep Instituts verbrauchten Rechenzentren",
    "Die Bundesnetzagentur soll bis Ende des Jahres ein Register aufbauen",
]
DE_BOILERPLATE = [
    "Cookies",
    "Alle akzeptieren",
    "Privatsphäre",
    "Jetzt Newsletter abonnieren",
    "Postfach",
    "Mit Klick auf",
    "erkläre ich mich",
    "Aufklappen für Details zu Ihrer Einwilligung",
    "Datenschutzerklärung",
    "Mehr zum Thema",
    "Stromverbrauch von Rechenzentren steigt weiter",
    "(ID:50498820)",
    "Anbieter zum Thema",
    "Hinterlasse einen Kommentar",
    "nicht veröffentlicht",
    "1 min Lesedauer",
    "Von Anna Schmidt",
    "Teilen",
    "Impressum",
]
ID_BODY = [
    "Pemerintah memutuskan membuka impor beras sebanyak 500.000 ton",
    "Kepala Badan Pangan Nasional mengatakan impor akan dilakukan",
    "Kenaikan harga dipicu oleh mundurnya musim panen",
    "Para pedagang di Pasar Induk Beras Cipinang mengaku",
    "Ekonom dari Institute for Development of Economics and Finance menilai",
    "Badan Pusat Statistik mencatat beras menyumbang inflasi terbesar",
]
ID_BOILERPLATE = [
    "cookie",
    "Terima semua",
    "Tetap terinformasi dengan pembaruan gratis",
    "Cukup daftar untuk",
    "myFT Digest",
    "kotak masuk",
    "Disarankan",
    "Bulog gelar operasi pasar",
    "Baca juga",
    "Tinggalkan komentar",
    "tidak akan dipublikasikan",
    "Oleh Budi Santoso",
    "Foto:",
]

CASES = {
    "en_named": ("en", EN_BODY, EN_BOILERPLATE, ["Maria Jansen", "Tom Evers"]),
    "en_opaque": ("en", EN_BODY, EN_BOILERPLATE, ["Maria Jansen", "Tom Evers"]),
    "de_named": ("de", DE_BODY, DE_BOILERPLATE, ["Anna Schmidt"]),
    "de_opaque": ("de", DE_BODY, DE_BOILERPLATE, ["Anna Schmidt"]),
    "id_named": ("id", ID_BODY, ID_BOILERPLATE, ["Budi Santoso"]),
    "id_opaque": ("id", ID_BODY, ID_BOILERPLATE, ["Budi Santoso"]),
}
CITED = {
    "en": ["https://www.eur.nl/en/research/port-automation-study"],
    "de": ["https://www.borderstep.de/publikationen/rechenzentren-2023/"],
    "id": ["https://www.indef.or.id/riset/pangan-2024"],
}
TITLES = {
    "en": "Port strike halts container traffic in Rotterdam for a second day",
    "de": "Abwärme aus Rechenzentren soll ab 2026 Pflicht werden",
    "id": "Harga beras naik lagi, pemerintah buka impor 500.000 ton",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.html").read_bytes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_keeps_every_body_paragraph_and_no_boilerplate(name: str) -> None:
    language, body, boilerplate, authors = CASES[name]
    result = extract(
        fixture(name), "https://news.example.org/story?utm_source=rss", content_type="text/html"
    )
    assert result["reason"] is None
    text = squash(result["text"])
    for paragraph in body:
        assert squash(paragraph) in text, paragraph
    for phrase in boilerplate:
        assert squash(phrase) not in text, phrase
    assert len(result["text"].split("\n\n")) >= len(body)
    assert result["authors"] == authors
    assert result["title"] == TITLES[language]
    assert result["language"] == language
    assert result["links"] == CITED[language]


@pytest.mark.parametrize("name", ["en_opaque", "de_opaque", "id_opaque"])
def test_plain_trafilatura_keeps_boilerplate_of_opaque_pages(name: str) -> None:
    # the fixtures are a real test: without our layers the boilerplate gets through
    _, _, boilerplate, _ = CASES[name]
    plain = squash(trafilatura.extract(fixture(name)))
    assert sum(squash(phrase) in plain for phrase in boilerplate) >= 3


def test_sentences_about_cookies_newsletters_and_comments_are_kept() -> None:
    result = extract(
        fixture("en_prose_mentions"), "https://policy.example.com/fines", content_type="text/html"
    )
    html = fixture("en_prose_mentions").decode()
    paragraphs = re.findall(r"<p>(.*?)</p>", html)
    assert len(paragraphs) == 7
    text = squash(result["text"])
    for paragraph in paragraphs:
        assert squash(paragraph.replace("&amp;", "&")) in text
    assert result["authors"] == ["Priya Raman"]


def test_named_fixture_metadata() -> None:
    result = extract(
        fixture("en_named"), "https://news.example.org/x?utm_source=rss", content_type="text/html"
    )
    assert result["published"] == "2024-03-07T08:15:00+01:00"
    assert result["modified"] == "2024-03-07T11:40:00+01:00"
    assert result["site_name"] == "The Harbour Gazette"
    assert (
        result["canonical_url"]
        == "https://news.example.org/business/2024/03/07/rotterdam-port-strike"
    )
    assert result["tags"] == ["shipping", "labour", "Netherlands"]
    assert result["language_source"] == "html"
    assert result["paywalled"] is False
    assert result["description"].startswith("Dock workers walked out")


def test_extraction_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("extraction tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for name in CASES:
        assert extract(fixture(name), "https://news.example.org/a")["reason"] is None
    undeclared = fixture("id_opaque").replace(b'<html lang="id">', b"<html>")
    assert extract(undeclared, "https://warta.example.id/a")["language_source"] == "detected"


# --- contract -----------------------------------------------------------------------------------


def test_result_has_exactly_the_contract_keys() -> None:
    result = extract(fixture("en_named"), "https://news.example.org/a", content_type="text/html")
    assert tuple(result) == RESULT_KEYS
    assert set(result) == {
        "title",
        "authors",
        "published",
        "modified",
        "language",
        "language_source",
        "site_name",
        "description",
        "tags",
        "canonical_url",
        "text",
        "word_count",
        "links",
        "citations",
        "paywalled",
        "teaser",
        "text_digest",
        "reason",
        "error",
    }
    assert isinstance(result["word_count"], int) and result["word_count"] > 300
    assert re.fullmatch(r"sha1:[0-9a-f]{40}", result["text_digest"])
    assert "\n\n" in result["text"] and "\n\n\n" not in result["text"]
    json.dumps(result)
    assert re.fullmatch(r"\d+\.\d+\.\d+", EXTRACTOR_VERSION)


def test_extract_is_deterministic_and_reuses_options() -> None:
    options = ExtractOptions()
    first = extract(fixture("de_named"), "https://www.example.de/a", options=options)
    second = extract(fixture("de_named"), "https://www.example.de/a", options=options)
    assert first == second


def test_options_pickle_for_worker_processes() -> None:
    options = ExtractOptions(min_words=3, focus="precision")
    copy = pickle.loads(pickle.dumps(options))
    assert copy == options
    assert (
        extract(fixture("id_named"), "https://warta.example.id/a", options=copy)["reason"] is None
    )


def test_options_are_frozen() -> None:
    with pytest.raises(AttributeError):
        ExtractOptions().min_words = 3  # type: ignore[misc]


def test_options_from_settings() -> None:
    from scrapy.settings import Settings

    options = extract_options(
        Settings(
            {
                "EXTRACT_MIN_WORDS": "20",
                "EXTRACT_FOCUS": "Precision",
                "EXTRACT_CLEAN_DOM": "false",
                "EXTRACT_BOILERPLATE_LANGUAGES": "en,de",
            }
        )
    )
    assert options.min_words == 20 and options.focus == "precision" and options.clean_dom is False
    assert options.boilerplate_languages == ("en", "de")
    assert extract_options(Settings()) == ExtractOptions()


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"EXTRACT_MIN_WORDS": "many"}, "EXTRACT_MIN_WORDS"),
        ({"EXTRACT_MIN_WORDS": "-1"}, "EXTRACT_MIN_WORDS"),
        ({"EXTRACT_FOCUS": "speed"}, "EXTRACT_FOCUS"),
        ({"EXTRACT_DETECT_LANGUAGE": "perhaps"}, "EXTRACT_DETECT_LANGUAGE"),
        ({"EXTRACT_FALLBACK": "sometimes"}, "EXTRACT_FALLBACK"),
        ({"EXTRACT_BOILERPLATE_LANGUAGES": "en,xx"}, "EXTRACT_BOILERPLATE_LANGUAGES"),
    ],
)
def test_bad_settings_name_the_setting(settings: dict, name: str) -> None:
    from scrapy.settings import Settings

    with pytest.raises(ValueError, match=name):
        extract_options(Settings(settings))


def test_switching_the_layers_off_gives_plain_trafilatura_text_back() -> None:
    options = ExtractOptions(clean_dom=False, clean_text=False)
    text = extract(fixture("de_opaque"), "https://www.example.de/a", options=options)["text"]
    assert "Jetzt Newsletter abonnieren" in text


# --- bad input: a reason, never an exception ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "text/html", "empty"),
        (b"   \n\t ", None, "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf", "not_html"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "not_html"),
        (b"<html><body><p>Hello</p></body></html>", "application/json", "not_html"),
        (bytes(range(256)) * 40, None, "not_html"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "text/html", None),
        (
            b"<html><body><article><p>Too short to be news.</p></article></body></html>",
            "text/html",
            None,
        ),
    ],
)
def test_bad_input_gets_a_reason(body: bytes, content_type: str | None, reason: str | None) -> None:
    result = extract(body, "https://example.org/x", content_type=content_type)
    assert tuple(result) == RESULT_KEYS
    if reason is None:
        assert result["reason"] in ("too_short", "no_article")
    else:
        assert result["reason"] == reason
    assert result["text"] is None and result["word_count"] == 0 and result["text_digest"] is None


def test_too_short_keeps_metadata() -> None:
    html = (
        b"<html lang='en'><head><title>Brief | Example News</title>"
        b"<meta property='og:site_name' content='Example News'></head>"
        b"<body><article><h1>Brief</h1><p>Markets closed higher.</p></article></body></html>"
    )
    result = extract(html, "https://example.org/brief", content_type="text/html")
    assert result["reason"] in ("too_short", "no_article")
    assert result["site_name"] == "Example News" and result["language"] == "en"


def test_broken_html_and_wrong_charset_do_not_raise() -> None:
    body = fixture("de_named")
    truncated = extract(
        body[: len(body) // 2], "https://www.example.de/a", content_type="text/html"
    )
    assert truncated["reason"] is None
    # UTF-8 bytes served as latin-1: decoded as UTF-8 anyway (valid multi-byte UTF-8 is no accident)
    wrong = extract(body, "https://www.example.de/a", content_type="text/html; charset=iso-8859-1")
    assert "Abwärme" in wrong["text"]
    latin1 = (
        body.decode("utf-8")
        .replace('charset="utf-8"', 'charset="iso-8859-1"')
        .encode("latin-1", "replace")
    )
    assert (
        "Abwärme" in extract(latin1, "https://www.example.de/a", content_type="text/html")["text"]
    )
    garbage = extract(b"<html><body>\xff\xfe<p>\x00\x01 broken <b><i></p></div>", "https://x.org/")
    assert garbage["reason"] is not None


def test_language_is_detected_when_undeclared() -> None:
    html = fixture("de_opaque").replace(b'<html lang="de">', b"<html>")
    result = extract(html, "https://www.example.de/a", content_type="text/html")
    assert (result["language"], result["language_source"]) == ("de", "detected")


def test_paywall_teaser_is_flagged() -> None:
    html = (
        '<html lang="de"><head><title>Teaser</title><script type="application/ld+json">'
        '{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Teaser",'
        ' "isAccessibleForFree": false}</script></head><body><article><h1>Teaser</h1>'
        "<p>Die Stadt will bis 2030 klimaneutral werden. Doch der Plan hat Lücken, wie interne "
        "Unterlagen zeigen, die unserer Redaktion vorliegen. Demnach fehlen Milliarden.</p>"
        '<div class="x3"><p>Dieser Artikel ist exklusiv für Abonnenten.</p>'
        "<a href='/abo'>Jetzt abonnieren</a></div></article></body></html>"
    ).encode()
    result = extract(html, "https://zeitung.example.de/a", content_type="text/html")
    assert result["paywalled"] is True
    assert "Abonnenten" not in (result["text"] or "")


# --- real recorded pages -----------------------------------------------------------------------


def corpus_page(name: str) -> tuple[dict, dict]:
    truth = json.loads((CORPUS / f"{name}.truth.json").read_text(encoding="utf-8"))
    body = gzip.decompress((CORPUS / name).parent.joinpath(truth["html_file"]).read_bytes())
    return truth, extract(body, truth["url"], content_type="text/html")


def snippet_pages() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        f"{p.parent.name}/{p.name.removesuffix('.truth.json')}"
        for p in CORPUS.glob("*/*.truth.json")
        if json.loads(p.read_text(encoding="utf-8")).get("must_not_contain")
    )


# must_contain snippets that plain trafilatura misses too: tagesspiegel's lead sits in the
# article header next to the <h1>, where trafilatura does not look
MISSED_BY_TRAFILATURA = {"Die Ideen reichen vom Spuckschutz bis zur Kontrolle d"}


@needs_corpus
@pytest.mark.parametrize("name", snippet_pages())
def test_corpus_snippets(name: str) -> None:
    truth, result = corpus_page(name)
    text = squash(result["text"])
    for snippet in truth["must_not_contain"]:
        assert squash(snippet) not in text, snippet
    html = gzip.decompress((CORPUS / name).parent.joinpath(truth["html_file"]).read_bytes())
    body = squash(html.decode("utf-8", "replace").partition("<body")[2])
    for snippet in truth["must_contain"]:
        if squash(snippet) in body and snippet not in MISSED_BY_TRAFILATURA:
            assert squash(snippet) in text, snippet


# boilerplate that plain trafilatura or the raw page shows on these pages
CORPUS_BOILERPLATE = {
    "dw.com/DW_2023_04_28": ["Wir verwenden Cookies"],
    "dw.com/traf_dw.com.colonial": ["We use cookies"],
    "dw.com/traf_dw.com-elephants": ["Nous utilisons des cookies"],
    "reuters.com/Reuters_2023_05_16": ["Manage Consent Preferences", "Strictly Necessary"],
    "financialpost.com/FinancialPost_2026_06_06": ["Notice for the Postmedia Network"],
    "golem.de/Golem_2024_04_28": ["Melde dich zu unserem IT-Newsletter an"],
    "theintercept.com/TheIntercept_2024_02_28": ["Join Our Newsletter"],
    "independent.co.uk/TheIndependent_2024_11_22": ["For free real time breaking news alerts"],
    "malaymail.com/MalayMail_2024_11_22": ["Subscribe to Newsletter"],
    "businessinsider.com/BusinessInsider_2024_02_14": ["Sign up to get the inside scoop"],
    "japannews.yomiuri.co.jp/TheJapanNews_2024_10_13": ["This website uses cookies"],
    "zeit.de/DieZeit_2023_04_28": ["Externer Inhalt"],
    "taz.de/Taz_2023_04_28": ["Kommentar"],
    "apnews.com/APNews_2024_09_03": ["Sign up for AP’s weekly politics newsletter"],
    "zdf.de/ZDF_2024_04_22": ["Ein Klick für den Datenschutz"],
}


@needs_corpus
@pytest.mark.parametrize("name", sorted(CORPUS_BOILERPLATE))
def test_corpus_boilerplate_is_gone(name: str) -> None:
    _, result = corpus_page(name)
    assert result["reason"] is None
    for phrase in CORPUS_BOILERPLATE[name]:
        assert squash(phrase) not in squash(result["text"]), phrase


@needs_corpus
def test_ft_2024_newsletter_promo_is_gone() -> None:
    _, result = corpus_page("ft.com/metascraper_ft_2024capture")
    text = squash(result["text"])
    assert "roula khalaf" not in text and "editor's digest" not in text.replace("’", "'")
    assert "when she thinks back over the time she spent raising business funding" in text
    assert result["word_count"] > 600


@needs_corpus
@pytest.mark.parametrize(
    "name",
    [
        "dw.com/DW_2023_04_28",
        "dw.com/DW_2023_06_13",
        "dw.com/DW_2024_01_30",
        "dw.com/DW_hist_2023_03_habeck",
        "dw.com/DW_hist_2023_03_libanon",
    ],
)
def test_dw_title_suffix_is_stripped(name: str) -> None:
    truth, result = corpus_page(name)
    assert result["title"] == truth["title"].strip()
    assert not re.search(r"\bDW\b|\d{2}\.\d{2}\.\d{4}", result["title"])


@needs_corpus
def test_dw_date_is_the_pages_own() -> None:
    # htmldate alone picks 24.04.2023, a teaser's date; the page says 28.04.2023 in its title
    _, result = corpus_page("dw.com/DW_2023_04_28")
    assert result["published"].startswith("2023-04-28")


@needs_corpus
def test_reuters_json_ld_date_wins() -> None:
    _, result = corpus_page("reuters.com/traf_reuters.com.parasite")
    assert result["published"].startswith("2020-01-19")
    assert result["modified"].startswith("2020-01-20")


@needs_corpus
def test_corpus_encodings() -> None:
    # real ISO-8859-1 page; and a UTF-8 page that declares GB2312
    _, bz = corpus_page("badische-zeitung.de/traf_badische-zeitung.de-Wohnungssuche")
    assert "ä" in bz["text"] and "Ã" not in bz["text"]
    _, people = corpus_page("people.com.cn/People_2024_04_24")
    assert "航天" in people["title"] and people["word_count"] > 500


@needs_corpus
def test_corpus_paywall_teaser_and_full_paywalled_text() -> None:
    _, teaser = corpus_page("badische-zeitung.de/traf_badische-zeitung.de-Wohnungssuche")
    assert teaser["paywalled"] is True
    assert teaser["teaser"] is True
    # JSON-LD isAccessibleForFree=false: paywalled as the publisher declares, though the whole
    # article is there (not a teaser)
    _, ft = corpus_page("ft.com/omnivore_ft.com")
    assert ft["paywalled"] is True and ft["teaser"] is False and ft["word_count"] > 500


@needs_corpus
def test_corpus_canonical_url_drops_rss_parameters() -> None:
    _, result = corpus_page("restofworld.org/RestOfWorld_2025_10_21")
    assert result["canonical_url"].startswith("https://restofworld.org/")
    assert "utm_" not in result["canonical_url"]


@needs_corpus
def test_fallback_extractors_are_on_by_default_and_can_be_switched_off() -> None:
    # On this recorded Spiegel page trafilatura's own extraction keeps the lead only; its
    # fallback extractors find the whole article. EXTRACT_FALLBACK=False trades that for speed.
    from scrapy.settings import Settings

    name = "spiegel.de/traf_spiegel.de.albtraum"
    truth, whole = corpus_page(name)
    body = gzip.decompress((CORPUS / name).parent.joinpath(truth["html_file"]).read_bytes())
    fast_options = extract_options(Settings({"EXTRACT_FALLBACK": "false"}))
    fast = extract(body, truth["url"], content_type="text/html", options=fast_options)
    for snippet in truth["must_contain"]:
        assert squash(snippet) in squash(whole["text"]), snippet
    assert whole["word_count"] > 2000
    assert fast["word_count"] < whole["word_count"] / 5
    assert sum(squash(s) in squash(fast["text"] or "") for s in truth["must_contain"]) < len(truth["must_contain"])


# --- metadata where pages mislead (issue 23) -------------------------------------------------


def page(head: str, body: str, lang: str = "en") -> bytes:
    return (
        f'<html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'
    ).encode()


def ld(data: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


EN_PARAGRAPHS = "".join(
    f"<p>{sentence} The port authority said the disruption was costing shippers millions of "
    "euros a day, and that talks would resume on Thursday in Rotterdam.</p>"
    for sentence in EN_BODY
)
DE_PARAGRAPHS = "".join(
    f"<p>{sentence} Das Ministerium verweist auf Pilotprojekte in Frankfurt und Berlin, die "
    "seit zwei Jahren laufen und deren Ergebnisse bis zum Sommer vorliegen sollen.</p>"
    for sentence in DE_BODY
)
ID_PARAGRAPHS = "".join(
    f"<p>{sentence} Menurut data pemerintah, harga beras medium di pasar tradisional naik "
    "tajam sejak awal bulan dan belum menunjukkan tanda akan turun dalam waktu dekat.</p>"
    for sentence in ID_BODY
)


def test_credit_line_in_a_sidebar_beats_the_publisher_in_meta() -> None:
    # dw.com's old layout: meta author is the publisher; the sidebar says "Autorin/Autor X"
    html = page(
        '<title>Abwärme | DW | 28.04.2023</title><meta name="author" content="Deutsche Welle '
        '(www.dw.com)"><meta property="og:site_name" content="DW.COM">',
        f"<article><h1>Abwärme aus Rechenzentren</h1>{DE_PARAGRAPHS}</article>"
        "<aside><ul><li><strong>Datum</strong> 28.04.2023</li><li><strong>Autorin/Autor"
        "</strong> Anna Muster</li></ul></aside>",
        "de",
    )
    assert extract(html, "https://www.dw.com/de/a-1")["authors"] == ["Anna Muster"]


def test_editor_named_in_json_ld_is_not_the_author() -> None:
    # mediaindonesia.com: JSON-LD's Person is the editor the page shows as "Editor : X"
    html = page(
        ld({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Harga beras",
            "author": {"@type": "Person", "name": "Heryadi", "jobTitle": "Jurnalis"},
            "datePublished": "2026-01-20T18:33:13+07:00"}),
        f"<article><h1>Harga beras naik lagi</h1><div class='author-2'>Naufal Zuhdi</div>"
        f"{ID_PARAGRAPHS}<div class='info-author'>Editor : <a class='author' href='/author/112'>"
        "Heryadi</a></div></article>",
        "id",
    )
    result = extract(html, "https://mediaindonesia.com/ekonomi/1/harga-beras")
    assert result["authors"] == ["Naufal Zuhdi"]
    assert "Editor" not in result["text"] and "Heryadi" not in result["text"]


def test_organisation_is_no_author_while_a_person_is_named_and_agencies_keep_their_spelling() -> None:
    base = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Port strike"}
    article = f"<article><h1>Port strike halts Rotterdam</h1>{EN_PARAGRAPHS}</article>"
    org = ld({**base, "author": {"@type": "Organization", "name": "Harbour Gazette"},
              "publisher": {"@type": "Organization", "name": "Harbour Gazette"}})
    byline = article.replace("<h1>Port strike halts Rotterdam</h1>",
                             "<h1>Port strike halts Rotterdam</h1><p>By Maria Jansen and Tom Evers</p>")
    url = "https://news.example.org/a"
    assert extract(page(org, byline), url)["authors"] == ["Maria Jansen", "Tom Evers"]
    assert extract(page(org, article), url)["authors"] == ["Harbour Gazette"]
    agency = ld({**base, "author": {"@type": "Person", "name": "DPA "}})
    assert extract(page(agency, article), url)["authors"] == ["dpa"]
    handle = '<meta property="article:author" content="mjansen"><meta name="author" content="Afp">'
    assert extract(page(handle, article), url)["authors"] == ["AFP"]


def test_vietnamese_signoff_is_the_author_not_text() -> None:
    html = page(
        ld({"@context": "http://schema.org", "@type": "NewsArticle", "headline": "Đau bụng",
            "author": {"@type": "Organization", "name": "VnExpress"}}),
        "<article><h1>Đau bụng kéo dài, phát hiện ung thư</h1>"
        + "".join(
            f"<p class='Normal'>Người đàn ông 63 tuổi đau bụng kéo dài {i}, bác sĩ chẩn đoán ung "
            "thư lymphoma ruột non, căn bệnh ít gặp trong hệ tiêu hóa theo các chuyên gia.</p>"
            for i in range(8)
        )
        + "<p class='Normal' style='text-align:right;'><strong>Lê Phương</strong></p></article>",
        "vi",
    )
    result = extract(html, "https://vnexpress.net/a-1.html")
    assert result["authors"] == ["Lê Phương"] and "Lê Phương" not in result["text"]


def test_chinese_editors_are_not_authors_and_copyright_is_no_site_name() -> None:
    text = "".join(
        f"<p>新华社北京4月24日电 第{i}段：国家主席习近平向首届中拉航天合作论坛致贺信，指出航天技术"
        "应当更好惠及人民，中方愿同拉美和加勒比国家一道深化合作。</p>"
        for i in range(8)
    )
    html = page(
        '<meta name="copyright" content="人民网版权所有"><title>促进航天技术更好惠及人民--时政--人民网</title>',
        f"<div class='rm_txt_con'><h1>促进航天技术更好惠及人民</h1>{text}"
        "<div class='edit cf'>(责编：牛镛、岳弘彬)</div><p class='paper_num'><em>分享让更多人看到"
        "</em></p></div>",
        "zh-CN",
    )
    result = extract(html, "http://politics.people.com.cn/n1/2024/0424/c1001-40223222.html")
    assert result["authors"] == []
    assert result["site_name"] == "politics.people.com.cn"
    assert "责编" not in result["text"] and "分享" not in result["text"]


def test_time_of_day_and_offset_are_kept() -> None:
    article = f"<article><h1>Abwärme aus Rechenzentren</h1>{DE_PARAGRAPHS}</article>"
    # faz.net gives the time only in a <time> element; htmldate alone finds the day
    faz = page("<title>Abwärme</title>", article.replace(
        "</h1>", '</h1><time datetime="2023-04-28T19:20:36+0200">28.04.2023</time>'), "de")
    assert extract(faz, "https://www.faz.net/a.html")["published"] == "2023-04-28T19:20:36+02:00"
    # microdata (telegraph.co.uk), and a space before the offset (euronews.com)
    micro = page("", article.replace(
        "</h1>", '</h1><time itemprop="datePublished" datetime="2023-08-30T16:45+0100">30 Aug</time>'))
    assert extract(micro, "https://example.org/a")["published"] == "2023-08-30T16:45:00+01:00"
    spaced = page(ld({"@type": "NewsArticle", "datePublished": "2024-04-30 16:38:37 +02:00"}), article)
    assert extract(spaced, "https://example.org/a")["published"] == "2024-04-30T16:38:37+02:00"
    # a date only when the page gives only a date
    bare = page('<meta property="article:published_time" content="2024-03-07">', article)
    assert extract(bare, "https://example.org/a")["published"] == "2024-03-07"



def test_a_bare_declared_date_takes_the_time_another_declaration_gives() -> None:
    article = f"<article><h1>Abwärme aus Rechenzentren</h1>{DE_PARAGRAPHS}</article>"
    # JSON-LD with the day only, the Open Graph tag with the time: the time is kept
    both = page(ld({"@type": "NewsArticle", "datePublished": "2024-05-01"})
                + '<meta property="article:published_time" content="2024-05-01T19:20:36+02:00">', article)
    assert extract(both, "https://example.org/a")["published"] == "2024-05-01T19:20:36+02:00"
    # ... but not a time of another day
    other = page(ld({"@type": "NewsArticle", "datePublished": "2024-05-01"})
                 + '<meta property="article:published_time" content="2024-05-02T08:00:00+02:00">', article)
    assert extract(other, "https://example.org/a")["published"] == "2024-05-01"
    # RFC 2822, as feeds and some CMSs write their meta tags
    rfc = page('<meta name="pubdate" content="Wed, 01 May 2024 19:20:00 +0200">', article)
    assert extract(rfc, "https://example.org/a")["published"] == "2024-05-01T19:20:00+02:00"
    # a zone name no parser knows (Java's "CEST"): the <time> element's offset wins
    java = page(ld({"@type": "NewsArticle", "datePublished": "Fri Apr 28 19:20:36 CEST 2023"}),
                article.replace("</h1>", '</h1><time datetime="2023-04-28T19:20:36+0200">28.04.</time>'))
    assert extract(java, "https://example.org/a")["published"] == "2023-04-28T19:20:36+02:00"
    # the modified time from microdata when JSON-LD and meta give none
    micro = page("", article.replace(
        "</h1>", '</h1><meta itemprop="datePublished" content="2024-05-01T19:20:00+02:00">'
                 '<meta itemprop="dateModified" content="2024-05-03T10:00:00+02:00">'))
    result = extract(micro, "https://example.org/a")
    assert result["published"] == "2024-05-01T19:20:00+02:00"
    assert result["modified"] == "2024-05-03T10:00:00+02:00"


def test_a_social_handle_in_the_author_meta_is_not_a_name() -> None:
    article = f"<article><h1>Abwärme aus Rechenzentren</h1>{DE_PARAGRAPHS}</article>"
    handle = page('<meta name="author" content="@janesmith">', article)
    assert extract(handle, "https://example.org/a")["authors"] == []
    named = page('<meta name="author" content="Jane Smith">', article)
    assert extract(named, "https://example.org/a")["authors"] == ["Jane Smith"]


@pytest.mark.parametrize(
    "declaration",
    [
        {"isAccessibleForFree": False},
        {"isAccessibleForFree": "False"},
        {"hasPart": {"@type": "WebPageElement", "isAccessibleForFree": "false",
                     "cssSelector": ".paywall"}},
    ],
)
def test_publisher_declared_paywall_with_the_whole_text(declaration: dict) -> None:
    html = page(ld({"@context": "https://schema.org", "@type": "NewsArticle", **declaration}),
                f"<article><h1>Port strike</h1>{EN_PARAGRAPHS}</article>")
    result = extract(html, "https://news.example.org/a")
    assert (result["paywalled"], result["teaser"], result["reason"]) == (True, False, None)
    free = html.replace(b"isAccessibleForFree", b"isAccessible")
    assert extract(free, "https://news.example.org/a")["paywalled"] is False


def test_the_open_graph_content_tier_locked_is_a_declared_paywall() -> None:
    body = f"<article><h1>Port strike</h1>{EN_PARAGRAPHS}</article>"
    for tier, paywalled in (("locked", True), ("metered", False), ("free", False)):
        html = page(f'<meta property="article:content_tier" content="{tier}">', body)
        assert extract(html, "https://news.example.org/a")["paywalled"] is paywalled, tier


def test_cdata_wrapped_json_ld_is_read() -> None:
    block = ('<script type="application/ld+json">//<![CDATA[\n{"@type": "NewsArticle", '
             '"datePublished": "2024-08-22T12:00:00+02:00", "author": {"@type": "Person", '
             '"name": "Shany Littman"}}\n//]]></script>')
    result = extract(page(block, f"<article><h1>Port strike</h1>{EN_PARAGRAPHS}</article>"),
                     "https://krautreporter.example/a")
    assert result["published"] == "2024-08-22T12:00:00+02:00"
    assert result["authors"] == ["Shany Littman"]


def test_extraction_failure_keeps_type_and_message_in_the_line() -> None:
    from crawler.pipeline.records import build_record
    from storage.schema import schema_errors

    # Scrapy hands header values over as bytes: a caller passing one on is a real mistake
    result = extract(fixture("en_named"), "https://news.example.org/a", content_type=b"text/html")
    assert result["reason"] == "extraction_error"
    assert result["error"].startswith("TypeError: ") and len(result["error"]) > 15
    item = {"source": "ingest", "url": "https://news.example.org/a",
            "final_url": "https://news.example.org/a", "fetched_at": "2024-03-07T08:00:00Z",
            "status": 200, "extraction": result}
    record = build_record(item, {"name": "newsarchive", "version": EXTRACTOR_VERSION})
    assert record["reason"] == "extraction_error" and record["error"] == result["error"]
    assert schema_errors(record) == []


@needs_corpus
@pytest.mark.parametrize(
    ("name", "authors"),
    [
        ("dw.com/DW_2023_04_28", ["Roman Goncharenko"]),
        ("dw.com/traf_dw.com-elephants", ["Kossivi Tiassou"]),
        ("vnexpress.net/VnExpress_2025_10_22", ["Lê Phương"]),
        ("mediaindonesia.com/MediaIndonesia_2026_01_20", ["Naufal Zuhdi"]),
        ("zeit.de/DieZeit_2023_04_28", ["dpa"]),
        ("theintercept.com/TheIntercept_2024_02_28", ["Nikita Mazurov"]),
        ("businessinsider.de/BusinessInsiderDE_2024_01_29", ["Matthew Loh"]),
        ("badische-zeitung.de/traf_badische-zeitung.de-Wohnungssuche", ["Lisa Petrich"]),
        ("bbc.co.uk/BBC_2024_08_01", ["BBC News"]),
    ],
)
def test_corpus_authors(name: str, authors: list[str]) -> None:
    truth, result = corpus_page(name)
    assert result["authors"] == authors == truth["authors"]


@needs_corpus
def test_corpus_nikkei_publisher_is_not_a_person_and_people_editors_are_not_authors() -> None:
    _, nikkei = corpus_page("nikkei.com/Nikkei_2025_01_27")
    assert "Nikkei Inc" not in nikkei["authors"]
    _, people = corpus_page("people.com.cn/People_2024_04_24")
    assert people["authors"] == [] and "版权" not in people["site_name"]
    assert "分享让更多人看到" not in people["text"] and "关注" not in people["text"].split("\n\n")


@needs_corpus
@pytest.mark.parametrize(
    "name",
    ["faz.net/FAZ_2023_04_28", "krautreporter.de/Krautreporter_2024_08_22",
     "telegraph.co.uk/TheTelegraph_2023_08_30", "euronews.com/EuronewsEN_2024_04_30"],
)
def test_corpus_published_to_the_minute(name: str) -> None:
    from datetime import datetime

    truth, result = corpus_page(name)
    assert len(result["published"]) > 10
    got, want = datetime.fromisoformat(result["published"]), datetime.fromisoformat(truth["date"])
    assert abs((got - want).total_seconds()) < 60


@needs_corpus
@pytest.mark.parametrize(
    "name",
    ["washingtonpost.com/WashingtonPost_2024_04_26", "reuters.com/Reuters_2024_03_07",
     "financialpost.com/FinancialPost_2026_06_06"],
)
def test_corpus_declared_paywall(name: str) -> None:
    _, result = corpus_page(name)
    assert result["paywalled"] is True and result["teaser"] is False and result["word_count"] > 300


@needs_corpus
@pytest.mark.parametrize(
    ("name", "leftover"),
    [
        ("financialpost.com/FinancialPost_2026_06_06", "• Email:"),
        ("financialpost.com/FinancialPost_2026_06_06", "Keep out of Tim Hortons"),
        ("faz.net/FAZ_2023_04_28", "Aktualisiert am"),
        ("faz.net/FAZ_2023_04_28", "Bild: Maximilian von Lachner"),
        ("heise.de/Heise_2024_04_19", "\n\n()\n\n"),
        ("mediaindonesia.com/MediaIndonesia_2026_01_20", "Headline"),
        ("zdf.de/ZDF_2024_04_22", "18.04.2024 | 0:21 min"),
        ("zdf.de/ZDF_2025_11_07", "in unserem Liveblog"),
    ],
)
def test_corpus_leftovers_are_gone(name: str, leftover: str) -> None:
    truth, result = corpus_page(name)
    assert leftover not in result["text"]
    paragraphs = truth["text"].split("\n\n")  # the body stays
    kept = sum(squash(p)[:80] in squash(result["text"]) for p in paragraphs)
    assert kept >= 0.8 * len(paragraphs)


@pytest.mark.parametrize(
    ("leftover", "lang", "where"),
    [
        # the author's addresses after the article (Postmedia: "• Email: ... | Twitter: ...")
        ("<p>• Email: jdoe@example.com | Twitter: @jdoe</p>", "en", "end"),
        ("<p>Contact the author: jane.doe@example-news.com</p>", "en", "end"),
        # a call to follow the site on social media
        ("<p>Follow us on Twitter and Facebook for the latest news.</p>", "en", "end"),
        # a pointer to another article: its label inline before its one link
        ("<p><strong>Read more:</strong> <a href='/other'>Why the port strike keeps spreading</a></p>",
         "en", "middle"),
        # the update line under the headline, with a dash left from its markup (faz.net)
        ("<p>- -Aktualisiert am 28.04.2023 - 19:20</p>", "de", "start"),
        ("<p>Updated: May 1, 2024, 7:20 PM EDT</p>", "en", "start"),
        # the agency's copyright under a syndicated story, a photo credit alone, an affiliate
        # disclosure, a call for tips
        (("<p>Copyright 2024 The Associated Press. All rights reserved. This material may not be "
          "published, broadcast, rewritten or redistributed.</p>"), "en", "end"),
        ("<p>Photo by Jane Doe/Getty Images</p>", "en", "middle"),
        (("<p>If you buy something using links in our stories, we may earn a commission. This helps "
          "support our journalism.</p>"), "en", "start"),
        ("<p>Have a news tip? Email us at tips@example.org</p>", "en", "end"),
    ],
)
def test_leftovers_of_the_page_around_the_article_are_left_out(leftover: str, lang: str, where: str) -> None:
    body = EN_PARAGRAPHS if lang == "en" else DE_PARAGRAPHS
    halves = body.split("</p>", 3)
    middle = "</p>".join(halves[:3]) + "</p>" + leftover + halves[3]
    article = {"start": leftover + body, "middle": middle, "end": body + leftover}[where]
    html = page("<title>Port strike</title>", f"<article><h1>Port strike spreads</h1>{article}</article>", lang)
    result = extract(html, "https://example.org/news/port-strike")
    words = re.sub(r"<[^>]+>", " ", leftover).split()
    assert " ".join(words[-3:]) not in result["text"]
    # every paragraph of the article stays
    for paragraph in re.findall(r"<p>(.*?)</p>", body):
        assert paragraph[:60] in result["text"]


def test_a_role_after_the_name_in_the_byline_is_no_second_author() -> None:
    article = f"<article><h1>Port strike spreads</h1><div class='byline'>Jane Smith, Senior Correspondent</div>{EN_PARAGRAPHS}</article>"
    result = extract(page("<title>Port strike</title>", article), "https://example.org/news/port-strike")
    assert result["authors"] == ["Jane Smith"]


@pytest.mark.parametrize(
    ("head", "byline", "authors"),
    [
        # a role or a desk given as the name, an address: no authors
        (ld({"@type": "NewsArticle", "author": {"@type": "Person", "name": "Staff Reporter"}}), "", []),
        (ld({"@type": "NewsArticle", "author": {"@type": "Person", "name": "jdoe@example.org"}}), "", []),
        # the role after the name
        (ld({"@type": "NewsArticle", "author": {"@type": "Person", "name": "Jane Smith, Political Editor"}}),
         "", ["Jane Smith"]),
        # an agency with the place it reported from, as the page shows it (theguardian.com)
        ("", "<address class='byline'><span>Associated Press in Valencia</span></address>", ["Associated Press"]),
    ],
)
def test_roles_addresses_and_places_are_not_names(head: str, byline: str, authors: list[str]) -> None:
    article = f"<article><h1>Port strike spreads</h1>{byline}{EN_PARAGRAPHS}</article>"
    result = extract(page(f"<title>Port strike</title>{head}", article), "https://example.org/news/port-strike")
    assert result["authors"] == authors


def test_sentences_that_merely_mention_credits_or_commissions_are_prose() -> None:
    from crawler.extract.cleaning.rules import paragraph_category

    for prose in (
        "Photo by the river, the mayor said, was the best part of the campaign he had run for years.",
        ("Copyright law in 2019 changed dramatically, said the professor, who argued that all rights "
         "reserved clauses are obsolete."),
        "We may earn a lot more from this deal, the chief executive told investors on Tuesday.",
    ):
        assert paragraph_category(prose) is None, prose
