"""The file stores: local folder (atomic, content-addressed) and an S3-compatible bucket, the latter
against moto's S3 server on loopback (real HTTP, the S3 protocol); both behind the envelope encryption
(EncryptedStorage) that create_app puts in front of either."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from moto.server import ThreadedMotoServer

from miniapp_api import envelope
from miniapp_api.keys import LocalKeyring
from miniapp_api.storage import (
    EncryptedStorage,
    LocalStorage,
    S3Storage,
    StorageError,
    content_key,
    make_storage,
    rewrap_all,
)
from tests.test_server_smoke import free_port

S3_OPTIONS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


def keyring(*ids: str) -> LocalKeyring:
    """Master keys ``ids``, the last one current, and a fixed index key (names stay the same across rings)."""
    return LocalKeyring({kid: hashlib.sha256(kid.encode()).digest() for kid in ids}, ids[-1], b"i" * 32)


def test_local_store_is_content_addressed_and_refuses_foreign_keys(tmp_path):
    store = EncryptedStorage(LocalStorage(tmp_path), keyring("k1"))
    key = store.put(b"%PDF-1.4 demo", "pdf")
    assert key == content_key(b"i" * 32, b"%PDF-1.4 demo", "pdf") and store.get(key) == b"%PDF-1.4 demo"
    assert hashlib.sha256(b"%PDF-1.4 demo").hexdigest() not in key  # the name tells nothing of the content
    assert store.put(b"%PDF-1.4 demo", "pdf") == key  # stored once
    [stored] = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert stored.read_bytes().startswith(envelope.MAGIC) and b"%PDF" not in stored.read_bytes()
    for bad in ("../../etc/passwd", "ab/../../x.jpg", "/etc/passwd", key + "/.."):
        with pytest.raises(ValueError):
            store.get(bad)
    store.delete(key)
    with pytest.raises(StorageError):
        store.get(key)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_local_store_leaves_no_partial_file_when_writing_fails(tmp_path):
    store = EncryptedStorage(LocalStorage(tmp_path), keyring("k1"))
    shard = content_key(b"i" * 32, b"x" * 10, "jpg").split("/")[0]
    (tmp_path / shard).write_bytes(b"a file where the shard folder should be")
    with pytest.raises(StorageError):
        store.put(b"x" * 10, "jpg")
    assert [p.name for p in tmp_path.rglob("*")] == [shard]


def test_a_sealed_file_is_bound_to_its_name(tmp_path):
    """A file copied under another name does not open (the name is the associated data)."""
    store = EncryptedStorage(LocalStorage(tmp_path), keyring("k1"))
    one, two = store.put(b"\xff\xd8 one", "jpg"), store.put(b"\xff\xd8 two", "jpg")
    (tmp_path / two).write_bytes((tmp_path / one).read_bytes())
    with pytest.raises(StorageError):
        store.get(two)


def test_a_plain_file_from_before_encryption_reads_and_rotation_rewraps_and_seals(tmp_path):
    ring = keyring("k1")
    store = EncryptedStorage(LocalStorage(tmp_path), ring)
    sealed = store.put(b"\xff\xd8 sealed photo", "jpg")
    digest = hashlib.sha256(b"\xff\xd8 plain photo").hexdigest()
    plain = f"{digest[:2]}/{digest}.jpg"
    (tmp_path / plain).parent.mkdir(exist_ok=True)
    (tmp_path / plain).write_bytes(b"\xff\xd8 plain photo")
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / ".part-left-over").write_bytes(b"not a stored file")
    assert store.get(plain) == b"\xff\xd8 plain photo"
    assert sorted(store.inner.keys()) == sorted([sealed, plain])
    rotated = keyring("k1", "k2")
    store.provider = rotated
    assert rewrap_all(store, rotated) == 2
    for key, content in ((sealed, b"\xff\xd8 sealed photo"), (plain, b"\xff\xd8 plain photo")):
        blob = (tmp_path / key).read_bytes()
        assert envelope.key_id_of(blob) == "k2" and store.get(key) == content
    assert rewrap_all(store, rotated) == 0
    assert not [p for p in tmp_path.rglob(".part-*") if p.name != ".part-left-over"]


def test_make_storage_always_encrypts(tmp_path):
    store = make_storage({"UPLOAD_FOLDER": str(tmp_path)}, keyring("k1"))
    assert isinstance(store, EncryptedStorage) and isinstance(store.inner, LocalStorage)


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_s3_store_round_trip(s3_endpoint):
    boto3.client("s3", endpoint_url=s3_endpoint, **S3_OPTIONS).create_bucket(Bucket="uploads")
    store = EncryptedStorage(S3Storage("uploads", endpoint_url=s3_endpoint, **S3_OPTIONS), keyring("k1"))
    key = store.put(b"\xff\xd8 fake jpeg bytes", "jpg")
    assert store.get(key) == b"\xff\xd8 fake jpeg bytes"
    raw = boto3.client("s3", endpoint_url=s3_endpoint, **S3_OPTIONS).get_object(Bucket="uploads", Key=key)
    assert raw["Body"].read().startswith(envelope.MAGIC)
    store.delete(key)
    with pytest.raises(StorageError):
        store.get(key)
    with pytest.raises(ValueError):
        store.get("../secret")
    missing_bucket = EncryptedStorage(S3Storage("no-such-bucket", endpoint_url=s3_endpoint, **S3_OPTIONS), keyring("k1"))
    with pytest.raises(StorageError):
        missing_bucket.put(b"x", "jpg")


def test_s3_with_sse_kms_configured_asks_the_bucket_to_encrypt_too_and_rotation_keeps_it(s3_endpoint):
    raw = boto3.client("s3", endpoint_url=s3_endpoint, **S3_OPTIONS)
    raw.create_bucket(Bucket="kms-uploads")
    kms = "arn:aws:kms:us-east-1:123456789012:key/demo"
    config = {"S3_BUCKET": "kms-uploads", "S3_ENDPOINT_URL": s3_endpoint, "S3_CLIENT_OPTIONS": S3_OPTIONS,
              "S3_SSE_KMS_KEY_ID": kms, "UPLOAD_FOLDER": "never-used"}
    store = make_storage(config, keyring("k1"))
    key = store.put(b"%PDF-1.4 in the bucket", "pdf")
    raw.put_object(Bucket="kms-uploads", Key="ab/" + "c" * 64 + ".jpg", Body=b"\xff\xd8 plain from before")
    raw.put_object(Bucket="kms-uploads", Key="not-a-stored-file.txt", Body=b"left alone")
    head = raw.head_object(Bucket="kms-uploads", Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms)
    assert store.get("ab/" + "c" * 64 + ".jpg") == b"\xff\xd8 plain from before"
    rotated = keyring("k1", "k2")
    store.provider = rotated
    assert rewrap_all(store, rotated) == 2
    for name, content in ((key, b"%PDF-1.4 in the bucket"), ("ab/" + "c" * 64 + ".jpg", b"\xff\xd8 plain from before")):
        blob = raw.get_object(Bucket="kms-uploads", Key=name)["Body"].read()
        assert envelope.key_id_of(blob) == "k2" and store.get(name) == content
        assert raw.head_object(Bucket="kms-uploads", Key=name)["ServerSideEncryption"] == "aws:kms"
    assert raw.get_object(Bucket="kms-uploads", Key="not-a-stored-file.txt")["Body"].read() == b"left alone"

