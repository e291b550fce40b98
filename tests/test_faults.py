"""Faults: Redis stopped mid-journey, the database unreachable, the upload disk full.

Each uses its own Redis server / file system, so the rest of the suite is not disturbed."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker

from miniapp_api import create_app
from miniapp_api.extensions import db
from miniapp_api.models import Case, Notification
from miniapp_api.services import notify
from tests.test_applications import HUNAN, first_choice, good_form
from tests.test_auth import host_assertion
from tests.test_server_smoke import free_port


class OwnRedis:
    """A redis-server of our own on a free port, which the test may stop and start."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture()
def own_redis():
    server = OwnRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


def journey_until_form(c, headers) -> str:
    state = c.post("/api/v1/questionnaires", json={"region": "hunan"}, headers=headers).get_json()
    while not state["complete"]:
        q = state["current"]
        response = c.post(f"/api/v1/questionnaires/{state['id']}/answers",
                          json={"question": q["id"], "value": HUNAN.get(q["id"], first_choice(q))}, headers=headers)
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
    return state["id"]


def test_redis_stopped_mid_journey(client, app, own_redis):
    """Questionnaire and submission keep working; the notification waits and goes once Redis is back."""
    faulty = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SECRET_KEY": "test-secret", "REDIS_URL": own_redis.url, "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                         "HOST_CHANNELS": app.config["HOST_CHANNELS"]})
    c = faulty.test_client()
    assertion = host_assertion(phone=good_form()["applicant"]["phone"])  # the host app vouches for the number
    token = c.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": assertion}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    sid = journey_until_form(c, headers)
    own_redis.stop()  # Redis goes away in the middle of the journey
    assert c.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    response = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "redis-down-01"})
    assert response.status_code == 201, response.get_json()
    status = c.post("/api/v1/status", json={"tracking_code": response.get_json()["tracking_code"], "phone_tail": "8000"})
    assert status.status_code == 200  # rate limiting falls back to memory
    sms = c.post("/api/v1/auth/sms/code", json={"phone": "13800138077"})
    assert sms.status_code == 503 and sms.get_json()["error"]["code"] == "temporarily_unavailable"
    with faulty.app_context():
        note = db.session.scalars(db.select(Notification)).one()
        assert note.status == "pending"
    own_redis.start()  # back again: the sweep queues it, the worker sends it
    with faulty.app_context():
        assert notify.sweep() == 1
        connection = redis.Redis.from_url(own_redis.url)
        SimpleWorker([Queue(notify.QUEUE, connection=connection)], connection=connection).work(burst=True)
        assert db.session.scalars(db.select(Notification)).one().status == "sent"
        db.engine.dispose()
    assert any(params.get("code") for _, _, params in faulty.extensions["sms"].sent)


def test_database_unreachable_is_a_clean_503_and_nothing_half_written(app):
    down = create_app({"TESTING": True, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/test",
                       "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    c = down.test_client()
    response = c.post("/api/v1/questionnaires", json={"region": "hunan"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert c.get("/readyz").status_code == 503
    assert c.get("/healthz").status_code == 200


@contextlib.contextmanager
def uploads_on_small_disk(app, size: str):
    """The app's local file store moved onto a tmpfs of `size` for the block."""
    path = Path(tempfile.mkdtemp(prefix="full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here")
    store = app.extensions["storage"]
    old_root, store.root = store.root, path
    try:
        yield path
    finally:
        store.root = old_root
        subprocess.run(["umount", str(path)])
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize(("size", "photos"), [("64k", [(1600, 1200)]), ("128k", [(800, 600), (1600, 1200)])],
                         ids=["too small for one photo", "room for the first of two pages only"])
def test_disk_full_for_uploads_is_a_clear_error_with_no_partial_files(client, app, wechat_peer, size, photos):
    """A clear 507, and all pages of one upload or none: no partial file, no file of an unrecorded page."""
    from tests.test_applications import questionnaire, sign_in
    from tests.test_uploads import photo, upload

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    with uploads_on_small_disk(app, size) as disk:
        response = upload(client, headers, sid, "applicant_id_card", *[photo(w, h) for w, h in photos])
        assert response.status_code == 507
        assert response.get_json()["error"]["code"] == "storage_full"
        assert [p for p in disk.rglob("*") if p.is_file()] == []
        listing = client.get(f"/api/v1/questionnaires/{sid}/materials", headers=headers).get_json()
        assert "applicant_id_card" in listing["missing"]
        assert upload(client, headers, sid, "applicant_id_card", photo(400, 400)).status_code == 201  # room again

def _pg(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    mode = ["-m", "fast"] if action == "stop" else []
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *mode],
                   check=True, capture_output=True, timeout=120)
    if action == "start":
        for _ in range(100):
            if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0:
                return
            time.sleep(0.2)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs the real PostgreSQL")
def test_postgresql_restart_gives_clean_503s_then_recovers_with_no_half_written_case(client, app, wechat_peer):
    from tests.test_applications import questionnaire, sign_in

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    _pg("stop")
    try:
        response = client.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "pg-down-001"})
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "database_unavailable"
        assert client.get("/readyz").status_code == 503
    finally:
        _pg("start")
    response = client.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "pg-down-001"})
    assert response.status_code == 201, response.get_json()
    again = client.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "pg-down-001"})
    assert again.status_code == 200 and again.get_json()["tracking_code"] == response.get_json()["tracking_code"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
