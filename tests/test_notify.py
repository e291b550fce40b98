"""Notifications on real channels: WeChat subscribe messages (loopback WeChat), SMS through the
Alibaba Cloud API (loopback peer checking signatures), the rq worker on the real Redis."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker

from miniapp_api.extensions import db
from miniapp_api.models import Case, Notification, NotificationAttempt, WorkItem
from miniapp_api.services import notify
from miniapp_api.sms_providers import AliyunSms
from tests import processes
from tests.conftest import REDIS_URL
from tests.peers.sms import AliyunSmsPeer
from tests.test_applications import good_form, questionnaire, sign_in, submit
from tests.test_auth import bearer, wechat_login

ROOT = Path(__file__).resolve().parent.parent


def run_worker(app) -> None:
    connection = redis.Redis.from_url(REDIS_URL)
    with app.app_context():
        SimpleWorker([Queue(notify.QUEUE, connection=connection)], connection=connection).work(burst=True)


def submitted_case(client, app, headers) -> dict:
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture()
def aliyun(app):
    """The app sends SMS through the real Alibaba Cloud client, pointed at a loopback peer."""
    peer = AliyunSmsPeer()
    before = app.extensions["sms"], dict(app.config["NOTIFY_SMS_TEMPLATES"]), list(app.config["NOTIFY_RETRY_INTERVALS"])
    app.extensions["sms"] = AliyunSms(peer.access_key_id, peer.access_key_secret, "身后一件事", endpoint=peer.base, timeout=5)
    app.config["NOTIFY_SMS_TEMPLATES"] = {e: f"SMS_{i:04d}" for i, e in enumerate(notify.EVENTS)}
    app.config["NOTIFY_RETRY_INTERVALS"] = [0, 0, 0]
    app.config["NOTIFY_QUIET_HOURS"] = [0, 0]  # no quiet hours unless a test sets them
    app.config["NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR"] = 100
    yield peer
    app.config["NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR"] = 5
    app.extensions["sms"], app.config["NOTIFY_SMS_TEMPLATES"], app.config["NOTIFY_RETRY_INTERVALS"] = before
    app.config["NOTIFY_QUIET_HOURS"] = [21, 8]
    peer.stop()


def test_templates_fit_their_channels(app):
    with app.app_context():
        assert notify.check_templates() == []


def test_sms_sign_in_code_when_the_provider_fails_is_a_clear_503(client, aliyun):
    aliyun.permanent_error = "isv.BUSINESS_LIMIT_CONTROL"
    response = client.post("/api/v1/auth/sms/code", json={"phone": "13800138009"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "sms_unavailable"
    aliyun.permanent_error = None
    assert client.post("/api/v1/auth/sms/code", json={"phone": "13800138009"}).status_code == 202  # no cooldown
    assert aliyun.deliveries[-1].params["code"].isdigit()


def test_submission_texts_the_family_once_with_minimal_personal_data(client, app, wechat_peer, aliyun):
    aliyun.fail_next = 2  # throttled twice, then accepted
    headers = sign_in(client, app, wechat_peer, "wechat")  # no subscribe consent: SMS to the (verified) form phone
    case = submitted_case(client, app, headers)
    run_worker(app)
    assert len(aliyun.deliveries) == 1 and aliyun.duplicates == 0
    message = aliyun.deliveries[0]
    assert message.phone == "13800138000" and message.template == "SMS_0000"
    assert message.params["code"] == case["tracking_code"] and message.params["deceased"] == "张**"
    assert "430102" not in json.dumps(message.params, ensure_ascii=False)  # no ID numbers
    with app.app_context():
        note = db.session.scalars(db.select(Notification)).one()
        assert (note.status, note.attempts, note.channel) == ("sent", 3, "sms")
        attempts = db.session.scalars(db.select(NotificationAttempt.ok).order_by(NotificationAttempt.id)).all()
        assert attempts == [False, False, True]


def test_consented_wechat_subscribe_message_then_sms_fallback(client, app, wechat_peer, aliyun):
    app.config["NOTIFY_WECHAT_TEMPLATES"] = {"case_submitted": "TPL-RECEIVED"}
    try:
        headers = bearer(wechat_login(client, wechat_peer, "o-notify", good_form()["applicant"]["phone"]))
        consent = client.post("/api/v1/me/subscriptions", json={"events": ["case_submitted"]}, headers=headers)
        assert consent.get_json()["remaining"] == {"case_submitted": 1}
        case = submitted_case(client, app, headers)
        run_worker(app)
        sent = wechat_peer.subscribe_messages[-1]
        assert sent["touser"] == "o-notify" and sent["template_id"] == "TPL-RECEIVED"
        assert sent["data"]["character_string1"]["value"] == case["tracking_code"]
        assert all(len(v["value"]) <= 20 for k, v in sent["data"].items() if k.startswith("thing"))
        assert aliyun.deliveries == []
        # The one consent is used up: the next message goes by SMS.
        submitted_case(client, app, headers)
        run_worker(app)
        assert len(aliyun.deliveries) == 1
    finally:
        app.config["NOTIFY_WECHAT_TEMPLATES"] = {}


def test_status_changes_notify_and_quiet_hours_defer(client, app, wechat_peer, aliyun):
    headers = sign_in(client, app, wechat_peer, "wechat")
    case = submitted_case(client, app, headers)
    run_worker(app)
    hour = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).hour
    app.config["NOTIFY_QUIET_HOURS"] = [hour, (hour + 1) % 24]  # now is quiet
    item = next(w for w in case["work_items"] if w["matter"] == "pension_account_payout")
    with app.app_context():
        from miniapp_api.services import staff
        staff.transition("staff:test", db.session.get(WorkItem, item["id"]), "needs_supplement",
                         missing=["death_certificate"])
    run_worker(app)
    assert len(aliyun.deliveries) == 1  # only the (urgent) submission message so far
    with app.app_context():
        note = db.session.scalars(db.select(Notification).filter_by(event="needs_supplement")).one()
        assert note.status == "pending" and "死亡证明" in note.payload["text"]
        note.not_before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # the morning has come
        db.session.commit()
        assert notify.sweep() == 1
    run_worker(app)
    assert [d.template for d in aliyun.deliveries] == ["SMS_0000", "SMS_0001"]


def test_hopeless_messages_go_to_the_dead_letter_list_and_can_be_resent(client, app, wechat_peer, aliyun):
    from tests.test_workflow import PASSWORD

    aliyun.permanent_error = "isv.MOBILE_NUMBER_ILLEGAL"
    headers = sign_in(client, app, wechat_peer, "wechat")
    submitted_case(client, app, headers)
    run_worker(app)
    with app.app_context():
        from miniapp_api.services import staff
        staff.create("window1", PASSWORD, "窗口", "window", "hunan")
    token = client.post("/api/v1/staff/auth", json={"username": "window1", "password": PASSWORD}).get_json()["token"]
    staff_headers = {"Authorization": f"Bearer {token}"}
    dead = client.get("/api/v1/staff/notifications/dead", headers=staff_headers).get_json()["notifications"]
    assert len(dead) == 1 and "MOBILE_NUMBER_ILLEGAL" in dead[0]["last_error"]
    aliyun.permanent_error = None
    assert client.post(f"/api/v1/staff/notifications/{dead[0]['id']}/resend", headers=staff_headers).status_code == 200
    run_worker(app)
    assert len(aliyun.deliveries) == 1
    assert client.get("/api/v1/staff/notifications/dead", headers=staff_headers).get_json()["notifications"] == []


def test_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(client, app, wechat_peer, aliyun):
    headers = sign_in(client, app, wechat_peer, "wechat")
    submitted_case(client, app, headers)
    connection = redis.Redis.from_url(REDIS_URL)
    Queue(notify.QUEUE, connection=connection).empty()
    with app.app_context():
        case = db.session.scalars(db.select(Case)).one()
        item = case.work_items[0]
        notes = [notify.add(case, "matter_done", item) for _ in range(8)]
        db.session.commit()
        ids = [n.id for n in notes]
        db.session.execute(db.delete(NotificationAttempt))
        db.session.execute(db.update(Notification).where(Notification.id.not_in(ids)).values(status="sent"))
        db.session.commit()
        notify.dispatch(ids)
    aliyun.delay = 0.4
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": REDIS_URL,
              "SECRET_KEY": "worker-test-secret-32-bytes-long", "NOTIFY_SMS_PROVIDER": "aliyun", "NOTIFY_RETRY_INTERVALS": [0, 0],
              "NOTIFY_SMS_SETTINGS": {"access_key_id": aliyun.access_key_id, "access_key_secret": aliyun.access_key_secret,
                                      "sign_name": "身后一件事", "endpoint": aliyun.base},
              "NOTIFY_SMS_TEMPLATES": app.config["NOTIFY_SMS_TEMPLATES"], "NOTIFY_QUIET_HOURS": [0, 0]}
    env = {**os.environ, "MINIAPP_CONFIG_JSON": json.dumps(config)}
    worker = processes.start([sys.executable, "-m", "miniapp_api.worker"], env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(aliyun.deliveries) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # now in the middle of a send
    finally:  # the machine dies: the worker, its scheduler and its work horse at once
        processes.stop(worker, signal.SIGKILL)
    delivered_before_restart = len(aliyun.deliveries)
    assert 3 <= delivered_before_restart < 8
    with app.app_context():  # the operator (or cron) sweeps: a message caught mid-send goes to staff
        notify.sweep(stuck_after=dt.timedelta(0))
    aliyun.delay = 0
    restarted = processes.run([sys.executable, "-m", "miniapp_api.worker", "--burst"], env, cwd=ROOT)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    keys = [d.key for d in aliyun.deliveries]
    assert len(keys) == len(set(keys)) and aliyun.duplicates == 0  # nothing twice
    with app.app_context():
        rows = db.session.scalars(db.select(Notification).where(Notification.id.in_(ids))).all()
        sent = {r.idempotency_key for r in rows if r.status == "sent"}
        interrupted = [r for r in rows if r.status == "dead"]
        assert all(r.status in ("sent", "dead") for r in rows)  # nothing lost
        assert sent <= set(keys) and len(interrupted) <= 1
        assert all("interrupted" in r.last_error for r in interrupted)
    assert processes.left(worker.tag) == []  # neither the worker's scheduler nor its work horse outlived it


def test_per_phone_hourly_limit_defers_the_rest(client, app, wechat_peer, aliyun):
    app.config["NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR"] = 2
    headers = sign_in(client, app, wechat_peer, "wechat")
    submitted_case(client, app, headers)
    with app.app_context():
        case = db.session.scalars(db.select(Case)).one()
        notes = [notify.add(case, "matter_done", case.work_items[0]) for _ in range(3)]
        db.session.commit()
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
        later = [n for n in notes if (n.not_before if n.not_before.tzinfo else n.not_before.replace(tzinfo=dt.UTC)) > soon]
        assert len(later) == 2  # the submission message and one more fit in the hour
