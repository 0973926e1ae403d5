"""Peak memory against decompression bombs: a crawl of each bomb, and `crawler get` of it from the
archive afterwards, measured over the whole process tree (crawler, fork server, workers).

    python bench/bombs.py [--gzip-mb 2048] [--br-mb 1500] [--get]

The local news server sends `mb` MiB of zeros (an HTML tag first) as a gzip body of about 2 MB
and a brotli body of about 2 KB. Prints, per bomb, the compressed size, the peak RSS of the
`crawler ingest` process tree and, with --get, of `crawler get -o FILE` (which writes the decoded
payload to a file) and `crawler get` to a pipe; and the line the crawl wrote. Target: every peak
under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from tests.newsserver import NewsServer, bomb  # noqa: E402
from tests.proctree import descendants, rss_kb  # noqa: E402


def peak_rss_mb(cmd: list[str], **popen: object) -> tuple[float, int, float]:
    """(peak RSS of the process tree in MB, exit status, seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, **popen)  # type: ignore[call-overload]
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(rss_kb(p) for p in [proc.pid, *descendants(proc.pid)]))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    done.set()
    sampler.join()
    return peak / 1024, proc.returncode, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gzip-mb", type=int, default=2048)
    parser.add_argument("--br-mb", type=int, default=1500)
    parser.add_argument("--get", action="store_true", help="also `crawler get` each archived bomb")
    args = parser.parse_args()
    worst = 0.0
    with NewsServer() as server, tempfile.TemporaryDirectory() as tmp:
        for encoding, mb in (("gzip", args.gzip_mb), ("br", args.br_mb)):
            body = bomb(encoding, mb)  # made before the timed run, as a server would hold it
            url = server.url(f"/bomb?enc={encoding}&mb={mb}")
            archive = Path(tmp) / f"archive-{encoding}"
            peak, code, seconds = peak_rss_mb(
                [sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", str(archive),
                 "-s", "ARCHIVE_PROGRESS_INTERVAL=0", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            line = json.loads(next((archive / "json").glob("*.jsonl")).read_text().splitlines()[0])
            print(f"{encoding:5} {mb} MiB as {len(body):,} bytes: crawl peak {peak:7.1f} MB, exit {code}, "
                  f"{seconds:.1f} s; line reason={line['reason']!r}")
            worst = max(worst, peak)
            if args.get:
                out = Path(tmp) / f"payload-{encoding}"
                peak, code, seconds = peak_rss_mb(
                    [sys.executable, "-m", "crawler", "get", url, "--archive", str(archive), "-o", str(out)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                size = out.stat().st_size if out.exists() else 0
                print(f"{'':5} crawler get -o FILE: peak {peak:7.1f} MB, exit {code}, {seconds:.1f} s, "
                      f"{size:,} bytes written")
                out.unlink(missing_ok=True)
                worst = max(worst, peak)
                peak, code, seconds = peak_rss_mb(
                    [sys.executable, "-m", "crawler", "get", url, "--archive", str(archive)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                print(f"{'':5} crawler get (to a pipe): peak {peak:7.1f} MB, exit {code}, {seconds:.1f} s")
                worst = max(worst, peak)
    print(f"worst peak: {worst:.1f} MB (target: under 1,000 MB)")
    return 0 if worst < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
