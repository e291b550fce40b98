"""The questionnaire API over HTTP (Flask test client), on the real database."""

from __future__ import annotations

import pytest

from miniapp_api import create_app


def start(client, region="xinjiang"):
    response = client.post("/api/v1/questionnaires", json={"region": region})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["id"], {"X-Resume-Secret": body["resume_secret"]}, body


def answer(client, sid, headers, question, value):
    return client.post(f"/api/v1/questionnaires/{sid}/answers", json={"question": question, "value": value},
                       headers=headers)


def test_list_regions_names_all_five(client):
    body = client.get("/api/v1/regions").get_json()
    assert [r["id"] for r in body["regions"]] == ["xinjiang", "inner_mongolia", "hunan", "fuyuan", "jining"]
    assert body["regions"][0]["name"] == "新疆维吾尔自治区"


def test_whole_dialog_can_be_fetched_for_rendering(client):
    body = client.get("/api/v1/regions/xinjiang/dialog").get_json()
    assert body["questions"][0]["id"] == "relationship"  # who the family is first (issue 14 item 9)
    death_type = next(q for q in body["questions"] if q["id"] == "death_type")
    assert death_type["text"].startswith("死亡人为正常死亡")
    assert {o["value"] for o in death_type["options"]} == {"normal", "abnormal", "missing"}
    assert any(q["show_if"] for q in body["questions"])


def test_unknown_region_is_404_with_error_shape(client):
    response = client.get("/api/v1/regions/mars/dialog")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_region"


def test_start_answer_and_reach_checklist(client):
    sid, headers, body = start(client)
    assert body["current"]["id"] == "relationship" and body["out_of_scope"] is None
    assert body["progress"]["answered"] == 0
    script = {"death_type": "normal", "relationship": "child", "applicant_is_proxy": False, "death_date": "2026-01-02",
              "funeral_home_registered": False, "disposition": "cremation", "medical_account": False,
              "medical_insurance": "resident", "pension_payout": True, "survivor_benefits": False,
              "driving_licence": True, "has_housing_fund": False}
    state = body
    while not state["complete"]:
        qid = state["current"]["id"]
        response = answer(client, sid, headers, qid, script[qid])
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
    assert state["progress"]["remaining"] == 0
    checklist = client.get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
    ids = {m["id"] for m in checklist["matters"]}
    assert {"cremation_certificate", "pension_account_payout", "driving_licence_cancellation"} <= ids
    assert checklist["undecided"] == []
    assert {t["place"] for t in checklist["trips"]} == {"funeral_home", "traffic_police", "service_window"}


def test_changing_an_earlier_answer_drops_answers_that_no_longer_apply(client):
    sid, headers, _ = start(client)
    for q, v in [("death_type", "normal"), ("relationship", "spouse"), ("death_date", "2026-01-02"),
                 ("funeral_home_registered", True), ("has_cremation_certificate", False)]:
        assert answer(client, sid, headers, q, v).status_code == 200
    state = answer(client, sid, headers, "funeral_home_registered", False).get_json()
    assert "has_cremation_certificate" not in state["answers"]
    state = answer(client, sid, headers, "death_type", "missing").get_json()
    assert "funeral_home_registered" not in state["answers"]


def test_back_returns_to_previous_question_with_its_answer(client):
    sid, headers, _ = start(client)
    answer(client, sid, headers, "relationship", "spouse")
    answer(client, sid, headers, "applicant_is_proxy", False)
    answer(client, sid, headers, "death_date", "2026-01-02")
    response = client.post(f"/api/v1/questionnaires/{sid}/back", headers=headers)
    body = response.get_json()
    assert body["current"]["id"] == "death_date"
    assert body["current"]["previous_value"] == "2026-01-02"
    # back moves, it does not delete
    assert body["answers"] == {"relationship": "spouse", "applicant_is_proxy": False, "death_date": "2026-01-02"}
    client.post(f"/api/v1/questionnaires/{sid}/back", headers=headers)
    client.post(f"/api/v1/questionnaires/{sid}/back", headers=headers)
    response = client.post(f"/api/v1/questionnaires/{sid}/back", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "nothing_to_go_back_to"


@pytest.mark.parametrize(
    ("question", "value", "status", "code"),
    [
        ("death_type", "sleeping", 422, "invalid_choice"),
        ("death_type", ["normal"], 422, "invalid_choice"),
        ("death_date", "2999-01-01", 422, "future_date"),
        ("no_such_question", True, 404, "unknown_question"),
        ("has_cremation_certificate", True, 422, "question_not_available"),
    ],
)
def test_invalid_answers_are_rejected_with_reason(client, question, value, status, code):
    sid, headers, _ = start(client)
    response = answer(client, sid, headers, question, value)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"] and error["message_en"]


def test_future_death_date_is_refused(client):
    sid, headers, _ = start(client)
    answer(client, sid, headers, "death_type", "normal")
    answer(client, sid, headers, "relationship", "spouse")
    response = answer(client, sid, headers, "death_date", "2999-01-01")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "future_date"
    response = answer(client, sid, headers, "death_date", "31/01/2026")
    assert response.get_json()["error"]["code"] == "invalid_date"


@pytest.mark.parametrize(
    "body",
    [None, [], {"value": True}, {"question": "death_type"}, {"question": "death_type", "value": None},
     {"question": "death_type", "value": 3}, {"question": "death_type", "value": {"a": 1}},
     {"question": "death_type", "value": "normal", "extra": 1}],
)
def test_malformed_bodies_are_4xx_never_500(client, body):
    sid, headers, _ = start(client)
    response = client.post(f"/api/v1/questionnaires/{sid}/answers", json=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert "code" in response.get_json()["error"]


def test_non_json_body_is_400(client):
    sid, headers, _ = start(client)
    response = client.post(f"/api/v1/questionnaires/{sid}/answers", data="question=x", headers=headers,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_start_validates_region(client):
    response = client.post("/api/v1/questionnaires", json={"region": "atlantis"})
    assert response.status_code == 422
    assert "region" in response.get_json()["error"]["fields"]


def test_unknown_session_is_404_and_wrong_secret_403(client):
    response = client.get("/api/v1/questionnaires/" + "0" * 32, headers={"X-Resume-Secret": "x"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "session_not_found"
    sid, _, _ = start(client)
    response = client.get(f"/api/v1/questionnaires/{sid}", headers={"X-Resume-Secret": "guess"})
    assert response.status_code == 403
    assert client.get(f"/api/v1/questionnaires/{sid}").status_code == 403


def test_session_survives_a_restart_and_resumes_on_another_device(app, client):
    sid, headers, _ = start(client)
    answer(client, sid, headers, "death_type", "normal")
    # A second app instance on the same database stands for a restarted server / another device.
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    body = other.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
    assert body["answers"] == {"death_type": "normal"}
    assert body["current"]["id"] == "relationship"
    with other.app_context():
        from miniapp_api.extensions import db
        db.engine.dispose()


def test_unknown_url_and_method_use_the_error_shape(client):
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/regions")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def first_choice(question):
    if question["type"] == "date":
        return "2026-01-15"
    if question["type"] == "text":
        return "张三"
    value = question["options"][0]["value"]
    return [value] if question["type"] == "multiple" else value


@pytest.mark.parametrize("region", ["xinjiang", "inner_mongolia", "hunan", "fuyuan", "jining"])
def test_every_region_walks_to_a_checklist_over_http(client, region):
    sid, headers, state = start(client, region)
    steps = 0
    while not state["complete"]:
        response = answer(client, sid, headers, state["current"]["id"], first_choice(state["current"]))
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
        steps += 1
        assert steps < 100
    checklist = client.get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
    assert checklist["region"] == region
    assert checklist["undecided"] == []
    assert checklist["eligible"] in (True, False)


def test_when_a_scope_answer_fails_the_questions_stop_and_the_state_says_why_kindly(client):
    """Hunan: 「为在湘死亡的本省户籍人员的近亲属及特定关系人提供」. After 「逝者是在湖南省内去世的吗?」 is answered 否,
    the hukou is not asked, and the state says, kindly, why no more is asked (naming only what was answered)."""
    started = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    sid, headers = started["id"], {"X-Resume-Secret": started["resume_secret"]}
    assert started["out_of_scope"] is None
    for q, v in [("relationship", "child"), ("death_date", "2026-01-02"), ("local_death", False)]:
        state = answer(client, sid, headers, q, v).get_json()
    assert state["complete"] is True and state["current"] is None
    stop = state["out_of_scope"]
    assert stop["title"].startswith("很抱歉") and stop["title_en"].startswith("We are sorry")
    assert [r["code"] for r in stop["reasons"]] == ["not_local_death"]
    assert "在湖南省外死亡的" in stop["reasons"][0]["message"] and stop["reasons"][0]["message_en"]
