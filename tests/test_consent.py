"""The separate consent (PIPL art. 29-30, issue 16 item 4): each region's text, given before the form's
personal details and any upload, stored with the questionnaire (the text's version and the time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from miniapp_api.domain import consent
from miniapp_api.domain.dialogs import load_dialog
from miniapp_api.domain.vocabulary import load_vocabulary
from tests.test_applications import give_consent, good_form, questionnaire, sign_in
from tests.test_uploads import photo, stored_files, upload

DIALOGS = Path(__file__).resolve().parent.parent / "dialogs"
REGIONS = ["hunan", "fuyuan", "inner_mongolia", "jining", "xinjiang"]
DAYS = {"questionnaire_days": 30, "photo_days": 90, "notification_days": 7}


@pytest.fixture()
def unconsented(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    return headers, questionnaire(client, headers, consent=False)


@pytest.mark.parametrize("region", REGIONS)
def test_each_regions_text_names_every_department_of_its_matters_with_what_it_receives(region):
    """The departments come from the region's own matters, never retyped: each one is in the text with its
    matters and their materials, in Chinese and English, with the region's purpose and the retention days."""
    dialog = load_dialog(region)
    departments = load_vocabulary().departments
    text = consent.render(dialog, departments, DAYS)
    block = yaml.safe_load((DIALOGS / f"{region}.yaml").read_text(encoding="utf-8"))["consent"]
    assert text.text.startswith(block["purpose"]) and text.text_en.startswith(block["purpose_en"])
    assert {r.department for r in text.recipients} == {m.department for m in dialog.matters}
    for matter in dialog.matters:
        name = departments[matter.department]["name"]
        line = next(line for line in text.text.splitlines() if line.startswith(f"· {name}："))
        assert matter.name.zh in line
        for use in matter.materials:
            assert dialog.materials[use.id].name.zh in line
        assert departments[matter.department]["name_en"] in text.text_en
    assert "30天" in text.text and "90天" in text.text and "7天" in text.text
    assert "30 days" in text.text_en and "{" not in text.text + text.text_en


def test_the_version_is_the_rendered_texts_hash_so_other_retention_days_are_another_version():
    """A family consents to exactly what they read: the same text gives the same version, different days
    (another text) another."""
    dialog = load_dialog("hunan")
    departments = load_vocabulary().departments
    one, again = consent.render(dialog, departments, DAYS), consent.render(dialog, departments, DAYS)
    other = consent.render(dialog, departments, {**DAYS, "questionnaire_days": 14})
    assert one.version == again.version and len(one.version) == 16
    assert other.version != one.version and "14天" in other.text


def test_hunan_text_says_the_platform_the_seed_shares_through(client, unconsented):
    """Seed (hunan): 加强信息共享，打破部门壁垒，依托全省“一网通办”平台及“湘易办”移动端 — the family is told their
    information is shared through that platform, with the departments of the matters (GET .../consent)."""
    headers, sid = unconsented
    body = client.get(f"/api/v1/questionnaires/{sid}/consent", headers=headers).get_json()
    assert "依托全省“一网通办”平台" in body["text"] and body["region"] == "hunan"
    assert {"hrss", "medical_security", "public_security"} <= {r["department"] for r in body["recipients"]}
    assert body["status"] == {"given": False, "version": None, "at": None, "current_version": body["version"],
                              "recorded_by_window": False}


def test_jining_text_says_the_integrated_system_the_seed_passes_applications_through(client, app, wechat_peer):
    """Seed (jining): 在济宁市一窗受理综合服务平台建立“公民身后一件事”主题集成服务信息系统 — the consent names that
    system as the way the departments receive the family's information."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = client.post("/api/v1/questionnaires", json={"region": "jining"}, headers=headers).get_json()["id"]
    body = client.get(f"/api/v1/questionnaires/{sid}/consent", headers=headers).get_json()
    assert "主题集成服务信息系统" in body["text"] and body["recipients"]


def test_form_with_personal_details_is_refused_before_consent_and_accepted_after(client, unconsented):
    """PUT /form with names, ID, phone or account numbers before the consent: 403 consent_required in
    Chinese and English, nothing saved; a draft with only choices is fine; after consent the form saves."""
    headers, sid = unconsented
    refused = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "consent_required" and "同意" in error["message"] and "consent" in error["message_en"]
    assert client.get(f"/api/v1/questionnaires/{sid}/form", headers=headers).get_json()["form"] == {}
    only_choices = client.put(f"/api/v1/questionnaires/{sid}/form", json={"commitment_accepted": True},
                              headers=headers)
    assert only_choices.status_code == 200
    phone_only = client.put(f"/api/v1/questionnaires/{sid}/form", json={"applicant": {"phone": "13800138000"}},
                            headers=headers)
    assert phone_only.status_code == 403 and phone_only.get_json()["error"]["code"] == "consent_required"
    give_consent(client, headers, sid)
    saved = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    assert saved.status_code == 200 and saved.get_json()["form"]["applicant"]["name"] == "张小梅"


def test_uploads_are_refused_before_consent_and_nothing_is_stored(client, app, unconsented):
    """An ID-card photo is sensitive: no upload is accepted (nor a file kept) before the consent."""
    headers, sid = unconsented
    before = stored_files(app)
    refused = upload(client, headers, sid, "applicant_id_card", photo())
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "consent_required"
    assert stored_files(app) == before
    give_consent(client, headers, sid)
    assert upload(client, headers, sid, "applicant_id_card", photo()).status_code == 201


def test_consent_is_stored_with_its_version_and_time_and_the_state_says_so(client, app, unconsented):
    """POST .../consent with the version shown: stored on the questionnaire (version, time); the state says
    it is given. Another version is refused (409), a missing one is a 422, never a 500."""
    headers, sid = unconsented
    base = f"/api/v1/questionnaires/{sid}"
    wrong = client.post(f"{base}/consent", json={"version": "0" * 16}, headers=headers)
    assert wrong.status_code == 409 and wrong.get_json()["error"]["code"] == "consent_version_mismatch"
    missing = client.post(f"{base}/consent", json={}, headers=headers)
    assert missing.status_code == 422
    not_json = client.post(f"{base}/consent", data="yes", headers=headers)
    assert 400 <= not_json.status_code < 500
    before = dt.datetime.now(dt.UTC)
    status = give_consent(client, headers, sid)
    version = client.get(f"{base}/consent", headers=headers).get_json()["version"]
    assert status["given"] is True and status["version"] == version
    assert dt.datetime.fromisoformat(status["at"]) >= before - dt.timedelta(seconds=1)
    state = client.get(base, headers=headers).get_json()
    assert state["consent"]["given"] is True and state["consent"]["version"] == version


def test_a_stranger_cannot_read_or_give_the_consent(client, app, wechat_peer, unconsented):
    """The consent endpoints are the questionnaire's, behind its owner like every other."""
    _, sid = unconsented
    other = sign_in(client, app, wechat_peer, "wechat")
    assert client.get(f"/api/v1/questionnaires/{sid}/consent", headers=other).status_code == 403
    assert client.post(f"/api/v1/questionnaires/{sid}/consent", json={"version": "x"}, headers=other).status_code == 403


def test_carries_sensitive_reads_any_typed_text_as_personal():
    """Choices and empty strings carry nothing personal; any text typed in (a name, a number) does."""
    assert not consent.carries_sensitive({"commitment_accepted": True, "deceased": {}, "accounts": []})
    assert not consent.carries_sensitive({"applicant": {"name": "  "}})
    assert consent.carries_sensitive({"accounts": [{"account_number": "6222"}]})
