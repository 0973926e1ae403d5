"""Citations found on real pages against hand-made truth, and what finding them costs.

    python bench/citations_quality.py [--baseline OTHER_CHECKOUT] [--rounds 5]

Quality: bench/citations_truth.json lists, for corpus pages of ../shared/corpus, the URLs each
article body cites (made by hand from the HTML; its "about" says what counts). For each page
the crawler's `links` are compared with the truth: precision, recall, and the URLs that
differ; then totals over all citations (micro) and the mean over pages (macro).

Cost: the extraction CPU per page over every corpus page with truth text, measured in a
child process per checkout, rounds alternating between this checkout and --baseline (e.g.
`git worktree add /tmp/before <commit>`), so both see the same load; prints each round, the
ratio this/baseline per round and its spread, and the share of `find_citations` alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
TRUTH = REPO / "bench" / "citations_truth.json"

CHILD = r"""
import gzip, json, sys, time
from pathlib import Path
import crawler.extract.article as article
# the citation step as extract() runs it (on the cleaned tree): find_citations here, the
# cited_links it replaced in a checkout from before
name = "find_citations" if hasattr(article, "find_citations") else "cited_links"
step, spent = getattr(article, name), [0.0]
def timed(*args, **kwargs):
    start = time.process_time()
    try:
        return step(*args, **kwargs)
    finally:
        spent[0] += time.process_time() - start
setattr(article, name, timed)
pages = []
for truth in sorted(Path(sys.argv[1]).glob("pages/*/*.truth.json")):
    html = truth.with_name(truth.name.replace(".truth.json", ".html.gz"))
    url = json.loads(truth.read_text(encoding="utf-8")).get("url") or "https://example.com/article-1"
    pages.append((gzip.decompress(html.read_bytes()), url))
article.extract(*pages[0])  # warm caches (rules, trafilatura settings)
spent[0] = 0.0
start = time.process_time()
for body, url in pages:
    article.extract(body, url)
total = time.process_time() - start
print(json.dumps({"ms_per_page": total * 1000 / len(pages), "links_ms_per_page": spent[0] * 1000 / len(pages)}))
"""

def quality(truth: Path) -> None:
    sys.path.insert(0, str(REPO))
    from crawler.extract.article import extract

    data = json.loads(truth.read_text(encoding="utf-8"))
    print(f"{'page':58} {'truth':>5} {'found':>5} {'prec':>5} {'rec':>5}")
    tp = fp = fn = 0
    precisions, recalls = [], []
    for entry in data["pages"]:
        body = gzip.decompress((CORPUS / entry["page"]).read_bytes())
        found = extract(body, entry["url"])["links"]
        truth = [c["url"] for c in entry["citations"]]
        hits = len(set(found) & set(truth))
        tp, fp, fn = tp + hits, fp + len(set(found) - set(truth)), fn + len(set(truth) - set(found))
        precision = hits / len(set(found)) if found else 1.0
        recall = hits / len(set(truth)) if truth else 1.0
        precisions.append(precision)
        recalls.append(recall)
        print(f"{entry['page'][6:64]:58} {len(truth):5} {len(found):5} {precision:5.2f} {recall:5.2f}")
        for url in sorted(set(found) - set(truth)):
            print(f"    + not in truth: {url}")
        for url in sorted(set(truth) - set(found)):
            print(f"    - missed:       {url}")
    print(f"\npages {len(data['pages'])}, citations in truth {tp + fn}, found {tp + fp}")
    print(f"micro: precision {tp / max(1, tp + fp):.3f}  recall {tp / max(1, tp + fn):.3f}")
    print(f"macro: precision {statistics.mean(precisions):.3f}  recall {statistics.mean(recalls):.3f}")


def cpu(checkout: Path) -> tuple[float, float]:
    """(extraction CPU per page, of which the citation step) in a child process of `checkout`."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(CORPUS)], cwd=checkout, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"})
    figures = json.loads(out.stdout)
    return figures["ms_per_page"], figures["links_ms_per_page"]


def citation_share() -> None:
    import time

    import lxml.html

    from crawler.extract.article import extract
    from crawler.extract.citations import find_citations
    from crawler.extract.cleaning.rules import load_rules

    rules, spent, pages = load_rules(), 0.0, 0
    for truth in sorted(CORPUS.glob("pages/*/*.truth.json")):
        html = truth.with_name(truth.name.replace(".truth.json", ".html.gz"))
        url = json.loads(truth.read_text(encoding="utf-8")).get("url") or "https://example.com/article-1"
        body = gzip.decompress(html.read_bytes())
        text = extract(body, url)["text"]
        if not text:
            continue
        tree = lxml.html.fromstring(body)
        start = time.process_time()
        find_citations(tree, url, rules, text)
        spent += time.process_time() - start
        pages += 1
    print(f"find_citations alone: {spent * 1000 / pages:.2f} ms per page ({pages} pages with an article)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="another checkout: extraction CPU compared round by round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-quality", action="store_true", help="only the cost")
    parser.add_argument("--truth", type=Path, default=TRUTH, help=f"the hand-made truth (default {TRUTH.name})")
    args = parser.parse_args()
    if not args.no_quality:
        quality(args.truth)
    print()
    if not args.baseline:
        citation_share()
    if args.baseline:
        ratios, step_shares = [], []
        for round_ in range(args.rounds):
            (this, this_step), (base, base_step) = cpu(REPO), cpu(args.baseline.resolve())
            ratios.append(this / base)
            # the step's own cost, against the baseline's whole extraction: what the citations
            # add, free of whatever else differs between the two checkouts
            step_shares.append((this_step - base_step) / base)
            print(f"round {round_ + 1}: extraction CPU this {this:.1f} ms/page (citations {this_step:.2f}), "
                  f"baseline {base:.1f} ms/page (links {base_step:.2f}); ratio {this / base:.3f}; "
                  f"citation step adds {100 * step_shares[-1]:+.1f}%")
        print(f"ratio this/baseline: median {statistics.median(ratios):.3f}  "
              f"min {min(ratios):.3f}  max {max(ratios):.3f}  ({args.rounds} rounds)")
        print(f"citation step against the baseline's link step, share of the baseline's extraction: "
              f"median {100 * statistics.median(step_shares):+.1f}%  min {100 * min(step_shares):+.1f}%  "
              f"max {100 * max(step_shares):+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
