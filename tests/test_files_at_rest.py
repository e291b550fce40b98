"""Issue 16 item 2: document files are encrypted at rest, in the local folder and in an S3 bucket (moto's S3
server on loopback, real HTTP, with SSE-KMS asked for on top). After a real journey over HTTP no stored file is
a readable JPEG or PDF and no name is the hash of a photo; the family and an allowed clerk are served the
decrypted bytes, a clerk not allowed gets 404 as before; a file stored before encryption still reads; a
master-key rotation re-wraps every file without changing what is served."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import select

from miniapp_api import create_app, envelope
from miniapp_api import storage as storage_module
from miniapp_api.cli import keys_group
from miniapp_api.extensions import db
from miniapp_api.keys import LocalKeyring, read_keyring_file
from miniapp_api.models import UploadedPage
from tests import pdfs
from tests.test_applications import good_form, questionnaire, sign_in, submit
from tests.test_console_pages import make_staff
from tests.test_server_smoke import free_port
from tests.test_staff_need_to_know import token
from tests.test_uploads import photo, upload

S3_OPTIONS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Hunan: the police (hukou cancellation) may see the ID card and the household register, not the social security card.
JPEG, PDF, NOT_FOR_POLICE = "applicant_id_card", "household_register", "social_security_card"


class Backend:
    """One file store under test: what it holds, raw, and how to put a file there behind the app's back."""

    def __init__(self, name: str, blobs: Callable[[], dict[str, bytes]], write_raw: Callable[[str, bytes], None],
                 head: Callable[[str], dict] | None = None):
        self.name, self.blobs, self.write_raw, self.head = name, blobs, write_raw, head


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _local(app) -> Backend:
    root = Path(app.config["UPLOAD_FOLDER"])

    def blobs() -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    def write_raw(key: str, content: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(content)

    return Backend("local", blobs, write_raw)


def _s3(app, endpoint: str, monkeypatch) -> Backend:
    """The app's store swapped for an encrypted S3 one (the wrapper create_app makes for S3_BUCKET)."""
    bucket = f"files-{uuid.uuid4().hex[:12]}"
    raw = boto3.client("s3", endpoint_url=endpoint, **S3_OPTIONS)
    raw.create_bucket(Bucket=bucket)
    config = {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_CLIENT_OPTIONS": S3_OPTIONS,
              "S3_SSE_KMS_KEY_ID": KMS_KEY, "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"]}
    monkeypatch.setitem(app.extensions, "storage", storage_module.make_storage(config, app.extensions["keys"]))

    def blobs() -> dict[str, bytes]:
        listed = raw.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: raw.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}

    def write_raw(key: str, content: bytes) -> None:
        raw.put_object(Bucket=bucket, Key=key, Body=content)

    return Backend("s3", blobs, write_raw, head=lambda key: raw.head_object(Bucket=bucket, Key=key))


@pytest.fixture(params=["local", "s3"])
def backend(request, app, monkeypatch) -> Backend:
    if request.param == "local":
        return _local(app)
    return _s3(app, request.getfixturevalue("s3_endpoint"), monkeypatch)


def journey(client, app, wechat_peer) -> tuple[dict, str, str, dict[str, dict]]:
    """A signed-in family uploads a real photo, a real PDF and another photo, then submits: (headers, questionnaire,
    tracking code, the page of each material)."""
    make_staff(app, "hn_police")
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    pages = {}
    for material, content, name in ((JPEG, photo(), "id.jpg"), (PDF, pdfs.plain(2), "register.pdf"),
                                    (NOT_FOR_POLICE, photo(1200, 900), "card.jpg")):
        response = upload(client, headers, sid, material, content, name=name)
        assert response.status_code == 201, response.get_json()
        pages[material] = response.get_json()["pages"][0]
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    case = submit(client, headers, sid)
    assert case.status_code == 201, case.get_json()
    return headers, sid, case.get_json()["tracking_code"], pages


def page_keys(app, page_id: int) -> tuple[str, str | None]:
    with app.app_context():
        page = db.session.get(UploadedPage, page_id)
        return page.storage_key, page.thumbnail_key


def all_keys(app) -> set[str]:
    with app.app_context():
        rows = db.session.execute(select(UploadedPage.storage_key, UploadedPage.thumbnail_key)).all()
    return {k for row in rows for k in row if k}


def opened(app, key: str, blob: bytes) -> bytes:
    return envelope.open_sealed(app.extensions["keys"], blob, b"file:" + key.encode())


def test_after_a_journey_no_stored_file_is_a_readable_jpeg_or_pdf(client, app, wechat_peer, backend):
    sent = photo()
    headers, sid, _, pages = journey(client, app, wechat_peer)
    blobs = backend.blobs()
    assert set(blobs) == all_keys(app) and len(blobs) == 5  # two photos with their thumbnails, one PDF
    served = [client.get(f"/api/v1/questionnaires/{sid}/pages/{p['id']}{size}", headers=headers).data
              for p in pages.values() for size in ("", "?size=thumb")]
    for key, blob in blobs.items():
        assert storage_module.KEY_PATTERN.match(key)
        assert blob.startswith(envelope.MAGIC), key
        assert not blob.startswith(b"\xff\xd8") and not blob.startswith(b"%PDF"), key
        assert b"%PDF-" not in blob and b"JFIF" not in blob and b"Exif" not in blob
        assert sent[:64] not in blob and sent[-64:] not in blob
        for content in served:
            assert content[:64] not in blob and content[len(content) // 2:][:64] not in blob
    # Names are an HMAC under the index key: the hash of a known photo does not say whether it is stored.
    names = {Path(key).stem for key in blobs}
    assert not names & {hashlib.sha256(content).hexdigest() for content in served}
    if backend.head:  # S3: the bucket was asked to encrypt too, with the configured KMS key
        for key in blobs:
            head = backend.head(key)
            assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY)


def test_files_are_served_decrypted_to_the_family_and_an_allowed_clerk_only(client, app, wechat_peer, backend):
    headers, sid, code, pages = journey(client, app, wechat_peer)
    blobs = backend.blobs()
    police = token(client, "hn_police")
    for material, page in pages.items():
        full_key, thumb_key = page_keys(app, page["id"])
        for key, size in ((full_key, ""), (thumb_key, "?size=thumb")):
            stored = opened(app, key or full_key, blobs[key or full_key])  # a PDF has no thumbnail: the file itself
            family = client.get(f"/api/v1/questionnaires/{sid}/pages/{page['id']}{size}", headers=headers)
            assert family.status_code == 200 and family.data == stored
            clerk = client.get(f"/api/v1/staff/cases/{code}/pages/{page['id']}{size}", headers=police)
            if material == NOT_FOR_POLICE:
                assert clerk.status_code == 404 and clerk.get_json()["error"]["code"] == "page_not_found"
            else:
                assert clerk.status_code == 200 and clerk.data == stored
    image = client.get(f"/api/v1/questionnaires/{sid}/pages/{pages[JPEG]['id']}", headers=headers)
    assert image.mimetype == "image/jpeg" and Image.open(io.BytesIO(image.data)).size == (1200, 1600)
    document = client.get(f"/api/v1/questionnaires/{sid}/pages/{pages[PDF]['id']}", headers=headers)
    assert document.mimetype == "application/pdf" and pdfs.texts(document.data) == pdfs.texts(pdfs.plain(2))


def test_a_file_stored_before_encryption_still_reads_and_rotation_seals_it(client, app, wechat_peer, backend):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    page = upload(client, headers, sid, JPEG, photo()).get_json()["pages"][0]
    url = f"/api/v1/questionnaires/{sid}/pages/{page['id']}"
    content = client.get(url, headers=headers).data
    digest = hashlib.sha256(content).hexdigest()
    legacy = f"{digest[:2]}/{digest}.jpg"  # how files were named, and kept, before
    backend.write_raw(legacy, content)
    with app.app_context():
        db.session.execute(db.update(UploadedPage).where(UploadedPage.id == page["id"]).values(storage_key=legacy))
        db.session.commit()
    assert client.get(url, headers=headers).data == content
    store = app.extensions["storage"]
    assert storage_module.rewrap_all(store, app.extensions["keys"]) == 1  # only the plain one needed work
    sealed = backend.blobs()[legacy]
    assert sealed.startswith(envelope.MAGIC) and opened(app, legacy, sealed) == content
    assert client.get(url, headers=headers).data == content


def test_rotation_rewraps_every_file_and_serves_the_same_bytes(client, app, wechat_peer, backend, monkeypatch):
    headers, sid, _, pages = journey(client, app, wechat_peer)
    urls = [f"/api/v1/questionnaires/{sid}/pages/{p['id']}{size}" for p in pages.values() for size in ("", "?size=thumb")]
    before = {url: client.get(url, headers=headers).data for url in urls}
    old = backend.blobs()
    current = app.extensions["keys"]
    assert {envelope.key_id_of(blob) for blob in old.values()} == {current.current_key_id()}
    # A new master key made current (as `flask keys rotate` does), the old one kept for reading.
    rotated = LocalKeyring({**current.keys, "rotation-test": os.urandom(32)}, "rotation-test",
                           current.index_key)
    store = app.extensions["storage"]
    monkeypatch.setattr(store, "provider", rotated)
    monkeypatch.setitem(app.extensions, "keys", rotated)
    assert storage_module.rewrap_all(store, rotated) == len(old) == 5
    new = backend.blobs()
    assert set(new) == set(old)
    for key, blob in new.items():
        assert envelope.key_id_of(blob) == "rotation-test"
        assert envelope.parse(blob).ciphertext == envelope.parse(old[key]).ciphertext  # only the data key re-wrapped
        assert opened(app, key, blob) == opened(app, key, old[key])
    assert {url: client.get(url, headers=headers).data for url in urls} == before
    assert storage_module.rewrap_all(store, rotated) == 0  # nothing left under the old key
    if backend.head:
        assert {backend.head(key)["ServerSideEncryption"] for key in new} == {"aws:kms"}


def test_flask_keys_rotate_rewraps_the_files_too(tmp_path):
    """The command that re-wraps the database's values re-wraps every stored file and seals a plain one."""
    app = create_app({"TESTING": True, "SECRET_KEY": "files-rotation-secret-of-32-bytes-or-more",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'files.sqlite'}", "REDIS_URL": None,
                      "DIALOGS_CHECK_ON_START": False, "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                      "KEYRING_FILE": str(tmp_path / "keyring.json")})
    root, store = tmp_path / "uploads", app.extensions["storage"]
    document = pdfs.plain(1)
    photo_key, pdf_key = store.put(photo(), "jpg"), store.put(document, "pdf")
    plain = "ab/" + "c" * 64 + ".jpg"
    (root / "ab").mkdir()
    (root / plain).write_bytes(b"\xff\xd8 stored before encryption")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        result = app.test_cli_runner().invoke(keys_group, ["rotate"])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "keys: files: 3 re-wrapped under k2" in result.output
    assert read_keyring_file(tmp_path / "keyring.json").current == "k2"
    for key in (photo_key, pdf_key, plain):
        assert envelope.key_id_of((root / key).read_bytes()) == "k2"
    assert store.get(plain) == b"\xff\xd8 stored before encryption" and store.get(pdf_key) == document
