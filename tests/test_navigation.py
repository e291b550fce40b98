"""Moving through a questionnaire over HTTP: a submitted questionnaire is frozen; going back keeps the answers;
changing one answer keeps every answer that still applies; the review lists the answers and how to change each."""

from __future__ import annotations

from tests.test_applications import HUNAN, good_form, questionnaire, sign_in, submit

API = "/api/v1/questionnaires"


def submitted_questionnaire(client, app, wechat_peer) -> tuple[str, dict, dict]:
    """A Hunan questionnaire answered, its form filled and submitted: (id, headers, the case)."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    assert client.put(f"{API}/{sid}/form", json=good_form(), headers=headers).status_code == 200
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    return sid, headers, response.get_json()


# --- submitted means frozen -------------------------------------------------------------------------------------

def assert_already_submitted(response, tracking_code: str) -> None:
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "already_submitted"
    assert error["message"] and error["message_en"]
    assert error["fields"]["tracking_code"] == [tracking_code]


def test_after_submission_answers_and_back_are_409_and_the_checklist_stays_the_cases(client, app, wechat_peer):
    sid, headers, case = submitted_questionnaire(client, app, wechat_peer)
    before = client.get(f"{API}/{sid}", headers=headers).get_json()
    changed = client.post(f"{API}/{sid}/answers", json={"question": "requested", "value": ["hukou_cancellation"]},
                          headers=headers)
    assert_already_submitted(changed, case["tracking_code"])
    same = client.post(f"{API}/{sid}/answers", json={"question": "local_death", "value": True}, headers=headers)
    assert_already_submitted(same, case["tracking_code"])
    assert_already_submitted(client.post(f"{API}/{sid}/back", headers=headers), case["tracking_code"])
    after = client.get(f"{API}/{sid}", headers=headers).get_json()
    assert after["answers"] == before["answers"] == HUNAN
    checklist = client.get(f"{API}/{sid}/checklist", headers=headers).get_json()
    frozen = client.get(f"/api/v1/cases/{case['tracking_code']}", headers=headers).get_json()["checklist"]
    for key in ("matters", "trips", "warnings"):
        assert checklist[key] == frozen[key], key
    assert [m["id"] for m in checklist["materials"]] == [m["id"] for m in frozen["materials"]]


def test_after_submission_goto_is_409_and_the_review_offers_no_change(client, app, wechat_peer):
    sid, headers, case = submitted_questionnaire(client, app, wechat_peer)
    response = client.post(f"{API}/{sid}/goto", json={"question": "requested"}, headers=headers)
    assert_already_submitted(response, case["tracking_code"])
    review = client.get(f"{API}/{sid}/review", headers=headers).get_json()
    assert [item["question"] for item in review["items"]] == list(HUNAN)
    assert all(item["change"] is None for item in review["items"])


# --- back moves, it does not delete -----------------------------------------------------------------------------

def answered_hunan(client) -> tuple[str, dict, dict]:
    """A Hunan questionnaire answered from HUNAN, anonymous: (id, headers, last state)."""
    started = client.post(API, json={"region": "hunan"}).get_json()
    sid, headers, state = started["id"], {"X-Resume-Secret": started["resume_secret"]}, started
    while state["current"] is not None:
        qid = state["current"]["id"]
        response = client.post(f"{API}/{sid}/answers", json={"question": qid, "value": HUNAN[qid]}, headers=headers)
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
    assert state["complete"] and state["answers"] == HUNAN
    return sid, headers, state


def test_back_moves_the_cursor_and_keeps_every_answer(client):
    sid, headers, _ = answered_hunan(client)
    order = list(HUNAN)
    for steps in range(1, 4):
        state = client.post(f"{API}/{sid}/back", headers=headers).get_json()
        current = state["current"]
        assert current["id"] == order[-steps]
        assert current["previous_value"] == HUNAN[current["id"]]  # its answer, to show selected
        assert state["answers"] == HUNAN  # nothing deleted
        assert state["complete"] is True  # every shown question is answered, wherever the cursor is
        assert state["step"] == len(order) - steps + 1
    # Answering at the cursor moves on to the next question, its answer kept as the prefill.
    state = client.post(f"{API}/{sid}/answers", json={"question": order[-3], "value": HUNAN[order[-3]]},
                        headers=headers).get_json()
    assert state["current"]["id"] == order[-2] and state["current"]["previous_value"] == HUNAN[order[-2]]
    assert client.get(f"{API}/{sid}", headers=headers).get_json()["current"]["id"] == order[-2]  # stored


def test_back_from_the_first_question_is_409(client):
    started = client.post(API, json={"region": "hunan"}).get_json()
    sid, headers = started["id"], {"X-Resume-Secret": started["resume_secret"]}
    client.post(f"{API}/{sid}/answers", json={"question": "relationship", "value": "child"}, headers=headers)
    state = client.post(f"{API}/{sid}/back", headers=headers).get_json()
    assert state["current"]["id"] == "relationship" and state["answers"] == {"relationship": "child"}
    response = client.post(f"{API}/{sid}/back", headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "nothing_to_go_back_to"


def test_walking_forward_after_back_shows_a_newly_needed_question_in_its_place(client):
    sid, headers, _ = answered_hunan(client)
    for _ in range(4):  # back to `requested`
        state = client.post(f"{API}/{sid}/back", headers=headers).get_json()
    assert state["current"]["id"] == "requested"
    more = [*HUNAN["requested"], "driving_licence_cancellation"]
    state = client.post(f"{API}/{sid}/answers", json={"question": "requested", "value": more},
                        headers=headers).get_json()
    assert state["current"]["id"] == "medical_insurance"  # the next question, its answer kept
    assert state["answers"] == {**HUNAN, "requested": more}
    assert state["complete"] is False  # the driving-licence question is new and unanswered


# --- changing one answer from the review -------------------------------------------------------------------------

def test_changing_one_answer_asks_only_the_newly_shown_questions(client):
    sid, headers, _ = answered_hunan(client)
    state = client.post(f"{API}/{sid}/goto", json={"question": "requested"}, headers=headers).get_json()
    assert state["current"]["id"] == "requested" and state["current"]["previous_value"] == HUNAN["requested"]
    assert state["returns_to_review"] is True
    more = [*HUNAN["requested"], "driving_licence_cancellation"]
    state = client.post(f"{API}/{sid}/answers", json={"question": "requested", "value": more},
                        headers=headers).get_json()
    reanswered = []
    while state["current"] is not None:
        qid = state["current"]["id"]
        reanswered.append(qid)
        state = client.post(f"{API}/{sid}/answers", json={"question": qid, "value": True}, headers=headers).get_json()
    assert reanswered == ["local_driving_licence"]  # only the question that now appears
    assert state["complete"] and state["returns_to_review"] is False
    assert state["answers"] == {**HUNAN, "requested": more, "local_driving_licence": True}


def test_a_change_drops_only_the_answers_that_no_longer_apply(client):
    sid, headers, _ = answered_hunan(client)
    client.post(f"{API}/{sid}/goto", json={"question": "requested"}, headers=headers)
    fewer = ["hukou_cancellation"]
    state = client.post(f"{API}/{sid}/answers", json={"question": "requested", "value": fewer},
                        headers=headers).get_json()
    assert state["current"] is None and state["complete"]  # straight back to the review
    asked_for_hrss = ("medical_insurance", "pension_insurance", "medical_account_overpaid")
    kept = {k: v for k, v in HUNAN.items() if k not in asked_for_hrss}  # asked only for those matters
    assert state["answers"] == {**kept, "requested": fewer}


def test_goto_refuses_questions_that_cannot_be_changed_now(client):
    started = client.post(API, json={"region": "hunan"}).get_json()
    sid, headers = started["id"], {"X-Resume-Secret": started["resume_secret"]}
    for qid, value in (("relationship", "child"), ("death_date", "2026-11-20")):
        client.post(f"{API}/{sid}/answers", json={"question": qid, "value": value}, headers=headers)
    for question, status, code in [("no_such_question", 404, "unknown_question"),
                                   ("housing_fund_blocked", 422, "question_not_available"),  # not shown
                                   ("death_type", 422, "question_not_available")]:  # not reached yet
        response = client.post(f"{API}/{sid}/goto", json={"question": question}, headers=headers)
        assert response.status_code == status, question
        error = response.get_json()["error"]
        assert error["code"] == code and error["message"] and error["message_en"]
    for body in (None, {}, {"question": ""}, {"question": 3}, {"question": "x" * 65}):
        response = client.post(f"{API}/{sid}/goto", json=body, headers=headers)
        assert 400 <= response.status_code < 500, body
    state = client.post(f"{API}/{sid}/goto", json={"question": "local_death"}, headers=headers).get_json()
    assert state["current"]["id"] == "local_death"  # the next question to answer may be gone to as well
    state = client.post(f"{API}/{sid}/goto", json={"question": "relationship"}, headers=headers).get_json()
    assert state["current"]["id"] == "relationship" and state["current"]["previous_value"] == "child"
    assert state["answers"] == {"relationship": "child", "death_date": "2026-11-20"}


# --- the review -----------------------------------------------------------------------------------------------------

def test_the_review_lists_what_was_answered_in_order_with_words_and_a_way_to_change_each(client):
    sid, headers, _ = answered_hunan(client)
    review = client.get(f"{API}/{sid}/review", headers=headers)
    assert review.status_code == 200
    body = review.get_json()
    assert body["id"] == sid and body["complete"] is True
    items = {item["question"]: item for item in body["items"]}
    assert [item["question"] for item in body["items"]] == list(HUNAN)
    local = items["local_death"]
    assert local["text"].startswith("逝者是在湖南省内去世的吗")
    assert local["text_en"].startswith("Did the deceased die in Hunan")
    assert (local["value"], local["label"], local["label_en"]) == (True, "是", "Yes")
    assert local["options"] == [{"value": True, "label": "是", "label_en": "Yes"}]
    requested = items["requested"]
    assert requested["value"] == HUNAN["requested"]
    assert [o["value"] for o in requested["options"]] == HUNAN["requested"]
    assert "户口注销" in requested["label"] and "、" in requested["label"]
    date = items["death_date"]
    assert (date["value"], date["label"], date["label_en"], date["options"]) == ("2026-11-20", "2026-11-20",
                                                                                   "2026-11-20", [])
    change = items["welfare"]["change"]
    assert change == {"method": "POST", "path": f"{API}/{sid}/goto", "body": {"question": "welfare"}}
    followed = client.post(change["path"], json=change["body"], headers=headers).get_json()
    assert followed["current"]["id"] == "welfare"


def test_the_review_of_a_questionnaire_under_way_lists_only_what_still_applies(client):
    started = client.post(API, json={"region": "hunan"}).get_json()
    sid, headers = started["id"], {"X-Resume-Secret": started["resume_secret"]}
    assert client.get(f"{API}/{sid}/review", headers=headers).get_json()["items"] == []
    for qid, value in (("relationship", "child"), ("death_date", "2026-11-20"), ("local_death", True),
                       ("local_hukou", True)):
        client.post(f"{API}/{sid}/answers", json={"question": qid, "value": value}, headers=headers)
    client.post(f"{API}/{sid}/answers", json={"question": "local_hukou", "value": False}, headers=headers)
    body = client.get(f"{API}/{sid}/review", headers=headers).get_json()
    assert [i["question"] for i in body["items"]] == ["relationship", "death_date", "local_death", "local_hukou"]
    assert body["items"][3]["label"] == "否"
    assert client.get(f"{API}/{sid}/review").status_code == 403  # the resume secret is needed, as everywhere


def test_the_openapi_description_of_the_review_is_what_it_answers(client):
    sid, headers, _ = answered_hunan(client)
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    ref = spec["paths"]["/questionnaires/{session_id}/review"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"]["$ref"] == "#/components/schemas/Review"
    body = client.get(f"{API}/{sid}/review", headers=headers).get_json()
    assert set(body) == set(schemas["Review"]["properties"])
    for item in body["items"]:
        assert set(item) == set(schemas["ReviewItem"]["properties"])
        assert set(item["change"]) == set(schemas["ReviewChange"]["properties"])
        for option in item["options"]:
            assert set(option) == set(schemas["ReviewOption"]["properties"])
    goto = spec["paths"]["/questionnaires/{session_id}/goto"]["post"]
    assert goto["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/GotoQuestion"
