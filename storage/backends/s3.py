"""Archives on S3 (and S3-compatible endpoints), through boto3.

Configuration comes from boto3's standard chain: credentials from the environment
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), `AWS_PROFILE` and the shared
files, SSO, container and instance roles; the endpoint from `AWS_ENDPOINT_URL_S3` /
`AWS_ENDPOINT_URL` or the config file; the region from `AWS_DEFAULT_REGION` (or `AWS_REGION`);
retries from `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`. `S3Config` overrides what needs overriding
(endpoint, region, addressing style, server-side encryption, storage class, multipart sizes).

A file is stored by `S3Backend.store(local_path, key)`:
1. the local file is locked (flock), so that two processes never ship it at the same time;
2. its SHA-256 is computed (sent as metadata `sha256`: readers can check a download with it);
3. an identical object already under the key (an earlier run that died before deleting its copy)
   means nothing to send; a *different* object under the key is never overwritten;
4. boto3's transfer manager uploads it, multipart from `multipart_threshold` on, with the SDK's
   SHA-256 checksum on every request (S3 rejects a part whose bytes do not match); meanwhile the
   file is cut the same way here and the composite checksum of the parts computed;
5. HeadObject verifies size, metadata and the SHA-256 checksum S3 kept (full object, or
   composite of the parts); an endpoint that keeps no checksum must give an MD5 ETag (no
   SSE-KMS) that matches, computed here only then;
6. only then is the local file deleted.
A failed multipart upload is aborted (by the transfer manager; and any upload of the key left
behind by an earlier failure is aborted before the key is uploaded again).

Errors become StorageError: one line naming the bucket, endpoint and what failed. Credentials
never appear in messages (known secret values are masked as a last line of defence).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
import botocore.exceptions as bexc
import structlog
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config as BotoConfig
from s3transfer.utils import ChunksizeAdjuster

from storage.archive import ArchiveLocation, ArchiveURIError
from storage.backends.base import StorageError, Stored

log = structlog.get_logger()

MiB = 1 << 20
_HASH_BLOCK = 4 * MiB
# S3 limits on multipart parts.
MIN_PART = 5 * MiB
MAX_PART = 5 * 1024 * MiB
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
)
ADDRESSING_STYLES = ("auto", "path", "virtual")
_CONTENT_TYPES = {
    ".warc.gz": "application/warc",
    ".warc": "application/warc",
    ".jsonl": "application/x-ndjson",
    ".jsonl.gz": "application/gzip",
    ".cdxj": "text/plain; charset=utf-8",
}
# Reading back: ranged GETs, the window doubling while reads are sequential.
_MIN_WINDOW = 256 * 1024
_MAX_WINDOW = 16 * MiB

_UNREACHABLE = (
    bexc.EndpointConnectionError,
    bexc.ConnectionClosedError,
    bexc.ConnectTimeoutError,
    bexc.ReadTimeoutError,
    bexc.ProxyConnectionError,
    bexc.HTTPClientError,
    bexc.SSLError,
)
_NETWORK_PROBLEMS = (
    (bexc.ConnectTimeoutError, "connection timed out"),
    (bexc.ReadTimeoutError, "no answer in time"),
    (bexc.ProxyConnectionError, "the proxy is unreachable"),
    (bexc.SSLError, "TLS error"),
    (bexc.EndpointConnectionError, "connection refused or no route to it"),
    (bexc.ConnectionClosedError, "the connection was closed"),
)
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId": "the endpoint does not know this AWS access key ID (wrong credentials)",
    "SignatureDoesNotMatch": "the request signature does not match (wrong AWS secret access key)",
    "InvalidToken": "the AWS session token is invalid (wrong credentials)",
    "ExpiredToken": "the AWS session token has expired (refresh the credentials)",
    "TokenRefreshRequired": "the AWS session token has expired (refresh the credentials)",
    "InvalidClientTokenId": "the AWS credentials are not valid (wrong credentials)",
    "AuthorizationHeaderMalformed": "the request was refused: malformed authorization (check the region and credentials)",
}
_RETRYABLE_CODES = {
    "SlowDown",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "503",
    "500",
    "502",
    "504",
}


@dataclass(frozen=True)
class S3Config:
    """What the standard AWS configuration does not say, or should be overridden.

    None means: whatever boto3's standard chain resolves (environment, shared config files)."""

    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str | None = None  # "auto", "path" or "virtual"
    profile: str | None = None
    sse: str | None = None  # "AES256", "aws:kms" or "aws:kms:dsse"
    sse_kms_key_id: str | None = None
    storage_class: str | None = None
    multipart_threshold: int = 8 * MiB  # boto3's own defaults (see bench/s3_upload.py)
    multipart_chunksize: int = 8 * MiB
    max_concurrency: int = 10
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"endpoint_url: not an http(s) URL: {_safe_url(self.endpoint_url)!r}"
                )
        if self.addressing_style and self.addressing_style not in ADDRESSING_STYLES:
            raise ValueError(
                f"addressing_style: one of {', '.join(ADDRESSING_STYLES)}, got {self.addressing_style!r}"
            )
        if self.sse and self.sse not in SSE_ALGORITHMS:
            raise ValueError(f"sse: one of {', '.join(SSE_ALGORITHMS)}, got {self.sse!r}")
        if self.sse_kms_key_id and not (self.sse or "").startswith("aws:kms"):
            raise ValueError("sse_kms_key_id: only with sse 'aws:kms' or 'aws:kms:dsse'")
        if self.storage_class and self.storage_class not in STORAGE_CLASSES:
            raise ValueError(
                f"storage_class: one of {', '.join(STORAGE_CLASSES)}, got {self.storage_class!r}"
            )
        if self.multipart_threshold < 1:
            raise ValueError(f"multipart_threshold: must be > 0, got {self.multipart_threshold}")
        if not MIN_PART <= self.multipart_chunksize <= MAX_PART:
            raise ValueError(
                f"multipart_chunksize: must be between {MIN_PART} and {MAX_PART} bytes (S3's part limits), got {self.multipart_chunksize}"
            )
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency: must be > 0, got {self.max_concurrency}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("connect_timeout, read_timeout: must be > 0 seconds")


def _safe_url(url: str) -> str:
    """An endpoint URL fit for messages: scheme, host and port only (no user info, no query)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "<endpoint>"
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True)
class _Digests:
    """What the stored copy must match."""

    size: int
    sha256_hex: str
    sha256_b64: str  # full-object checksum (single PutObject)
    composite_b64: str | None  # SHA-256 of the parts' SHA-256s (multipart)
    parts: int  # 0: a single PutObject
    md5_etag: Callable[[], str]  # the ETag S3 computes, only when needed (MD5 is slow)

    @classmethod
    def of(cls, path: Path, size: int, whole: bytes, composite: str | None, parts: int,
           part_size: int | None) -> _Digests:
        """From the file's SHA-256 and its parts' composite, computed by the caller."""
        return cls(size, whole.hex(), _b64(whole), composite, parts, functools.partial(_md5_etag, path, part_size))


def _sha256(fh: BinaryIO) -> bytes:
    fh.seek(0)
    return hashlib.file_digest(fh, "sha256").digest()  # type: ignore[arg-type]


def _cut(path: Path, part_size: int | None, digest: Callable[[], Any]) -> list[bytes]:
    """The file cut as the upload cuts it (`part_size`; None: one PutObject), a digest per part."""
    out: list[bytes] = []
    with open(path, "rb") as fh:
        while True:
            hasher = digest()
            left = part_size or -1
            read = 0
            while left != 0:
                block = fh.read(_HASH_BLOCK if left < 0 else min(_HASH_BLOCK, left))
                if not block:
                    break
                hasher.update(block)
                read += len(block)
                left = left - len(block) if left > 0 else left
            if read or not out:
                out.append(hasher.digest())
            if left != 0 or not part_size:
                return out


def _composite(path: Path, part_size: int) -> tuple[str, int]:
    """S3's composite checksum of a multipart upload: SHA-256 of the parts' SHA-256s; and the
    number of parts."""
    shas = _cut(path, part_size, hashlib.sha256)
    return _b64(hashlib.sha256(b"".join(shas)).digest()), len(shas)


def _md5_etag(path: Path, part_size: int | None) -> str:
    """The ETag S3 gives an unencrypted (or SSE-S3) object: MD5, or MD5 of the parts' MD5s + "-N"."""
    md5s = _cut(path, part_size, lambda: hashlib.md5(usedforsecurity=False))
    if not part_size:
        return md5s[0].hex()
    return hashlib.md5(b"".join(md5s), usedforsecurity=False).hexdigest() + f"-{len(md5s)}"


def _digests(fh: BinaryIO, size: int, part_size: int | None) -> _Digests:
    """Everything the stored copy must match, computed here and now (the backend overlaps the
    per-part pass with the upload)."""
    path = Path(fh.name)  # type: ignore[attr-defined]
    whole = _sha256(fh)
    composite, parts = _composite(path, part_size) if part_size else (None, 0)
    return _Digests.of(path, size, whole, composite, parts, part_size)


def _client_error(exc: bexc.ClientError) -> tuple[int | None, str, str]:
    """HTTP status, error code and message of a refused request."""
    response: dict[str, Any] = dict(exc.response)
    error = response.get("Error") or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return status, str(error.get("Code") or ""), str(error.get("Message") or "")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _content_type(key: str) -> str:
    for suffix, ctype in sorted(_CONTENT_TYPES.items(), key=lambda kv: -len(kv[0])):
        if key.endswith(suffix):
            return ctype
    return "application/octet-stream"


def _try_lock(fh: BinaryIO) -> bool:
    """An exclusive advisory lock on an open file; False when someone else holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process guard
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_linked(fh: BinaryIO, path: Path) -> bool:
    """The open file is still the one at `path` (not shipped and deleted meanwhile)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fh.fileno())
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


class S3Backend:
    """An archive under `s3://bucket/prefix`. Thread-safe; every method blocks (network)."""

    def __init__(
        self,
        location: ArchiveLocation,
        *,
        config: S3Config | None = None,
        session: boto3.session.Session | None = None,
    ) -> None:
        if location.scheme != "s3" or not location.bucket:
            raise ArchiveURIError(f"{location.uri!r}: not an s3://bucket/prefix archive")
        self.location = location
        self.bucket = location.bucket
        self.prefix = location.prefix.strip("/")
        self.config = config or S3Config()
        self._session = session
        self._client: Any = None
        self._transfer: Any = None
        self._hashing: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def root_uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def _full(self, key: str) -> str:
        rel = PurePosixPath(key)
        if not key or rel.is_absolute() or any(p in ("..", ".") for p in rel.parts):
            raise StorageError(f"{self.root_uri}: bad archive key {key!r}", kind="config")
        return f"{self.prefix}/{rel.as_posix()}" if self.prefix else rel.as_posix()

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to, fit for messages."""
        if self._client is not None:
            return _safe_url(self._client.meta.endpoint_url)
        url = (
            self.config.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        return _safe_url(url) if url else "AWS S3"

    def describe(self) -> str:
        return f"{self.root_uri} (endpoint {self.endpoint})"

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        cfg = self.config
        try:
            session = self._session or boto3.session.Session(profile_name=cfg.profile)
            self._session = session
            region = cfg.region or session.region_name or os.environ.get("AWS_REGION") or None
            options: dict[str, Any] = {
                "connect_timeout": cfg.connect_timeout,
                "read_timeout": cfg.read_timeout,
                "max_pool_connections": max(10, cfg.max_concurrency * 2),
                "user_agent_appid": "newsarchive",
            }
            if cfg.addressing_style:
                options["s3"] = {"addressing_style": cfg.addressing_style}
            return session.client(
                "s3",
                endpoint_url=cfg.endpoint_url or None,
                region_name=region,
                config=BotoConfig(**options),
            )
        except bexc.ProfileNotFound:
            raise StorageError(
                f"{self.root_uri}: AWS profile {cfg.profile or os.environ.get('AWS_PROFILE')!r} not found in the AWS config files",
                kind="config",
            ) from None
        except (bexc.BotoCoreError, ValueError) as exc:
            raise StorageError(
                f"{self.root_uri}: cannot set up the S3 client: {self._redact(str(exc))}",
                kind="config",
            ) from None

    @property
    def transfer(self) -> Any:
        client = self.client
        with self._lock:
            if self._transfer is None:
                cfg = self.config
                self._transfer = create_transfer_manager(client, self._transfer_config(cfg))
            return self._transfer

    @property
    def _hasher(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._hashing is None:
                self._hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="s3-digest")
            return self._hashing

    @staticmethod
    def _transfer_config(cfg: S3Config) -> TransferConfig:
        # "classic": the part size is ours (the checksum of the parts is verified), never CRT's.
        return TransferConfig(
            multipart_threshold=cfg.multipart_threshold,
            multipart_chunksize=cfg.multipart_chunksize,
            max_concurrency=cfg.max_concurrency,
            use_threads=True,
            preferred_transfer_client="classic",
        )

    def close(self) -> None:
        with self._lock:
            if self._transfer is not None:
                self._transfer.shutdown()
                self._transfer = None
            if self._hashing is not None:
                self._hashing.shutdown(wait=True)
                self._hashing = None

    # -- errors -----------------------------------------------------------------------------
    def _secrets(self) -> list[str]:
        try:
            creds = self._session.get_credentials() if self._session is not None else None
            frozen = creds.get_frozen_credentials() if creds is not None else None
        except Exception:  # resolving credentials is what failed: nothing to mask
            return []
        if frozen is None:
            return []
        return [
            v for v in (frozen.token, frozen.secret_key, frozen.access_key) if v and len(v) >= 4
        ]

    def _redact(self, text: str) -> str:
        text = _USERINFO.sub(r"\1", " ".join(text.split()))
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text[:400]

    def _error(self, exc: BaseException, action: str, full_key: str | None = None) -> StorageError:
        """One line: where, what we were doing, what went wrong, and the endpoint."""
        if isinstance(exc, StorageError):
            return exc
        where = f"s3://{self.bucket}/{full_key}" if full_key else self.root_uri
        kind, retryable = "other", False
        if isinstance(exc, bexc.NoCredentialsError):
            kind, reason = (
                "credentials",
                (
                    "no AWS credentials found (set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or use an instance role)"
                ),
            )
        elif isinstance(exc, bexc.PartialCredentialsError):
            kind, reason = (
                "credentials",
                f"incomplete AWS credentials ({exc.kwargs.get('cred_var', 'a value')} is missing)",
            )
        elif isinstance(exc, (bexc.CredentialRetrievalError, bexc.RefreshWithMFAUnsupportedError)):
            kind, reason = (
                "credentials",
                "the AWS credentials could not be obtained (check the profile, SSO login or role)",
            )
        elif isinstance(exc, bexc.ProfileNotFound):
            kind, reason = "config", f"AWS profile {exc.kwargs.get('profile')!r} not found"
        elif isinstance(exc, _UNREACHABLE):
            kind, retryable = "unreachable", True
            what = next(
                (text for cls, text in _NETWORK_PROBLEMS if isinstance(exc, cls)), "network error"
            )
            reason = f"cannot reach the S3 endpoint ({what})"
        elif isinstance(exc, bexc.ClientError):
            status, code, message = _client_error(exc)
            message = self._redact(message)
            if code in _CREDENTIAL_CODES:
                kind, reason = "credentials", f"{_CREDENTIAL_CODES[code]} [{code}]"
            elif code == "NoSuchBucket":
                kind, reason = "bucket", f"bucket {self.bucket!r} does not exist [NoSuchBucket]"
            elif code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
                kind, reason = (
                    "denied",
                    f"access denied for {action} (check the IAM policy and bucket policy) [{code or status}]",
                )
            elif (
                code in ("PermanentRedirect", "301", "IllegalLocationConstraintException")
                or status == 301
            ):
                kind, reason = (
                    "config",
                    f"the bucket is in another region than the client's (set the region) [{code or status}]",
                )
            elif code in _RETRYABLE_CODES or (isinstance(status, int) and status >= 500):
                kind, retryable, reason = (
                    "unreachable",
                    True,
                    f"the endpoint failed: {message or code} [{code or status}]",
                )
            else:
                reason = f"{message or 'refused'} [{code or status}]"
        elif isinstance(exc, bexc.BotoCoreError):
            reason = self._redact(str(exc))
        elif isinstance(exc, OSError):
            kind, reason = (
                "local",
                f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc),
            )
        else:
            reason = f"{type(exc).__name__}: {self._redact(str(exc))}"
        return StorageError(
            f"{where}: {action} failed: {reason} (endpoint {self.endpoint})",
            kind=kind,
            retryable=retryable,
        )

    def _call(self, action: str, full_key: str | None, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:
            raise self._error(exc, action, full_key) from None

    # -- writing ----------------------------------------------------------------------------
    def check(self) -> None:
        """Can this archive be written? Lists one key under the prefix: a missing bucket, wrong
        credentials or an unreachable endpoint raise StorageError. Permission to list is not
        needed for uploads, so a refusal to list is not an error."""
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        except bexc.ClientError as exc:
            error = self._error(exc, "checking the archive")
            if error.kind != "denied":
                raise error from None
        except Exception as exc:
            raise self._error(exc, "checking the archive") from None

    def store(self, local_path: Path, key: str) -> Stored | None:
        local_path = Path(local_path)
        full = self._full(key)
        try:
            fh = open(local_path, "rb")
        except FileNotFoundError:
            return None  # shipped (and deleted) by someone else
        except OSError as exc:
            raise self._error(exc, f"reading {local_path.name} for upload", full) from None
        with fh:
            if not _try_lock(fh) or not _still_linked(fh, local_path):
                return None  # another process is shipping it, or has shipped it
            return self._store_locked(fh, local_path, key, full)

    def _store_locked(self, fh: BinaryIO, local_path: Path, key: str, full: str) -> Stored:
        cfg = self.config
        started = time.monotonic()
        size = os.fstat(fh.fileno()).st_size
        multipart = size >= cfg.multipart_threshold
        part_size = (
            ChunksizeAdjuster().adjust_chunksize(cfg.multipart_chunksize, size)
            if multipart
            else None
        )
        reading = f"reading {local_path.name} for upload"
        try:
            whole = _sha256(fh)  # sent with the object: it must be known first
        except OSError as exc:
            raise self._error(exc, reading, full) from None
        # The per-part pass of a multipart upload (only needed to verify) runs during the upload.
        cutting = self._hasher.submit(_composite, local_path, part_size) if part_size else None

        def digests() -> _Digests:
            try:
                composite, parts = cutting.result() if cutting is not None else (None, 0)
            except OSError as exc:
                raise self._error(exc, reading, full) from None
            return _Digests.of(local_path, size, whole, composite, parts, part_size)

        action = f"upload of {key}"
        existing = self._head(full, action)
        if existing is not None:
            problem = self._mismatch(existing, digests(), fresh=False)
            if problem is None:
                self._forget_local(local_path, full)
                return Stored(
                    key, self.uri_for(key), size, time.monotonic() - started, already_there=True
                )
            raise StorageError(
                f"s3://{self.bucket}/{full}: {action} refused: a different object already has this key "
                f"({problem}); the local file stays at {local_path} (endpoint {self.endpoint})",
                kind="conflict",
            )
        if multipart:
            self.abort_dangling(key)  # an earlier failed attempt's parts
        extra: dict[str, Any] = {
            "ChecksumAlgorithm": "SHA256",
            "Metadata": {"sha256": whole.hex()},
            "ContentType": _content_type(key),
        }
        if cfg.sse:
            extra["ServerSideEncryption"] = cfg.sse
            if cfg.sse_kms_key_id:
                extra["SSEKMSKeyId"] = cfg.sse_kms_key_id
        if cfg.storage_class:
            extra["StorageClass"] = cfg.storage_class
        try:
            self.transfer.upload(str(local_path), self.bucket, full, extra_args=extra).result()
        except BaseException as exc:
            if multipart:
                self._abort_quietly(key)
            if isinstance(exc, Exception):
                raise self._error(exc, action, full) from None
            raise
        head = self._head(full, f"verifying the upload of {key}")
        if head is None:
            raise StorageError(
                f"s3://{self.bucket}/{full}: {action} failed: the object is missing right after "
                f"the upload (endpoint {self.endpoint})",
                kind="verify",
            )
        problem = self._mismatch(head, digests(), fresh=True)
        if problem is not None:
            # The key was free before this upload: the bad copy is ours, and must not block the
            # next attempt (which would find "a different object" under the key).
            try:
                self.client.delete_object(Bucket=self.bucket, Key=full)
                removed = "the bad copy was deleted"
            except Exception:  # noqa: BLE001 - the verification failure is what to report
                removed = "the bad copy could not be deleted"
            raise StorageError(
                f"s3://{self.bucket}/{full}: {action} failed verification: {problem} ({removed}); "
                f"the local file stays at {local_path} (endpoint {self.endpoint})",
                kind="verify",
            )
        self._forget_local(local_path, full)
        return Stored(key, self.uri_for(key), size, time.monotonic() - started)

    def _forget_local(self, local_path: Path, full: str) -> None:
        try:
            local_path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._error(
                exc, f"removing the uploaded {local_path.name} from the spool", full
            ) from None

    def _head(self, full: str, action: str) -> dict[str, Any] | None:
        """HeadObject with checksums; None when there is no such object (or we may not know)."""
        try:
            return dict(
                self.client.head_object(Bucket=self.bucket, Key=full, ChecksumMode="ENABLED")
            )
        except bexc.ClientError as exc:
            status = _client_error(exc)[0]
            if status == 404:
                return None
            if status == 403 and not action.startswith("verifying"):
                # Without s3:ListBucket, S3 answers 403 for a missing key; the upload will tell.
                return None
            raise self._error(exc, action, full) from None
        except Exception as exc:
            raise self._error(exc, action, full) from None

    def _mismatch(self, head: dict[str, Any], d: _Digests, *, fresh: bool) -> str | None:
        """What differs between the stored object and the local file; None: the same.

        A fresh upload must be confirmed by something the server derived from the bytes it
        received: the SHA-256 checksum (full object, or composite of the parts) or an MD5 ETag.
        An object found already in place (left by a run that died before deleting its local
        copy) may have been cut into other parts: then size and sha256 metadata decide."""
        if head.get("ContentLength") != d.size:
            return f"it has {head.get('ContentLength')} bytes, the local file {d.size}"
        meta = (head.get("Metadata") or {}).get("sha256")
        if meta is not None and meta != d.sha256_hex:
            return "its sha256 metadata differs from the local file's SHA-256"
        remote = str(head.get("ChecksumSHA256") or "")
        etag = str(head.get("ETag") or "").strip('"')
        counts = [
            int(text)
            for text in (remote.partition("-")[2], etag.partition("-")[2])
            if text.isdigit()
        ]
        same_cut = (counts[0] if counts else 0) == d.parts
        server_checked = False
        if remote and same_cut:
            expected = d.composite_b64 if d.parts else d.sha256_b64
            if remote.partition("-")[0] != expected:
                return "its SHA-256 checksum differs from the local file's"
            server_checked = True
        sse = str(head.get("ServerSideEncryption") or "")
        md5_etag = (
            bool(re.fullmatch(r"[0-9a-f]{32}(-\d+)?", etag))
            and not sse.startswith("aws:kms")
            and not head.get("SSECustomerAlgorithm")
        )
        if md5_etag and same_cut and not server_checked:
            try:
                expected_etag = d.md5_etag()
            except OSError as exc:
                return f"the local file cannot be read to compare ETags ({exc.strerror or exc})"
            if etag != expected_etag:
                return "its ETag (MD5) differs from the local file's"
            server_checked = True
        if fresh and not server_checked:
            return "the endpoint returned neither a SHA-256 checksum nor an MD5 ETag to check it against"
        if not fresh and not server_checked and meta is None:
            return "nothing to compare it with (no checksum, ETag or sha256 metadata)"
        if fresh and self.config.sse and sse != self.config.sse:
            return f"it is not encrypted with {self.config.sse} (the endpoint says {sse or 'not encrypted'})"
        wanted = self.config.storage_class
        if (
            fresh
            and wanted
            and wanted != "STANDARD"
            and head.get("StorageClass", "STANDARD") != wanted
        ):
            return f"its storage class is {head.get('StorageClass', 'STANDARD')}, not {wanted}"
        return None

    def abort_dangling(self, key: str) -> int:
        """Abort every unfinished multipart upload of `key` (parts left by a failed attempt
        cost money and are invisible); returns how many. Refusal to list is ignored."""
        full = self._full(key)
        aborted = 0
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for upload in page.get("Uploads", []):
                    if upload.get("Key") != full:
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=full, UploadId=upload["UploadId"]
                    )
                    aborted += 1
        except bexc.ClientError as exc:
            error = self._error(exc, f"aborting unfinished uploads of {key}", full)
            if error.kind != "denied":
                raise error from None
        except Exception as exc:
            raise self._error(exc, f"aborting unfinished uploads of {key}", full) from None
        if aborted:
            log.warning("multipart_upload_aborted", key=self.uri_for(key), count=aborted)
        return aborted

    def _abort_quietly(self, key: str) -> None:
        try:
            self.abort_dangling(key)
        except StorageError:
            pass  # the endpoint is gone: the next attempt at this key aborts it

    # -- reading ----------------------------------------------------------------------------
    def list(self, subdir: str = "") -> list[str]:
        base = self._full(subdir) + "/" if subdir else (f"{self.prefix}/" if self.prefix else "")
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                keys += [
                    self._relative(obj["Key"])
                    for obj in page.get("Contents", [])
                    if not obj["Key"].endswith("/")
                ]
        except Exception as exc:
            raise self._error(exc, f"listing {subdir or 'the archive'}") from None
        return sorted(keys)

    def stat(self, key: str) -> dict[str, Any]:
        full = self._full(key)
        head = self._head(full, f"verifying (reading) {key}")
        if head is None:
            raise StorageError(
                f"s3://{self.bucket}/{full}: no such object (endpoint {self.endpoint})",
                kind="other",
            )
        return head

    def open_for_read(self, key: str) -> BinaryIO:
        full = self._full(key)
        head = self.stat(key)
        raw = _ObjectReader(self, full, int(head["ContentLength"]), str(head.get("ETag") or ""))
        return io.BufferedReader(raw, buffer_size=64 * 1024)  # type: ignore[return-value]

    def download(self, key: str, dest: Path) -> Path:
        """Download `key` to `dest`, verified against the object's size and sha256 metadata;
        written to a temporary name and renamed."""
        full = self._full(key)
        head = self.stat(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            try:
                self.transfer.download(self.bucket, full, str(tmp)).result()
            except Exception as exc:
                raise self._error(exc, f"download of {key}", full) from None
            size = tmp.stat().st_size
            if size != head["ContentLength"]:
                raise StorageError(
                    f"s3://{self.bucket}/{full}: download is {size} bytes, the object {head['ContentLength']}",
                    kind="verify",
                )
            want = (head.get("Metadata") or {}).get("sha256")
            if want:
                with open(tmp, "rb") as fh:
                    got = hashlib.file_digest(fh, "sha256").hexdigest()
                if got != want:
                    raise StorageError(
                        f"s3://{self.bucket}/{full}: downloaded bytes do not match the sha256 stored with the object",
                        kind="verify",
                    )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest


class _ObjectReader(io.RawIOBase):
    """A seekable read-only view of one object: ranged GETs (pinned to the ETag seen at open,
    so a changed object is noticed), the range growing while reads are sequential."""

    def __init__(self, backend: S3Backend, full_key: str, size: int, etag: str) -> None:
        super().__init__()
        self._backend = backend
        self._key = full_key
        self._size = size
        self._etag = etag
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._window = _MIN_WINDOW
        self.name = f"s3://{backend.bucket}/{full_key}"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(f"{self.name}: negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, b: Any) -> int:
        if self._pos >= self._size:
            return 0
        end_of_buf = self._buf_start + len(self._buf)
        if not (self._buf_start <= self._pos < end_of_buf):
            sequential = bool(self._buf) and self._pos == end_of_buf
            self._window = min(self._window * 2, _MAX_WINDOW) if sequential else _MIN_WINDOW
            last = min(self._size, self._pos + self._window) - 1
            self._buf = self._fetch(self._pos, last)
            self._buf_start = self._pos
        view = memoryview(b).cast("B")
        off = self._pos - self._buf_start
        n = min(len(view), len(self._buf) - off)
        view[:n] = self._buf[off : off + n]
        self._pos += n
        return n

    def _fetch(self, first: int, last: int) -> bytes:
        backend = self._backend
        kwargs: dict[str, Any] = {
            "Bucket": backend.bucket,
            "Key": self._key,
            "Range": f"bytes={first}-{last}",
        }
        if self._etag:
            kwargs["IfMatch"] = self._etag
        try:
            body = backend.client.get_object(**kwargs)["Body"]
            with body:
                data = body.read()
        except bexc.ClientError as exc:
            if _client_error(exc)[1] == "PreconditionFailed":
                raise StorageError(
                    f"{self.name}: the object changed while it was being read", kind="verify"
                ) from None
            raise backend._error(exc, f"reading bytes {first}-{last}", self._key) from None
        except Exception as exc:
            raise backend._error(exc, f"reading bytes {first}-{last}", self._key) from None
        if len(data) != last - first + 1:
            raise StorageError(
                f"{self.name}: short read at offset {first} ({len(data)} of {last - first + 1} bytes)",
                kind="verify",
            )
        return bytes(data)
