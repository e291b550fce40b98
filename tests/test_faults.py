"""Faults: Redis stopped mid-journey, the database unreachable or restarted, the upload disk full.

Each uses its own Redis server, PostgreSQL cluster or file system, so the rest of the suite (and anyone
else's on the shared servers) is not disturbed."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from flask_migrate import upgrade
from rq import Queue, SimpleWorker

from miniapp_api import create_app
from miniapp_api.extensions import db
from miniapp_api.models import AuditEvent, Case, Notification
from miniapp_api.services import notify
from miniapp_api.services.webhooks import sign
from tests import processes
from tests.peers.sms import AliyunSmsPeer
from tests.test_applications import HUNAN, first_choice, give_consent, good_form
from tests.test_auth import bearer, host_assertion, wechat_login
from tests.test_server_smoke import ROOT, free_port


class OwnRedis:
    """A redis-server of our own on a free port, which the test may stop and start."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = processes.start(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                        "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.process:
            processes.stop(self.process)
            self.process = None


class OwnPostgres:
    """A PostgreSQL cluster of our own: initdb into a temporary folder, a free port, trust on loopback;
    the test may stop and start it. Runs as the postgres user when we are root (initdb refuses root)."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.dir / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="module")
def own_pg():
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = OwnPostgres()
    cluster.start()
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.stop()
    shutil.rmtree(cluster.dir, ignore_errors=True)


def app_on(own_pg, app, name: str, **config):
    """An app on a fresh database of the private cluster, migrated, otherwise configured like the suite's."""
    on_pg = create_app({"TESTING": True, "DATABASE_URL": own_pg.fresh_database(name), "SECRET_KEY": "test-secret",
                        "REDIS_URL": app.config["REDIS_URL"], "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                        "HOST_CHANNELS": app.config["HOST_CHANNELS"], "DIALOGS_CHECK_ON_START": False,
                        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}, **config})
    with on_pg.app_context():
        upgrade()
    return on_pg


def family_case(c) -> tuple[dict, dict]:
    """A host-app family's submitted Hunan case: (headers, case). The host app vouches for the form's phone
    (a signed `phone` claim), so the case's texts may go to it (issue 13.9)."""
    assertion = host_assertion(sub=uuid.uuid4().hex, phone=good_form()["applicant"]["phone"])
    token = c.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": assertion})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    sid = journey_until_form(c, headers)
    assert c.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    response = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.get_json()
    return headers, response.get_json()


@pytest.fixture()
def own_redis():
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
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
    give_consent(c, headers, state["id"])  # the separate consent the form needs
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
    store = app.extensions["storage"].inner  # the local folder beneath the encryption
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

def test_postgresql_restart_gives_clean_503s_then_recovers_with_no_half_written_case(client, app, own_pg):
    on_pg = app_on(own_pg, app, "restart_submission")
    c = on_pg.test_client()
    token = c.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": host_assertion()}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    sid = journey_until_form(c, headers)
    assert c.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    own_pg.stop()
    try:
        response = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "pg-down-001"})
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "database_unavailable"
        assert c.get("/readyz").status_code == 503
    finally:
        own_pg.start()
    response = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "pg-down-001"})
    assert response.status_code == 201, response.get_json()
    again = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "pg-down-001"})
    assert again.status_code == 200 and again.get_json()["tracking_code"] == response.get_json()["tracking_code"]
    with on_pg.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
        db.engine.dispose()


def signed_callback(c, department: str, secret: str, body: dict, timestamp: str):
    raw = json.dumps(body).encode()
    return c.post(f"/api/v1/callbacks/{department}", data=raw, headers={
        "Content-Type": "application/json", "X-Timestamp": timestamp, "X-Signature": sign(secret, timestamp, raw)})


def test_a_department_callback_retried_after_a_503_is_applied_once(client, app, own_pg):
    """The department's honest retry after our 503 is applied, not refused as a replay; a real replay still is."""
    on_pg = app_on(own_pg, app, "callback_retry", DEPARTMENT_CALLBACK_SECRETS={"hrss": "hrss-callback-secret"})
    c = on_pg.test_client()
    _, case = family_case(c)
    item = next(w["id"] for w in case["work_items"] if w["matter"] == "pension_account_payout")
    body, stamp = {"tracking_code": case["tracking_code"], "work_item_id": item, "status": "accepted"}, str(int(time.time()))
    own_pg.stop()  # a short database outage while the department reports
    try:
        down = signed_callback(c, "hrss", "hrss-callback-secret", body, stamp)
        assert down.status_code == 503 and down.get_json()["error"]["code"] == "database_unavailable"
    finally:
        own_pg.start()
    retried = signed_callback(c, "hrss", "hrss-callback-secret", body, stamp)
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "accepted"
    replayed = signed_callback(c, "hrss", "hrss-callback-secret", body, stamp)
    assert replayed.status_code == 409 and replayed.get_json()["error"]["code"] == "replayed_callback"
    with on_pg.app_context():
        moves = db.session.scalars(db.select(AuditEvent).filter_by(work_item_id=item, actor="callback:hrss")).all()
        assert [(m.from_status, m.to_status) for m in moves] == [("submitted", "accepted")]  # applied once
        db.engine.dispose()


# --- The rq worker through a PostgreSQL restart -----------------------------------------------------------

WORKER_KEY = "worker-fault-test-secret-of-32-bytes+"


def sms_settings(peer: AliyunSmsPeer) -> dict:
    """SMS through the real Alibaba Cloud client to a loopback peer; no quiet hours, no per-phone cap."""
    return {"NOTIFY_SMS_PROVIDER": "aliyun", "NOTIFY_QUIET_HOURS": [0, 0], "NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR": 1000,
            "NOTIFY_RETRY_INTERVALS": [1, 2, 4, 8], "WORKER_HEARTBEAT_SECONDS": 1,
            "NOTIFY_SMS_SETTINGS": {"access_key_id": peer.access_key_id, "access_key_secret": peer.access_key_secret,
                                    "sign_name": "身后一件事", "endpoint": peer.base, "timeout": 5}}


def worker_env(on_pg) -> dict:
    """What `python -m miniapp_api.worker` needs: the app's database, Redis and SMS settings, a real key."""
    keys = ("REDIS_URL", "NOTIFY_SMS_PROVIDER", "NOTIFY_SMS_SETTINGS", "NOTIFY_QUIET_HOURS", "NOTIFY_RETRY_INTERVALS",
            "NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR", "WORKER_HEARTBEAT_SECONDS")
    config = {k: on_pg.config[k] for k in keys}
    config.update(DATABASE_URL=on_pg.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=WORKER_KEY, DIALOGS_CHECK_ON_START=False)
    return {**os.environ, "MINIAPP_CONFIG_JSON": json.dumps(config)}


@contextlib.contextmanager
def running_worker(on_pg):
    log = tempfile.TemporaryFile()
    worker = subprocess.Popen([sys.executable, "-m", "miniapp_api.worker"], cwd=ROOT, env=worker_env(on_pg),
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()  # rq's warm shutdown: the job in hand is finished first
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        log.seek(0)
        print(log.read().decode(errors="replace")[-60000:])  # shown when the test fails
        log.close()


def worker_check(on_pg) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "miniapp_api.worker", "--check"], cwd=ROOT, env=worker_env(on_pg),
                          capture_output=True, text=True, timeout=60)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def notifications(on_pg) -> list[Notification]:
    with on_pg.app_context():
        rows = db.session.scalars(db.select(Notification).order_by(Notification.id)).all()
        db.session.expunge_all()
        db.session.remove()
        return rows


def queue_notifications(on_pg, count: int) -> list[str]:
    """`count` more messages about the latest case, written and queued as a department's move would."""
    with on_pg.app_context():
        case = db.session.scalars(db.select(Case).order_by(Case.id.desc())).first()
        notes = [notify.add(case, "matter_done", case.work_items[0]) for _ in range(count)]
        db.session.commit()
        notify.dispatch([n.id for n in notes])
        keys = [n.idempotency_key for n in notes]
        db.session.remove()
        return keys


def all_sent(on_pg) -> bool:
    rows = notifications(on_pg)
    return bool(rows) and all(r.status == "sent" for r in rows)


def assert_each_delivered_once(on_pg, sms: AliyunSmsPeer, expected: int) -> None:
    rows = notifications(on_pg)
    assert [r.status for r in rows] == ["sent"] * expected, [(r.id, r.status, r.last_error) for r in rows]
    assert sorted(d.key for d in sms.deliveries) == sorted(r.idempotency_key for r in rows)  # none lost...
    assert sms.duplicates == 0  # ...and none twice


def test_an_idle_worker_survives_a_postgresql_restart_and_says_how_it_is(client, app, own_pg):
    sms = AliyunSmsPeer()
    on_pg = app_on(own_pg, app, "worker_idle", **sms_settings(sms))
    try:
        with running_worker(on_pg):
            family_case(on_pg.test_client())  # "case received" goes out through the worker
            wait_for(lambda: len(sms.deliveries) == 1, 30, "the first SMS")
            wait_for(lambda: worker_check(on_pg).returncode == 0, 30, "the worker reports itself healthy")
            own_pg.stop()  # the worker is idle, waiting on Redis
            try:
                checks = []
                wait_for(lambda: checks.append(worker_check(on_pg)) or checks[-1].returncode == 1, 30,
                         "the worker reports the database away")
                assert "database" in checks[-1].stdout
            finally:
                own_pg.start()
            wait_for(lambda: worker_check(on_pg).returncode == 0, 30, "the worker healthy again")
            queue_notifications(on_pg, 3)
            wait_for(lambda: all_sent(on_pg), 60, "the jobs after the restart succeed")
        assert_each_delivered_once(on_pg, sms, 4)
    finally:
        with on_pg.app_context():
            db.engine.dispose()
        sms.stop()


def test_a_busy_worker_through_a_postgresql_restart_loses_nothing_and_sends_nothing_twice(client, app, own_pg):
    sms = AliyunSmsPeer()
    sms.delay = 0.6  # each send takes a while: the restart lands in the middle of one
    on_pg = app_on(own_pg, app, "worker_busy", **sms_settings(sms))
    try:
        with running_worker(on_pg):
            family_case(on_pg.test_client())
            queue_notifications(on_pg, 12)
            wait_for(lambda: len(sms.deliveries) >= 3, 60, "the batch under way")
            stopped = dt.datetime.now(dt.UTC)
            own_pg.restart()
            started = dt.datetime.now(dt.UTC)
            wait_for(lambda: len(sms.deliveries) >= 13 or not _pending_jobs(on_pg), 90, "the queue worked off")
            with on_pg.app_context():
                notify.sweep()  # cron's sweep: anything whose retries ran out while the database was away
                db.session.remove()
            wait_for(lambda: all_sent(on_pg), 90, "every notification sent")
        assert_each_delivered_once(on_pg, sms, 13)
        in_flight = [n.id for n in notifications(on_pg) if utc(n.not_before) < stopped and utc(n.sent_at) > started]
        assert in_flight, "a message was claimed before the database went away and recorded as sent after"
    finally:
        with on_pg.app_context():
            db.engine.dispose()
        sms.stop()


def utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC


def test_a_send_that_fails_before_reaching_the_provider_gives_its_claim_back(client, app, wechat_peer, own_redis):
    """The WeChat access token lives in Redis; with Redis away the message never leaves, so it must not stay
    claimed ("sending", later dead as "may have been delivered"): back to pending, and sent once on retry."""
    faulty = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SECRET_KEY": "test-secret", "REDIS_URL": own_redis.url, "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                         "HOST_CHANNELS": app.config["HOST_CHANNELS"], "DIALOGS_CHECK_ON_START": False,
                         **{k: app.config[k] for k in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE")},
                         "NOTIFY_WECHAT_TEMPLATES": {"case_submitted": "TPL-RECEIVED"}})
    c = faulty.test_client()
    headers = bearer(wechat_login(c, wechat_peer, f"o-{uuid.uuid4().hex}"))
    assert c.post("/api/v1/me/subscriptions", json={"events": ["case_submitted"]}, headers=headers).status_code == 200
    sid = journey_until_form(c, headers)
    assert c.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    submitted = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "claim-back-1"})
    assert submitted.status_code == 201
    before = len(wechat_peer.subscribe_messages)
    own_redis.stop()
    with faulty.app_context():
        note = db.session.scalars(db.select(Notification)).one()
        assert note.channel == "wechat"
        with pytest.raises(notify.SendFailed):
            notify.attempt(note.id)
        db.session.refresh(note)
        assert (note.status, note.attempts) == ("pending", 1) and "redis" in note.last_error
    assert len(wechat_peer.subscribe_messages) == before  # it never left
    own_redis.start()
    with faulty.app_context():
        assert notify.attempt(note.id) is True
        assert db.session.get(Notification, note.id).status == "sent"
        db.engine.dispose()
    assert len(wechat_peer.subscribe_messages) == before + 1


def _pending_jobs(on_pg) -> int:
    connection = redis.Redis.from_url(on_pg.config["REDIS_URL"])
    queue = Queue(notify.QUEUE, connection=connection)
    return len(queue) + len(queue.scheduled_job_registry) + len(queue.started_job_registry)
