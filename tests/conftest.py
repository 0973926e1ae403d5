from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from newsserver import NewsServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# pywb pins libraries (redis 2.x, brotlipy) that clash with ours, so it lives in its own venv.
PYWB_BIN = Path(os.environ.get("PYWB_BIN") or REPO / ".tools" / "pywb" / "bin")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_crawler(*args: str, cwd: Path | None = None, timeout: float = 240, stdin: str | None = None,
                env: dict[str, str] | None = None) -> Run:
    """Run the `crawler` command the way a user does, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, input=stdin, env=full_env,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def news_server():
    with NewsServer() as server:
        yield server


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"
