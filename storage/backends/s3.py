"""Archives on S3 (and S3-compatible endpoints): the backend, and how it stores a file.

The connection (boto3's configuration chain, errors) is storage.backends.s3conn, reading back
storage.backends.s3read, the settings storage.backends.s3config.

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
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import botocore.exceptions as bexc
import structlog
from s3transfer.utils import ChunksizeAdjuster

from storage.archive import ArchiveLocation
from storage.backends.base import StorageError, Stored
from storage.backends.s3config import MiB, S3Config
from storage.backends.s3read import S3Reader

log = structlog.get_logger()

_HASH_BLOCK = 4 * MiB
_CONTENT_TYPES = {
    ".warc.gz": "application/warc",
    ".warc": "application/warc",
    ".jsonl": "application/x-ndjson",
    ".jsonl.gz": "application/gzip",
    ".cdxj": "text/plain; charset=utf-8",
}


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


def file_sha256(fh: BinaryIO) -> bytes:
    """The SHA-256 of an open file, read from its start."""
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


def composite_checksum(path: Path, part_size: int) -> tuple[str, int]:
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


class S3Backend(S3Reader):
    """An archive under `s3://bucket/prefix`: stores closed files (verified), and reads them back
    (S3Reader). Thread-safe; every method blocks (network)."""

    def __init__(
        self,
        location: ArchiveLocation,
        *,
        config: S3Config | None = None,
        session: boto3.session.Session | None = None,
    ) -> None:
        super().__init__(location, config=config, session=session)
        self._hashing: ThreadPoolExecutor | None = None

    @property
    def _hasher(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._hashing is None:
                self._hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="s3-digest")
            return self._hashing

    def close(self) -> None:
        super().close()
        with self._lock:
            if self._hashing is not None:
                self._hashing.shutdown(wait=True)
                self._hashing = None

    def check(self) -> None:
        """Can this archive be written? Lists one key under the prefix: a missing bucket, wrong
        credentials or an unreachable endpoint raise StorageError. Permission to list is not
        needed for uploads, so a refusal to list is not an error."""
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        except bexc.ClientError as exc:
            error = self.error(exc, "checking the archive")
            if error.kind != "denied":
                raise error from None
        except Exception as exc:  # noqa: BLE001 - any failure becomes one StorageError line
            raise self.error(exc, "checking the archive") from None

    def store(self, local_path: Path, key: str) -> Stored | None:
        local_path = Path(local_path)
        full = self.full_key(key)
        try:
            fh = open(local_path, "rb")  # noqa: SIM115 - closed by the `with fh` below
        except FileNotFoundError:
            return None  # shipped (and deleted) by someone else
        except OSError as exc:
            raise self.error(exc, f"reading {local_path.name} for upload", full) from None
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
            whole = file_sha256(fh)  # sent with the object: it must be known first
        except OSError as exc:
            raise self.error(exc, reading, full) from None
        # The per-part pass of a multipart upload (only needed to verify) runs during the upload.
        cutting = self._hasher.submit(composite_checksum, local_path, part_size) if part_size else None

        def digests() -> _Digests:
            try:
                composite, parts = cutting.result() if cutting is not None else (None, 0)
            except OSError as exc:
                raise self.error(exc, reading, full) from None
            return _Digests.of(local_path, size, whole, composite, parts, part_size)

        action = f"upload of {key}"
        existing = self.head(full, action)
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
                raise self.error(exc, action, full) from None
            raise
        head = self.head(full, f"verifying the upload of {key}")
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
            raise self.error(
                exc, f"removing the uploaded {local_path.name} from the spool", full
            ) from None

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
        full = self.full_key(key)
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
            error = self.error(exc, f"aborting unfinished uploads of {key}", full)
            if error.kind != "denied":
                raise error from None
        except Exception as exc:  # noqa: BLE001 - any failure becomes one StorageError line
            raise self.error(exc, f"aborting unfinished uploads of {key}", full) from None
        if aborted:
            log.warning("multipart_upload_aborted", key=self.uri_for(key), count=aborted)
        return aborted

    def _abort_quietly(self, key: str) -> None:
        try:
            self.abort_dangling(key)
        except StorageError:
            pass  # the endpoint is gone: the next attempt at this key aborts it
