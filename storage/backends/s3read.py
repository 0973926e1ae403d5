"""Reading an S3 archive back: listing its keys, HeadObject, a seekable reader over one object
(ranged GETs), and verified downloads."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path
from typing import Any, BinaryIO

import botocore.exceptions as bexc

from storage.backends.base import StorageError
from storage.backends.s3conn import S3Connection, client_error

# Reading back: ranged GETs, the window doubling while reads are sequential.
MIN_WINDOW = 256 * 1024
MAX_WINDOW = 16 * (1 << 20)


class S3Reader(S3Connection):
    """An S3 archive's files, read back. Thread-safe; every method blocks (network)."""

    def list(self, subdir: str = "") -> list[str]:
        base = self.full_key(subdir) + "/" if subdir else (f"{self.prefix}/" if self.prefix else "")
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                keys += [
                    self.relative_key(obj["Key"])
                    for obj in page.get("Contents", [])
                    if not obj["Key"].endswith("/")
                ]
        except Exception as exc:  # noqa: BLE001 - any failure becomes one StorageError line
            raise self.error(exc, f"listing {subdir or 'the archive'}") from None
        return sorted(keys)

    def stat(self, key: str) -> dict[str, Any]:
        full = self.full_key(key)
        head = self.head(full, f"verifying (reading) {key}")
        if head is None:
            raise StorageError(
                f"s3://{self.bucket}/{full}: no such object (endpoint {self.endpoint})",
                kind="other",
            )
        return head

    def open_for_read(self, key: str) -> BinaryIO:
        full = self.full_key(key)
        head = self.stat(key)
        raw = ObjectReader(self, full, int(head["ContentLength"]), str(head.get("ETag") or ""))
        return io.BufferedReader(raw, buffer_size=64 * 1024)  # type: ignore[return-value]

    def download(self, key: str, dest: Path) -> Path:
        """Download `key` to `dest`, verified against the object's size and sha256 metadata;
        written to a temporary name and renamed."""
        full = self.full_key(key)
        head = self.stat(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            try:
                self.transfer.download(self.bucket, full, str(tmp)).result()
            except Exception as exc:  # noqa: BLE001 - any failure becomes one StorageError line
                raise self.error(exc, f"download of {key}", full) from None
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


class ObjectReader(io.RawIOBase):
    """A seekable read-only view of one object: ranged GETs (pinned to the ETag seen at open,
    so a changed object is noticed), the range growing while reads are sequential."""

    def __init__(self, backend: S3Connection, full_key: str, size: int, etag: str) -> None:
        super().__init__()
        self._backend = backend
        self._key = full_key
        self._size = size
        self._etag = etag
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._window = MIN_WINDOW
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
            self._window = min(self._window * 2, MAX_WINDOW) if sequential else MIN_WINDOW
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
            if client_error(exc)[1] == "PreconditionFailed":
                raise StorageError(
                    f"{self.name}: the object changed while it was being read", kind="verify"
                ) from None
            raise backend.error(exc, f"reading bytes {first}-{last}", self._key) from None
        except Exception as exc:  # noqa: BLE001 - any failure becomes one StorageError line
            raise backend.error(exc, f"reading bytes {first}-{last}", self._key) from None
        if len(data) != last - first + 1:
            raise StorageError(
                f"{self.name}: short read at offset {first} ({len(data)} of {last - first + 1} bytes)",
                kind="verify",
            )
        return bytes(data)
