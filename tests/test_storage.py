"""The file stores: local folder (atomic, content-addressed) and an S3-compatible bucket, the latter
against moto's S3 server on loopback (real HTTP, the S3 protocol)."""

from __future__ import annotations

import boto3
import pytest
from moto.server import ThreadedMotoServer

from miniapp_api.storage import LocalStorage, S3Storage, StorageError, content_key
from tests.test_server_smoke import free_port


def test_local_store_is_content_addressed_and_refuses_foreign_keys(tmp_path):
    store = LocalStorage(tmp_path)
    key = store.put(b"%PDF-1.4 demo", "pdf")
    assert key == content_key(b"%PDF-1.4 demo", "pdf") and store.get(key) == b"%PDF-1.4 demo"
    assert store.put(b"%PDF-1.4 demo", "pdf") == key  # stored once
    for bad in ("../../etc/passwd", "ab/../../x.jpg", "/etc/passwd", key + "/.."):
        with pytest.raises(ValueError):
            store.get(bad)
    store.delete(key)
    with pytest.raises(StorageError):
        store.get(key)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_local_store_leaves_no_partial_file_when_writing_fails(tmp_path):
    store = LocalStorage(tmp_path)
    shard = content_key(b"x" * 10, "jpg").split("/")[0]
    (tmp_path / shard).write_bytes(b"a file where the shard folder should be")
    with pytest.raises(StorageError):
        store.put(b"x" * 10, "jpg")
    assert [p.name for p in tmp_path.rglob("*")] == [shard]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_s3_store_round_trip(s3_endpoint):
    options = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=s3_endpoint, **options).create_bucket(Bucket="uploads")
    store = S3Storage("uploads", endpoint_url=s3_endpoint, **options)
    key = store.put(b"\xff\xd8 fake jpeg bytes", "jpg")
    assert store.get(key) == b"\xff\xd8 fake jpeg bytes"
    store.delete(key)
    with pytest.raises(StorageError):
        store.get(key)
    with pytest.raises(ValueError):
        store.get("../secret")
    missing_bucket = S3Storage("no-such-bucket", endpoint_url=s3_endpoint, **options)
    with pytest.raises(StorageError):
        missing_bucket.put(b"x", "jpg")
