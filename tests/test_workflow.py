"""Working the case: staff roles, the work-item state machine with its audit log, supplements,
ordering, department callbacks and webhooks, deadlines, the family's view, lookups and ratings."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time

import pytest
import redis
from rq import Queue, SimpleWorker

from miniapp_api.extensions import db
from miniapp_api.models import AuditEvent, StaffAccessLog, WebhookDelivery, WorkItem
from miniapp_api.services import staff as staff_service
from miniapp_api.services.webhooks import sign
from tests.conftest import REDIS_URL
from tests.peers.department import Receiver
from tests.test_applications import IM_PROXY, good_form, make_card, make_id, questionnaire, sign_in, submit
from tests.test_uploads import photo

PASSWORD = "correct horse battery"


@pytest.fixture()
def staff(client, app):
    """Staff accounts: Hunan police and social security clerks, the Hunan window, a supervisor, and a
    Jining social security clerk (another region)."""
    people = {
        "hn_police": ("department", "hunan", "public_security"),
        "hn_hrss": ("department", "hunan", "hrss"),
        "hn_window": ("window", "hunan", None),
        "hn_super": ("supervisor", "hunan", None),
        "jn_hrss": ("department", "jining", "hrss"),
        "im_police": ("department", "inner_mongolia", "public_security"),
        "im_civil": ("department", "inner_mongolia", "civil_affairs"),
        "im_medical": ("department", "inner_mongolia", "medical_security"),
    }
    with app.app_context():
        for username, (role, region, department) in people.items():
            staff_service.create(username, PASSWORD, username, role, region, department)
    tokens = {}
    for username in people:
        response = client.post("/api/v1/staff/auth", json={"username": username, "password": PASSWORD})
        tokens[username] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return tokens


@pytest.fixture()
def hunan_case(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    case = submit(client, headers, sid).get_json()
    return headers, case


def item_id(case: dict, matter: str) -> int:
    return next(w["id"] for w in case["work_items"] if w["matter"] == matter)


def move(client, token, item, status, **extra):
    return client.post(f"/api/v1/staff/work-items/{item}/transitions", json={"status": status, **extra}, headers=token)


def test_staff_sign_in_refuses_wrong_passwords(client, staff):
    response = client.post("/api/v1/staff/auth", json={"username": "hn_police", "password": "guess"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "bad_credentials"
    assert client.get("/api/v1/staff/work-items").status_code == 401


def test_full_case_from_submission_to_complete(client, app, staff, hunan_case):
    family, case = hunan_case
    code = case["tracking_code"]
    queue = client.get("/api/v1/staff/work-items", headers=staff["hn_hrss"]).get_json()["items"]
    assert {w["matter"] for w in queue} == {"pension_account_payout", "survivor_benefits"}
    hukou = item_id(case, "hukou_cancellation")
    for status in ("accepted", "in_progress", "done"):
        assert move(client, staff["hn_police"], hukou, status).status_code == 200
    for matter in ("pension_account_payout", "survivor_benefits"):
        for status in ("accepted", "done"):
            assert move(client, staff["hn_hrss"], item_id(case, matter), status).status_code == 200
    view = client.get(f"/api/v1/cases/{code}", headers=family).get_json()
    assert view["complete"] is True and {w["status"] for w in view["work_items"]} == {"done"}
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert len(events) == 7
        assert (events[0].from_status, events[0].to_status) == ("submitted", "accepted")
        assert events[0].actor.startswith("staff:")
        with pytest.raises(RuntimeError):  # append-only
            events[0].reason = "changed"
            db.session.commit()
        db.session.rollback()
    # 好差评: once per completed case; supervisors see the summary.
    assert client.post(f"/api/v1/cases/{code}/rating", json={"score": 5, "comment": "很贴心"}, headers=family).status_code == 201
    again = client.post(f"/api/v1/cases/{code}/rating", json={"score": 1}, headers=family)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    summary = client.get("/api/v1/staff/ratings", headers=staff["hn_super"]).get_json()
    assert {d["department"]: d["average"] for d in summary["departments"]} == {"hrss": 5.0, "public_security": 5.0}


def test_rating_before_completion_and_bad_scores_are_refused(client, hunan_case):
    family, case = hunan_case
    url = f"/api/v1/cases/{case['tracking_code']}/rating"
    assert client.post(url, json={"score": 5}, headers=family).get_json()["error"]["code"] == "case_not_complete"
    for bad in (0, 6, "5", 4.5, None):
        assert client.post(url, json={"score": bad}, headers=family).status_code == 422


def test_needs_supplement_round_trip(client, app, staff, hunan_case):
    family, case = hunan_case
    item = item_id(case, "pension_account_payout")
    assert move(client, staff["hn_hrss"], item, "needs_supplement").get_json()["error"]["code"] == "missing_required"
    response = move(client, staff["hn_hrss"], item, "needs_supplement", missing=["death_certificate", "银行卡号"],
                    reason="请补充")
    assert response.status_code == 200
    view = client.get(f"/api/v1/cases/{case['tracking_code']}", headers=family).get_json()
    asked = next(w for w in view["work_items"] if w["id"] == item)
    assert asked["status"] == "needs_supplement" and asked["missing"] == ["death_certificate", "银行卡号"]
    url = f"/api/v1/cases/{case['tracking_code']}/items/{item}/supplied"
    assert client.post(url, headers=family).get_json()["error"]["code"] == "supplement_incomplete"  # no photo yet
    sent = client.post(f"/api/v1/cases/{case['tracking_code']}/supplements/death_certificate/pages",
                       data={"file": [(io.BytesIO(photo()), "p.jpg")]}, headers=family, content_type="multipart/form-data")
    assert sent.status_code == 201
    back = client.post(url, headers=family)
    assert back.status_code == 200
    assert next(w for w in back.get_json()["work_items"] if w["id"] == item)["status"] == "supplied"
    with app.app_context():
        last = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last.actor.startswith("applicant:") and last.to_status == "supplied"
    assert move(client, staff["hn_hrss"], item, "accepted").status_code == 200


@pytest.mark.parametrize(
    ("path", "extra", "code"),
    [
        (["done"], {}, "illegal_transition"),
        (["in_progress"], {}, "illegal_transition"),
        (["rejected"], {}, "reason_required"),
        (["accepted", "submitted"], {}, "illegal_transition"),
        (["rejected:不符合条件", "accepted"], {}, "illegal_transition"),
        (["flying"], {}, "validation_error"),
    ],
)
def test_illegal_transitions_are_refused(client, staff, hunan_case, path, extra, code):
    _, case = hunan_case
    item = item_id(case, "hukou_cancellation")
    *steps, last = path
    for step in steps:
        status, _, reason = step.partition(":")
        assert move(client, staff["hn_police"], item, status, **({"reason": reason} if reason else {})).status_code == 200
    response = move(client, staff["hn_police"], item, last, **extra)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"] == code


def test_other_department_or_region_cannot_see_or_act(client, app, staff, hunan_case):
    _, case = hunan_case
    code, hrss_item = case["tracking_code"], item_id(case, "pension_account_payout")
    assert move(client, staff["hn_police"], hrss_item, "accepted").status_code == 404
    assert move(client, staff["jn_hrss"], hrss_item, "accepted").status_code == 404
    assert client.get(f"/api/v1/staff/cases/{code}", headers=staff["jn_hrss"]).status_code == 404
    assert client.get("/api/v1/staff/work-items", headers=staff["jn_hrss"]).get_json()["items"] == []
    police_view = client.get(f"/api/v1/staff/cases/{code}", headers=staff["hn_police"]).get_json()
    assert [w["matter"] for w in police_view["work_items"]] == ["hukou_cancellation"]
    assert police_view["deceased"]["id_number"] == make_id("19400101", "male")  # staff see the full number
    window_view = client.get(f"/api/v1/staff/cases/{code}", headers=staff["hn_window"]).get_json()
    assert len(window_view["work_items"]) == 3
    assert move(client, staff["hn_window"], hrss_item, "accepted").status_code == 200
    with app.app_context():  # every read of personal data by staff is logged
        assert db.session.scalar(db.select(db.func.count()).select_from(StaffAccessLog)) == 2


def test_two_staff_updating_the_same_item_cannot_both_win(app, staff, hunan_case):
    _, case = hunan_case
    item = item_id(case, "hukou_cancellation")
    with app.app_context():
        first = db.session.get(WorkItem, item)
        assert first.version == 1
        with app.app_context():  # a second clerk, a second database session
            second = db.session.get(WorkItem, item)
            staff_service.transition("staff:2", second, "accepted")
        from miniapp_api.errors import ApiError

        with pytest.raises(ApiError) as exc:
            staff_service.transition("staff:1", first, "rejected", reason="重复")
        assert exc.value.code == "concurrent_update"
        db.session.rollback()
        assert db.session.get(WorkItem, item).status == "accepted"


def test_deadlines_in_working_days_are_set_at_submission(client, staff, hunan_case):
    _, case = hunan_case
    hukou = next(w for w in case["work_items"] if w["matter"] == "hukou_cancellation")
    assert hukou["due_at"] is not None  # Hunan: 2 working days
    items = client.get("/api/v1/staff/work-items", headers=staff["hn_police"]).get_json()["items"]
    assert items[0]["due_at"] == hukou["due_at"]
    lists = client.get("/api/v1/staff/supervision", headers=staff["hn_super"]).get_json()
    assert {"overdue", "due_soon"} <= set(lists) and set(lists["next_cursor"]) == {"overdue", "due_soon"}


def test_order_hukou_cancellation_last_in_inner_mongolia(client, app, wechat_peer, staff):
    headers = sign_in(client, app, wechat_peer, "wechat")
    script = {**IM_PROXY, "applicant_is_proxy": False, "welfare": ["subsistence_allowance"],
              "medical_insurance": "employee", "medical_fees_settled": True}
    sid = questionnaire(client, headers, region="inner_mongolia", script=script)
    form = good_form(accounts=[{"payee": "applicant_bank_card", "bank_name": "工行", "holder_name": "张小梅",
                                "account_number": make_card()}])
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    hukou = item_id(case, "hukou_cancellation")
    assert move(client, staff["im_police"], hukou, "accepted").status_code == 200
    blocked = move(client, staff["im_police"], hukou, "done")
    assert blocked.status_code == 409 and blocked.get_json()["error"]["code"] == "order_violation"
    others = [w for w in case["work_items"] if w["matter"] != "hukou_cancellation"]
    clerk = {"civil_affairs": "im_civil", "medical_security": "im_medical", "public_security": "im_police"}
    for w in others:
        if w["department"] in clerk:
            move(client, staff[clerk[w["department"]]], w["id"], "rejected", reason="测试")
    pending = [w for w in others if w["department"] not in clerk]
    with app.app_context():
        for w in pending:
            staff_service.transition("staff:test", db.session.get(WorkItem, w["id"]), "rejected", reason="测试")
    assert move(client, staff["im_police"], hukou, "done").status_code == 200


def signed_callback(client, department, body: dict, secret="hrss-callback-secret", timestamp=None, signature=None):
    raw = json.dumps(body).encode()
    timestamp = timestamp or str(int(time.time()))
    headers = {"X-Timestamp": timestamp, "X-Signature": signature or sign(secret, timestamp, raw),
               "Content-Type": "application/json"}
    return client.post(f"/api/v1/callbacks/{department}", data=raw, headers=headers)


def test_department_callbacks_are_signed_fresh_and_once(client, app, hunan_case):
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {"hrss": "hrss-callback-secret"}
    _, case = hunan_case
    item = item_id(case, "pension_account_payout")
    body = {"tracking_code": case["tracking_code"], "work_item_id": item, "status": "accepted"}
    assert signed_callback(client, "hrss", body, secret="forged").get_json()["error"]["code"] == "bad_signature"
    stale = signed_callback(client, "hrss", body, timestamp=str(int(time.time()) - 3600))
    assert stale.status_code == 401 and stale.get_json()["error"]["code"] == "stale_callback"
    timestamp = str(int(time.time()))
    ok = signed_callback(client, "hrss", body, timestamp=timestamp)
    assert ok.status_code == 200 and ok.get_json()["status"] == "accepted"
    replay = signed_callback(client, "hrss", body, timestamp=timestamp)
    assert replay.status_code == 409 and replay.get_json()["error"]["code"] == "replayed_callback"
    # A department can only report on its own items.
    app.config["DEPARTMENT_CALLBACK_SECRETS"]["public_security"] = "police-secret"
    other = signed_callback(client, "public_security", {**body, "status": "in_progress"}, secret="police-secret")
    assert other.status_code == 404
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {}


def test_the_same_callback_twice_at_once_is_applied_once(client, app, hunan_case):
    """Both pass the signature check before either commits: the receipt's unique key lets only one through."""
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {"hrss": "hrss-callback-secret"}
    _, case = hunan_case
    item = item_id(case, "pension_account_payout")
    body, stamp = {"tracking_code": case["tracking_code"], "work_item_id": item, "status": "accepted"}, str(int(time.time()))
    start, answers = threading.Barrier(2), []

    def department() -> None:
        c = app.test_client()
        start.wait()
        answers.append(signed_callback(c, "hrss", body, timestamp=stamp))

    threads = [threading.Thread(target=department) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {}
    assert sorted(a.status_code for a in answers) == [200, 409], [a.get_json() for a in answers]
    with app.app_context():
        moves = db.session.scalars(db.select(AuditEvent).filter_by(work_item_id=item, actor="callback:hrss")).all()
        assert len(moves) == 1


def test_a_callback_with_an_item_id_beyond_any_row_is_a_422_not_a_500(client, app, hunan_case):
    """A department system's bug must not become our 500: the id is checked against the column's range."""
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {"hrss": "hrss-callback-secret"}
    _, case = hunan_case
    for huge in (2**31, 2**63, 10**36):
        body = {"tracking_code": case["tracking_code"], "work_item_id": huge, "status": "accepted"}
        response = signed_callback(client, "hrss", body)
        assert response.status_code == 422, (huge, response.status_code)
        assert "work_item_id" in response.get_json()["error"]["fields"]
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {}


def test_webhook_retried_after_receiver_fails_twice_and_delivered_once(client, app, wechat_peer):
    receiver = Receiver(failures=2)
    app.config["DEPARTMENT_WEBHOOKS"] = {"public_security": {"url": receiver.url, "secret": "push-secret"}}
    app.config["WEBHOOK_RETRY_INTERVALS"] = [0, 0, 0]
    try:
        headers = sign_in(client, app, wechat_peer, "wechat")
        sid = questionnaire(client, headers)
        client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
        code = submit(client, headers, sid).get_json()["tracking_code"]
        connection = redis.Redis.from_url(REDIS_URL)
        with app.app_context():
            SimpleWorker([Queue("webhooks", connection=connection)], connection=connection).work(burst=True)
            delivery = db.session.scalars(db.select(WebhookDelivery)).one()
            assert (delivery.status, delivery.attempts) == ("delivered", 3)
        assert len(receiver.received) == 3 and len(receiver.accepted) == 1
        headers_sent, body = receiver.received[-1]
        assert headers_sent["X-Signature"] == sign("push-secret", headers_sent["X-Timestamp"], body)
        assert receiver.accepted[0]["work_item"]["matter"] == "hukou_cancellation"
        assert receiver.accepted[0]["tracking_code"] == code.replace("-", "")
        # Running the worker again sends nothing more.
        with app.app_context():
            from miniapp_api.services import webhooks
            assert webhooks.sweep() == 0
    finally:
        app.config["DEPARTMENT_WEBHOOKS"] = {}
        app.config["WEBHOOK_RETRY_INTERVALS"] = [10, 60, 300, 1800, 7200]
        receiver.close()


def test_one_delivery_taken_by_two_workers_and_a_sweep_at_once_is_posted_once(client, app, wechat_peer):
    """The job queued at submission, a second worker and the sweep's job all reach one delivery while the
    department answers slowly: only the one holding the lease POSTs; the others find it taken or delivered."""
    from miniapp_api.services import webhooks

    receiver = Receiver(delay=0.5)
    app.config["DEPARTMENT_WEBHOOKS"] = {"public_security": {"url": receiver.url, "secret": "push-secret"}}
    try:
        headers = sign_in(client, app, wechat_peer, "wechat")
        sid = questionnaire(client, headers)
        client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
        assert submit(client, headers, sid).status_code == 201  # queues the first job
        with app.app_context():
            delivery_id = db.session.scalars(db.select(WebhookDelivery.id)).one()
        start, outcomes = threading.Barrier(3), []

        def worker(work) -> None:
            with app.app_context():
                start.wait()
                outcomes.append(work())

        threads = [threading.Thread(target=worker, args=(w,)) for w in
                   (lambda: webhooks.attempt(delivery_id), lambda: webhooks.attempt(delivery_id), webhooks.sweep)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        with app.app_context():
            run_webhook_jobs()  # the submission's job and the sweep's, run now
            delivery = db.session.get(WebhookDelivery, delivery_id)
            assert (delivery.status, delivery.attempts) == ("delivered", 1)
            assert webhooks.sweep() == 0
        assert len(receiver.received) == 1, [h["X-Delivery-Id"] for h, _ in receiver.received]
        assert len(outcomes) == 3  # each of the three finished without an error
    finally:
        app.config["DEPARTMENT_WEBHOOKS"] = {}
        receiver.close()


def run_webhook_jobs() -> None:
    connection = redis.Redis.from_url(REDIS_URL)
    SimpleWorker([Queue("webhooks", connection=connection)], connection=connection).work(burst=True)


def test_a_delivery_whose_worker_died_mid_post_is_given_back_after_the_lease(client, app, wechat_peer):
    from miniapp_api.services import webhooks

    receiver = Receiver()
    app.config["DEPARTMENT_WEBHOOKS"] = {"public_security": {"url": receiver.url, "secret": "push-secret"}}
    try:
        headers = sign_in(client, app, wechat_peer, "wechat")
        sid = questionnaire(client, headers)
        client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
        assert submit(client, headers, sid).status_code == 201
        redis.Redis.from_url(REDIS_URL).delete("rq:queue:webhooks")  # that job died with its worker
        with app.app_context():
            row = db.session.scalars(db.select(WebhookDelivery)).one()
            assert webhooks.queueing.claim(row, "next_attempt_at") == 1  # claimed, then the worker was killed
            assert webhooks.sweep() == 0  # within the lease: still that worker's
            assert webhooks.sweep(lease=dt.timedelta(0)) == 1  # after it: back to pending, queued again
            run_webhook_jobs()
            row = db.session.scalars(db.select(WebhookDelivery)).one()
            assert (row.status, row.attempts) == ("delivered", 2)
        assert len(receiver.received) == 1
    finally:
        app.config["DEPARTMENT_WEBHOOKS"] = {}
        receiver.close()


def test_status_lookup_with_wrong_phone_tail_is_refused_and_throttled(client, app, hunan_case):
    _, case = hunan_case
    code = case["tracking_code"]
    ok = client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": "8000"})
    assert ok.status_code == 200
    body = ok.get_json()
    assert {m["status"] for m in body["matters"]} == {"submitted"} and "张" not in json.dumps(body, ensure_ascii=False)
    wrong = client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": "1234"})
    assert wrong.status_code == 404 and wrong.get_json()["error"]["code"] == "case_not_found"
    app.config["STATUS_LOOKUP_LIMITS"] = "3 per minute"
    try:
        statuses = [client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": f"{n:04d}"}).status_code
                    for n in range(5)]
        assert statuses[-1] == 429
        # Per code: another address trying the same code is throttled too.
        other = client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": "8000"},
                            environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert other.status_code == 429 and other.get_json()["error"]["code"] == "too_many_requests"
    finally:
        app.config["STATUS_LOOKUP_LIMITS"] = "10 per minute;60 per hour"


def test_overdue_items_are_listed_for_supervisors(client, app, staff, hunan_case):
    import datetime as dt

    _, case = hunan_case
    item = item_id(case, "hukou_cancellation")
    with app.app_context():
        row = db.session.get(WorkItem, item)
        row.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        other = db.session.get(WorkItem, item_id(case, "survivor_benefits"))
        other.due_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
        db.session.commit()
    lists = client.get("/api/v1/staff/supervision", headers=staff["hn_super"]).get_json()
    assert [w["id"] for w in lists["overdue"]] == [item]
    assert item_id(case, "survivor_benefits") in [w["id"] for w in lists["due_soon"]]
    assert client.get("/api/v1/staff/supervision", headers=staff["hn_police"]).status_code == 403


def test_staff_see_document_photos_of_their_cases_only(client, app, wechat_peer, staff):
    from tests.test_uploads import photo, upload

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    page = upload(client, headers, sid, "applicant_id_card", photo()).get_json()["pages"][0]
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    code = submit(client, headers, sid).get_json()["tracking_code"]
    url = f"/api/v1/staff/cases/{code}/pages/{page['id']}"
    response = client.get(url + "?size=thumb", headers=staff["hn_police"])
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert client.get(url, headers=staff["jn_hrss"]).status_code == 404
    with app.app_context():
        whats = db.session.scalars(db.select(StaffAccessLog.what)).all()
        assert f"page:{page['id']}" in whats


def test_staff_accounts_from_the_command_line(app, tmp_path):
    from miniapp_api.cli import staff_group
    from miniapp_api.models import StaffUser

    runner = app.test_cli_runner()
    result = runner.invoke(staff_group, ["create", "cli_clerk", "--name", "王五", "--role", "department",
                                         "--region", "hunan", "--department", "hrss", "--password", "long-password-1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser).filter_by(username="cli_clerk")).one()
        assert user.password_hash != "long-password-1" and user.department == "hrss"


def test_deadlines_are_stored_in_utc_so_every_database_reads_them_alike(client, app, staff, hunan_case):
    """Bug: due_at was stored with +08:00; SQLite drops offsets, so deadlines read back 8 hours late."""
    import datetime as dt

    from miniapp_api.domain import deadlines

    _, case = hunan_case
    item = item_id(case, "hukou_cancellation")
    with app.app_context():
        row = db.session.get(WorkItem, item)
        submitted = row.case.submitted_at if row.case.submitted_at.tzinfo else row.case.submitted_at.replace(tzinfo=dt.UTC)
        expected = deadlines.deadline_for({"working_days": 2}, submitted.astimezone(dt.timezone(dt.timedelta(hours=8))),
                                          deadlines.load_calendar()).due
        stored = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=dt.UTC)  # SQLite: naive UTC
        assert stored == expected
