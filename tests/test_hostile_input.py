"""Hostile input (issue 13): lone UTF-16 surrogates, control characters and NUL bytes in any string, invisible
formatting characters in names, JSON nested a thousand deep, digits that are not ASCII, and racing taps. Each
is refused with a clear 4xx naming what was wrong (a friendly page on /h5 and /console), never a 500, and bad
text already stored in the database never breaks a page that shows it."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from marshmallow import fields

from miniapp_api.extensions import db
from miniapp_api.models import Case, QuestionnaireSession, Rating, WorkItem
from miniapp_api.services import staff as staff_service
from miniapp_api.services.webhooks import sign
from tests.test_applications import good_form, questionnaire, sign_in, submit
from tests.test_auth import bearer, host_assertion
from tests.test_console_pages import console_sign_in, csrf_token, make_staff
from tests.test_h5_pages import Family, form_fields, journey_value
from tests.test_workflow import PASSWORD

# What no string of ours may hold, wherever it comes from.
HOSTILE = {"lone surrogate": "张\ud800", "NUL": "张\x00三", "BEL (C0)": "张\x07三", "DEL": "张\x7f三",
           "NEL (C1)": "张\x85三", "escape (C0)": "\x1b[31m张三"}
# Bidi overrides and isolates, zero-width characters: refused in people's names.
INVISIBLE = {"RLO": "\u202e", "LRE": "\u202a", "PDF": "\u202c", "LRI": "\u2066", "PDI": "\u2069", "ZWSP": "\u200b",
             "ZWNJ": "\u200c", "ZWJ": "\u200d", "BOM": "\ufeff", "word joiner": "\u2060"}
CALLBACK_SECRET = "hrss-callback-secret"


def raw_json(value) -> bytes:
    """JSON as an attacker sends it: a lone surrogate travels as the escape \\ud800 (valid JSON text)."""
    return json.dumps(value).encode()


def send(client, method: str, url: str, body, headers=None):
    return client.open(url, method=method, data=raw_json(body), content_type="application/json", headers=headers or {})


def error_fields(response) -> dict:
    body = json.loads(response.get_data().decode("utf-8"))  # strict UTF-8: a refusal is itself readable
    return body["error"]["fields"]


def error_fields_en(response) -> dict:
    return json.loads(response.get_data().decode("utf-8"))["error"]["fields_en"]


def at(fields: dict, path: str):
    """An error's messages for one field: ``fields`` is keyed by dotted paths (errors.py)."""
    return fields[path]


@pytest.fixture()
def world(client, app, wechat_peer):
    """A family with an open questionnaire and a submitted case, a Hunan window clerk, and signed callbacks."""
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {"hrss": CALLBACK_SECRET}
    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family)
    case = submit(client, family, sid).get_json()
    open_sid = questionnaire(client, family)
    with app.app_context():
        staff_service.create("hn_window", PASSWORD, "窗口", "window", "hunan", None)
    clerk = bearer(client.post("/api/v1/staff/auth", json={"username": "hn_window", "password": PASSWORD}))
    item = next(w["id"] for w in case["work_items"] if w["department"] == "hrss")
    yield {"family": family, "sid": open_sid, "code": case["tracking_code"], "clerk": clerk, "item": item}
    app.config["DEPARTMENT_CALLBACK_SECRETS"] = {}


def signed(body: bytes, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    return {"X-Timestamp": timestamp, "X-Signature": sign(CALLBACK_SECRET, timestamp, body)}


def json_operations(w: dict, bad: str) -> list[tuple[str, str, dict, dict, str]]:
    """Every JSON request body of the API with ``bad`` in one string: (method, url, headers, body, field path)."""
    sid, code, family, clerk = w["sid"], w["code"], w["family"], w["clerk"]
    form = good_form()
    with_proxy = {**form, "proxy": {"name": "李四", "authorization": {"signed": True, "reason": bad}}}
    return [
        ("POST", "/api/v1/questionnaires", {}, {"region": bad}, "region"),
        ("POST", f"/api/v1/questionnaires/{sid}/answers", family, {"question": "local_death", "value": bad}, "value"),
        ("POST", f"/api/v1/questionnaires/{sid}/answers", family, {"question": "requested", "value": ["x", bad]},
         "value.1"),
        ("POST", f"/api/v1/questionnaires/{sid}/answers", family, {"question": bad, "value": True}, "question"),
        ("POST", f"/api/v1/questionnaires/{sid}/goto", family, {"question": bad}, "question"),
        ("PUT", f"/api/v1/questionnaires/{sid}/form", family, {**form, "deceased": {"name": bad}}, "deceased.name"),
        ("PUT", f"/api/v1/questionnaires/{sid}/form", family, {**form, "applicant": {"address": bad}},
         "applicant.address"),
        ("PUT", f"/api/v1/questionnaires/{sid}/form", family, with_proxy, "proxy.authorization.reason"),
        ("PUT", f"/api/v1/questionnaires/{sid}/form", family, {**form, "accounts": [{"bank_name": bad}]},
         "accounts.0.bank_name"),
        ("POST", "/api/v1/auth/wechat", {}, {"code": bad}, "code"),
        ("POST", "/api/v1/auth/host", {}, {"channel": "xiangyiban", "assertion": bad}, "assertion"),
        ("POST", "/api/v1/auth/sms/code", {}, {"phone": bad}, "phone"),
        ("POST", "/api/v1/auth/sms/verify", {}, {"phone": "13800138000", "code": bad}, "code"),
        ("POST", "/api/v1/me/subscriptions", family, {"events": [bad]}, "events.0"),
        ("POST", f"/api/v1/cases/{code}/rating", family, {"score": 5, "comment": bad}, "comment"),
        ("POST", "/api/v1/status", {}, {"tracking_code": bad, "phone_tail": "8000"}, "tracking_code"),
        ("POST", "/api/v1/staff/auth", {}, {"username": bad, "password": "x"}, "username"),
        ("POST", "/api/v1/staff/auth", {}, {"username": "hn_window", "password": bad}, "password"),
        ("POST", f"/api/v1/staff/work-items/{w['item']}/transitions", clerk, {"status": "rejected", "reason": bad},
         "reason"),
        ("POST", f"/api/v1/staff/work-items/{w['item']}/transitions", clerk,
         {"status": "needs_supplement", "missing": [bad]}, "missing.0"),
        ("POST", "/api/v1/callbacks/hrss", None,
         {"tracking_code": code, "work_item_id": w["item"], "status": "rejected", "reason": bad}, "reason"),
    ]


# --- item 4: surrogates and control characters in every string ---------------------------------------------

@pytest.mark.parametrize("kind", list(HOSTILE))
def test_bad_text_in_every_json_string_is_a_422_naming_the_field(client, world, kind):
    for method, url, headers, body, path in json_operations(world, HOSTILE[kind]):
        if headers is None:  # a department callback: signed over the exact bytes
            headers = signed(raw_json(body))
        response = send(client, method, url, body, headers)
        assert response.status_code == 422, (kind, url, path, response.status_code, response.get_data())
        assert json.loads(response.get_data().decode("utf-8"))["error"]["code"] == "validation_error"
        messages, messages_en = at(error_fields(response), path), at(error_fields_en(response), path)
        assert messages and " / " not in messages[0] and messages[0] != messages_en[0], (url, path, messages)


def test_a_lone_surrogate_in_a_name_saves_nothing_and_no_case_is_made_from_it(client, world):
    """The attack: the draft was saved although the answer was a 500; a retried submit then made the case."""
    sid, family = world["sid"], world["family"]
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family).status_code == 200
    bad = good_form(deceased__name="\u5f20\ud800")
    response = send(client, "PUT", f"/api/v1/questionnaires/{sid}/form", bad, family)
    assert response.status_code == 422 and "deceased.name" in error_fields(response)
    view = client.get(f"/api/v1/questionnaires/{sid}/form", headers=family)
    assert view.status_code == 200 and view.get_json()["form"]["deceased"]["name"] == "张三丰"  # the earlier draft
    case = submit(client, family, sid)
    assert case.status_code == 201 and case.get_json()["deceased"]["name"] == "张三丰"


def test_a_bad_key_anywhere_in_a_body_is_refused(client, world):
    sid, family = world["sid"], world["family"]
    for body in ({"deceased": {"na\ud800me": "x"}}, {"deceased\x00": {}}, ["\ud800"], "\x00"):
        response = send(client, "PUT", f"/api/v1/questionnaires/{sid}/form", body, family)
        assert response.status_code == 422, body
        assert error_fields(response)


def test_line_breaks_only_where_text_has_several_lines(client, world):
    sid, family = world["sid"], world["family"]
    for name in ("张\n三", "张\r三", "张\t三"):
        response = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(deceased__name=name), headers=family)
        assert response.status_code == 422 and "deceased.name" in error_fields(response), repr(name)
    reason = "材料不全：\n1. 死亡证明\r\n2. 户口簿\t（原件）"
    moved = client.post(f"/api/v1/staff/work-items/{world['item']}/transitions", headers=world["clerk"],
                        json={"status": "rejected", "reason": reason})
    assert moved.status_code == 200 and moved.get_json()["reason"] == reason


def test_every_string_field_of_every_request_schema_checks_its_text():
    """One shared field for every string the API reads, so no new schema can forget the rule."""
    from miniapp_api.api import schemas
    from miniapp_api.api.operations import REQUEST_BODIES

    unchecked = []

    def walk(schema, prefix):
        for name, field in schema.fields.items():
            for inner in (field, getattr(field, "inner", None)):
                if isinstance(inner, fields.Nested):
                    walk(inner.schema, f"{prefix}{name}.")
                elif isinstance(inner, fields.String) and not isinstance(inner, schemas.Text):
                    unchecked.append(prefix + name)

    assert len(REQUEST_BODIES) >= 15
    for name, schema in REQUEST_BODIES.items():
        walk(schema(), f"{name}.")
    assert not unchecked


# --- item 17 (part): invisible formatting characters in names ------------------------------------------------

@pytest.mark.parametrize("path", ["deceased.name", "applicant.name", "proxy.name", "accounts.0.holder_name"])
def test_bidi_overrides_and_zero_width_characters_are_refused_in_names(client, world, path):
    sid, family = world["sid"], world["family"]
    for kind, ch in INVISIBLE.items():
        form = good_form()
        form.setdefault("proxy", {"name": "李四"})
        section, *rest = path.split(".")
        node = form[section][0] if rest[0] == "0" else form[section]
        node[rest[-1]] = f"张{ch}三"
        response = client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=family)
        assert response.status_code == 422, (path, kind)
        assert at(error_fields(response), path)[0].startswith("姓名"), (path, kind)


# --- the H5 and console pages: the same rules, friendly pages ------------------------------------------------

@pytest.fixture()
def h5_family(client, app):
    family = Family(client, app)
    family.start()
    family.answer_all()
    family.sign_in()
    return family


def test_h5_form_posts_with_control_characters_are_a_friendly_page_and_save_nothing(h5_family):
    for bad in ("张\x00三", "张\x1b三", "张\x85三"):
        response = h5_family.post("/h5/form", form_fields(good_form(deceased__name=bad)))
        assert response.status_code == 400 and response.mimetype == "text/html", repr(bad)
        assert "无法识别的字符" in response.get_data(as_text=True)
    qid = journey_value(h5_family.client, h5_family.app, "h5_q")
    with h5_family.app.app_context():
        assert db.session.get(QuestionnaireSession, qid).form_draft == {}


def test_h5_names_with_invisible_characters_are_shown_next_to_the_field(h5_family):
    response = h5_family.post("/h5/form", form_fields(good_form(deceased__name="张\u202e三")))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "姓名中不能含有" in page


def test_h5_status_and_sign_in_with_nul_bytes_are_friendly_pages(client, app):
    family = Family(client, app)
    for url, data in (("/h5/status", {"tracking_code": "\x00" * 5, "phone_tail": "1234"}),
                      ("/h5/signin/code", {"phone": "138\x000013800"}),
                      ("/h5/start", {"region": "hunan\x00"})):
        response = family.post(url, data)
        assert response.status_code == 400 and response.mimetype == "text/html", url
        assert "无法识别的字符" in response.get_data(as_text=True)


def test_console_posts_with_control_characters_are_friendly_pages(client, app, world):
    make_staff(app, "hn_police")
    sign_in_page = console_sign_in(client, "hn\x00police")
    assert sign_in_page.status_code == 400 and sign_in_page.mimetype == "text/html"
    assert "无法识别的字符" in sign_in_page.get_data(as_text=True)
    console_sign_in(client, "hn_window")
    with client.application.app_context():
        version = db.session.get(WorkItem, world["item"]).version
    response = client.post(f"/console/items/{world['item']}/transition",
                           data={"status": "rejected", "reason": "重复\x00提交", "version": str(version),
                                 "csrf_token": csrf_token(client)})
    assert response.status_code == 400 and "无法识别的字符" in response.get_data(as_text=True)
    with client.application.app_context():
        assert db.session.get(WorkItem, world["item"]).status == "submitted"
    search = client.get("/console/search", query_string={"q": "张\x00"})
    assert search.status_code == 400 and search.mimetype == "text/html"


def test_the_window_form_names_the_field_with_an_invisible_character(client, app, world):
    from tests.test_console_pages import answer_all
    from tests.test_console_pages import form_fields as console_fields

    console_sign_in(client, "hn_window")
    started = client.post("/console/applications", data={"csrf_token": csrf_token(client)})
    session_id = started.location.rstrip("/").split("/")[-1]
    answer_all(client, started.location)
    response = client.post(f"/console/applications/{session_id}/form",
                           data={**console_fields(good_form(deceased__name="张\u200b三")), "csrf_token": csrf_token(client)},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "逝者姓名" in page and "姓名中不能含有" in page


# --- readers: bad text already in the database never breaks a page -----------------------------------------

def _store_bad_text(app, code: str, sid: str) -> None:
    """Write what older releases let in, straight into the JSON columns with SQL (no model, no validation)."""
    with app.app_context():
        case = db.session.scalars(db.select(Case).filter_by(tracking_code=code.replace("-", ""))).one()
        form = dict(case.form)
        form["deceased"] = {**form["deceased"], "name": "张三丰\ud800", "death_place": "医院\x00\x07\x85"}
        form["applicant"] = {**form["applicant"], "name": "张小梅\udfff\u202e", "address": "某路\x1b[31m1号"}
        db.session.execute(sa.text("UPDATE cases SET form = :form WHERE id = :id"),
                           {"form": json.dumps(form), "id": case.id})
        draft = {"deceased": {"name": "王五\ud800"}, "applicant": {"address": "\x00"}}
        db.session.execute(sa.text("UPDATE questionnaire_sessions SET form_draft = :draft WHERE id = :id"),
                           {"draft": json.dumps(draft), "id": sid})
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Case, case.id).form["deceased"]["name"] == "张三丰\ud800"  # it really is stored
        assert db.session.get(QuestionnaireSession, sid).form_draft["deceased"]["name"] == "王五\ud800"


def _readable(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    if response.mimetype == "application/pdf":
        assert response.data.startswith(b"%PDF")
        return ""
    return response.get_data().decode("utf-8")  # strict: valid UTF-8 throughout


def test_stored_bad_text_never_breaks_the_case_page_print_views_or_search(client, app, world):
    code, family, sid = world["code"], world["family"], world["sid"]
    _store_bad_text(app, code, sid)
    assert "张三丰" in _readable(client.get(f"/api/v1/cases/{code}", headers=family))
    assert "张三丰" in _readable(client.get(f"/api/v1/cases/{code}/application.html", headers=family))
    _readable(client.get(f"/api/v1/cases/{code}/application.pdf", headers=family))
    assert "王五" in _readable(client.get(f"/api/v1/questionnaires/{sid}/form", headers=family))
    assert "张三丰" in _readable(client.get(f"/api/v1/staff/cases/{code}", headers=world["clerk"]))
    console_sign_in(client, "hn_window")
    assert "张三丰" in _readable(client.get(f"/console/cases/{code}"))
    assert "张三丰" in _readable(client.get(f"/console/cases/{code}/application.html"))
    _readable(client.get(f"/console/cases/{code}/application.pdf"))
    token = csrf_token(client, "/console/search")
    for query in ("张三丰", "张小梅", code):
        assert code in _readable(client.post("/console/search", data={"q": query, "csrf_token": token})), query
    assert code in _readable(client.get("/console/queue"))


# --- item 13: NUL bytes, long host ids, deep JSON, odd digits ----------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/questionnaires/ab%00cd", "/api/v1/questionnaires/ab%00cd/form",
                                 "/api/v1/cases/ABCDE%00/application.html", "/api/v1/regions/hu%00nan/dialog",
                                 "/api/v1/staff/cases/%00"])
def test_nul_bytes_in_path_ids_are_a_400_naming_the_parameter(client, world, url):
    response = client.get(url, headers={**world["family"], **world["clerk"]} if "staff" in url else world["family"])
    assert response.status_code == 400, response.get_data()
    error = json.loads(response.get_data())["error"]
    assert error["code"] == "invalid_characters" and len(error["fields"]) == 1


def test_nul_bytes_in_a_callback_department_and_a_query_are_refused(client, world):
    body = raw_json({"tracking_code": world["code"], "work_item_id": world["item"], "status": "accepted"})
    response = client.post("/api/v1/callbacks/hr%00ss", data=body, content_type="application/json", headers=signed(body))
    assert response.status_code == 400 and "department" in error_fields(response)
    queue = client.get("/api/v1/staff/work-items", query_string={"status": "done\x00"}, headers=world["clerk"])
    assert queue.status_code == 400 and "status" in error_fields(queue)


@pytest.mark.parametrize(("sub", "status"), [("u\x00one", 401), ("u\ud800", 401), ("u" * 129, 401), ("", 401),
                                             ("u\x85", 401), ("u" * 128, 200), ("湘易办用户-1", 200)])
def test_host_user_ids_are_checked_before_they_are_stored(client, sub, status):
    response = client.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": host_assertion(sub=sub)})
    assert response.status_code == status, response.get_data()
    if status == 401:
        assert response.get_json()["error"]["code"] == "assertion_invalid"


def deep(depth: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def test_json_nested_a_thousand_deep_is_a_400_on_every_json_endpoint(client, world, app):
    document = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, method in [(p, m) for p, ops in document["paths"].items() for m, op in ops.items()
                         if m != "parameters" and "application/json" in op.get("requestBody", {}).get("content", {})]:
        url = "/api/v1" + path.format(session_id=world["sid"], code=world["code"], item_id=world["item"],
                                      department="hrss")
        headers = {**world["family"], **world["clerk"]} if "/staff/" in path else dict(world["family"])
        for payload in (deep(1000), deep(1000, "object"), deep(33), b'{"a": ' + deep(100) + b"}"):
            if "callbacks" in path:
                headers = signed(payload)
            response = client.open(url, method=method.upper(), data=payload, content_type="application/json",
                                   headers=headers)
            assert response.status_code == 400, (method, path, response.status_code, response.get_data()[:200])
            assert response.get_json()["error"]["code"] == "json_too_deep", path
        checked += 1
    assert checked >= 14
    shallow = client.post("/api/v1/status", data=b'{"tracking_code": {"a": [[[1]]]}, "phone_tail": "1234"}',
                          content_type="application/json")
    assert shallow.status_code == 422  # a few levels are just a wrong type


def test_a_json_body_larger_than_any_form_is_a_413(client, world):
    huge = raw_json({"tracking_code": "x" * (2 * 1024 * 1024), "phone_tail": "1234"})
    response = client.post("/api/v1/status", data=huge, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("timestamp", ["²³", "¹" + "7" * 9, "1" * 5000, "-1", " 1", "1e9"])
def test_callback_timestamps_must_be_ascii_digits(client, world, timestamp):
    """A header's bytes reach the app as Latin-1, so ¹²³ are the digits str.isdigit() takes and int() refuses; and
    int() refuses more than 4,300 digits."""
    body = raw_json({"tracking_code": world["code"], "work_item_id": world["item"], "status": "accepted"})
    response = client.post("/api/v1/callbacks/hrss", data=body, content_type="application/json",
                           headers={"X-Timestamp": timestamp, "X-Signature": sign(CALLBACK_SECRET, timestamp, body)})
    assert response.status_code == 401, response.get_data()
    assert response.get_json()["error"]["code"] == "signature_missing"


def test_a_callback_signature_that_is_not_ascii_is_refused(client, world):
    """hmac.compare_digest raises TypeError for a str with non-ASCII characters."""
    body = raw_json({"tracking_code": world["code"], "work_item_id": world["item"], "status": "accepted"})
    response = client.post("/api/v1/callbacks/hrss", data=body, content_type="application/json",
                           headers={"X-Timestamp": str(int(time.time())), "X-Signature": "é" * 64})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "signature_missing"


def test_a_nul_in_the_idempotency_key_or_request_id_is_no_500(client, world):
    sid, family = world["sid"], world["family"]
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family)
    response = client.post(f"/api/v1/questionnaires/{sid}/submit", headers={**family, "Idempotency-Key": "key\x00-0001"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "idempotency_key_required"
    traced = client.get("/api/v1/regions", headers={"X-Request-Id": "request-\x01\x7f-id"})
    assert traced.status_code == 200 and "\x01" not in traced.headers["X-Request-Id"]


# --- item 13: racing taps, one winner and clean 409s -----------------------------------------------------------

def race(app, count: int, request) -> list:
    """``count`` threads, each with its own test client (and so its own app context and database session),
    released together."""
    barrier, results = threading.Barrier(count), [None] * count

    def go(i):
        c = app.test_client()
        barrier.wait()
        results[i] = request(c, i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_six_simultaneous_claims_make_one_owner_and_clean_refusals(client, app, wechat_peer):
    started = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    claimants = [sign_in(client, app, wechat_peer, "wechat") for _ in range(6)]
    secret = started["resume_secret"]
    results = race(app, 6, lambda c, i: c.post(f"/api/v1/questionnaires/{started['id']}/claim",
                                               headers={**claimants[i], "X-Resume-Secret": secret}))
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 1, statuses
    codes = {r.get_json()["error"]["code"] for r in results if r.status_code != 200}
    assert codes <= {"concurrent_update", "not_your_questionnaire"}, statuses
    assert all(s in (200, 403, 409) for s in statuses), statuses
    winner = claimants[statuses.index(200)]
    assert client.get(f"/api/v1/questionnaires/{started['id']}", headers=winner).status_code == 200


def test_six_simultaneous_claims_by_one_family_make_no_500(client, app, wechat_peer):
    """A double (sextuple) tap of the same person: one claim wins, the racing twins are a clean 409."""
    started = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    family = {**sign_in(client, app, wechat_peer, "wechat"), "X-Resume-Secret": started["resume_secret"]}
    results = race(app, 6, lambda c, i: c.post(f"/api/v1/questionnaires/{started['id']}/claim", headers=family))
    statuses = [r.status_code for r in results]
    assert 200 in statuses and all(s in (200, 409) for s in statuses), statuses
    assert all(r.get_json()["error"]["code"] == "concurrent_update" for r in results if r.status_code == 409)
    with app.app_context():
        assert db.session.get(QuestionnaireSession, started["id"]).owner_id is not None


def test_eight_simultaneous_ratings_make_one_rating_and_clean_409s(client, app, world):
    code, family = world["code"], world["family"]
    with app.app_context():
        case = db.session.scalars(db.select(Case).filter_by(tracking_code=code.replace("-", ""))).one()
        for item in case.work_items:
            for status in ("accepted", "done"):
                staff_service.transition("staff:test", db.session.get(WorkItem, item.id), status)
    results = race(app, 8, lambda c, i: c.post(f"/api/v1/cases/{code}/rating", json={"score": 1 + i % 5},
                                               headers=family))
    statuses = [r.status_code for r in results]
    assert statuses.count(201) == 1 and statuses.count(409) == 7, statuses
    assert {r.get_json()["error"]["code"] for r in results if r.status_code == 409} == {"already_rated"}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Rating)) == 1


def test_the_race_helper_really_runs_the_requests_side_by_side(app):
    """Guard for the race tests above: the threads are released together, not one after another."""
    seen, lock, overlap = [], threading.Lock(), []

    def request(_client, i):
        with lock:
            seen.append(i)
        time.sleep(0.2)
        with lock:
            overlap.append(len(seen))
        return uuid.uuid4()

    race(app, 4, request)
    assert max(overlap) == 4
