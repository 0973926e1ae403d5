"""Extraction quality and speed: our extractor against plain trafilatura, on the dev corpus.

    python bench/extraction_quality.py [--corpus DIR] [--json OUT] [--only SUBSTR] [--repeat N]
                                       [--no-fallback]

For every page with ground truth (``*.truth.json``):
- text_kind "full": precision/recall/F1 of 4-gram word shingles (``\\w+`` tokens,
  lowercased, counted as multisets), like the article-extraction-benchmark;
- text_kind "snippets" (and any page with must_contain/must_not_contain): the share of
  snippet checks passed (substring checks after whitespace normalisation);
- title, authors, date and language accuracy where the truth has them;
- CPU time per page of ``crawler.extract.article.extract`` and of plain
  ``trafilatura.extract(html, url=url)`` with default options (min of --repeat runs).

Plain trafilatura's metadata comes from ``bare_extraction(with_metadata=True)``, run apart
from the timed call so the timing compares text extraction with default options.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import trafilatura
from trafilatura.settings import Document

try:
    from crawler.extract.article import ExtractOptions, extract
except ImportError:  # run as a script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from crawler.extract.article import ExtractOptions, extract

DEFAULT_CORPUS = Path("/work/shared/corpus")
TOKEN = re.compile(r"\w+")
SPACES = re.compile(r"\s+")
SHINGLE = 4


def shingles(text: str | None) -> Counter:
    tokens = TOKEN.findall((text or "").lower())
    if len(tokens) < SHINGLE:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def prf(pred: str | None, truth: str) -> tuple[float, float, float]:
    p_sh, t_sh = shingles(pred), shingles(truth)
    if not p_sh and not t_sh:
        return 1.0, 1.0, 1.0
    if not p_sh or not t_sh:
        return 0.0, 0.0, 0.0
    tp = sum((p_sh & t_sh).values())
    precision, recall = tp / sum(p_sh.values()), tp / sum(t_sh.values())
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")


def norm(text: str | None) -> str:
    text = INVISIBLE.sub("", unicodedata.normalize("NFKC", text or ""))
    return SPACES.sub(" ", text).strip().casefold()


def snippet_checks(text: str | None, truth: dict) -> tuple[int, int, list[str]]:
    body = norm(text)
    passed, failed = 0, []
    for snippet in truth.get("must_contain") or []:
        if norm(snippet) in body:
            passed += 1
        else:
            failed.append("missing: " + snippet[:60])
    for snippet in truth.get("must_not_contain") or []:
        if norm(snippet) not in body:
            passed += 1
        else:
            failed.append("kept: " + snippet[:60])
    return passed, passed + len(failed), failed


def same_title(pred: str | None, truth: str) -> bool:
    return norm(pred).strip(" \"'“”„") == norm(truth).strip(" \"'“”„")


def same_authors(pred: list[str], truth: list[str]) -> bool:
    def key(name: str) -> str:
        return " ".join(TOKEN.findall(norm(name)))

    return sorted(map(key, pred)) == sorted(map(key, truth))


def same_date(pred: str | None, truth: str) -> bool:
    return pred is not None and pred[:10] == truth[:10]


def same_language(pred: str | None, truth: str) -> bool:
    return pred is not None and pred.split("-")[0].lower() == truth.split("-")[0].lower()


def plain_metadata(body: bytes, url: str) -> dict[str, Any]:
    doc = trafilatura.bare_extraction(body, url=url, with_metadata=True)
    if not isinstance(doc, Document):
        return {"title": None, "authors": [], "published": None, "language": None}
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return {"title": doc.title, "authors": authors, "published": doc.date, "language": doc.language}


def cpu_time(func: Any, repeat: int) -> tuple[Any, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()  # do not bill one extractor for the other's garbage
        start = time.process_time()
        result = func()
        best = min(best, time.process_time() - start)
    return result, best


def evaluate_page(truth_path: Path, options: ExtractOptions, repeat: int) -> dict[str, Any]:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    body = gzip.decompress((truth_path.parent / truth["html_file"]).read_bytes())
    url = truth["url"]
    ours, t_ours = cpu_time(
        lambda: extract(body, url, content_type="text/html", options=options), repeat
    )
    plain_text, t_plain = cpu_time(lambda: trafilatura.extract(body, url=url), repeat)
    plain = plain_metadata(body, url)
    plain["text"] = plain_text
    row: dict[str, Any] = {
        "page": f"{truth_path.parent.name}/{truth_path.name.removesuffix('.truth.json')}",
        "site": truth_path.parent.name,
        "language": truth.get("language") or "?",
        "text_kind": truth.get("text_kind"),
        "cpu_ours": t_ours,
        "cpu_plain": t_plain,
        "reason": ours["reason"],
    }
    for name, res in (("ours", ours), ("plain", plain)):
        scores: dict[str, Any] = {}
        if truth.get("text_kind") == "full" and truth.get("text"):
            scores["p"], scores["r"], scores["f1"] = prf(res["text"], truth["text"])
        if truth.get("must_contain") or truth.get("must_not_contain"):
            passed, total, failed = snippet_checks(res["text"], truth)
            scores["snippets"] = passed / total
            scores["snippet_failures"] = failed
        if truth.get("title"):
            scores["title"] = same_title(res["title"], truth["title"])
        if truth.get("authors"):
            scores["authors"] = same_authors(res["authors"], truth["authors"])
        if truth.get("date"):
            scores["date"] = same_date(res["published"], truth["date"])
        if truth.get("language"):
            scores["language"] = same_language(res["language"], truth["language"])
        row[name] = scores
        row[name + "_meta"] = {k: res.get(k) for k in ("title", "authors", "published", "language")}
    return row


def warm_up(truth_files: list[Path], options: ExtractOptions) -> None:
    """Load lazily built models (language id, jusText stoplists) outside the timed calls."""
    for path in truth_files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        body = gzip.decompress((path.parent / truth["html_file"]).read_bytes())
        extract(body, truth["url"], content_type="text/html", options=options)
        trafilatura.extract(body, url=truth["url"])


METRICS = ("p", "r", "f1", "snippets", "title", "authors", "date", "language")


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"pages": len(rows)}
    for name in ("ours", "plain"):
        for metric in METRICS:
            values = [float(r[name][metric]) for r in rows if metric in r[name]]
            summary[f"{name}_{metric}"] = statistics.fmean(values) if values else None
            summary[f"n_{metric}"] = len(values)
    t_ours = sum(r["cpu_ours"] for r in rows)
    t_plain = sum(r["cpu_plain"] for r in rows)
    summary["cpu_ours"], summary["cpu_plain"] = t_ours, t_plain
    summary["time_ratio"] = t_ours / t_plain if t_plain else None
    ratios = [r["cpu_ours"] / r["cpu_plain"] for r in rows if r["cpu_plain"] > 0]
    summary["time_ratio_median"] = statistics.median(ratios) if ratios else None
    summary["time_ratio_max"] = max(ratios) if ratios else None
    return summary


def fmt(value: float | None) -> str:
    return "   - " if value is None else f"{value:5.3f}"


def print_table(title: str, groups: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    print(f"\n== {title} ==")
    head = f"{'group':22} {'n':>3} | {'F1 ours':>7} {'plain':>5} | {'P ours':>6} {'plain':>5} | "
    head += f"{'R ours':>6} {'plain':>5} | {'snip':>5} {'plain':>5} | {'title':>5} {'plain':>5} | "
    head += f"{'auth':>5} {'plain':>5} | {'date':>5} {'plain':>5} | "
    head += f"{'lang':>5} {'plain':>5} | {'cpu x':>5}"
    print(head)
    out = {}
    for group, rows in sorted(groups.items()):
        s = summarise(rows)
        out[group] = s
        cells = [f"{group[:22]:22} {s['pages']:>3}"]
        for metric in ("f1", "p", "r", "snippets", "title", "authors", "date", "language"):
            cells.append(f"{fmt(s['ours_' + metric]):>6} {fmt(s['plain_' + metric])}")
        cells.append(fmt(s["time_ratio"]))
        print(" | ".join(cells))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", type=Path, help="write per-page rows and summaries here")
    parser.add_argument("--only", help="only pages whose site/name contains this")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per page (min is kept)")
    parser.add_argument("--pages", action="store_true", help="print one line per page")
    parser.add_argument("--no-fallback", action="store_true",
                        help="ours without trafilatura's fallback extractors (EXTRACT_FALLBACK=False)")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")  # third-party parsing noise is not what we measure
    truth_files = sorted((args.corpus / "pages").glob("*/*.truth.json"))
    if args.only:
        truth_files = [p for p in truth_files if args.only in f"{p.parent.name}/{p.name}"]
    options = ExtractOptions(fallback=not args.no_fallback)
    warm_up(truth_files[:1], options)
    rows = [evaluate_page(path, options, args.repeat) for path in truth_files]

    if args.pages:
        print(
            f"{'page':58} {'F1 ours':>7} {'plain':>5} {'snip':>5} {'plain':>5} {'cpu x':>5}  notes"
        )
        for r in rows:
            o, p = r["ours"], r["plain"]
            notes = [f"reason={r['reason']}"] if r["reason"] else []
            for key in ("title", "authors", "date", "language"):
                if o.get(key) is False:
                    notes.append(
                        f"{key}={r['ours_meta'][key if key != 'date' else 'published']!r}"[:70]
                    )
            notes += o.get("snippet_failures", [])
            ratio = r["cpu_ours"] / r["cpu_plain"] if r["cpu_plain"] else 0.0
            print(
                f"{r['page'][:58]:58} {fmt(o.get('f1')):>7} {fmt(p.get('f1'))} "
                f"{fmt(o.get('snippets'))} {fmt(p.get('snippets'))} {ratio:5.2f}  "
                + "; ".join(notes)
            )

    by_lang: dict[str, list] = defaultdict(list)
    by_site: dict[str, list] = defaultdict(list)
    for r in rows:
        lang = r["language"] if r["language"] in ("de", "en", "id") else "other"
        by_lang[lang].append(r)
        by_site[r["site"]].append(r)
    result = {
        "by_site": print_table("per site", by_site),
        "by_language": print_table("per language", by_lang),
        "overall": print_table("overall", {"all": rows})["all"],
    }
    o = result["overall"]
    print(
        f"\noverall F1 ours {fmt(o['ours_f1'])} vs plain {fmt(o['plain_f1'])}; "
        f"CPU ours {o['cpu_ours']:.2f}s vs plain {o['cpu_plain']:.2f}s "
        f"(ratio {o['time_ratio']:.2f}, per-page median {o['time_ratio_median']:.2f}, "
        f"max {o['time_ratio_max']:.2f})"
    )
    if args.json:
        args.json.write_text(json.dumps({"pages": rows, **result}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
