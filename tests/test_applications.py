"""The whole path: sign-in -> questionnaire -> the one form -> submit -> tracking code, over each
channel; every invalid field is a clear 4xx naming it; double submit makes one case; nobody reads
another applicant's questionnaire or case."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from stdnum import luhn
from stdnum.cn import ric

from miniapp_api.domain import tracking
from tests.test_auth import bearer, host_assertion, sms_code, wechat_login

TODAY = time.strftime("%Y-%m-%d")


def make_id(birth: str, gender: str = "male", area: str = "430102") -> str:
    body = area + birth + ("001" if gender == "male" else "002")
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


def make_card(prefix: str = "62220200000000012") -> str:
    return prefix + luhn.calc_check_digit(prefix)


DECEASED_ID = make_id("19400101", "male")
APPLICANT_ID = make_id("19700505", "female")

HUNAN = {"relationship": "child", "death_date": "2026-11-20", "local_death": True, "local_hukou": True,
         "death_type": "normal", "welfare": ["none"],
         "requested": ["hukou_cancellation", "pension_account_payout", "survivor_benefits"],
         "medical_insurance": "employee", "pension_insurance": "enterprise", "medical_account_overpaid": False}
# The 申请表 fields only 人社 reads: fields of Hunan's form (form.facts with `department`), not questions.
# As a page posts them: a yes/no radio as "true"/"false", ticked boxes as a list.
HUNAN_HRSS_FIELDS = {"enterprise_employee": "true", "employment_status": "retired", "other_insurance": ["none"]}


def good_form(**changes):
    form = {
        "deceased": {"name": "张三丰", "gender": "male", "ethnicity": "汉族", "id_number": DECEASED_ID,
                     "death_place": "长沙市第一医院", "hukou_address": "湖南省长沙市芙蓉区", **HUNAN_HRSS_FIELDS},
        "applicant": {"name": "张小梅", "id_number": APPLICANT_ID, "phone": "13800138000",
                      "address": "长沙市芙蓉区某路1号"},
        "accounts": [{"purpose": "养老保险", "payee": "deceased_social_security_card", "bank_name": "中国工商银行",
                      "holder_name": "张三丰", "account_number": make_card()}],
        "commitment_accepted": True,
    }
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            form[section][key] = value
        else:
            form[section] = value
    return form


def sign_in(client, app, wechat_peer, channel: str) -> dict:
    if channel == "wechat":  # with getPhoneNumber: good_form()'s number is the one WeChat verified
        return bearer(wechat_login(client, wechat_peer, f"o-{uuid.uuid4().hex}", good_form()["applicant"]["phone"]))
    if channel == "host":
        return bearer(client.post("/api/v1/auth/host", json={"channel": "xiangyiban",
                                                             "assertion": host_assertion(sub=uuid.uuid4().hex)}))
    phone = "139" + str(uuid.uuid4().int)[:8]
    client.post("/api/v1/auth/sms/code", json={"phone": phone})
    return bearer(client.post("/api/v1/auth/sms/verify", json={"phone": phone, "code": sms_code(app, phone)}))


def first_choice(question):
    if question["type"] == "date":
        return "2026-11-20"
    value = question["options"][0]["value"]
    return [value] if question["type"] == "multiple" else value


def questionnaire(client, headers, region="hunan", script=HUNAN, consent=True) -> str:
    """Answered to the end; the family then gives the separate consent the form and uploads need, unless
    ``consent`` is false."""
    state = client.post("/api/v1/questionnaires", json={"region": region}, headers=headers).get_json()
    while not state["complete"]:
        q = state["current"]
        value = script.get(q["id"], first_choice(q))
        response = client.post(f"/api/v1/questionnaires/{state['id']}/answers",
                               json={"question": q["id"], "value": value}, headers=headers)
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
    if consent:
        give_consent(client, headers, state["id"])
    return state["id"]


def give_consent(client, headers, sid) -> dict:
    """Read the consent text and consent to its version, as the family does before the form."""
    text = client.get(f"/api/v1/questionnaires/{sid}/consent", headers=headers)
    assert text.status_code == 200, text.get_json()
    given = client.post(f"/api/v1/questionnaires/{sid}/consent", json={"version": text.get_json()["version"]},
                        headers=headers)
    assert given.status_code == 200, given.get_json()
    return given.get_json()


def submit(client, headers, sid, key=None):
    return client.post(f"/api/v1/questionnaires/{sid}/submit",
                       headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


@pytest.mark.parametrize("channel", ["wechat", "host", "sms"])
def test_sign_in_questionnaire_form_submit_tracking_code(client, app, wechat_peer, channel):
    headers = sign_in(client, app, wechat_peer, channel)
    sid = questionnaire(client, headers)
    view = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()
    assert view["prefilled"]["death_date"] == "2026-11-20"  # never asked twice
    assert view["prefilled"]["relationship"] == "child"
    assert "殡葬政策" in view["commitment"]
    saved = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    assert saved.status_code == 200 and saved.get_json()["problems"] == {}
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert tracking.normalise(case["tracking_code"])
    assert {w["matter"] for w in case["work_items"]} == {"hukou_cancellation", "pension_account_payout",
                                                         "survivor_benefits"}
    assert all(w["status"] == "submitted" for w in case["work_items"])
    assert {w["department"] for w in case["work_items"]} == {"public_security", "hrss"}
    # Personal numbers are masked in every response to the family.
    text = response.get_data(as_text=True)
    assert DECEASED_ID not in text and APPLICANT_ID not in text and make_card() not in text
    assert case["deceased"]["id_number"] == DECEASED_ID[:6] + "********" + DECEASED_ID[-4:]
    assert case["applicant"]["phone"] == "138****8000"
    fetched = client.get(f"/api/v1/cases/{case['tracking_code'].lower()}", headers=headers)
    assert fetched.status_code == 200 and fetched.get_json()["tracking_code"] == case["tracking_code"]


def test_double_submit_with_the_same_key_makes_one_case(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    first = submit(client, headers, sid, key="retry-key-0001")
    second = submit(client, headers, sid, key="retry-key-0001")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["tracking_code"] == second.get_json()["tracking_code"]
    other_key = submit(client, headers, sid, key="retry-key-0002")
    assert other_key.status_code == 409 and other_key.get_json()["error"]["code"] == "already_submitted"
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    frozen = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    assert frozen.status_code == 409


def test_submit_needs_an_idempotency_key_and_sign_in(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    response = client.post(f"/api/v1/questionnaires/{sid}/submit", headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "idempotency_key_required"
    response = client.post(f"/api/v1/questionnaires/{sid}/submit", headers={"Idempotency-Key": "k" * 16})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"applicant__id_number": APPLICANT_ID[:-1] + ("0" if APPLICANT_ID[-1] != "0" else "1")},
         "applicant.id_number"),
        ({"applicant__id_number": "12345"}, "applicant.id_number"),
        ({"deceased__gender": "female"}, "deceased.gender"),
        ({"deceased__id_number": make_id("20261125")}, "deceased.id_number"),  # born after the death
        ({"deceased__cremation_date": "2026-11-01"}, "deceased.cremation_date"),  # before the death
        ({"deceased__cremation_date": "2999-01-01"}, "deceased.cremation_date"),
        ({"applicant__phone": "12345678"}, "applicant.phone"),
        ({"applicant__id_number": make_id("20150101", "female")}, "applicant.id_number"),  # under 16
        ({"applicant__id_number": DECEASED_ID}, "applicant.id_number"),
        ({"commitment_accepted": False}, "commitment_accepted"),
        ({"accounts": []}, "accounts"),
        ({"accounts": [{"payee": "heir_bank_card", "bank_name": "工行", "holder_name": "张小梅",
                        "account_number": make_card()}]}, "accounts.0.payee"),  # Hunan pays the deceased only
        ({"accounts": [{"payee": "deceased_bank_card", "bank_name": "工行", "holder_name": "张三丰",
                        "account_number": make_card()[:-1] + "0" if make_card()[-1] != "0" else "1"}]},
         "accounts.0.account_number"),
        ({"deceased__name": ""}, "deceased.name"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, app, wechat_peer, changes, field):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(**changes), headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "form_invalid"
    assert field in error["fields"], error["fields"]
    zh, en = error["fields"][field][0], error["fields_en"][field][0]  # Chinese and English, apart
    assert " / " not in zh and " / " not in en and zh != en and zh.isascii() is False and en.isascii()


def test_a_blocked_matter_is_not_submitted_but_never_blocks_the_rest(client, app, wechat_peer):
    """A sibling cannot claim survivors' payments (Hunan 注1): the rest goes ahead, the case says why."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, script={**HUNAN, "relationship": "sibling"})
    view = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).get_json()
    assert view["problems"] == {}
    assert [m["matter"] for m in view["not_submitted"]] == ["survivor_benefits"]
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert {w["matter"] for w in case["work_items"]} == {"hukou_cancellation", "pension_account_payout"}
    [blocked] = case["not_submitted"]
    assert blocked["matter"] == "survivor_benefits" and "直系亲属" in blocked["reasons"][0]
    assert blocked["reasons_en"][0]


HUNAN_CERTIFICATES = {**HUNAN, "requested": ["death_certificate_normal", "cremation_certificate"]}
FUYUAN_CREMATION = {"death_date": "2026-11-20", "local_hukou": True, "local_insured": True, "local_cremation": True,
                    "death_place": "medical_institution", "local_death": True, "death_type": "normal",
                    "requested_matters": ["cremation_certificate"], "body_at_funeral_home": True}


def test_the_form_asks_what_the_questionnaire_did_not(client, app, wechat_peer):
    """Fuyuan asks the relationship only of the survivors' payment's recipient; on other paths the form asks it once."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, region="fuyuan", script=FUYUAN_CREMATION)
    view = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()
    assert "relationship" not in view["prefilled"]
    [field] = view["fields"]
    assert field["field"] == "applicant.relationship" and field["type"] == "choice"
    assert "sibling" in {o["value"] for o in field["options"]} and "department" not in field
    assert view["needs"] == {"proxy": False, "proxy_authorization": False, "accounts": False}
    form = good_form(accounts=[])
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    refused = submit(client, headers, sid)
    assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == ["applicant.relationship"]
    form["applicant"]["relationship"] = "brother"
    saved = client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers).get_json()
    assert list(saved["problems"]) == ["applicant.relationship"]
    form["applicant"]["relationship"] = "sibling"
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert case["applicant"]["relationship"] == "sibling"
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        stored = db.session.scalars(db.select(Case)).one()
        assert stored.facts["relationship"] == "sibling"  # one value for every reader from now on


def test_hunan_fields_only_hrss_reads_are_form_fields_labelled_for_hrss(client, app, wechat_peer):
    """Issue 14 item 10: the 申请表 prints 「死亡人员是否企业职工」「死亡人员亡故前工作状态」「死亡人员其他参保类型」 for
    人社, but no rule reads them. They are fields of the one form, said to be for 人社, asked only when a 人社 matter
    is applied for, and stored with the case as facts like any other."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    view = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()
    fields = {f["fact"]: f for f in view["fields"]}
    assert set(fields) == set(HUNAN_HRSS_FIELDS)
    assert all(f["department"] == "hrss" and "人社" in f["note"] and "不影响" in f["note"] for f in fields.values())
    assert fields["other_insurance"]["multiple"] is True and fields["enterprise_employee"]["multiple"] is False
    assert [o["value"] for o in fields["enterprise_employee"]["options"]] == [True, False]
    assert fields["other_insurance"]["options"][-1] == {"value": "none", "label": "都没有", "label_en": "Neither",
                                                        "exclusive": True}
    deceased = {k: v for k, v in good_form()["deceased"].items() if k not in HUNAN_HRSS_FIELDS}
    form = good_form(deceased=deceased)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    refused = submit(client, headers, sid)
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {f"deceased.{k}" for k in HUNAN_HRSS_FIELDS}
    form["deceased"].update(enterprise_employee="false", employment_status="fired", other_insurance=["none", "x"])
    saved = client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers).get_json()
    assert set(saved["problems"]) == {"deceased.employment_status", "deceased.other_insurance"}
    form["deceased"].update(employment_status="employed", other_insurance=["work_injury", "unemployment"])
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        stored = db.session.scalars(db.select(Case)).one()
        assert (stored.facts["enterprise_employee"], stored.facts["employment_status"],
                stored.facts["other_insurance"]) == (False, "employed", ["work_injury", "unemployment"])


def test_hunan_hrss_fields_are_not_asked_without_an_hrss_matter(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, script=HUNAN_CERTIFICATES)
    view = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()
    assert view["fields"] == [] and view["prefilled"]["relationship"] == "child"
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(accounts=[], deceased={
        "name": "张三丰", "gender": "male", "id_number": DECEASED_ID}), headers=headers)
    assert submit(client, headers, sid).status_code == 201


def test_the_questionnaire_death_date_wins_over_a_typed_copy(client, app, wechat_peer):
    """One death date: the case, the print-out and the departments all read the questionnaire's."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(deceased__death_date="2026-11-01"),
               headers=headers)
    case = submit(client, headers, sid).get_json()
    assert case["deceased"]["death_date"] == "2026-11-20"
    printed = client.get(f"/api/v1/cases/{case['tracking_code']}/application.html", headers=headers)
    assert printed.status_code == 200 and "2026年11月20日" in printed.get_data(as_text=True)
    assert "2026年11月01日" not in printed.get_data(as_text=True)
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        stored = db.session.scalars(db.select(Case)).one()
        assert stored.form["deceased"]["death_date"] == stored.facts["death_date"] == "2026-11-20"


IM_PROXY = {"died_abroad": False, "applicant_is_proxy": True, "proxy_principal_incapacitated": True,
            "relationship": "child", "death_type": "normal", "death_date": "2026-11-20"}


def test_proxy_application_needs_the_authorization(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, region="inner_mongolia", script=IM_PROXY)
    form = good_form(accounts=[{"payee": "applicant_bank_card", "bank_name": "工行", "holder_name": "张小梅",
                                "account_number": make_card()}])
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 422 and "proxy" in response.get_json()["error"]["fields"]
    form["proxy"] = {"name": "李四", "id_number": make_id("19800101"), "phone": "13600136000",
                     "authorization": {"signed": False}}
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    assert "proxy.authorization" in submit(client, headers, sid).get_json()["error"]["fields"]
    form["proxy"]["authorization"] = {"signed": True, "reason": "长期卧床", "valid_from": TODAY,
                                      "valid_to": "2999-12-31"}
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    assert submit(client, headers, sid).status_code == 201


XJ_PROXY = {"relationship": "child", "applicant_is_proxy": True, "death_date": "2026-11-20", "death_type": "normal",
            "funeral_home_registered": True, "has_cremation_certificate": True, "medical_account": False,
            "medical_insurance": "none", "pension_payout": False, "driving_licence": False, "has_housing_fund": False}


def test_xinjiang_proxy_fills_the_one_forms_proxy_section_without_a_separate_authorization(client, app, wechat_peer):
    """Issue 14 item 11: Xinjiang's 一张表单 has 「被委托人基本情况（如无被委托人，无需填写）」 with 「姓名」「身份证件号码」
    「常住地址」「工作单位」 and lists no 授权委托书 among its 要件材料: the form asks the proxy's details, not a power of
    attorney."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, region="xinjiang", script=XJ_PROXY)
    view = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()
    assert view["needs"]["proxy"] is True and view["needs"]["proxy_authorization"] is False
    assert view["prefilled"]["applicant_is_proxy"] is True
    form = good_form(accounts=[])
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    refused = submit(client, headers, sid)
    assert refused.status_code == 422 and "proxy" in refused.get_json()["error"]["fields"]
    form["proxy"] = {"name": "李四", "id_number": make_id("19800101"), "phone": "13600136000",
                     "address": "乌鲁木齐市天山区某路2号", "employer": "某公司"}
    saved = client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers).get_json()
    assert not [f for f in saved["problems"] if f.startswith("proxy")], saved["problems"]
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()


def test_draft_survives_a_restart_and_keeps_what_was_typed(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    partial = {"deceased": {"name": "张三丰", "id_number": "43010219"}, "applicant": {"phone": "1380013"}}
    response = client.put(f"/api/v1/questionnaires/{sid}/form", json=partial, headers=headers)
    assert response.status_code == 200
    assert "applicant.phone" in response.get_json()["problems"]
    from miniapp_api import create_app
    other = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    body = other.test_client().get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()
    assert body["form"]["deceased"] == {"name": "张三丰", "id_number": "43010219"}


@pytest.mark.parametrize("body", [{"deceased": "x"}, {"accounts": [1]}, {"deceased": {"name": "x" * 500}},
                                  {"unknown": 1}, {"commitment_accepted": "maybe"}])
def test_malformed_drafts_are_422_and_change_nothing(client, app, wechat_peer, body):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json={"deceased": {"name": "张三丰"}}, headers=headers)
    response = client.put(f"/api/v1/questionnaires/{sid}/form", json=body, headers=headers)
    assert response.status_code == 422
    kept = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()["form"]
    assert kept["deceased"]["name"] == "张三丰"


def test_one_applicant_cannot_reach_another_applicants_questionnaire_or_case(client, app, wechat_peer):
    alice = sign_in(client, app, wechat_peer, "wechat")
    bob = sign_in(client, app, wechat_peer, "sms")
    sid = questionnaire(client, alice)
    for method, path in [("get", ""), ("get", "/checklist"), ("get", "/form"), ("post", "/back")]:
        response = getattr(client, method)(f"/api/v1/questionnaires/{sid}{path}", headers=bob)
        assert response.status_code == 403, path
    response = client.post(f"/api/v1/questionnaires/{sid}/answers", json={"question": "death_type",
                                                                            "value": "abnormal"}, headers=bob)
    assert response.status_code == 403
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=bob).status_code == 403
    assert submit(client, bob, sid).status_code == 403
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=alice)
    code = submit(client, alice, sid).get_json()["tracking_code"]
    assert client.get(f"/api/v1/cases/{code}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/cases/{code}/application.pdf", headers=bob).status_code == 404


def test_anonymous_questionnaire_is_claimed_after_sign_in(client, app, wechat_peer):
    started = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    sid, secret = started["id"], {"X-Resume-Secret": started["resume_secret"]}
    client.post(f"/api/v1/questionnaires/{sid}/answers", json={"question": "local_death", "value": True},
                headers=secret)
    alice = sign_in(client, app, wechat_peer, "wechat")
    assert client.get(f"/api/v1/questionnaires/{sid}", headers=alice).status_code == 403  # claim first
    assert client.post(f"/api/v1/questionnaires/{sid}/claim", headers=alice).status_code == 403  # needs the secret
    claimed = client.post(f"/api/v1/questionnaires/{sid}/claim", headers={**alice, **secret})
    assert claimed.status_code == 200 and claimed.get_json()["answers"] == {"local_death": True}
    # Now only Alice reaches it: the resume secret alone no longer does.
    assert client.get(f"/api/v1/questionnaires/{sid}", headers=secret).status_code == 403
    bob = sign_in(client, app, wechat_peer, "host")
    assert client.post(f"/api/v1/questionnaires/{sid}/claim", headers={**bob, **secret}).status_code == 403
    assert client.get(f"/api/v1/questionnaires/{sid}", headers=alice).status_code == 200


def test_printable_application_pdf_and_html(client, app, wechat_peer, caplog):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", headers=headers,
               json=good_form(applicant__name="<script>alert(1)</script>"))
    caplog.set_level("DEBUG")
    code = submit(client, headers, sid).get_json()["tracking_code"]
    pdf = client.get(f"/api/v1/cases/{code}/application.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    import io

    from pypdf import PdfReader
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert code in text and "张三丰" in text and "湖南省" in text
    assert DECEASED_ID not in text  # masked on paper too
    html = client.get(f"/api/v1/cases/{code}/application.html", headers=headers).get_data(as_text=True)
    assert code in html and "<svg" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    # ID and bank numbers never reach the logs.
    assert DECEASED_ID not in caplog.text and APPLICANT_ID not in caplog.text and make_card() not in caplog.text


def test_idor_every_family_resource_is_refused_to_another_applicant(client, app, wechat_peer):
    from tests.test_uploads import photo, upload

    alice = sign_in(client, app, wechat_peer, "wechat")
    bob = sign_in(client, app, wechat_peer, "host")
    sid = questionnaire(client, alice)
    page = upload(client, alice, sid, "applicant_id_card", photo()).get_json()["pages"][0]["id"]
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=alice)
    case = submit(client, alice, sid).get_json()
    code, item = case["tracking_code"], case["work_items"][0]["id"]
    attempts = [
        ("get", f"/api/v1/questionnaires/{sid}"), ("get", f"/api/v1/questionnaires/{sid}/checklist"),
        ("get", f"/api/v1/questionnaires/{sid}/form"), ("put", f"/api/v1/questionnaires/{sid}/form"),
        ("post", f"/api/v1/questionnaires/{sid}/back"), ("post", f"/api/v1/questionnaires/{sid}/claim"),
        ("post", f"/api/v1/questionnaires/{sid}/submit"), ("get", f"/api/v1/questionnaires/{sid}/materials"),
        ("get", f"/api/v1/questionnaires/{sid}/pages/{page}"), ("delete", f"/api/v1/questionnaires/{sid}/pages/{page}"),
        ("get", f"/api/v1/cases/{code}"), ("get", f"/api/v1/cases/{code}/application.pdf"),
        ("get", f"/api/v1/cases/{code}/application.html"), ("post", f"/api/v1/cases/{code}/items/{item}/supplied"),
        ("post", f"/api/v1/cases/{code}/rating"),
    ]
    for method, url in attempts:
        response = getattr(client, method)(url, headers={**bob, "Idempotency-Key": "bob-tries-0001"}, json={"score": 5})
        assert response.status_code in (403, 404), (method, url, response.status_code)
    # And Alice still has everything.
    assert client.get(f"/api/v1/cases/{code}", headers=alice).status_code == 200


@pytest.mark.parametrize("huge", ["2147483648", "9223372036854775808", "1806734768981069794964642183010844672"])
def test_ids_beyond_the_database_integer_range_are_404_not_500(client, app, wechat_peer, huge):
    """Bug (schemathesis in CI): a 37-digit note id overflowed SQLite's INTEGER and gave a 500.

    Every integer route segment is bounded to the columns' 32-bit range (PostgreSQL's integer), so such ids
    are simply not found, for the family and for staff alike."""
    from tests.test_workflow import PASSWORD

    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family)
    code = submit(client, family, sid).get_json()["tracking_code"]
    with app.app_context():
        from miniapp_api.services import staff
        staff.create("window1", PASSWORD, "窗口", "window", "hunan")
    token = client.post("/api/v1/staff/auth", json={"username": "window1", "password": PASSWORD}).get_json()["token"]
    clerk = {"Authorization": f"Bearer {token}"}
    attempts = [
        (family, "get", f"/api/v1/questionnaires/{sid}/pages/{huge}"),
        (family, "put", f"/api/v1/questionnaires/{sid}/pages/{huge}"),
        (family, "delete", f"/api/v1/questionnaires/{sid}/pages/{huge}"),
        (family, "post", f"/api/v1/cases/{code}/items/{huge}/supplied"),
        (clerk, "get", f"/api/v1/staff/cases/{code}/pages/{huge}"),
        (clerk, "post", f"/api/v1/staff/work-items/{huge}/transitions"),
        (clerk, "post", f"/api/v1/staff/notifications/{huge}/resend"),
    ]
    for headers, method, url in attempts:
        response = getattr(client, method)(url, headers={**headers, "Idempotency-Key": "huge-id-0001"}, json={"to": "accepted"})
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.get_json()["error"]["code"].endswith("not_found")


def test_sql_and_script_strings_in_every_text_field_are_stored_as_typed(client, app, wechat_peer):
    hostile = ["'; DROP TABLE cases; --", "<script>alert(1)</script>", "\" OR 1=1 --", "${7*7}{{7*7}}"]
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    for text in hostile:
        form = {"deceased": {"name": text[:50], "ethnicity": text[:20], "death_place": text, "hukou_address": text},
                "applicant": {"name": text[:50], "address": text, "employer": text},
                "accounts": [{"bank_name": text[:50], "holder_name": text[:50], "payee": text[:40]}]}
        response = client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
        assert response.status_code == 200
        stored = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()["form"]
        assert stored["deceased"]["death_place"] == text and stored["applicant"]["employer"] == text
    assert client.get("/api/v1/regions").status_code == 200  # the tables are all still there
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_concurrent_double_submit_makes_one_case_and_no_error(client, app, wechat_peer):
    """Bug: the flush inside notify.add ran outside the IntegrityError guard, so a racing twin got a 500."""
    import threading

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    statuses, codes, barrier = [], [], threading.Barrier(4)

    def go():
        c = app.test_client()
        barrier.wait()
        response = c.post(f"/api/v1/questionnaires/{sid}/submit", headers={**headers, "Idempotency-Key": "race-key-0001"})
        statuses.append(response.status_code)
        codes.append((response.get_json() or {}).get("tracking_code"))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses)[0] in (200, 201) and all(s in (200, 201) for s in statuses), statuses
    assert len(set(codes)) == 1
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1


def test_a_twin_committing_between_the_two_lookups_returns_its_case_not_409(client, app, wechat_peer):
    """Bug (seen in CI on PostgreSQL): the twin committed after the idempotency-key lookup missed but
    before the questionnaire lookup, so the retry of the same submission got 409 already_submitted."""
    import threading

    import sqlalchemy as sa

    from miniapp_api.extensions import db

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    submit_headers = {**headers, "Idempotency-Key": "race-key-0002"}
    twin: list = []
    fired = threading.Event()

    def twin_submits_first(conn, cursor, statement, parameters, context, executemany):
        if "idempotency_key" in statement and "cases" in statement and not fired.is_set():
            fired.set()  # our lookup has just missed: the twin commits its case now
            thread = threading.Thread(target=lambda: twin.append(
                app.test_client().post(f"/api/v1/questionnaires/{sid}/submit", headers=submit_headers)))
            thread.start()
            thread.join()

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "after_cursor_execute", twin_submits_first)
    try:
        ours = client.post(f"/api/v1/questionnaires/{sid}/submit", headers=submit_headers)
    finally:
        sa.event.remove(engine, "after_cursor_execute", twin_submits_first)
    assert twin and twin[0].status_code == 201
    assert ours.status_code == 200, ours.get_json()
    assert ours.get_json()["tracking_code"] == twin[0].get_json()["tracking_code"]


def elsewhere(request):
    """Run a request on another thread: its own app context and database session, like another worker."""
    out = []
    thread = threading.Thread(target=lambda: out.append(request()))
    thread.start()
    thread.join()
    return out[0]


def test_an_answer_racing_the_submission_cannot_change_the_frozen_case(client, app, wechat_peer):
    """The answer checked "not submitted" just before the case committed: its write must still be refused."""
    from miniapp_api.errors import ApiError
    from miniapp_api.extensions import db
    from miniapp_api.models import QuestionnaireSession
    from miniapp_api.services import questionnaires

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    with app.app_context():
        racing = db.session.get(QuestionnaireSession, sid)
        questionnaires.submitted_case(racing)  # the answer's "not submitted yet" check has passed
        assert elsewhere(lambda: submit(client, headers, sid)).status_code == 201  # meanwhile the case commits
        changed = {**racing.answers, "death_type": "abnormal"}
        with pytest.raises(ApiError) as refused:
            questionnaires.commit_session(racing, changed)
        assert refused.value.status == 409
    state = client.get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
    assert state["answers"]["death_type"] == "normal"


def test_a_submission_racing_an_answer_is_a_clear_409(client, app, wechat_peer):
    from miniapp_api.errors import ApiError
    from miniapp_api.extensions import db
    from miniapp_api.models import Applicant, QuestionnaireSession
    from miniapp_api.services import applications

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    with app.app_context():
        racing = db.session.get(QuestionnaireSession, sid)
        applicant = db.session.get(Applicant, racing.owner_id)
        _ = racing.answers, racing.form_draft
        moved = elsewhere(lambda: client.post(f"/api/v1/questionnaires/{sid}/answers", headers=headers,
                                              json={"question": "death_type", "value": "normal"}))
        assert moved.status_code == 200  # the family changed an answer on another phone
        with pytest.raises(ApiError) as refused:
            applications.submit(racing, applicant, uuid.uuid4().hex)
        assert refused.value.status == 409 and refused.value.code == "concurrent_update"
    assert submit(client, headers, sid).status_code == 201  # a fresh look submits
