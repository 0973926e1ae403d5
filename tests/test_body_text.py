"""The article text crawler.extract gives on real corpus pages, for the kinds of page the
cleaning rules are for: teaser cards wrapped in links, drop caps, the headline repeated at
the top of the text, the standfirst shown above the body, and appeals to support the
publisher. Expected texts are read from the recorded page, not written here."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import lxml.html
import pytest

from crawler.extract.article import decode, extract

CORPUS = Path(os.environ.get("NEWS_CORPUS", "/work/shared/corpus")) / "pages"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="dev corpus not available")


def page(name: str) -> tuple[lxml.html.HtmlElement, dict, dict]:
    """The recorded page's tree, its truth and what extract gives for it."""
    truth = json.loads((CORPUS / f"{name}.truth.json").read_text(encoding="utf-8"))
    body = gzip.decompress((CORPUS / name).parent.joinpath(truth["html_file"]).read_bytes())
    tree = lxml.html.fromstring(decode(body, "text/html"))
    return tree, truth, extract(body, truth["url"], content_type="text/html")


def squash(text: str) -> str:
    return " ".join(text.split())


def paragraphs(result: dict) -> list[str]:
    return result["text"].split("\n\n")


@needs_corpus
def test_teaser_cards_under_you_might_also_like_are_left_out() -> None:
    # taipeitimes.com: <h1>You might also like</h1> over cards <a><h1/><p>summary</p></a>,
    # 3,400 characters: all of it links
    tree, truth, result = page("taipeitimes.com/TaipeiTimes_2024_10_15")
    box = tree.xpath('//*[@data-desc="You might also like"]')[0]
    summaries = [squash(p.text_content()) for p in box.xpath(".//a//p")]
    assert len(summaries) >= 4
    for summary in summaries:
        assert summary[:60] not in result["text"]
    for paragraph in truth["text"].split("\n\n")[1:]:
        assert squash(paragraph)[:80] in result["text"]


@needs_corpus
def test_a_drop_cap_joins_its_word() -> None:
    tree, _, result = page("taz.de/Taz_2024_10_23")
    [initial] = tree.xpath('//span[contains(@class, "initial-letter ")]')
    rest = initial.getparent().getnext().text.strip()  # "a endlich! ..."
    assert f"{initial.text.strip()}{rest}" in result["text"]  # "Na endlich!"
    assert f"{initial.text.strip()} {rest}" not in result["text"]


@needs_corpus
def test_an_appeal_to_support_the_publisher_goes_with_its_box() -> None:
    tree, truth, result = page("taz.de/Taz_2024_10_23")
    [button] = tree.xpath('//a[contains(@class, "button")][normalize-space()="Jetzt unterstützen"]')
    appeal = squash(button.getparent().text_content())
    assert len(appeal) > 300
    assert appeal[:80] not in result["text"] and "Jetzt unterstützen" not in result["text"]
    # the article's last paragraph, just before the appeal, stays
    assert squash(truth["text"].split("\n\n")[-1]) == paragraphs(result)[-1]


@needs_corpus
@pytest.mark.parametrize(
    "name", ["independent.co.uk/TheIndependent_2024_11_22", "techradar.com/TechRadar_2026_05_21"]
)
def test_the_h1_is_not_body_text_where_the_title_words_it_differently(name: str) -> None:
    # their og:title (our title) is a social-media wording; the h1 led the text
    tree, _, result = page(name)
    h1 = squash(tree.xpath("//h1")[0].text_content())
    assert result["title"] != h1
    assert h1 not in paragraphs(result)[:3]


@needs_corpus
def test_a_kicker_and_headline_block_is_not_body_text() -> None:
    # zdf.de: <h2><span>Angebliche "Dekolonisierung" </span><span>:</span><span>Warum Putin ...
    tree, _, result = page("zdf.de/ZDF_2025_11_07")
    block = tree.xpath("(//main//h2)[1]")[0]
    assert "Warum Putin" in block.text_content() and "Dekolonisierung" in block.text_content()
    first = squash(paragraphs(result)[0])
    assert "Warum Putin vor einer" not in first and "Dekolonisierung" not in first[:40]


@needs_corpus
def test_a_dateline_before_the_headline_stays() -> None:
    # people.com.cn: "新华社北京4月24日电 题：<headline>" opens the wire story: body text
    _, truth, result = page("people.com.cn/People_2024_04_24")
    assert paragraphs(result)[0] == truth["text"].split("\n\n")[0]
    assert paragraphs(result)[0].startswith("新华社北京4月24日电")


@needs_corpus
@pytest.mark.parametrize(
    "name",
    [
        "theguardian.com/TheGuardian_2024_02_24",
        "telegraph.co.uk/TheTelegraph_2024_09_17",
        "spiegel.de/SpiegelOnline_2023_04_28",
    ],
)
def test_the_standfirst_the_page_shows_opens_the_text(name: str) -> None:
    tree, _, result = page(name)
    [description] = tree.xpath('//meta[@property="og:description"]/@content')
    key = re.sub(r"\W+", "", description.casefold())
    assert re.sub(r"\W+", "", paragraphs(result)[0].casefold()) == key
    assert sum(re.sub(r"\W+", "", p.casefold()) == key for p in paragraphs(result)) == 1


@needs_corpus
def test_a_summary_the_page_does_not_show_is_not_added() -> None:
    # bbc.co.uk's description is a meta tag only: no element on the page shows it
    _, _, result = page("bbc.co.uk/BBC_2024_08_01")
    description = result["description"]
    assert description and len(description) >= 40
    key = re.sub(r"\W+", "", description.casefold())
    assert key not in re.sub(r"\W+", "", result["text"].casefold())


@needs_corpus
def test_a_card_of_the_article_further_down_is_no_standfirst() -> None:
    # techcrunch.com shows its own summary again in a list of posts after the article
    tree, truth, result = page("techcrunch.com/TechCrunch_2024_05_17")
    cards = [squash(p.text_content()) for p in tree.xpath('//p[contains(@class, "excerpt")]')]
    description = squash(result["description"])
    assert any(card[:40] == description[:40] for card in cards)
    assert description[:40] not in result["text"]
    assert paragraphs(result)[0] == truth["text"].split("\n\n")[0]


@needs_corpus
@pytest.mark.parametrize(
    ("name", "xpath"),
    [
        ("focus.de/Focus_2023_04_28", '//div[@class="displayDate"]'),
        ("japannews.yomiuri.co.jp/TheJapanNews_2024_10_13", '//p[@class="postdate"]'),
    ],
)
def test_the_dateline_is_not_a_paragraph_of_the_text(name: str, xpath: str) -> None:
    tree, truth, result = page(name)
    dateline = squash(tree.xpath(xpath)[0].text_content())
    assert re.search(r"\d{4}", dateline)
    assert dateline not in [squash(p) for p in paragraphs(result)]
    assert squash(truth["text"].split("\n\n")[1])[:80] in squash(result["text"])


@needs_corpus
def test_the_side_column_inside_the_article_container_is_left_out() -> None:
    # winfuture.de: trafilatura takes #mainWrap, which holds #rightWrap, the page's side column
    tree, truth, result = page("winfuture.de/WinFuture_2024_04_29")
    heads = [
        squash(h.text_content())
        for h in tree.xpath('//*[@id="rightWrap"]//*[@class="rightBxHead"]')
    ]
    assert "Beliebt im Preisvergleich" in heads
    for head in heads:
        assert head not in paragraphs(result)
    assert squash(truth["text"].split("\n\n")[-1]) in paragraphs(result)
