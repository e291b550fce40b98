"""Where uploaded files live, behind one small interface: the local ``uploads/`` folder by default,
an S3-compatible bucket (boto3) when several servers share the files.

Names are content-addressed (sha256 of the bytes), so no user-supplied name or path ever reaches
the file system or the bucket, and the same photo uploaded twice is stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

KEY_PATTERN = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.(jpg|pdf)$")


class StorageError(Exception):
    """The store could not keep or give back a file (disk full, bucket unreachable)."""


class Storage(Protocol):
    def put(self, content: bytes, suffix: str) -> str: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


def content_key(content: bytes, suffix: str) -> str:
    digest = hashlib.sha256(content).hexdigest()
    return f"{digest[:2]}/{digest}.{suffix}"


def _checked(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def put(self, content: bytes, suffix: str) -> str:
        """Write to a temporary file and rename it into place: a failure never leaves a partial file."""
        key = content_key(content, suffix)
        target = self.root / key
        if target.exists():
            return key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(str(exc)) from exc
        return key

    def get(self, key: str) -> bytes:
        try:
            return (self.root / _checked(key)).read_bytes()
        except OSError as exc:
            raise StorageError(str(exc)) from exc

    def delete(self, key: str) -> None:
        (self.root / _checked(key)).unlink(missing_ok=True)


class S3Storage:
    """Any S3-compatible object store (AWS, MinIO, Aliyun OSS/Tencent COS S3 endpoints)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, **client_options):
        import boto3  # only deployments with a bucket need it

        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url, **client_options)

    def put(self, content: bytes, suffix: str) -> str:
        key = content_key(content, suffix)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=content)
        except Exception as exc:  # botocore raises many kinds; callers need one
            raise StorageError(str(exc)) from exc
        return key

    def get(self, key: str) -> bytes:
        key = _checked(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    def delete(self, key: str) -> None:
        key = _checked(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise StorageError(str(exc)) from exc


def make_storage(config) -> Storage:
    if config.get("S3_BUCKET"):
        return S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         **config.get("S3_CLIENT_OPTIONS", {}))
    return LocalStorage(config["UPLOAD_FOLDER"])
