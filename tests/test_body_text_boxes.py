"""The article text crawler.extract gives on real corpus pages, for more kinds of page: the
box about the author after the article, a call to follow the site in a news app, the box to
report a mistake, and the dek under the headline worded otherwise than the page's summary.
Expected texts are read from the recorded page, not written here."""

from __future__ import annotations

import pytest

from crawler.extract.cleaning.rules import load_rules, paragraph_category, text_key
from tests.test_body_text import needs_corpus, page, paragraphs, squash


@needs_corpus
def test_the_box_about_the_author_is_left_out() -> None:
    # techradar.com: .author__biography after the article ("A 38-year industry veteran ...")
    tree, truth, result = page("techradar.com/TechRadar_2026_05_21")
    bio = [squash(p.text_content()) for p in tree.xpath('//*[@class="author__biography"]//p')]
    bio = [text for text in bio if len(text) > 60]
    assert len(bio) >= 2
    for text in bio:
        assert text[:60] not in result["text"]
    # the byline still names the author, and the article's paragraphs stay
    assert result["authors"] == ["Lance Ulanoff"]
    assert squash(truth["text"].split("\n\n")[1])[:80] in squash(result["text"])


@needs_corpus
def test_a_call_to_follow_the_site_in_a_news_app_is_left_out() -> None:
    tree, _, result = page("techradar.com/TechRadar_2026_05_21")
    [call] = tree.xpath('//p[.//a[contains(@href, "news.google.com")]]')
    assert squash(call.text_content()).startswith("Follow TechRadar on Google News")
    assert "Google News" not in result["text"]


def test_a_sentence_about_following_in_a_news_app_is_prose() -> None:
    rules = load_rules(("en",))
    assert paragraph_category("Follow Ars Technica on Google News for more.", rules) == "newsletter"
    prose = (
        "The minister said she would follow the story on Google News, where the coverage of "
        "the election had been broader than on any other platform she had tried."
    )
    assert paragraph_category(prose, rules) is None


@needs_corpus
def test_the_box_to_report_a_mistake_is_left_out() -> None:
    # focus.de: li.reporterr > div.reporterrbox ("Bitte markieren Sie die entsprechenden Wörter
    # im Text ...") inside the article's container
    tree, truth, result = page("focus.de/Focus_2023_04_28")
    [box] = tree.xpath('//div[@class="reporterrbox"]')
    texts = [squash(t) for t in box.xpath(".//text()") if len(squash(t)) > 20]
    assert texts
    for text in texts:
        assert text not in result["text"]
    assert squash(truth["text"].split("\n\n")[2])[:80] in squash(result["text"])


@needs_corpus
@pytest.mark.parametrize(
    ("name", "xpath"),
    [
        # the dek words the summary otherwise than og:description
        ("stern.de/Stern_2024_11_05", '//div[contains(@class, "intro")]'),
        ("boersen-zeitung.de/BoersenZeitung_2025_11_06", '//div[contains(@class, "excerpt")]'),
        # og:description is a paragraph of the body further down; the dek is an h2 under the h1
        ("washingtonpost.com/WashingtonPost_2024_04_26", '//h2[contains(@class, "subheadline")]'),
    ],
)
def test_the_dek_under_the_headline_opens_the_text(name: str, xpath: str) -> None:
    tree, _, result = page(name)
    dek = squash(tree.xpath(xpath)[0].text_content())
    assert text_key(dek) != text_key(result["description"])
    assert text_key(paragraphs(result)[0]) == text_key(dek)
    assert sum(text_key(p) == text_key(dek) for p in paragraphs(result)) == 1
