"""How the full-text index and the near-duplicate lookup scale, and what indexing costs a crawl.

    python bench/search_scaling.py [--sizes 10000,100000] [--queries 300] [--compare-engines]
                                   [--ingest-pages 300 --runs 2]

Synthetic articles made from the corpus texts (shared/corpus/pages/*/*.truth.json): each one 8 to
16 sentences drawn at random from all the corpus sentences (so two articles rarely share a
sentence, as two stories rarely do), in the language of the page the first sentence came from;
every 100th article is a wire copy of an earlier one (a byline added, its last sentence dropped,
a "related" line added). Written as JSON Lines files of 10,000 lines, then, in a child process
per size (so its peak memory is its own):
- index size per article, indexing rate (storage.search_index.update_search_index);
- query latency, median and p95, over words (rare and common), phrases, prefixes, AND/OR/NOT,
  20 hits with snippets each;
- near-duplicate lookup time for one article (SearchIndex.similar), and how many of the wire
  copies it finds (recall);
With --compare-engines (at the first size): FTS5 with the trigram tokenizer, and tantivy when it
is installed, on the same articles (size, build time, query median). At the first size also
MinHash vs SimHash (64 bits, Hamming distance <= 3) on the wire copies: recall and false pairs.
With --ingest-pages: `crawler ingest` of that many corpus pages from tests/newsserver.py with
ARCHIVE_SEARCH_INDEX on and off, alternating, --runs times each: the cost of indexing in a crawl.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path(os.environ.get("CORPUS") or REPO.parent / "shared" / "corpus")
FILE_LINES = 10_000
COPY_EVERY = 100


# -- synthetic articles ---------------------------------------------------------------------------
def sentence_pool() -> list[tuple[str, str]]:
    """(sentence, language) from every corpus text."""
    pool = []
    for path in sorted(CORPUS.glob("pages/*/*.truth.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        text, lang = truth.get("text"), truth.get("language") or "en"
        if not text:
            continue
        for part in re.split(r"(?<=[.!?。！？])\s+|\n+", text):
            if len(part.split()) >= 6 or (lang in ("zh", "ja") and len(part) >= 15):
                pool.append((part.strip(), lang))
    return pool


def write_articles(root: Path, n: int, seed: int = 7) -> list[tuple[int, int]]:
    """JSON Lines files of n articles under root/json; returns the (original, copy) line numbers."""
    rng = random.Random(seed)
    pool = sentence_pool()
    (root / "json").mkdir(parents=True, exist_ok=True)
    (root / "warc").mkdir(exist_ok=True)
    pairs = []
    texts: dict[int, tuple[str, str, str]] = {}
    out = None
    for i in range(n):
        if i % FILE_LINES == 0:
            if out:
                out.close()
            out = open(root / "json" / f"bench-{i // FILE_LINES:05d}.jsonl", "w", encoding="utf-8")
        if i % COPY_EVERY == COPY_EVERY - 1 and i > COPY_EVERY:
            original = rng.randrange(max(0, i - 5000), i - 1)
            while original % COPY_EVERY == COPY_EVERY - 1 or original not in texts:
                original = rng.randrange(max(0, i - 5000), i - 1)
            title, body, lang = texts[original]
            parts = body.split("\n\n")
            body = "\n\n".join(["By our wire service correspondent"] + parts[:-1] + ["Related: more news today"])
            pairs.append((original, i))
        else:
            picked = [pool[rng.randrange(len(pool))] for _ in range(rng.randint(8, 16))]
            lang = picked[0][1]
            body = "\n\n".join(s for s, _ in picked)
            title = " ".join(picked[0][0].split()[:8])
        texts[i] = (title, body, lang)
        if len(texts) > 6000:
            texts.pop(min(texts))
        day = 1 + i % 28
        line = {"schema_version": "1.0", "source": ["dw", "reuters", "ft", "itif", "restofworld"][i % 5],
                "url": f"https://news.example/{i % 97}/article-{i}", "final_url": f"https://news.example/{i % 97}/article-{i}",
                "fetched_at": f"2024-03-{day:02d}T12:00:00Z", "status": 200, "title": title, "language": lang,
                "published": f"2024-02-{day:02d}", "text": body, "word_count": len(body.split()),
                "links": [f"https://news.example/{(i * 7) % 97}/article-{max(0, i - 3)}"], "reason": None,
                "version": 1}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    if out:
        out.close()
    return pairs


def queries(rng: random.Random, count: int) -> list[str]:
    pool = sentence_pool()
    words = [w for s, lang in pool if lang not in ("zh", "ja") for w in re.findall(r"[^\W\d_]{4,}", s)]
    out = []
    for i in range(count):
        kind = i % 6
        w1, w2 = rng.choice(words), rng.choice(words)
        if kind == 0:
            out.append(w1)
        elif kind == 1:
            sentence = rng.choice([s for s, lang in pool[:2000] if lang not in ("zh", "ja")]).split()
            at = rng.randrange(max(1, len(sentence) - 2))
            out.append('"' + " ".join(re.sub(r'["()*]', "", t) for t in sentence[at:at + 2]) + '"')
        elif kind == 2:
            out.append(w1[:4] + "*")
        elif kind == 3:
            out.append(f"{w1} AND {w2}")
        elif kind == 4:
            out.append(f"{w1} OR {w2}")
        else:
            out.append(f"{w1} NOT {w2}")
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- one size, in a child process -----------------------------------------------------------------
def child(root: Path, n: int, query_count: int, pairs_file: Path) -> dict:
    from storage.search_index import open_search_index, search_index_path, update_search_index

    started = time.perf_counter()
    update_search_index(root)
    build = time.perf_counter() - started
    size = search_index_path(root).stat().st_size
    index, _ = open_search_index(root)
    rng = random.Random(3)
    latencies, hits = [], 0
    for query in queries(rng, query_count):
        t = time.perf_counter()
        found = index.search(query, limit=20)
        latencies.append(time.perf_counter() - t)
        hits += len(found)
    pairs = [tuple(p) for p in json.loads(pairs_file.read_text())]
    def article_id(url: str) -> int:  # (a dict of every URL would be the bench's memory, not the index's)
        return index.conn.execute("SELECT id FROM articles WHERE url = ?", (url,)).fetchone()[0]

    lookup = []
    probe = rng.sample(range(n), min(200, n))
    for i in probe:
        t = time.perf_counter()
        index.similar(article_id(f"https://news.example/{i % 97}/article-{i}"))
        lookup.append(time.perf_counter() - t)
    found_pairs = 0
    for original, copy in pairs[:300]:
        near = {row["url"] for row, _ in index.similar(article_id(f"https://news.example/{original % 97}/article-{original}"))}
        found_pairs += f"https://news.example/{copy % 97}/article-{copy}" in near
    return {"n": n, "build_s": build, "rate": n / build, "bytes_per_article": size / n,
            "query_median_ms": statistics.median(latencies) * 1000, "query_p95_ms": percentile(latencies, 95) * 1000,
            "hits_per_query": hits / len(latencies), "similar_median_ms": statistics.median(lookup) * 1000,
            "similar_p95_ms": percentile(lookup, 95) * 1000, "recall": found_pairs / max(1, min(300, len(pairs))),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# -- MinHash vs SimHash, other engines -------------------------------------------------------------
def simhash(text: str) -> int:
    import hashlib

    from storage.similarity import SHINGLE, tokens

    words = tokens(text)
    weights = [0] * 64
    for i in range(max(1, len(words) - SHINGLE + 1)):
        h = int.from_bytes(hashlib.blake2b(" ".join(words[i:i + SHINGLE]).encode(), digest_size=8).digest(), "little")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def compare_near_duplicates(root: Path, pairs: list[tuple[int, int]]) -> None:
    from storage.similarity import SIMILAR_THRESHOLD, signature, similarity

    lines = {}
    for path in sorted((root / "json").iterdir()):
        for number, text in enumerate(path.open(encoding="utf-8")):
            lines[int(path.stem.split("-")[1]) * FILE_LINES + number] = json.loads(text)["text"]
    rng = random.Random(5)
    sample = pairs[:300]
    randoms = [(rng.randrange(len(lines)), rng.randrange(len(lines))) for _ in range(3000)]
    for name, near in (("MinHash (Jaccard >= %.1f)" % SIMILAR_THRESHOLD,
                        lambda a, b: similarity(signature(a), signature(b)) >= SIMILAR_THRESHOLD),
                       ("SimHash (Hamming <= 3)", lambda a, b: bin(simhash(a) ^ simhash(b)).count("1") <= 3)):
        t = time.perf_counter()
        recall = sum(near(lines[a], lines[b]) for a, b in sample) / len(sample)
        false = sum(near(lines[a], lines[b]) for a, b in randoms if a != b)
        print(f"  {name:28s} wire copies found {recall:6.1%}; false pairs {false} of {len(randoms)} random pairs; "
              f"{(time.perf_counter() - t) / (2 * (len(sample) + len(randoms))) * 1000:.2f} ms a text")


def compare_engines(root: Path, query_count: int) -> None:
    import sqlite3

    from storage.jsonl import iter_json_file

    rows = [(line["title"], line["text"]) for path in sorted((root / "json").iterdir())
            for line in iter_json_file(path, print)]
    qs = [q for q in queries(random.Random(3), query_count)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tri.sqlite3"
        conn = sqlite3.connect(db)
        t = time.perf_counter()
        conn.execute("CREATE VIRTUAL TABLE fts USING fts5(title, text, tokenize='trigram')")
        conn.executemany("INSERT INTO fts VALUES (?, ?)", rows)
        conn.commit()
        build = time.perf_counter() - t
        lat = []
        for q in qs:
            t = time.perf_counter()
            try:
                conn.execute("SELECT rowid, snippet(fts, 1, '[', ']', '…', 24) FROM fts WHERE fts MATCH ? "
                             "ORDER BY rank LIMIT 20", (q,)).fetchall()
            except sqlite3.OperationalError:
                continue
            lat.append(time.perf_counter() - t)
        print(f"  FTS5 trigram (every language)  {db.stat().st_size / len(rows):8.0f} B/article  build "
              f"{len(rows) / build:8.0f} articles/s  query median {statistics.median(lat) * 1000:6.1f} ms "
              f"p95 {percentile(lat, 95) * 1000:6.1f} ms (no join, no latest-version filter)")
        try:
            import tantivy
        except ImportError:
            print("  tantivy: not installed (pip install tantivy to compare)")
            return
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("title", stored=True)
        builder.add_text_field("text", stored=True)
        schema = builder.build()
        folder = Path(tmp) / "tantivy"
        folder.mkdir()
        index = tantivy.Index(schema, path=str(folder))
        t = time.perf_counter()
        writer = index.writer()
        for title, text in rows:
            writer.add_document(tantivy.Document(title=title, text=text))
        writer.commit()
        writer.wait_merging_threads()
        build = time.perf_counter() - t
        index.reload()
        searcher = index.searcher()
        lat = []
        for q in qs:
            t = time.perf_counter()
            try:
                parsed = index.parse_query(q, ["title", "text"])
            except ValueError:
                continue
            for _score, address in searcher.search(parsed, 20).hits:
                searcher.doc(address)
            lat.append(time.perf_counter() - t)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(f"  tantivy (default tokenizer)    {size / len(rows):8.0f} B/article  build {len(rows) / build:8.0f} "
              f"articles/s  query median {statistics.median(lat) * 1000:6.1f} ms p95 {percentile(lat, 95) * 1000:6.1f} ms "
              "(no snippets, no diacritic folding, no CJK)")


# -- the cost in a crawl ---------------------------------------------------------------------------
def ingest_cost(pages: int, runs: int) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from newsserver import NewsServer, corpus_pages

    with NewsServer() as server:
        found = corpus_pages()
        urls = [server.url(f"/copy/{i}/{site}/{name}") for i, (site, name) in
                zip(range(pages), (found[i % len(found)] for i in range(pages)))]
        times: dict[bool, list[float]] = {True: [], False: []}
        for run in range(runs):
            for on in ((True, False) if run % 2 == 0 else (False, True)):
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    done = subprocess.run([sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive",
                                           tmp, "-s", f"ARCHIVE_SEARCH_INDEX={on}", "-s", "ARCHIVE_REQUISITES=False",
                                           "-i", "-"],
                                          input="\n".join(urls), capture_output=True, text=True, cwd=REPO)
                    times[on].append(time.perf_counter() - t)
                    assert done.returncode == 0, done.stderr[-2000:]
        off, on = statistics.median(times[False]), statistics.median(times[True])
        print(f"crawler ingest of {pages} pages, {runs} run(s) each, median wall time: index off {off:.1f} s, "
              f"on {on:.1f} s: {on / off - 1:+.1%} (runs: off {', '.join(f'{x:.1f}' for x in times[False])}; "
              f"on {', '.join(f'{x:.1f}' for x in times[True])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--compare-engines", action="store_true")
    parser.add_argument("--ingest-pages", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--child", nargs=3, metavar=("ROOT", "N", "PAIRS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), int(args.child[1]), args.queries, Path(args.child[2]))))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for number, n in enumerate(sizes):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "archive"
            pairs = write_articles(root, n)
            pairs_file = Path(tmp) / "pairs.json"
            pairs_file.write_text(json.dumps(pairs))
            done = subprocess.run([sys.executable, __file__, "--queries", str(args.queries), "--child", str(root), str(n),
                                   str(pairs_file)], capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{n:>7} articles: index {r['bytes_per_article']:6.0f} B/article, {r['rate']:6.0f} articles/s "
                  f"({r['build_s']:.1f} s); query median {r['query_median_ms']:.1f} ms, p95 {r['query_p95_ms']:.1f} ms "
                  f"({r['hits_per_query']:.1f} hits); similar median {r['similar_median_ms']:.1f} ms, p95 "
                  f"{r['similar_p95_ms']:.1f} ms, wire copies found {r['recall']:.0%}; peak RSS {r['peak_rss_mb']:.0f} MB",
                  flush=True)
            if number == 0:
                compare_near_duplicates(root, pairs)
                if args.compare_engines:
                    compare_engines(root, args.queries)
    if args.ingest_pages:
        ingest_cost(args.ingest_pages, args.runs)


if __name__ == "__main__":
    main()
