"""`crawler extract FILE.html`: the JSON of a saved page."""

from __future__ import annotations

import gzip
import json

from conftest import run_crawler
from newsserver import CORPUS


def test_extract_prints_the_article_json(tmp_path):
    page = tmp_path / "dw.html"
    page.write_bytes(gzip.decompress((CORPUS / "pages" / "dw.com" / "DW_2024_01_30.html.gz").read_bytes()))
    result = run_crawler("extract", str(page), "--url", "https://www.dw.com/de/russland-wahl/a-68117411")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Russland-Wahl: Nadeschdin setzt auf ein Ende der Putin-Ära"
    assert data["language"] == "de" and data["reason"] is None
    assert "Die erste Hürde hat er gemeistert" in data["text"]


def test_extract_of_a_non_article_says_why(tmp_path):
    page = tmp_path / "empty.html"
    page.write_text("<html><body><nav>Home</nav></body></html>")
    result = run_crawler("extract", str(page))
    assert result.code == 1 and json.loads(result.stdout)["reason"]
