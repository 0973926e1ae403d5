"""Extraction quality and speed: our extractor against plain trafilatura, on the dev corpus.

    python bench/extraction_quality.py [--baseline [CHECKOUT]] [--pages] [--corpus DIR]
                                       [--fixes FILE] [--json OUT] [--only SUBSTR] [--repeat N]
                                       [--no-fallback]

Reports per site, per language and in total, for ours (this checkout), the baseline (another
checkout, e.g. ``--baseline /work/main``, extracted in a child process of the same run) and
plain trafilatura:

For every page with ground truth (``*.truth.json``):
- text_kind "full": precision/recall/F1 of 4-gram shingles, counted as multisets, like the
  article-extraction-benchmark: tokens are lowercased ``\\w+`` words, except that Chinese and
  Japanese (written without spaces) count character by character;
- text_kind "snippets" (and any page with must_contain/must_not_contain): the share of
  snippet checks passed (substring checks after whitespace normalisation);
- accuracy per field where the truth has it: title; authors (the exact set of names, spelling
  and case included: "dpa" is not "Dpa"); published (to the minute where the truth has a
  time of day, converted to UTC when both sides give an offset; the day otherwise); paywalled
  (the publisher's declaration: JSON-LD isAccessibleForFree false on the article or one of its
  parts, read here with json.loads, or the Open Graph article:content_tier "locked", or a
  hand-checked entry in the fixes file); language;
- CPU time per page of ``crawler.extract.article.extract`` (this checkout's, whatever is
  installed) and of plain
  ``trafilatura.extract(html, url=url)`` with default options (min of --repeat runs).

Ground truth that is missing or wrong in the corpus is corrected by ``bench/truth_fixes.json``
(``--fixes``): one entry per page, each field with the reason, checked by hand against the page.
Mercury pages (``mercury_*``) are scored on text and title only: the Mercury fetcher removed
their scripts and renamed ``<meta content>`` (see the corpus README), so their authors, dates
and paywall cannot be read from the recorded bytes.

After the tables, each title ours got wrong is listed with where the page declares the
truth's headline and ours (og:title, twitter:title, <title>, the JSON-LD headline, the h1), and
a count of the pages whose og:title words the headline otherwise than an h1 and a JSON-LD
headline that agree, with how often the truth takes the one or the other.

Plain trafilatura's metadata comes from ``bare_extraction(with_metadata=True)``, run apart
from the timed call so the timing compares text extraction with default options.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

import trafilatura
from trafilatura.settings import Document

CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = Path("/work/main")


def load_extractor(checkout: Path) -> tuple[Any, Any]:
    """``extract`` and ``ExtractOptions`` of the checkout at ``checkout`` (whatever is installed)."""
    sys.path.insert(0, str(checkout))
    from crawler.extract.article import ExtractOptions, extract

    return extract, ExtractOptions


DEFAULT_CORPUS = Path("/work/shared/corpus")
# Chinese and Japanese are written without spaces: each Han or kana character is a token
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN = re.compile(rf"[{CJK}]|[^\W{CJK}]+")
NAME_TOKEN = re.compile(r"\w+")
DEFAULT_FIXES = Path(__file__).with_name("truth_fixes.json")
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


LD_BLOCK = re.compile(
    r"<script[^>]*application/ld\+json[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL
)
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
    """The exact set of names: spelling and case count ("dpa" is not "Dpa"), spacing not."""

    def key(name: str) -> str:
        return SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip()

    return {key(n) for n in pred} == {key(n) for n in truth}


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def truth_has_time(truth: str) -> bool:
    """Whether the truth gives a time of day. Exactly midnight is how date-only sources write a
    bare date (fundus's old DW parser "2023-04-28T00:00:00", Mercury "...T00:00:00.000Z")."""
    parsed = _parse_time(truth) if len(truth) > 10 else None
    return parsed is not None and (parsed.hour, parsed.minute, parsed.second) != (0, 0, 0)


def same_published(pred: str | None, truth: str) -> bool:
    """The same minute where the truth has a time of day (in UTC when both give an offset,
    else as written), the same day otherwise."""
    if not pred:
        return False
    if not truth_has_time(truth):
        return pred[:10] == truth[:10]
    p, t = _parse_time(pred) if len(pred) > 10 else None, _parse_time(truth)
    if p is None or t is None:
        return False
    if p.tzinfo is not None and t.tzinfo is not None:
        p, t = p.astimezone(UTC), t.astimezone(UTC)
    return p.replace(tzinfo=None, second=0, microsecond=0) == t.replace(
        tzinfo=None, second=0, microsecond=0
    )


CONTENT_TIER = re.compile(rb"""<meta[^>]+property=["']article:content_tier["'][^>]+content=["'](\w+)""", re.IGNORECASE)


def declared_paywall(html: bytes) -> bool | None:
    """The publisher's own word: True where the Open Graph tier is "locked"; else False/True
    from JSON-LD isAccessibleForFree on any node (the article or one of its hasPart sections);
    None when nothing says."""
    tier = CONTENT_TIER.search(html)
    if tier and tier.group(1).lower() == b"locked":
        return True
    found = None
    for node in ld_nodes(html):
        free = {"false": False, "true": True}.get(str(node.get("isAccessibleForFree")).strip().lower())
        if free is False:
            return True
        if free is True:
            found = False
    return found


def ld_nodes(html: bytes) -> Iterator[dict[str, Any]]:
    """Every object in the page's JSON-LD blocks (read with json.loads), nested ones included."""
    for block in LD_BLOCK.findall(html.decode("utf-8", "replace")):
        try:
            stack = [json.loads(block, strict=False)]
        except ValueError:
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                yield node
                stack.extend(v for v in node.values() if isinstance(v, (dict, list)))


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


def load_truth(truth_path: Path, fixes: dict[str, dict]) -> tuple[str, dict, bytes]:
    """A page's truth with the fixes applied, and its HTML."""
    page = f"{truth_path.parent.name}/{truth_path.name.removesuffix('.truth.json')}"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    body = gzip.decompress((truth_path.parent / truth["html_file"]).read_bytes())
    declared = declared_paywall(body)
    if declared is not None:
        truth["paywalled"] = declared
    elif "paywall" not in (truth.get("boilerplate") or []):
        truth["paywalled"] = False  # neither declared nor shown (the corpus's generous detector)
    if truth_path.name.startswith("mercury_"):
        # the Mercury fetcher removed every <script> and renamed <meta content> (corpus
        # README): their metadata truth cannot be read from the recorded page
        truth["authors"] = truth["date"] = truth["paywalled"] = None
    for field, fix in fixes.get(page, {}).items():
        truth[field] = fix["value"]
    return page, truth, body


def score(res: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
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
        scores["published"] = same_published(res["published"], truth["date"])
    if truth.get("paywalled") is not None and "paywalled" in res:
        scores["paywalled"] = res["paywalled"] is truth["paywalled"]
    if truth.get("language"):
        scores["language"] = same_language(res["language"], truth["language"])
    return scores


def evaluate_page(
    truth_path: Path,
    extract: Any,
    options: Any,
    repeat: int,
    fixes: dict[str, dict],
    baseline: dict[str, Any] | None,
) -> dict[str, Any]:
    page, truth, body = load_truth(truth_path, fixes)
    url = truth["url"]
    ours, t_ours = cpu_time(
        lambda: extract(body, url, content_type="text/html", options=options), repeat
    )
    plain_text, t_plain = cpu_time(lambda: trafilatura.extract(body, url=url), repeat)
    plain = plain_metadata(body, url)
    plain["text"] = plain_text
    results = {"ours": (ours, t_ours), "plain": (plain, t_plain)}
    if baseline is not None:
        results["base"] = (baseline[page]["result"], baseline[page]["cpu"])
    row: dict[str, Any] = {
        "page": page,
        "site": truth_path.parent.name,
        "language": truth.get("language") or "?",
        "text_kind": truth.get("text_kind"),
        "reason": ours["reason"],
        "fixed": sorted(fixes.get(page, {})),
        "truth_meta": {
            "title": truth.get("title"),
            "authors": truth.get("authors"),
            "published": truth.get("date"),
            "paywalled": truth.get("paywalled"),
            "language": truth.get("language"),
        },
    }
    if truth.get("title"):
        declared = declared_headlines(body)
        row["title_sources"] = {
            "truth": headline_sources(truth["title"], declared),
            "ours": headline_sources(ours["title"], declared),
            "social_differs": social_title_differs(declared),
        }
    for name, (res, cpu) in results.items():
        row[name] = score(res, truth)
        row["cpu_" + name] = cpu
        row[name + "_meta"] = {k: res.get(k) for k in (*FIELDS, "site_name", "modified")}
    return row


FIELDS = ("title", "authors", "published", "paywalled", "language")

TITLE_SUFFIX = re.compile(r"^\s*[|–—\-:·•»]")


def declared_headlines(body: bytes) -> dict[str, list[str]]:
    """Every headline the page declares for itself, by where it declares it."""
    tree = trafilatura.utils.load_html(body)
    found: dict[str, list[str]] = defaultdict(list)
    if tree is None:
        return found
    for key, xpath in (
        ("og:title", '//meta[@property="og:title"]/@content'),
        ("twitter:title", '//meta[@name="twitter:title" or @property="twitter:title"]/@content'),
        ("<title>", "//head/title/text()"),
        ("h1", "//h1"),
    ):
        for value in tree.xpath(xpath)[:3]:
            text = value.text_content() if hasattr(value, "text_content") else str(value)
            found[key].append(" ".join(text.split()))
    for node in ld_nodes(body):
        if isinstance(node.get("headline"), str):
            found["JSON-LD headline"].append(html_unescape(node["headline"]))
    return found


def social_title_differs(declared: dict[str, list[str]]) -> bool:
    """og:title words the headline otherwise than the h1 and the JSON-LD headline, which agree."""
    og, h1, ld = (declared.get(k) for k in ("og:title", "h1", "JSON-LD headline"))
    if not (og and h1 and ld):
        return False
    key = norm(h1[0])
    return key == norm(ld[0]) and not headline_sources(h1[0], {"og": og[:1]})


def headline_sources(title: str | None, declared: dict[str, list[str]]) -> list[str]:
    """Where the page declares this title: as it stands, or before a site suffix."""
    if not title:
        return []
    want = norm(title).strip(" \"'“”„")
    return sorted(
        key
        for key, values in declared.items()
        if any(
            (v := norm(value).strip(" \"'“”„")) == want
            or (v.startswith(want) and TITLE_SUFFIX.match(v[len(want):]))
            for value in values
        )
    )


def warm_up(truth_files: list[Path], extract: Any, options: Any) -> None:
    """Load lazily built models (language id, jusText stoplists) outside the timed calls."""
    for path in truth_files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        body = gzip.decompress((path.parent / truth["html_file"]).read_bytes())
        extract(body, truth["url"], content_type="text/html", options=options)
        trafilatura.extract(body, url=truth["url"])


def run_baseline(
    checkout: Path, truth_files: list[Path], fallback: bool, repeat: int
) -> dict[str, Any]:
    """The extraction of another checkout (e.g. the main branch, unchanged) on the same pages,
    in a child process of this run: {page: {"result": ..., "cpu": seconds}}."""
    command = [sys.executable, __file__, "--extract-with", str(checkout), "--repeat", str(repeat)]
    if not fallback:
        command.append("--no-fallback")
    done = subprocess.run(
        command,
        input="\n".join(map(str, truth_files)),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(checkout)},
    )
    if done.returncode != 0:
        sys.exit(f"extraction_quality: the baseline at {checkout} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def extract_only(checkout: Path, fallback: bool, repeat: int) -> int:
    """Child process of run_baseline: truth files on stdin, results as JSON on stdout."""
    extract, options_type = load_extractor(checkout)
    options = options_type(fallback=fallback)
    truth_files = [Path(line) for line in sys.stdin.read().splitlines() if line]
    warm_up(truth_files[:1], extract, options)
    out = {}
    for path in truth_files:
        truth = json.loads(path.read_text(encoding="utf-8"))
        body = gzip.decompress((path.parent / truth["html_file"]).read_bytes())
        url = truth["url"]
        result, cpu = cpu_time(
            lambda body=body, url=url: extract(
                body, url, content_type="text/html", options=options
            ),
            repeat,
        )
        page = f"{path.parent.name}/{path.name.removesuffix('.truth.json')}"
        out[page] = {"result": result, "cpu": cpu}
    json.dump(out, sys.stdout, ensure_ascii=False)
    return 0


METRICS = ("p", "r", "f1", "snippets", "title", "authors", "published", "paywalled", "language")
COLUMNS = ("f1", "snippets", "title", "authors", "published", "paywalled", "language")
HEADS = {"f1": "text F1", "snippets": "snippets", "published": "published"}


def summarise(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    summary: dict[str, Any] = {"pages": len(rows)}
    for name in names:
        for metric in METRICS:
            values = [float(r[name][metric]) for r in rows if metric in r[name]]
            summary[f"{name}_{metric}"] = statistics.fmean(values) if values else None
            summary[f"n_{metric}"] = max(summary.get(f"n_{metric}", 0), len(values))
        summary[f"cpu_{name}"] = sum(r["cpu_" + name] for r in rows)
    t_plain = summary["cpu_plain"]
    for name in names:
        summary[f"time_ratio_{name}"] = summary[f"cpu_{name}"] / t_plain if t_plain else None
    ratios = [r["cpu_ours"] / r["cpu_plain"] for r in rows if r["cpu_plain"] > 0]
    summary["time_ratio_median"] = statistics.median(ratios) if ratios else None
    summary["time_ratio_max"] = max(ratios) if ratios else None
    return summary


def fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def print_table(
    title: str, groups: dict[str, list[dict[str, Any]]], names: tuple[str, ...]
) -> dict[str, Any]:
    width = 6 * len(names) - 1
    print(f"\n== {title} ==   (each cell: {' / '.join(names)}; n = pages scored)")
    head = (
        f"{'group':24} {'pages':>5} | "
        + " | ".join(f"{HEADS.get(c, c):^{width}} {'n':>3}" for c in COLUMNS)
        + " | cpu x plain"
    )
    print(head)
    out = {}
    for group, rows in sorted(groups.items()):
        s = summarise(rows, names)
        out[group] = s
        cells = [f"{group[:24]:24} {s['pages']:>5}"]
        for metric in COLUMNS:
            values = " ".join(fmt(s[f"{name}_{metric}"]) for name in names)
            cells.append(f"{values:{width}} {s['n_' + metric]:>3}")
        cells.append(" ".join(fmt(s[f"time_ratio_{name}"]) for name in names if name != "plain"))
        print(" | ".join(cells))
    return out


def page_notes(r: dict[str, Any], name: str) -> list[str]:
    notes = [f"reason={r['reason']}"] if r["reason"] and name == "ours" else []
    for key in FIELDS:
        if r[name].get(key) is False:
            notes.append(f"{key}={r[name + '_meta'][key]!r} (truth {r['truth_meta'][key]!r})"[:110])
    return notes + r[name].get("snippet_failures", [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--fixes",
        type=Path,
        default=DEFAULT_FIXES,
        help="corrections of the corpus truth (default: bench/truth_fixes.json)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        nargs="?",
        const=DEFAULT_BASELINE,
        help="also run the extractor of this checkout (default /work/main) "
        "in the same run, as the 'base' column",
    )
    parser.add_argument("--json", type=Path, help="write per-page rows and summaries here")
    parser.add_argument("--only", help="only pages whose site/name contains this")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per page (min is kept)")
    parser.add_argument("--pages", action="store_true", help="print one line per page")
    parser.add_argument(
        "--no-fallback",
        action="store_true",
        help="ours without trafilatura's fallback extractors (EXTRACT_FALLBACK=False)",
    )
    parser.add_argument("--extract-with", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")  # third-party parsing noise is not what we measure
    if args.extract_with:
        return extract_only(args.extract_with, not args.no_fallback, args.repeat)
    truth_files = sorted((args.corpus / "pages").glob("*/*.truth.json"))
    if args.only:
        truth_files = [p for p in truth_files if args.only in f"{p.parent.name}/{p.name}"]
    fixes = json.loads(args.fixes.read_text(encoding="utf-8")) if args.fixes.is_file() else {}
    fixes = {page: fields for page, fields in fixes.items() if not page.startswith("_")}
    baseline = (
        run_baseline(args.baseline, truth_files, not args.no_fallback, args.repeat)
        if args.baseline
        else None
    )
    extract, options_type = load_extractor(CHECKOUT)
    options = options_type(fallback=not args.no_fallback)
    warm_up(truth_files[:1], extract, options)
    rows = [
        evaluate_page(path, extract, options, args.repeat, fixes, baseline) for path in truth_files
    ]
    names = ("ours", "base", "plain") if baseline else ("ours", "plain")

    if args.pages:
        print(f"{'page':58} {'F1 ' + '/'.join(names):>18} {'cpu x':>5}  what ours got wrong")
        for r in rows:
            f1 = " ".join(fmt(r[name].get("f1")) for name in names)
            ratio = r["cpu_ours"] / r["cpu_plain"] if r["cpu_plain"] else 0.0
            print(f"{r['page'][:58]:58} {f1:>18} {ratio:5.2f}  " + "; ".join(page_notes(r, "ours")))

    by_site: dict[str, list] = defaultdict(list)
    by_lang: dict[str, list] = defaultdict(list)
    for r in rows:
        by_site[r["site"]].append(r)
        by_lang[r["language"] if r["language"] in ("de", "en", "id") else "other"].append(r)
    result = {
        "by_site": print_table("per site", by_site, names),
        "by_language": print_table("per language", by_lang, names),
        "overall": print_table("total", {"all": rows}, names)["all"],
    }
    o = result["overall"]
    for name in names:
        if name == "plain":
            continue
        print(
            f"\n{name}: text F1 {fmt(o[name + '_f1'])} (plain {fmt(o['plain_f1'])}), title "
            f"{fmt(o[name + '_title'])}, authors {fmt(o[name + '_authors'])}, published "
            f"{fmt(o[name + '_published'])}, paywalled {fmt(o[name + '_paywalled'])}; CPU "
            f"{o['cpu_' + name]:.2f}s vs plain trafilatura {o['cpu_plain']:.2f}s "
            f"(ratio {o['time_ratio_' + name]:.2f})"
        )
    print(
        f"ours per page: CPU ratio median {o['time_ratio_median']:.2f}, max {o['time_ratio_max']:.2f}"
    )
    print_title_misses(rows)
    if args.json:
        args.json.write_text(json.dumps({"pages": rows, **result}, indent=1, ensure_ascii=False))
    return 0


def print_title_misses(rows: list[dict[str, Any]]) -> None:
    """Each title ours got wrong, with where the page declares the truth's and ours: two
    headlines of the same page (a social title against the one on the page) are a choice the
    truth made one way or the other, not a wrong headline."""
    misses = [r for r in rows if "title_sources" in r and not r["ours"].get("title")]
    if misses:
        print(f"\n== titles ours got wrong: {len(misses)} ==   (where the page declares each one)")
    both = 0
    for r in misses:
        truth, ours = r["title_sources"]["truth"], r["title_sources"]["ours"]
        both += bool(truth and ours)
        print(f"{r['page'][:50]:50}  truth: {', '.join(truth) or 'nowhere':32}  "
              f"ours: {', '.join(ours) or 'nowhere'}")
    if misses:
        print(f"{both} of {len(misses)}: the truth and ours are both headlines the page declares")
    split = [r for r in rows if r.get("title_sources", {}).get("social_differs")]
    social = sum("og:title" in r["title_sources"]["truth"] for r in split)
    print(
        f"pages whose og:title differs from an h1 and JSON-LD headline that agree: {len(split)}; "
        f"the truth takes og:title on {social}, the other headline on {len(split) - social}"
    )


if __name__ == "__main__":
    sys.exit(main())
