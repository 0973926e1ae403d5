"""Upload throughput of a closed WARC: our S3 backend against a plain boto3 `upload_file`.

    python bench/s3_upload.py [--size-mb 200] [--runs 3] [--chunk-mb 8] [--concurrency 10]

Starts moto's S3 server in a separate process on 127.0.0.1 (an ephemeral port), writes one
WARC of about --size-mb (warcio, gzip per record, incompressible payloads so the file really
is that large), then alternates, --runs times each:
  1. `S3Backend.store()`: SHA-256 of the file (sent as metadata), multipart upload with the SDK's
     SHA-256 checksums while the composite checksum is computed locally, HeadObject
     verification, local delete;
  2. `client.upload_file()` with the same TransferConfig (boto3's default CRC32 checksum, no
     verification);
  3. `client.upload_file()` with boto3's default TransferConfig (8 MiB parts, 10 threads).
Prints MB/s per run and min/median/max, and the time of the local hashing passes alone. The
endpoint and the client share this machine's cores, so the figures are relative.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
from boto3.s3.transfer import TransferConfig  # noqa: E402
from s3transfer.utils import ChunksizeAdjuster  # noqa: E402

from storage.archive import parse_archive_uri  # noqa: E402
from storage.backends.s3 import S3Backend, composite_checksum, file_sha256  # noqa: E402
from storage.backends.s3config import S3Config  # noqa: E402
from storage.warc import HttpExchange, RotatingWarcWriter, WarcInfo  # noqa: E402

MiB = 1 << 20
BUCKET = "bench-archive"
_SERVER = """
import sys
from werkzeug.serving import WSGIRequestHandler, make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass

server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True,
                     request_handler=Quiet)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_endpoint() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def make_warc(directory: Path, size: int) -> Path:
    """A closed WARC of about `size` bytes: 2 MB random payloads (gzip cannot shrink them)."""
    writer = RotatingWarcWriter(
        directory,
        WarcInfo(software="bench", user_agent="bench", robots="obey"),
        prefix="bench",
        max_bytes=size * 2,
    )
    body = os.urandom(2 * MiB)
    i = 0
    while writer.current_path is None or writer.current_path.stat().st_size < size:
        writer.write_exchange(
            HttpExchange(
                url=f"http://example.org/{i}",
                method="GET",
                request_headers=[("Accept", "*/*")],
                status=200,
                reason="OK",
                protocol="HTTP/1.1",
                response_headers=[("Content-Type", "application/octet-stream")],
                body=body[i % 997 :] + body[: i % 997],
                date=datetime.now(timezone.utc),
            )
        )
        i += 1
    path = writer.close()
    assert path is not None
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--chunk-mb", type=int, default=8, help="part size and multipart threshold (MiB)"
    )
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)
    server, url = start_endpoint()
    work = Path(tempfile.mkdtemp(prefix="s3bench-"))
    try:
        client = boto3.client("s3", endpoint_url=url)
        client.create_bucket(Bucket=BUCKET)
        warc = make_warc(work / "src", args.size_mb * MiB)
        size = warc.stat().st_size
        chunk = args.chunk_mb * MiB
        config = S3Config(
            endpoint_url=url,
            multipart_threshold=chunk,
            multipart_chunksize=chunk,
            max_concurrency=args.concurrency,
        )
        backend = S3Backend(parse_archive_uri(f"s3://{BUCKET}/bench"), config=config)
        backend.check()  # builds the client once, as a crawl does at start (not timed)
        same = TransferConfig(
            multipart_threshold=chunk,
            multipart_chunksize=chunk,
            max_concurrency=args.concurrency,
            preferred_transfer_client="classic",
        )
        print(
            f"file: {warc.name}, {size / 1e6:.1f} MB; parts of {chunk // MiB} MiB "
            f"({-(-size // ChunksizeAdjuster().adjust_chunksize(chunk, size))} parts), {args.concurrency} threads"
        )
        print(
            f"endpoint: moto {__import__('moto').__version__} server at {url} (separate process); "
            f"boto3 {boto3.__version__}; Python {platform.python_version()}; {os.cpu_count()} cores"
        )

        part = ChunksizeAdjuster().adjust_chunksize(chunk, size) if size >= chunk else None
        with open(warc, "rb") as fh:
            started = time.perf_counter()
            file_sha256(fh)
            serial = time.perf_counter() - started
        started = time.perf_counter()
        if part:
            composite_checksum(warc, part)
        overlapped = time.perf_counter() - started
        print(
            f"local hashing: SHA-256 of the file before the upload {serial:.2f} s; per-part SHA-256 "
            f"(runs during the upload) {overlapped:.2f} s"
        )

        results: dict[str, list[float]] = {
            "S3Backend.store (verified)": [],
            "upload_file, same TransferConfig": [],
            "upload_file, default TransferConfig": [],
        }
        for run in range(args.runs):
            spool = work / "spool" / "warc"
            spool.mkdir(parents=True, exist_ok=True)
            copy = spool / warc.name
            shutil.copyfile(warc, copy)
            started = time.perf_counter()
            stored = backend.store(copy, f"warc/{run}-{warc.name}")
            results["S3Backend.store (verified)"].append(time.perf_counter() - started)
            assert stored is not None and not copy.exists()
            client.delete_object(Bucket=BUCKET, Key=f"bench/warc/{run}-{warc.name}")

            for label, transfer in (
                ("upload_file, same TransferConfig", same),
                ("upload_file, default TransferConfig", TransferConfig()),
            ):
                key = f"plain/{run}-{label[-20:].replace(' ', '_')}"
                started = time.perf_counter()
                client.upload_file(str(warc), BUCKET, key, Config=transfer)
                results[label].append(time.perf_counter() - started)
                client.delete_object(Bucket=BUCKET, Key=key)

        print(f"\n{'':38} {'MB/s per run':>30}   min / median / max MB/s")
        for label, seconds in results.items():
            rates = [size / s / 1e6 for s in seconds]
            per_run = ", ".join(f"{r:.0f}" for r in rates)
            print(
                f"{label:38} {per_run:>30}   {min(rates):.0f} / {statistics.median(rates):.0f} / {max(rates):.0f}"
            )
        backend.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
