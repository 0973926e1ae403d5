"""How an S3 archive is reached: what boto3's standard configuration does not say, or should be
overridden (endpoint, region, addressing style, server-side encryption, storage class, multipart
sizes, timeouts). Plain values, checked when built; no boto3 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

MiB = 1 << 20
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
                    f"endpoint_url: not an http(s) URL: {safe_url(self.endpoint_url)!r}"
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


def safe_url(url: str) -> str:
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
