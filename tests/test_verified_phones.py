"""Official texts go only to a number the applicant proved is theirs (issue 13 item 9): the number of an SMS
sign-in, WeChat's getPhoneNumber, a host app's signed claim, or one verified by a code. The form's
``applicant.phone`` is only typed; it receives nothing, and does not open the status lookup, until verified.
Window cases: the clerk sends a code to the family's phone and types in what the family reads back."""

from __future__ import annotations

import re

import pytest

from miniapp_api.extensions import db
from miniapp_api.models import Notification
from tests.test_applications import good_form, questionnaire, submit
from tests.test_auth import bearer, wechat_login
from tests.test_console_pages import PASSWORD, answer_all, console_sign_in, csrf_token, form_fields, make_staff
from tests.test_notify import aliyun, run_worker  # noqa: F401  (fixture)

VERIFIED, TYPED = "13700137000", "13800138000"  # good_form()'s applicant.phone is TYPED


def submitted(client, headers) -> dict:
    sid = questionnaire(client, headers)
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def lookup(client, code: str, tail: str) -> int:
    return client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": tail}).status_code


def test_a_typed_form_phone_gets_no_official_text(client, app, wechat_peer, aliyun):  # noqa: F811 (fixture)
    headers = bearer(wechat_login(client, wechat_peer, "o-verified", VERIFIED))  # getPhoneNumber: verified
    case = submitted(client, headers)
    run_worker(app)
    assert [d.phone for d in aliyun.deliveries] == [VERIFIED]  # 「申请已提交…」 to the verified number only
    assert lookup(client, case["tracking_code"], TYPED[-4:]) == 404
    assert lookup(client, case["tracking_code"], VERIFIED[-4:]) == 200


def test_no_verified_number_means_no_text_at_all(client, app, wechat_peer, aliyun):  # noqa: F811 (fixture)
    headers = bearer(wechat_login(client, wechat_peer, "o-no-phone"))  # WeChat without getPhoneNumber
    case = submitted(client, headers)
    run_worker(app)
    assert aliyun.deliveries == []
    with app.app_context():
        assert db.session.scalars(db.select(Notification.channel)).all() == ["console"]
    assert lookup(client, case["tracking_code"], TYPED[-4:]) == 404


def test_the_form_phone_receives_texts_once_verified_by_code(client, app, wechat_peer, aliyun):  # noqa: F811
    headers = bearer(wechat_login(client, wechat_peer, "o-verify", VERIFIED))
    sent = client.post("/api/v1/me/phone/code", json={"phone": TYPED}, headers=headers)
    assert sent.status_code == 202 and sent.get_json()["sent_to"] == "138****8000"
    code = aliyun.deliveries[-1].params["code"]
    wrong = client.post("/api/v1/me/phone/verify", json={"phone": TYPED, "code": "000000" if code != "000000" else "1"},
                        headers=headers)
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "otp_wrong"
    # A sign-in code for that number is not a verification code for this account, nor the reverse.
    assert client.post("/api/v1/auth/sms/verify", json={"phone": TYPED, "code": code}).status_code == 401
    done = client.post("/api/v1/me/phone/verify", json={"phone": TYPED, "code": code}, headers=headers)
    assert done.status_code == 200 and "138****8000" in done.get_json()["verified_phones"]
    assert client.get("/api/v1/me", headers=headers).get_json()["verified_phones"] == ["137****7000", "138****8000"]
    aliyun.deliveries.clear()
    case = submitted(client, headers)
    run_worker(app)
    assert [d.phone for d in aliyun.deliveries] == [TYPED]  # the form's number, now proven
    assert lookup(client, case["tracking_code"], TYPED[-4:]) == 200
    assert lookup(client, case["tracking_code"], VERIFIED[-4:]) == 200  # both are the applicant's


def test_verifying_a_phone_needs_a_sign_in(client):
    response = client.post("/api/v1/me/phone/code", json={"phone": TYPED})
    assert response.status_code == 401


def test_an_sms_sign_in_sends_to_the_number_signed_in_with(client, app, aliyun):  # noqa: F811 (fixture)
    client.post("/api/v1/auth/sms/code", json={"phone": VERIFIED})
    code = aliyun.deliveries[-1].params["code"]
    headers = bearer(client.post("/api/v1/auth/sms/verify", json={"phone": VERIFIED, "code": code}))
    aliyun.deliveries.clear()
    case = submitted(client, headers)
    run_worker(app)
    assert [d.phone for d in aliyun.deliveries] == [VERIFIED]
    assert lookup(client, case["tracking_code"], TYPED[-4:]) == 404


@pytest.fixture()
def window_form(client, app):
    """A clerk's window application with the form filled in and saved (not yet submitted): its form URL."""
    make_staff(app, "hn_window")
    console_sign_in(client, "hn_window", PASSWORD)
    started = client.post("/console/applications", data={"csrf_token": csrf_token(client)})
    question_url = started.headers["Location"]
    answer_all(client, question_url)
    form_url = f"{question_url}/form"
    token = csrf_token(client, form_url)
    saved = client.post(form_url, data={**form_fields(good_form()), "csrf_token": token, "action": "save"})
    assert saved.status_code == 302
    return form_url


def _submit_window(client, form_url: str) -> str:
    page = client.get(form_url).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {**form_fields(good_form()), "csrf_token": csrf_token(client, form_url), "idempotency_key": key,
            "action": "submit"}
    done = client.post(form_url, data=data)
    assert done.status_code == 302 and "/console/cases/" in done.headers["Location"]
    return done.headers["Location"].rsplit("/", 1)[1]


def test_a_window_case_texts_only_a_phone_the_clerk_verified(client, app, window_form, aliyun):  # noqa: F811
    page = client.get(window_form).get_data(as_text=True)
    assert "未验证" in page  # the clerk sees the number is not proven yet
    code = _submit_window(client, window_form)
    run_worker(app)
    assert aliyun.deliveries == []  # the clerk only typed it
    assert lookup(app.test_client(), code, TYPED[-4:]) == 404


def test_the_clerk_verifies_the_phone_by_a_code_the_family_reads_back(client, app, window_form, aliyun):  # noqa: F811
    token = csrf_token(client, window_form)
    sent = client.post(f"{window_form}/phone/code", data={"csrf_token": token}, follow_redirects=True)
    assert "138****8000" in sent.get_data(as_text=True)
    read_back = aliyun.deliveries[-1].params["code"]
    assert aliyun.deliveries[-1].phone == TYPED
    wrong = client.post(f"{window_form}/phone/verify", data={"csrf_token": token, "code": "12345x"},
                        follow_redirects=True)
    assert "已验证" not in wrong.get_data(as_text=True).replace("未验证", "")
    done = client.post(f"{window_form}/phone/verify", data={"csrf_token": token, "code": read_back},
                       follow_redirects=True)
    assert "手机号已验证" in done.get_data(as_text=True)
    aliyun.deliveries.clear()
    code = _submit_window(client, window_form)
    run_worker(app)
    assert [d.phone for d in aliyun.deliveries] == [TYPED]
    assert lookup(app.test_client(), code, TYPED[-4:]) == 200
