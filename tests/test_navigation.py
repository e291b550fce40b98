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
