from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from newsserver import NewsServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# boto3 would look for credentials at the EC2 metadata address (169.254.169.254): tests touch
# nothing but loopback, so that lookup is off for every test and every command they run.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# pywb pins libraries (redis 2.x, brotlipy) that clash with ours, so it lives in its own venv.
PYWB_BIN = Path(os.environ.get("PYWB_BIN") or REPO / ".tools" / "pywb" / "bin")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


# Commands that crawl, and take -s: the recorded corpus pages ask for their stylesheets and
# images on the real web (and on their sources' hosts, under those sources' delays), which no
# test may reach: page requisites stay off unless a test asks for them (requisites=True).
CRAWLING_COMMANDS = ("ingest", "crawl", "worker")


def run_crawler(*args: str, cwd: Path | None = None, timeout: float = 240, stdin: str | None = None,
                env: dict[str, str] | None = None, requisites: bool = False) -> Run:
    """Run the `crawler` command the way a user does, in a subprocess."""
    if (not requisites and args and args[0] in CRAWLING_COMMANDS
            and not any("REQUISITES" in arg or arg == "--no-requisites" for arg in args)):
        args = (args[0], "-s", "ARCHIVE_REQUISITES=False", *args[1:])
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, input=stdin, env=full_env,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def pywb_collection(warcs: list[Path], home: Path) -> Iterator[str]:
    """pywb's own tools: a collection "news" over `warcs`, served by `wayback`; yields its base URL."""
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([PYWB_BIN / "wb-manager", "init", "news"], cwd=home, check=True, capture_output=True)
    subprocess.run([PYWB_BIN / "wb-manager", "add", "news", *map(str, warcs)], cwd=home, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([PYWB_BIN / "wayback", "-p", str(port), "-b", "127.0.0.1"], cwd=home,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/news/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base, timeout=5).close()
                break
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP answer: pywb is up
                    break
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def fetch(url: str) -> tuple[str, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read().decode("utf-8", "replace"), dict(resp.headers)


@pytest.fixture(scope="session")
def news_server():
    with NewsServer() as server:
        yield server


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"
