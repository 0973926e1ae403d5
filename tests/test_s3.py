"""Archives on S3: crawls into s3://bucket/prefix against a real S3-compatible endpoint (moto's
server on 127.0.0.1, an ephemeral port), through boto3 over the network; faults are real (the
endpoint is stopped, a proxy cuts the connection, IAM refuses the credentials)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from warcio.archiveiterator import ArchiveIterator
from warcutil import read_records, warcio_check
from werkzeug.serving import WSGIRequestHandler, make_server

from storage.archive import ArchiveURIError, parse_archive_uri
from storage.backends import LocalBackend, StorageError, archive_files, backend_for
from storage.backends.s3 import S3Backend
from storage.backends.s3config import S3Config
from storage.backends.spool import Shipper, default_spool, pending, upload_all

# Recognisable credentials: none of them may show up in any log or file.
ACCESS_KEY = "AKIANEWSARCHIVE7TEST"
SECRET_KEY = "nEwSaRcHiVe/SeCrEt+kEy/0123456789aBcDeFgHiJ"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjNEWSARCHIVESESSIONTOKEN//////////0123456789abcdef+/="
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
BUCKET = "news-archive"
REGION = "us-east-1"
MiB = 1 << 20


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class S3Endpoint:
    """moto's S3 (and IAM) served by werkzeug on 127.0.0.1. `stop()` closes the listening socket
    (clients get "connection refused"); `start()` again serves the same buckets on the same port
    (moto keeps its state in this process)."""

    def __init__(self) -> None:
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> S3Endpoint:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", self.port, app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str = "s3", **creds: str):
        creds = creds or {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            config=BotoConfig(retries={"max_attempts": 1}),
            **creds,
        )

    def require_auth(self, on: bool) -> None:
        """Make moto check every request's access key and signature against its IAM users."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200


@pytest.fixture(scope="module")
def s3():
    endpoint = S3Endpoint().start()
    endpoint.client().create_bucket(Bucket=BUCKET)
    yield endpoint
    endpoint.stop()


def aws_env(endpoint: S3Endpoint, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a crawl: standard AWS variables only, nothing from this machine."""
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint.url,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "2",
        "AWS_PROFILE": "",
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str]):
    # AWS_PROFILE="" would name a profile: drop it (and anything else emptied) from the environment.
    full = {**os.environ, **env}
    for name in [k for k, v in env.items() if v == ""]:
        full.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=full,
    )
    return proc


def spool_of(home: Path, bucket: str, prefix: str) -> Path:
    return home / "cache" / "newsarchive" / "spool" / bucket / prefix


def spooled(spool: Path) -> list[Path]:
    """Files waiting to be shipped (the local index of the spool is not shipped)."""
    return sorted(p for sub in ("warc", "json", "runs") for p in (spool / sub).glob("*") if p.is_file())


def objects(client, prefix: str) -> dict[str, dict]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj
    return out


def download_all(client, prefix: str, dest: Path) -> Path:
    """Mirror the objects under `prefix` into `dest` (dest/warc/..., dest/json/...)."""
    for key in objects(client, prefix):
        target = dest / key[len(prefix) :].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(BUCKET, key, str(target))
    return dest


def assert_no_secrets(texts: list[str], roots: list[Path]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a credential appears in the output: {secret[:6]}..."
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in SECRETS:
                    assert secret.encode() not in data, f"a credential appears in {path}"


def log_events(stderr: str) -> list[dict]:
    events = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return events


# -- a crawl into S3 -------------------------------------------------------------------------------
PAGES = [
    "/page/dw.com/DW_2024_01_30",
    "/gzip/reuters.com/Reuters_2024_03_07",
    "/br/restofworld.org/RestOfWorld_2025_10_21",
    "/chunked/dw.com/DW_2023_06_13",
    "/cookies",
    "/echo?q=s3&page=1",
]


@pytest.fixture(scope="module")
def crawled(news_server, s3, tmp_path_factory):
    """One ingest into s3://news-archive/runs/one, logging at DEBUG with credentials set."""
    home = tmp_path_factory.mktemp("s3home")
    urls = [news_server.url(p) for p in PAGES]
    uri = f"s3://{BUCKET}/runs/one"
    proc = run(
        "--log-level",
        "DEBUG",
        "ingest",
        "--allow-private",
        "--archive",
        uri,
        *urls,
        "-s",
        "ARCHIVE_WARC_MAX_BYTES=60000",
        env=aws_env(s3, home),
    )
    mirror = download_all(s3.client(), "runs/one/", home / "downloaded")
    return home, urls, proc, mirror


def test_crawl_leaves_warc_and_json_objects(crawled, s3):
    home, urls, proc, _mirror = crawled
    assert proc.returncode == 0, proc.stderr[-3000:]
    keys = sorted(objects(s3.client(), "runs/one/"))
    warcs = [k for k in keys if k.startswith("runs/one/warc/")]
    jsons = [k for k in keys if k.startswith("runs/one/json/")]
    assert len(warcs) >= 2, keys  # rotated at ARCHIVE_WARC_MAX_BYTES, each shipped when closed
    assert all(
        re.fullmatch(r"runs/one/warc/ingest-\d{14}-\d{5}-[^-]+-\d+\.warc\.gz", k) for k in warcs
    )
    assert len(jsons) == 1 and jsons[0].endswith(".jsonl")
    runs = [k for k in keys if k.startswith("runs/one/runs/")]  # the run's figures, for crawler report
    assert len(runs) == 1 and runs[0].endswith(".json")
    assert set(keys) == set(warcs) | set(jsons) | set(runs)
    # Nothing left behind: the spool holds no closed or open file.
    spool = spool_of(home, BUCKET, "runs/one")
    assert spool.is_dir() and spooled(spool) == []
    assert f"storage: {len(keys)} file(s)" in proc.stdout
    assert s3.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_downloaded_objects_pass_warcio_check_and_match_what_was_crawled(crawled, news_server):
    _home, urls, _proc, mirror = crawled
    warcs = sorted((mirror / "warc").glob("*.warc.gz"))
    check = warcio_check(warcs)
    assert check.returncode == 0, check.stdout + check.stderr
    records = [r for path in warcs for r in read_records(path)]
    responses = {r.uri: r for r in records if r.type == "response"}
    for path in PAGES:
        assert responses[news_server.url(path)].raw == news_server.sent[path], path
    lines = [
        json.loads(line)
        for f in (mirror / "json").glob("*.jsonl")
        for line in f.read_text(encoding="utf-8").splitlines()
        if line
    ]
    assert {line["url"] for line in lines} == set(urls)
    for line in lines:
        pointer = line["warc"]
        with open(mirror / "warc" / pointer["filename"], "rb") as fh:
            fh.seek(pointer["offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]


def test_objects_carry_verified_checksums(crawled, s3):
    _home, _urls, _proc, mirror = crawled
    client = s3.client()
    for key in objects(client, "runs/one/"):
        head = client.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        data = (mirror / key[len("runs/one/") :]).read_bytes()
        assert head["ContentLength"] == len(data)
        assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert head["ChecksumSHA256"].split("-")[0]  # the SDK's checksum was sent and kept
        assert head["ETag"].strip('"') == hashlib.md5(data).hexdigest()  # single part: MD5


def test_reading_back_from_s3_like_from_disk(crawled, s3, monkeypatch, tmp_path):
    """The backend gives readers the same files, seekable: records found by (file, offset)."""
    _home, urls, _proc, mirror = crawled
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    backend = backend_for(
        f"s3://{BUCKET}/runs/one", config=S3Config(endpoint_url=s3.url, region=REGION)
    )
    local = backend_for(str(mirror))
    try:
        assert backend.list("warc") == local.list("warc") and backend.list("json") == local.list(
            "json"
        )
        (json_key,) = backend.list("json")
        with backend.open_for_read(json_key) as fh:
            lines = [json.loads(line) for line in fh.read().decode("utf-8").splitlines() if line]
        assert {line["url"] for line in lines} == set(urls)
        for line in lines:
            pointer = line["warc"]
            with backend.open_for_read(f"warc/{pointer['filename']}") as fh:
                fh.seek(pointer["offset"])
                record = next(iter(ArchiveIterator(fh)))
                assert record.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
                assert record.rec_headers.get_header("WARC-Target-URI") == line["final_url"]
        # Whole files, sequentially, through warcio: the same records as the local copies.
        for remote in archive_files(backend, "warc"):
            with remote.open() as fh:
                got = [
                    (r.rec_type, r.rec_headers.get_header("WARC-Record-ID"))
                    for r in ArchiveIterator(fh)
                ]
            want = [
                (r.type, r.warc.get_header("WARC-Record-ID"))
                for r in read_records(mirror / "warc" / remote.name)
            ]
            assert got == want and remote.label.startswith(f"s3://{BUCKET}/runs/one/warc/")
        copy = backend.download(json_key, tmp_path / "copy.jsonl")
        assert copy.read_bytes() == (mirror / json_key).read_bytes()
    finally:
        backend.close()


def test_cdxj_index_built_from_s3(crawled, s3, monkeypatch, tmp_path):
    cdxj = pytest.importorskip("storage.cdxj")
    urls = crawled[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    backend = backend_for(
        f"s3://{BUCKET}/runs/one", config=S3Config(endpoint_url=s3.url, region=REGION)
    )
    try:
        out = tmp_path / "index.cdxj"
        cdxj.index_warcs(archive_files(backend, "warc"), out)
    finally:
        backend.close()
    text = out.read_text()
    for url in urls:
        assert json.dumps(url)[1:-1] in text or url in text, url


def test_no_credentials_in_logs_or_files(crawled):
    home, _urls, proc, _mirror = crawled
    assert proc.returncode == 0
    assert "DEBUG" in proc.stderr.upper()  # the run did log at DEBUG
    assert_no_secrets([proc.stdout, proc.stderr], [home])


# -- faults ----------------------------------------------------------------------------------------
def test_endpoint_down_mid_crawl_then_crawler_upload(news_server, tmp_path):
    """The endpoint goes away once the first file is in the bucket: the crawl completes, the
    rest waits in the spool, the exit status says so; back up, `crawler upload` ships the rest:
    every capture ends up in the bucket exactly once."""
    endpoint = S3Endpoint().start()
    prefix = "runs/fault"
    client = endpoint.client()
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    env = aws_env(endpoint, tmp_path)
    urls = [news_server.url(p) for p in PAGES] + [news_server.url("/slow?delay=4")]
    uri = f"s3://{BUCKET}/{prefix}"
    stopped = threading.Event()

    def stop_after_first_upload() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if objects(client, prefix + "/"):
                    break
            except Exception:  # noqa: BLE001 - polling
                pass
            time.sleep(0.02)
        endpoint.stop()
        stopped.set()

    try:
        with ThreadPoolExecutor(1) as pool:
            watcher = pool.submit(stop_after_first_upload)
            proc = run(
                "ingest",
                "--allow-private",
                "--archive",
                uri,
                *urls,
                "-s",
                "ARCHIVE_WARC_MAX_BYTES=1",
                env=env,
            )
            watcher.result()
        assert stopped.is_set()
        assert proc.returncode == 4, proc.stdout + proc.stderr[-3000:]
        assert "archived: 7" in proc.stdout  # the crawl itself went on
        assert "Traceback" not in proc.stderr
        spool = spool_of(tmp_path, BUCKET, prefix)
        left = spooled(spool)
        assert left and not [p for p in left if p.name.endswith(".open")]
        assert any(
            p.parent.name == "json" for p in left
        )  # the JSON Lines file closed after the stop
        assert f"crawler: storage: {len(left)} file(s) could not be stored in {uri}" in proc.stderr
        assert (
            f"cannot reach the S3 endpoint (connection refused or no route to it) (endpoint {endpoint.url})"
            in proc.stderr
        )
        assert f"crawler upload --archive {uri}" in proc.stderr
        failures = [e for e in log_events(proc.stderr) if e.get("event") == "upload_failed"]
        assert len(failures) == 1, failures  # said once; later files waited without a retry storm
        assert failures[0]["level"] == "error" and failures[0]["kind"] == "unreachable"

        endpoint.start()  # back, same port, same buckets
        before = objects(client, prefix + "/")
        assert before  # the first file(s) went up before the endpoint stopped
        up = run("upload", "--archive", uri, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"storage: {len(left)} file(s)" in up.stdout or "already there" in up.stdout
        assert spooled(spool) == []
        after = objects(client, prefix + "/")
        assert set(before) < set(after)
        assert {Path(k).name for k in after} == {p.name for p in left} | {
            Path(k).name for k in before
        }
        assert client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []
        mirror = download_all(client, prefix + "/", tmp_path / "downloaded")
        warcs = sorted((mirror / "warc").glob("*.warc.gz"))
        assert warcio_check(warcs).returncode == 0
        records = [r for path in warcs for r in read_records(path)]
        ids = [r.warc.get_header("WARC-Record-ID") for r in records]
        assert len(ids) == len(set(ids))
        fetched = [r.uri for r in records if r.type == "response"]
        assert sorted(fetched) == sorted(set(fetched))  # no capture twice
        assert set(urls) <= set(fetched)  # none lost
        lines = [
            json.loads(line)
            for f in (mirror / "json").glob("*.jsonl")
            for line in f.read_text().splitlines()
            if line
        ]
        assert sorted(line["url"] for line in lines) == sorted(urls)
        assert_no_secrets([proc.stdout, proc.stderr, up.stdout, up.stderr], [tmp_path])
    finally:
        endpoint.stop()


def test_missing_bucket_one_clear_message_then_next_crawl_ships_leftovers(
    news_server, s3, tmp_path
):
    bucket = "bucket-not-there-yet"
    uri = f"s3://{bucket}/later"
    env = aws_env(s3, tmp_path)
    url = news_server.url("/page/dw.com/DW_2023_04_28")
    proc = run("ingest", "--allow-private", "--archive", uri, url, env=env)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "archived: 1" in proc.stdout
    assert "Traceback" not in proc.stderr
    message = f"bucket '{bucket}' does not exist [NoSuchBucket] (endpoint {s3.url})"
    errors = [e for e in log_events(proc.stderr) if e.get("level") == "error"]
    assert len(errors) == 1 and message in errors[0]["error"], errors
    assert proc.stderr.count(message) == 2  # the log event, and the summary at the end
    spool = spool_of(tmp_path, bucket, "later")
    left = spooled(spool)
    assert {p.parent.name for p in left} == {"warc", "json", "runs"}
    assert_no_secrets([proc.stdout, proc.stderr], [tmp_path])

    # Someone creates the bucket; the next crawl ships its own files and the ones left over.
    s3.client().create_bucket(Bucket=bucket)
    again = run(
        "ingest", "--allow-private", "--archive", uri, news_server.url("/echo?again=1"), env=env
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert spooled(spool) == []
    keys = {Path(k).name for k in objects_in(s3.client(), bucket, "later/")}
    assert {p.name for p in left} <= keys and len(keys) == len(left) + 3  # its WARC, JSON and run files


def objects_in(client, bucket: str, prefix: str) -> list[str]:
    return [
        o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    ]


@pytest.fixture
def iam_user(s3):
    """An IAM user allowed s3:*, and moto checking credentials while the test runs."""
    iam = s3.client("iam")
    name = f"crawler-{os.getpid()}-{time.monotonic_ns()}"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    s3.require_auth(True)
    try:
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        s3.require_auth(False)


@pytest.mark.parametrize("wrong", ["access_key", "secret_key"])
def test_wrong_credentials_one_clear_message(news_server, s3, iam_user, tmp_path, wrong):
    key_id, key_secret = iam_user
    if wrong == "access_key":
        creds = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        expected = "the endpoint does not know this AWS access key ID (wrong credentials) [InvalidAccessKeyId]"
    else:
        creds = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        expected = "the request signature does not match (wrong AWS secret access key) [SignatureDoesNotMatch]"
    env = aws_env(s3, tmp_path, AWS_SESSION_TOKEN="", **creds)
    uri = f"s3://{BUCKET}/runs/creds-{wrong}"
    proc = run(
        "ingest",
        "--allow-private",
        "--archive",
        uri,
        news_server.url("/page/dw.com/DW_2024_01_30"),
        env=env,
    )
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "archived: 1" in proc.stdout and "Traceback" not in proc.stderr
    errors = [e for e in log_events(proc.stderr) if e.get("level") == "error"]
    assert len(errors) == 1 and expected in errors[0]["error"], errors
    assert (
        f"s3://{BUCKET}/runs/creds-{wrong}: checking the archive failed: {expected} (endpoint {s3.url})"
        in proc.stderr
    )
    assert spooled(spool_of(tmp_path, BUCKET, f"runs/creds-{wrong}"))
    assert_no_secrets([proc.stdout, proc.stderr], [tmp_path])
    for value in (key_id, key_secret, creds["AWS_SECRET_ACCESS_KEY"]):
        assert value not in proc.stdout + proc.stderr


# -- the storage layer, directly -----------------------------------------------------------------------
class FaultyProxy:
    """A TCP proxy to the endpoint that can cut every connection and refuse new ones once a
    number of bytes went upstream (a network that dies in the middle of an upload), or alter
    the checksum the endpoint reports (a copy that is not what was sent)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.cut_after: int | None = None
        self.corrupt_checksums = False  # answers carry a wrong x-amz-checksum-sha256
        self.sent = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.port = 0
        self._listener: socket.socket | None = None

    def start(self) -> FaultyProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while data := src.recv(65536):
                if not up and self.corrupt_checksums:
                    data = re.sub(
                        rb"(?i)(x-amz-checksum-sha256: )([A-Za-z0-9+/])",
                        lambda m: m[1] + (b"B" if m[2] == b"A" else b"A"),
                        data,
                    )
                dst.sendall(data)
                if up:
                    with self._lock:
                        self.sent += len(data)
                        cut = self.cut_after is not None and self.sent >= self.cut_after
                    if cut:
                        self.cut()
                        return
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass


def _backend(url: str, prefix: str, **config: object) -> S3Backend:
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    location = parse_archive_uri(f"s3://{BUCKET}/{prefix}")
    return S3Backend(location, config=S3Config(endpoint_url=url, **config), session=session)


def test_multipart_upload_cut_midway_is_aborted_and_retried(s3, tmp_path, monkeypatch):
    """A 13 MB file in 5 MiB parts: the network dies after ~7 MB, with no way to abort; the
    next store of that key aborts the dangling upload, uploads, verifies the composite checksum
    and MD5 ETag, and only then deletes the local file."""
    data = os.urandom(13 * MiB + 12345)
    path = tmp_path / "warc" / "big.warc.gz"
    path.parent.mkdir()
    path.write_bytes(data)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    proxy = FaultyProxy(s3.port).start()
    proxy.cut_after = 7 * MiB
    backend = _backend(
        proxy.url,
        "multipart",
        multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
        max_concurrency=1,
    )
    client = s3.client()
    try:
        with pytest.raises(StorageError) as failed:
            backend.store(path, "warc/big.warc.gz")
        assert failed.value.kind == "unreachable" and failed.value.retryable
        assert (
            f"s3://{BUCKET}/multipart/warc/big.warc.gz: upload of warc/big.warc.gz failed"
            in str(failed.value)
        )
        assert path.read_bytes() == data  # still in the spool
        dangling = client.list_multipart_uploads(Bucket=BUCKET, Prefix="multipart/").get(
            "Uploads", []
        )
        assert [u["Key"] for u in dangling] == ["multipart/warc/big.warc.gz"]
        proxy.cut_after = None
        proxy.start()  # the network is back
        stored = backend.store(path, "warc/big.warc.gz")
        assert stored is not None and stored.size == len(data) and not stored.already_there
        assert not path.exists()
        assert (
            client.list_multipart_uploads(Bucket=BUCKET, Prefix="multipart/").get("Uploads", [])
            == []
        )
        head = client.head_object(
            Bucket=BUCKET, Key="multipart/warc/big.warc.gz", ChecksumMode="ENABLED"
        )
        assert head["ETag"].strip('"').endswith("-3")
        assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
        body = client.get_object(Bucket=BUCKET, Key="multipart/warc/big.warc.gz")["Body"].read()
        assert body == data
        # Random access through the backend: a slice in the middle of the second part.
        with backend.open_for_read("warc/big.warc.gz") as fh:
            fh.seek(6 * MiB + 17)
            assert fh.read(1000) == data[6 * MiB + 17 : 6 * MiB + 1017]
            fh.seek(-10, os.SEEK_END)
            assert fh.read() == data[-10:]
    finally:
        backend.close()
        proxy.cut()


def test_a_stored_copy_that_does_not_match_is_deleted_and_the_file_kept(s3, tmp_path):
    proxy = FaultyProxy(s3.port).start()
    proxy.corrupt_checksums = True
    backend = _backend(proxy.url, "verify")
    path = tmp_path / "warc" / "a.warc.gz"
    path.parent.mkdir()
    path.write_bytes(os.urandom(5000))
    try:
        with pytest.raises(StorageError) as failed:
            backend.store(path, "warc/a.warc.gz")
        assert failed.value.kind == "verify"
        assert "failed verification: its SHA-256 checksum differs" in str(failed.value)
        assert "the bad copy was deleted" in str(failed.value)
        assert path.exists() and objects_in(s3.client(), BUCKET, "verify/") == []
        proxy.corrupt_checksums = False
        assert backend.store(path, "warc/a.warc.gz") is not None and not path.exists()
    finally:
        backend.close()
        proxy.cut()


def test_identical_object_is_not_sent_again_and_a_different_one_is_never_overwritten(s3, tmp_path):
    backend = _backend(s3.url, "dedupe")
    client = s3.client()
    spool = tmp_path / "spool"
    first = spool / "json" / "a.jsonl"
    first.parent.mkdir(parents=True)
    first.write_bytes(b'{"n": 1}\n')
    try:
        assert backend.store(first, "json/a.jsonl").already_there is False
        # A run that died after uploading, before deleting: the same file again.
        first.write_bytes(b'{"n": 1}\n')
        again = backend.store(first, "json/a.jsonl")
        assert again.already_there and not first.exists()
        # A different file under the same key: refused, kept locally, the object untouched.
        first.write_bytes(b'{"n": 2}\n')
        with pytest.raises(StorageError) as refused:
            backend.store(first, "json/a.jsonl")
        assert (
            refused.value.kind == "conflict"
            and "a different object already has this key" in str(refused.value)
        )
        assert first.exists()
        assert (
            client.get_object(Bucket=BUCKET, Key="dedupe/json/a.jsonl")["Body"].read()
            == b'{"n": 1}\n'
        )
        report = upload_all(backend, spool)
        assert not report.ok and report.left == [first]
    finally:
        backend.close()


def test_sse_and_storage_class_are_applied_and_checked(s3, tmp_path):
    backend = _backend(s3.url, "sse", sse="AES256", storage_class="STANDARD_IA")
    path = tmp_path / "index" / "x.cdxj"
    path.parent.mkdir()
    path.write_text("com,example)/ 20240101000000 {}\n")
    try:
        backend.store(path, "index/x.cdxj")
    finally:
        backend.close()
    head = s3.client().head_object(Bucket=BUCKET, Key="sse/index/x.cdxj")
    assert head["ServerSideEncryption"] == "AES256" and head["StorageClass"] == "STANDARD_IA"


def test_a_second_process_never_ships_a_file_being_shipped(s3, tmp_path):
    """The spool file is locked while it is shipped: a concurrent store skips it."""
    import fcntl

    path = tmp_path / "warc" / "a.warc.gz"
    path.parent.mkdir()
    path.write_bytes(b"x" * 100)
    backend = _backend(s3.url, "locked")
    try:
        with open(path, "rb") as other:
            fcntl.flock(other.fileno(), fcntl.LOCK_EX)
            assert backend.store(path, "warc/a.warc.gz") is None
        assert path.exists() and not objects_in(s3.client(), BUCKET, "locked/")
        assert backend.store(path, "warc/a.warc.gz") is not None
    finally:
        backend.close()


def test_errors_name_the_endpoint_and_never_credentials(tmp_path, monkeypatch):
    """Nothing listens on the port: one line, retryable, naming bucket and endpoint."""
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = _backend(f"http://user:pw@127.0.0.1:{port}", "nowhere")
    with pytest.raises(StorageError) as failed:
        backend.check()
    text = str(failed.value)
    assert text == (
        f"s3://{BUCKET}/nowhere: checking the archive failed: cannot reach the S3 endpoint "
        f"(connection refused or no route to it) (endpoint http://127.0.0.1:{port})"
    )
    assert failed.value.retryable and "\n" not in text and "pw" not in text
    for secret in SECRETS:
        assert secret not in text


# -- the registry, configuration, the local backend ---------------------------------------------------
def test_registry_picks_the_backend_by_scheme(tmp_path):
    local = backend_for(f"file://{tmp_path}/a")
    assert isinstance(local, LocalBackend) and local.root == (tmp_path / "a").resolve()
    assert isinstance(backend_for(str(tmp_path / "b")), LocalBackend)
    assert isinstance(
        backend_for("s3://bucket/prefix", config=S3Config(endpoint_url="http://127.0.0.1:1")),
        S3Backend,
    )
    with pytest.raises(ArchiveURIError):
        backend_for("ftp://example.org/archive")


def test_local_backend_store_is_a_no_op_in_place_and_atomic_from_elsewhere(tmp_path):
    backend = backend_for(str(tmp_path / "archive"))
    (tmp_path / "archive" / "warc").mkdir(parents=True)
    in_place = tmp_path / "archive" / "warc" / "a.warc.gz"
    in_place.write_bytes(b"a")
    assert backend.store(in_place, "warc/a.warc.gz").already_there and in_place.exists()
    elsewhere = tmp_path / "spool" / "json" / "b.jsonl"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(b"{}\n")
    (tmp_path / "spool" / "json" / "c.jsonl.open").write_bytes(b"{")
    assert pending(backend, tmp_path / "spool") == [elsewhere]
    report = upload_all(backend, tmp_path / "spool")
    assert report.ok and not elsewhere.exists()
    assert backend.list("json") == ["json/b.jsonl"] and backend.list() == [
        "json/b.jsonl",
        "warc/a.warc.gz",
    ]
    with backend.open_for_read("json/b.jsonl") as fh:
        assert fh.read() == b"{}\n"


def test_storage_settings_are_checked_and_named(news_server, tmp_path):
    proc = run(
        "ingest",
        "--allow-private",
        "--archive",
        f"s3://{BUCKET}/x",
        news_server.url("/echo"),
        "-s",
        "STORAGE_S3_SSE=rot13",
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert "STORAGE_S3_SSE: one of AES256, aws:kms, aws:kms:dsse, got 'rot13'" in proc.stderr
    proc = run(
        "upload",
        "--archive",
        f"s3://{BUCKET}/x",
        "-s",
        "STORAGE_S3_MULTIPART_CHUNKSIZE=1000",
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2 and "STORAGE_S3_MULTIPART_CHUNKSIZE: must be between" in proc.stderr


def test_default_spool_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert (
        default_spool(parse_archive_uri("s3://b/x/y"))
        == tmp_path / "newsarchive" / "spool" / "b" / "x" / "y"
    )
    with pytest.raises(ValueError):
        default_spool(parse_archive_uri("s3://b/x/../../etc"))


def test_upload_with_nothing_waiting_has_nothing_to_do(tmp_path):
    proc = run("upload", "--archive", str(tmp_path / "archive"), env={})
    assert proc.returncode == 0 and "nothing to upload" in proc.stdout
    # An empty spool: the endpoint (here: nothing listening) is not even asked.
    env = aws_env(S3Endpoint(), tmp_path, AWS_ENDPOINT_URL="http://127.0.0.1:9")
    proc = run("upload", "--archive", f"s3://{BUCKET}/empty", env=env)
    assert proc.returncode == 0 and "storage: 0 file(s)" in proc.stdout, proc.stderr


def test_uploads_run_off_the_calling_thread(tmp_path):
    """The shipper returns at once; the backend runs on its own worker thread."""
    release = threading.Event()
    seen: list[str] = []

    class SlowLocal(LocalBackend):
        def store(self, local_path, key):
            seen.append(threading.current_thread().name)
            release.wait(10)
            return super().store(local_path, key)

    spool = tmp_path / "spool"
    (spool / "warc").mkdir(parents=True)
    path = spool / "warc" / "a.warc.gz"
    path.write_bytes(b"a")
    shipper = Shipper(SlowLocal(parse_archive_uri(str(tmp_path / "archive"))), spool)
    started = time.monotonic()
    shipper.submit(path)
    assert time.monotonic() - started < 0.5
    release.set()
    report = shipper.finish()
    assert report.ok and report.uploaded == 1
    assert seen and all(name.startswith("archive-upload") for name in seen)
    assert (tmp_path / "archive" / "warc" / "a.warc.gz").exists()


def test_no_credentials_at_all_is_one_clear_line(s3, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    backend = backend_for(
        f"s3://{BUCKET}/nocreds", config=S3Config(endpoint_url=s3.url, region=REGION)
    )
    with pytest.raises(StorageError) as failed:
        backend.check()
    assert failed.value.kind == "credentials" and failed.value.archive_wide
    assert str(failed.value) == (
        f"s3://{BUCKET}/nocreds: checking the archive failed: no AWS credentials found (set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or use an instance role) "
        f"(endpoint {s3.url})"
    )


def test_archive_commands_read_an_s3_archive(crawled, s3, tmp_path):
    """replay, lookup and get take s3:// archives: read through the backend into a mirror."""
    home, urls, proc, _mirror = crawled
    assert proc.returncode == 0
    env = aws_env(s3, home)
    uri = f"s3://{BUCKET}/runs/one"
    out = tmp_path / "replayed.jsonl"
    replay = run("replay", uri, "--out", str(out), env=env)
    assert replay.returncode == 0, replay.stderr[-2000:]
    replayed = {json.loads(line)["url"] for line in out.read_text().splitlines()}
    assert set(urls) <= replayed
    lookup = run("lookup", urls[0], "--archive", uri, env=env)
    assert lookup.returncode == 0 and urls[0] in lookup.stdout, lookup.stderr[-2000:]
    got = run("get", urls[0], "--archive", uri, env=env)
    assert got.returncode == 0 and "</html>" in got.stdout.lower()
    assert "already in the local mirror" in got.stderr  # nothing fetched twice


def test_report_of_an_s3_archive_reads_its_run_files_only(crawled, s3, tmp_path):
    home, urls, _proc, _mirror = crawled
    cache = tmp_path / "cache"  # its own: other tests mirror the whole archive into the shared one
    result = run("report", "--archive", f"s3://{BUCKET}/runs/one", "--json",
                 env=aws_env(s3, home, XDG_CACHE_HOME=str(cache)))
    assert result.returncode == 0, result.stderr[-3000:]
    sources = json.loads(result.stdout)["sources"]
    host = urls[0].split("/")[2]
    assert [s["source"] for s in sources] == [host] and sources[0]["runs"][0]["archived"] >= 1
    mirror = cache / "newsarchive" / "mirror" / BUCKET / "runs" / "one"
    assert len(list((mirror / "runs").glob("*.json"))) == 1
    assert not list(mirror.rglob("*.warc.gz"))  # its WARC files were not fetched for a report
