"""Does a change keep what `crawler ingest` writes? A snapshot of one ingest of the corpus pages,
and a field-by-field comparison of two snapshots.

    python bench/compare_ingest.py --save before.json        # on the old code
    python bench/compare_ingest.py --against before.json     # on the new code: exit 1 on a difference

Serves every recorded corpus page (and a few failing URLs) from the local news server, runs
`crawler ingest` of all of them into a fresh archive, and reduces what it wrote to what must not
change: each JSON line without its times and record ids, and each WARC record's headers (without
dates, record ids and file names) and payload digest, keyed by record type and URL.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from tests.newsserver import NewsServer, corpus_pages  # noqa: E402

# Differ from run to run by nature: times, ids, file names, the port of the local server.
VOLATILE_JSON = {"fetched_at", "extracted_at", "previous_fetched_at"}
VOLATILE_WARC = {"WARC-Date", "WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To",
                 "WARC-Warcinfo-ID", "WARC-Filename", "WARC-Refers-To-Date", "Content-Length",
                 "WARC-Block-Digest"}
VOLATILE_HTTP = {"Date", "Last-Modified", "Server"}


def _urls(server: NewsServer) -> list[str]:
    urls = [server.url(f"/gzip/{site}/{name}") for site, name in corpus_pages(False)]
    # failures and non-articles must keep their lines and reasons too
    urls += [server.url(path) for path in ("/status/404", "/status/500", "/file.pdf", "/redirect/301?to=/latin1", "/redirect-chain/2")]
    return urls


def _stable(text: str, port: int) -> str:
    return text.replace(f"127.0.0.1:{port}", "HOST")


def snapshot() -> dict[str, Any]:
    with NewsServer() as server, tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(_urls(server)))
        archive = Path(tmp) / "archive"
        done = subprocess.run(
            [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", str(archive),
             "-i", str(listing), "-s", "ARCHIVE_PROGRESS_INTERVAL=0"],
            cwd=REPO, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            raise SystemExit(f"crawler ingest exited {done.returncode}:\n{done.stderr[-3000:]}")
        port = server.port
        lines: dict[str, Any] = {}
        for path in sorted((archive / "json").glob("*.jsonl*")):
            for raw in path.read_text().splitlines():
                record = json.loads(_stable(raw, port))
                for name in VOLATILE_JSON:
                    record.pop(name, None)
                warc = record.get("warc") or {}
                for name in ("filename", "offset", "length", "record_id"):
                    warc.pop(name, None)
                lines[record["url"]] = record
        records: dict[str, Any] = {}
        for path in sorted((archive / "warc").glob("*.warc.gz")):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    kind = record.rec_type
                    if kind == "warcinfo":
                        continue
                    url = _stable(record.rec_headers.get_header("WARC-Target-URI") or "", port)
                    # a metadata record's payload digest covers text holding the server's port
                    volatile = VOLATILE_WARC | ({"WARC-Payload-Digest"} if kind == "metadata" else set())
                    headers = sorted((k, _stable(v, port)) for k, v in record.rec_headers.headers
                                     if k not in volatile)
                    http = None
                    if record.http_headers is not None and kind in ("request", "response", "revisit"):
                        http = [record.http_headers.statusline]
                        http += sorted(f"{k}: {_stable(v, port)}" for k, v in record.http_headers.headers
                                       if k not in VOLATILE_HTTP)
                    body = record.content_stream().read() if kind == "metadata" else None
                    records[f"{kind} {url}"] = {"headers": headers, "http": http,
                                               "metadata": _stable(body.decode(), port) if body else None}
        return {"json": lines, "warc": records}


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    problems = []
    for part in ("json", "warc"):
        old, new = before[part], after[part]
        for key in sorted(old.keys() - new.keys()):
            problems.append(f"{part}: missing {key}")
        for key in sorted(new.keys() - old.keys()):
            problems.append(f"{part}: new {key}")
        for key in sorted(old.keys() & new.keys()):
            if old[key] != new[key]:
                a, b = old[key], new[key]
                fields = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
                problems.append(f"{part}: {key}: differs in {', '.join(fields)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", metavar="FILE", help="write the snapshot of this code's ingest to FILE")
    group.add_argument("--against", metavar="FILE", help="compare this code's ingest with a saved snapshot")
    args = parser.parse_args()
    now = json.loads(json.dumps(snapshot()))  # tuples as lists, as in a saved snapshot
    print(f"{len(now['json'])} JSON lines, {len(now['warc'])} WARC records")
    if args.save:
        Path(args.save).write_text(json.dumps(now, ensure_ascii=False, sort_keys=True, indent=1))
        return 0
    problems = compare(json.loads(Path(args.against).read_text()), now)
    for problem in problems:
        print(problem)
    print("same output" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
