"""The title crawler.extract gives is the headline a reader sees, on real corpus pages:
a kicker set apart in the h1 joined with ": ", and what <title>/og:title add around the h1
(an SEO topic before it, section and site after it) left out."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import lxml.html
import pytest

from crawler.extract.article import extract

CORPUS = Path(os.environ.get("NEWS_CORPUS", "/work/shared/corpus")) / "pages"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="dev corpus not available")


def page(name: str) -> tuple[bytes, dict]:
    truth = json.loads((CORPUS / f"{name}.truth.json").read_text(encoding="utf-8"))
    body = gzip.decompress((CORPUS / name).parent.joinpath(truth["html_file"]).read_bytes())
    return body, truth


def texts(body: bytes, xpath: str) -> list[str]:
    tree = lxml.html.fromstring(body)
    return [" ".join(e.text_content().split()) for e in tree.xpath(xpath)]


@needs_corpus
@pytest.mark.parametrize(
    "name", ["tagesschau.de/mercury_1740949702394", "tagesschau.de/Tagesschau_2023_04_28"]
)
def test_h1_topline_is_set_apart_from_the_headline(name: str) -> None:
    # tagesschau.de sets the topline in the h1 as its own span; read as the h1 runs, it was
    # glued to the headline ("Ukraine-Gipfel in London "Koalition der Willigen" ...")
    body, truth = page(name)
    result = extract(body, truth["url"], content_type="text/html")
    [topline] = texts(body, "//h1/span[contains(@class, 'topline')]")
    [headline] = texts(body, "//h1/span[contains(@class, 'headline--text')]")
    assert result["title"] == f"{topline}: {headline}"


@needs_corpus
def test_seo_topic_and_section_around_the_h1_are_left_out() -> None:
    # og:title and <title>: "Infant Abandonment Cases In India: <h1> | Bhopal News - The Times of India"
    body, truth = page("timesofindia.indiatimes.com/TimesOfIndia_2026_04_16")
    result = extract(body, truth["url"], content_type="text/html")
    [og_title] = lxml.html.fromstring(body).xpath('//meta[@property="og:title"]/@content')
    assert result["title"] == texts(body, "//h1")[0] == truth["title"]
    assert result["title"] in og_title and len(result["title"]) < len(og_title)
    assert "Bhopal News" not in result["title"] and "Infant Abandonment" not in result["title"]


@needs_corpus
def test_a_kicker_of_the_title_alone_is_kept() -> None:
    # zeit.de: og:title "Basketball-Euroleague: Nach ..." and the h1 gives the same kicker in
    # its own span: the kicker stays, set apart once
    body, truth = page("zeit.de/DieZeit_2023_04_28")
    result = extract(body, truth["url"], content_type="text/html")
    assert result["title"] == truth["title"]
    assert result["title"].count("Basketball-Euroleague") == 1


@needs_corpus
def test_a_kicker_above_the_h1_joins_the_headline_where_the_title_names_it() -> None:
    # orf.at: <div class="keyword">Pilnacek-U-Ausschuss</div> just above the h1, and a <title>
    # that gives both: "Pilnacek-U-Ausschuss: Debatte über ... - news.ORF.at"
    body, truth = page("orf.at/mercury_1762108926494")
    [kicker] = texts(body, '//div[@class="keyword"]')
    [headline] = texts(body, "//h1")
    result = extract(body, truth["url"], content_type="text/html")
    assert result["title"] == f"{kicker}: {headline}"
    # derstandard.at also sets a kicker above its h1, but its title, og:title and JSON-LD
    # headline give the headline alone: so does the title
    body, truth = page("derstandard.at/DerStandard_2024_05_03")
    [headline, *_] = texts(body, "//h1")
    assert extract(body, truth["url"], content_type="text/html")["title"] == headline
