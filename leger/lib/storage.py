"""Where published releases go: an S3-compatible bucket, or a local folder.

Both stores use the same key layout (``{owner_uuid}/v{N}/{file}``), so the
local CLI and the tests read either the same way. Writes are idempotent: putting
the same key twice leaves one object with the last content.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from django.conf import settings


class StoreError(Exception):
    """The artifact store refused or failed an operation; the message never holds credentials."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ArtifactStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str = "text/plain; charset=utf-8") -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...

    def describe(self) -> str: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise StoreError(f"Refusing the object key {key!r}: keys are relative paths without empty, '.' or '..' parts.")
    return key


class LocalStore:
    """A folder with the bucket's key layout, for the embedded default."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, *, content_type: str = "text/plain; charset=utf-8") -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise StoreError(f"Could not write {key!r} to {self.describe()}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(f"Could not write {key!r} to {self.describe()}: {exc.strerror or exc}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"No object {key!r} in {self.describe()}.") from None
        except OSError as exc:
            raise StoreError(f"Could not read {key!r} from {self.describe()}: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self._path(key).resolve().as_uri()

    def describe(self) -> str:
        return f"the local folder {self.root}"


class S3Store:
    """An S3-compatible bucket reached with boto3."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        public: bool = False,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.public = public
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            # A call that cannot reach the bucket gives up within about two minutes at worst (three attempts of a
            # 5 s connect and a 30 s read, with standard backoff); a refused or reset connection within seconds.
            # Then the publish task's own retries take over, minutes apart, and the release says so meanwhile.
            # Connection errors and resets are retried by boto3 here; every put is idempotent (same key, same
            # bytes, SHA-256 checked by the bucket), so a retried upload never leaves a half-written object.
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
                tcp_keepalive=True,
                s3={"addressing_style": "path"},
            ),
        )

    def _fail(self, action: str, key: str, exc: Exception) -> StoreError:
        # botocore's messages carry the endpoint and code, never the secret key.
        return StoreError(f"Could not {action} {key!r} in bucket {self.bucket!r}: {exc.__class__.__name__}: {exc}")

    def put(self, key: str, data: bytes, *, content_type: str = "text/plain; charset=utf-8") -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=_check_key(key),
                Body=data,
                ContentType=content_type,
                ChecksumAlgorithm="SHA256",
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("upload", key, exc) from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=_check_key(key))["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("read", key, exc) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=_check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail("look up", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("look up", key, exc) from exc
        return True

    def list(self, prefix: str) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("list", prefix, exc) from exc
        return sorted(keys)

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=_check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("delete", key, exc) from exc

    def url(self, key: str, *, expires_in: int = 3600) -> str:
        if self.public:
            base = (self.endpoint_url or f"https://{self.bucket}.s3.amazonaws.com").rstrip("/")
            return f"{base}/{self.bucket}/{key}" if self.endpoint_url else f"{base}/{key}"
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": _check_key(key)}, ExpiresIn=expires_in
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"the bucket {self.bucket!r}{where}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def _store_for(
    bucket: str, endpoint_url: str, region: str, access_key_id: str, secret_access_key: str, public: bool, root: str
) -> ArtifactStore:
    if bucket:
        return S3Store(
            bucket=bucket,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            public=public,
        )
    return LocalStore(Path(root))


def get_store() -> ArtifactStore:
    """The configured store; rebuilt when the settings change (tests override them)."""
    return _store_for(
        settings.LEGER_S3_BUCKET,
        settings.LEGER_S3_ENDPOINT_URL,
        settings.LEGER_S3_REGION,
        settings.LEGER_S3_ACCESS_KEY_ID,
        settings.LEGER_S3_SECRET_ACCESS_KEY,
        settings.LEGER_S3_PUBLIC,
        str(settings.LEGER_RELEASES_DIR),
    )
