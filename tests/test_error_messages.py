"""Issue 15, item 3: "every error has `message` (Chinese) and `message_en` (English) as separate fields — no
"中文 / English" joined strings, no English-only marshmallow defaults ("Unknown field.") — and errors that concern
a choice list the allowed values (e.g. payees)". ``fields`` holds the Chinese per dotted path, ``fields_en`` the
English (errors.py); a front end reading ``fields[path]`` as a list of strings keeps working."""

from __future__ import annotations

from miniapp_api.domain.vocabulary import load_vocabulary
from miniapp_api.errors import bilingual, bilingual_fields
from tests.test_applications import good_form, questionnaire, sign_in, submit


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body["error"]) >= {"code", "message", "message_en", "fields", "fields_en"}, body
    return body["error"]


def assert_apart(error: dict) -> None:
    """Chinese in ``fields``, English in ``fields_en``, the same paths, nothing joined."""
    assert set(error["fields"]) == set(error["fields_en"]), error
    for path, messages in error["fields"].items():
        for zh, en in zip(messages, error["fields_en"][path], strict=True):
            assert " / " not in zh and " / " not in en, (path, zh, en)
            assert not zh.isascii() and en.isascii(), (path, zh, en)


def test_marshmallow_defaults_come_in_chinese_and_english_by_dotted_path(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    response = client.put(f"/api/v1/questionnaires/{sid}/form", headers=headers, json={
        "deceased": {"name": 3, "nickname": "x"}, "accounts": [{"payee": 5}], "extra": True})
    assert response.status_code == 422
    error = error_of(response)
    assert error["fields"] == {"deceased.name": ["应为文字（字符串）"], "deceased.nickname": ["不认识的字段，请删去"],
                               "accounts.0.payee": ["应为文字（字符串）"], "extra": ["不认识的字段，请删去"]}
    assert error["fields_en"] == {"deceased.name": ["Not a valid string."], "deceased.nickname": ["Unknown field."],
                                  "accounts.0.payee": ["Not a valid string."], "extra": ["Unknown field."]}


def test_a_missing_field_and_a_joined_message_are_split(client):
    response = client.post("/api/v1/auth/sms/verify", json={"code": "12"})
    error = error_of(response)
    assert response.status_code == 422
    assert error["fields"] == {"phone": ["必填项，不能缺少"], "code": ["6位数字"]}
    assert error["fields_en"] == {"phone": ["Missing data for required field."], "code": ["six digits"]}


def test_an_unknown_region_lists_the_regions(client):
    response = client.post("/api/v1/questionnaires", json={"region": "atlantis"})
    error = error_of(response)
    assert response.status_code == 422
    assert_apart(error)
    for region in load_vocabulary().regions:
        assert region in error["fields"]["region"][0] and region in error["fields_en"]["region"][0]


def test_a_wrong_choice_lists_the_question_options(client):
    started = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    current = started["current"]
    assert current["type"] == "single"
    response = client.post(f"/api/v1/questionnaires/{started['id']}/answers", json={"question": current["id"], "value": "cousin"},
                           headers={"X-Resume-Secret": started["resume_secret"]})
    error = error_of(response)
    assert response.status_code == 422 and error["code"] == "invalid_choice"
    assert error["message"] == "请从给出的选项中选择一项" and error["message_en"] == "please choose one of the options"
    assert_apart(error)
    for option in current["options"]:
        assert option["value"] in error["fields"]["value"][0] and option["value"] in error["fields_en"]["value"][0]


def test_a_payee_the_region_does_not_pay_lists_the_payees(client, app, wechat_peer):
    """Hunan's seed: "相关资金按照法定程序，通过银行账户发送至死亡人员本人社会保障卡账号或死亡人员本人银行卡Ⅰ类账号。"
    Another payee is refused, naming the two it may be."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    form = good_form()
    form["accounts"][0]["payee"] = "neighbour"
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    payees = client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()["payees"]
    response = submit(client, headers, sid)
    error = error_of(response)
    assert response.status_code == 422 and error["code"] == "form_invalid"
    assert_apart(error)
    assert payees and all(p in error["fields"]["accounts.0.payee"][0] for p in payees)
    assert all(p in error["fields_en"]["accounts.0.payee"][0] for p in payees)


def test_values_are_the_same_in_both_lists():
    """A tracking code or a number of seconds is not words: both lists hold it."""
    assert bilingual("0AB9K-HJXSA") == ("0AB9K-HJXSA", "0AB9K-HJXSA")
    assert bilingual_fields({"retry_after": [30]}) == ({"retry_after": ["30"]}, {"retry_after": ["30"]})
    assert bilingual("Length must be between 1 and 64.") == ("长度应在 1 到 64 之间", "Length must be between 1 and 64.")


def test_the_form_views_problems_come_in_chinese_and_english_apart(client, app, wechat_peer):
    """The form view's ``problems`` (what submit would refuse) follow the errors' style: Chinese in ``problems``,
    English in ``problems_en``, by the same dotted paths; never one joined "中文 / English" string."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    form = good_form()
    form["applicant"]["phone"] = "12345"
    form["deceased"]["id_number"] = "110105194001010019"  # a wrong check digit
    for view in (client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers).get_json(),
                 client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()):
        assert {"applicant.phone", "deceased.id_number"} <= set(view["problems"]), view["problems"]
        assert_apart({"fields": view["problems"], "fields_en": view["problems_en"]})
