"""Start-up and shut-down cost of `crawler ingest`: the whole command for one URL that is refused
at once (no network), so what is timed is imports, settings, the fork server, the engine opening
and closing, and the summary.

    python bench/startup.py [--runs 8] [--baseline OTHER_CHECKOUT]

With --baseline (another checkout of the repository, e.g. `git worktree add /tmp/old <commit>`),
the two are run alternately, so both see the same machine load; prints each run and the
min/median/max of each.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one_run(checkout: Path, archive: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crawler", "ingest", "http://127.0.0.1:9/x", "--archive", str(archive),
                    "-s", "ARCHIVE_PROGRESS_INTERVAL=0"], cwd=checkout, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--baseline", type=Path, help="another checkout to time alternately")
    args = parser.parse_args()
    checkouts = {"this": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    times: dict[str, list[float]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, checkout in checkouts.items():
                times[name].append(one_run(checkout, Path(tmp) / name))
            print(f"run {run + 1}: " + "  ".join(f"{name} {values[-1]:.2f} s" for name, values in times.items()))
    for name, values in times.items():
        print(f"{name:8} min {min(values):.2f}  median {statistics.median(values):.2f}  max {max(values):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
