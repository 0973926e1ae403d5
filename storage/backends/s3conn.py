"""The connection to an S3 archive (or an S3-compatible endpoint), through boto3: object keys
under the archive's prefix, the client and transfer manager built on first use, HeadObject, and
the one-line StorageError every failure becomes.

Configuration comes from boto3's standard chain: credentials from the environment
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), `AWS_PROFILE` and the shared
files, SSO, container and instance roles; the endpoint from `AWS_ENDPOINT_URL_S3` /
`AWS_ENDPOINT_URL` or the config file; the region from `AWS_DEFAULT_REGION` (or `AWS_REGION`);
retries from `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`. `S3Config` (storage.backends.s3config)
overrides what needs overriding.

Errors become StorageError: one line naming the bucket, endpoint and what failed. Credentials
never appear in messages (known secret values are masked as a last line of defence).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import PurePosixPath
from typing import Any

import boto3
import botocore.exceptions as bexc
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config as BotoConfig

from storage.archive import ArchiveLocation, ArchiveURIError
from storage.backends.base import StorageError
from storage.backends.s3config import S3Config, safe_url

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
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def client_error(exc: bexc.ClientError) -> tuple[int | None, str, str]:
    """HTTP status, error code and message of a refused request."""
    response: dict[str, Any] = dict(exc.response)
    error = response.get("Error") or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return status, str(error.get("Code") or ""), str(error.get("Message") or "")


class S3Connection:
    """An archive under `s3://bucket/prefix`: its keys, the boto3 client and transfer manager,
    and its errors. Thread-safe; every method blocks (network)."""

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
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def root_uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"

    def full_key(self, key: str) -> str:
        """The object key of an archive key (under the prefix); StorageError for a bad key."""
        rel = PurePosixPath(key)
        if not key or rel.is_absolute() or any(p in ("..", ".") for p in rel.parts):
            raise StorageError(f"{self.root_uri}: bad archive key {key!r}", kind="config")
        return f"{self.prefix}/{rel.as_posix()}" if self.prefix else rel.as_posix()

    def relative_key(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to, fit for messages."""
        if self._client is not None:
            return safe_url(self._client.meta.endpoint_url)
        url = (
            self.config.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        return safe_url(url) if url else "AWS S3"

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

    # -- errors -----------------------------------------------------------------------------
    def _secrets(self) -> list[str]:
        try:
            creds = self._session.get_credentials() if self._session is not None else None
            frozen = creds.get_frozen_credentials() if creds is not None else None
        except Exception:  # noqa: BLE001 - resolving credentials is what failed: nothing to mask
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

    def error(self, exc: BaseException, action: str, full_key: str | None = None) -> StorageError:
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
            status, code, message = client_error(exc)
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

    def head(self, full: str, action: str) -> dict[str, Any] | None:
        """HeadObject with checksums; None when there is no such object (or we may not know)."""
        try:
            return dict(
                self.client.head_object(Bucket=self.bucket, Key=full, ChecksumMode="ENABLED")
            )
        except bexc.ClientError as exc:
            status = client_error(exc)[0]
            if status == 404:
                return None
            if status == 403 and not action.startswith("verifying"):
                # Without s3:ListBucket, S3 answers 403 for a missing key; the upload will tell.
                return None
            raise self.error(exc, action, full) from None
        except Exception as exc:  # noqa: BLE001 - any failure becomes one StorageError line
            raise self.error(exc, action, full) from None
