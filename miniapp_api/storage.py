"""Where uploaded files live, behind one small interface: the local ``uploads/`` folder by default,
an S3-compatible bucket (boto3) when several servers share the files.

Every file (photo, thumbnail, PDF) is encrypted before it reaches either (``EncryptedStorage``, the store
create_app makes): the envelope of envelope.py, with the file's name as associated data, so a file copied
under another name does not open. A bucket may in addition encrypt on its side (``S3_SSE_KMS_KEY_ID``).

Names are content-addressed by an HMAC of the bytes under the index key (keys.py), so no user-supplied name
or path ever reaches the file system or the bucket, the same photo uploaded twice is stored once, and the
name of a file does not tell whether a known photo is stored (a plain sha256 would). Files stored before
encryption (plain, named by sha256) are read as they are until ``rewrap_all`` seals them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from . import envelope

KEY_PATTERN = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.(jpg|pdf)$")


class StorageError(Exception):
    """The store could not keep or give back a file (disk full, bucket unreachable, a file that does not open)."""


class FileMissing(StorageError):
    """No file under that name (deleted meanwhile)."""


class Storage(Protocol):
    """What views, retention and the upload service use: plaintext in, plaintext out."""

    def put(self, content: bytes, suffix: str) -> str: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class BlobStore(Protocol):
    """Where the sealed files are kept, under names chosen above it."""

    def write(self, key: str, blob: bytes, replace: bool = False) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...


class FileKeyProvider(envelope.KeyProvider, Protocol):
    """The key provider (keys.LocalKeyring) with the index key that names files."""

    index_key: bytes


def content_key(index_key: bytes, content: bytes, suffix: str) -> str:
    """The name of ``content``: an HMAC, so only holders of the index key can tell what a name stands for."""
    digest = hmac.new(index_key, b"file\x00" + content, hashlib.sha256).hexdigest()
    return f"{digest[:2]}/{digest}.{suffix}"


def file_aad(key: str) -> bytes:
    """The associated data of a sealed file: its name."""
    return b"file:" + key.encode()


def _checked(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def write(self, key: str, blob: bytes, replace: bool = False) -> None:
        """Write to a temporary file and rename it into place: a failure never leaves a partial file, and a
        reader sees the old file or the new one (rotation replaces files that are being served)."""
        target = self.root / _checked(key)
        if not replace and target.exists():
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(str(exc)) from exc

    def get(self, key: str) -> bytes:
        try:
            return (self.root / _checked(key)).read_bytes()
        except FileNotFoundError as exc:
            raise FileMissing(str(exc)) from exc
        except OSError as exc:
            raise StorageError(str(exc)) from exc

    def delete(self, key: str) -> None:
        (self.root / _checked(key)).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every stored file's name, one shard folder at a time (temporary ``.part-`` files are not names)."""
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if shard.is_dir():
                for path in sorted(shard.iterdir()):
                    key = f"{shard.name}/{path.name}"
                    if KEY_PATTERN.match(key):
                        yield key


class S3Storage:
    """Any S3-compatible object store (AWS, MinIO, Aliyun OSS/Tencent COS S3 endpoints)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, sse_kms_key_id: str | None = None,
                 **client_options):
        import boto3  # only deployments with a bucket need it

        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url, **client_options)
        # The bucket's own encryption on top of ours: the KMS key the bucket encrypts each object with.
        self.put_options = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": sse_kms_key_id} if sse_kms_key_id else {}

    def write(self, key: str, blob: bytes, replace: bool = False) -> None:
        """One PUT, always: S3 replaces an object whole, so a reader never sees half a file."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=_checked(key), Body=blob, **self.put_options)
        except Exception as exc:  # botocore raises many kinds; callers need one
            raise StorageError(str(exc)) from exc

    def get(self, key: str) -> bytes:
        key = _checked(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise FileMissing(str(exc)) from exc
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    def delete(self, key: str) -> None:
        key = _checked(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    def keys(self) -> Iterator[str]:
        """Every stored file's name, a listing page (1000 names) at a time."""
        try:
            for listing in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for item in listing.get("Contents", []):
                    if KEY_PATTERN.match(item["Key"]):
                        yield item["Key"]
        except Exception as exc:
            raise StorageError(str(exc)) from exc


class EncryptedStorage:
    """A ``Storage`` over a ``BlobStore`` that seals every file on ``put`` and opens it on ``get``: the views,
    printing, imaging and retention keep calling put/get/delete and never see a sealed byte."""

    def __init__(self, inner: BlobStore, provider: FileKeyProvider):
        self.inner, self.provider = inner, provider

    def put(self, content: bytes, suffix: str) -> str:
        key = content_key(self.provider.index_key, content, suffix)
        self.inner.write(key, envelope.seal(self.provider, content, file_aad(key)))
        return key

    def get(self, key: str) -> bytes:
        blob = self.inner.get(key)
        if not envelope.is_sealed(blob):
            return blob  # stored before encryption: sealed by the next rewrap_all
        try:
            return envelope.open_sealed(self.provider, blob, file_aad(key))
        except envelope.DecryptError as exc:
            raise StorageError(f"{key} does not open: {exc}") from exc

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def rewrap_all(storage: EncryptedStorage, provider: FileKeyProvider) -> int:
    """After a master-key rotation: every stored file's data key re-wrapped by the current master key (the
    ciphertext stays), and files from before encryption sealed. Returns how many files were rewritten.

    The files are found by listing the store, not the uploaded_pages table: a file no page names any more
    is re-wrapped too, and this needs no database. One file at a time is held in memory; each is replaced
    whole (a rename locally, a PUT in a bucket). Running it again only rewrites what is still not current.
    A file deleted while it is being rewritten may come back (as an orphan no page names)."""
    current = provider.current_key_id()
    rewritten = 0
    for key in storage.inner.keys():
        try:
            blob = storage.inner.get(key)
        except FileMissing:
            continue  # deleted since the listing
        if envelope.is_sealed(blob):
            if envelope.key_id_of(blob) == current:
                continue
            again = envelope.rewrap(provider, blob)
        else:
            again = envelope.seal(provider, blob, file_aad(key))
        storage.inner.write(key, again, replace=True)
        rewritten += 1
    return rewritten


def make_storage(config, provider: FileKeyProvider) -> EncryptedStorage:
    """The app's file store: a bucket when S3_BUCKET is set, else UPLOAD_FOLDER; encrypted either way."""
    if config.get("S3_BUCKET"):
        inner: BlobStore = S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                                     sse_kms_key_id=config.get("S3_SSE_KMS_KEY_ID"),
                                     **config.get("S3_CLIENT_OPTIONS", {}))
    else:
        inner = LocalStorage(config["UPLOAD_FOLDER"])
    return EncryptedStorage(inner, provider)
