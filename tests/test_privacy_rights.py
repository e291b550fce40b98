"""The family's rights over their application (PIPL art. 44-47; art. 49 for a close relative and the deceased's
data, issue 16 item 5): download everything held (one archive), correct a draft, withdraw the consent with what
was collected under it, delete an unsubmitted application with its files. Each is audited in privacy_events,
which retention never sweeps."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from miniapp_api import create_app
from miniapp_api.extensions import db
from miniapp_api.models import PrivacyEvent, QuestionnaireSession, UploadedPage
from tests import test_migrations
from tests.test_applications import give_consent, good_form, questionnaire, sign_in, submit
from tests.test_retention import anonymous_with_photo, files_of, last_active, sweep
from tests.test_uploads import photo, stored_files, upload

empty_database = test_migrations.empty_database  # the fixture: a fresh SQLite, and PostgreSQL with DATABASE_URL

T0 = dt.datetime(2027, 1, 10, 8, 0, tzinfo=dt.UTC)


@pytest.fixture()
def family(client, app, wechat_peer):
    """A signed-in family who answered, consented, filled the form and uploaded a photo of an ID card."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    assert upload(client, headers, sid, "applicant_id_card", photo()).status_code == 201
    return headers, sid


def events(app, sid: str) -> list[PrivacyEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(PrivacyEvent).filter_by(questionnaire_id=sid).order_by(PrivacyEvent.id)))
        db.session.expunge_all()
        return rows


def archive(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


# --- download everything ---------------------------------------------------------------------------------------

def test_export_is_one_archive_with_data_json_and_the_exact_photo_bytes(client, app, family):
    """GET …/export: data.json holds the answers, the form as typed, the consent, the checklist and each page's
    metadata with its file in the archive; each file is the stored bytes exactly (read through the storage)."""
    headers, sid = family
    zipped = archive(client.get(f"/api/v1/questionnaires/{sid}/export", headers=headers))
    data = json.loads(zipped.read("data.json"))
    assert data["questionnaire"]["id"] == sid and data["questionnaire"]["answers"]["relationship"] == "child"
    assert data["form_draft"]["applicant"]["name"] == "张小梅"
    assert data["form_draft"]["deceased"]["id_number"] == good_form()["deceased"]["id_number"]  # not masked: theirs
    assert data["consent"]["given"] is True and data["consent"]["version"]
    assert any(m["id"] == "applicant_id_card" for m in data["checklist"]["materials"])
    assert data["case"] is None
    page, = data["pages"]
    assert page["material"] == "applicant_id_card" and page["file"] in zipped.namelist()
    with app.app_context():
        key = db.session.scalars(select(UploadedPage.storage_key).filter_by(questionnaire_id=sid)).one()
        stored = app.extensions["storage"].get(key)
    assert zipped.read(page["file"]) == stored and stored[:2] == b"\xff\xd8"
    export, = [e for e in events(app, sid) if e.action == "export"]
    assert export.detail == {"pages": 1, "submitted": False} and export.applicant_id


def test_an_anonymous_family_exports_with_its_resume_secret(client, app):
    headers, sid = anonymous_with_photo(client)
    zipped = archive(client.get(f"/api/v1/questionnaires/{sid}/export", headers=headers))
    assert len(json.loads(zipped.read("data.json"))["pages"]) == 1
    assert events(app, sid)[-1].applicant_id is None


def test_another_familys_questionnaire_is_404_exactly_like_a_missing_one(client, app, wechat_peer, family):
    """Another applicant's token, a wrong secret, a made-up id: the same 404, for every rights endpoint."""
    _, sid = family
    other = sign_in(client, app, wechat_peer, "wechat")
    missing = client.get("/api/v1/questionnaires/" + "0" * 32 + "/export", headers=other)
    assert missing.status_code == 404
    for method, path in (("get", "/export"), ("delete", "/consent"), ("delete", "")):
        for headers in (other, {"X-Resume-Secret": "wrong"}):
            response = getattr(client, method)(f"/api/v1/questionnaires/{sid}{path}", headers=headers)
            assert response.status_code == 404, (method, path)
            assert response.get_json() == missing.get_json()
    assert events(app, sid) == []


def test_a_submitted_cases_export_has_the_case_its_work_items_and_notifications(client, app, family):
    headers, sid = family
    case = submit(client, headers, sid).get_json()
    zipped = archive(client.get(f"/api/v1/questionnaires/{sid}/export", headers=headers))
    data = json.loads(zipped.read("data.json"))
    assert data["case"]["tracking_code"] == case["tracking_code"]
    assert data["case"]["form"]["applicant"]["phone"] == "13800138000"  # as submitted, theirs in full
    assert {w["matter"] for w in data["case"]["work_items"]} == {w["matter"] for w in case["work_items"]}
    assert all(w["status"] == "submitted" for w in data["case"]["work_items"])
    assert [n["event"] for n in data["case"]["notifications"]] == ["case_submitted"]
    assert len(data["pages"]) == 1 and zipped.read(data["pages"][0]["file"])[:2] == b"\xff\xd8"
    assert events(app, sid)[-1].detail == {"pages": 1, "submitted": True}


# --- correct a draft ------------------------------------------------------------------------------------------

def test_a_correction_of_the_draft_is_audited_with_the_fields_not_their_values(client, app, family):
    headers, sid = family
    before = len(events(app, sid))
    assert before == 0  # filling the draft in is not a correction
    corrected = good_form(applicant__name="张晓梅")
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=corrected, headers=headers).status_code == 200
    event = events(app, sid)[-1]
    assert len(events(app, sid)) == before + 1 and event.action == "correct"
    assert event.detail == {"changed": ["applicant.name"], "added": [], "removed": []}
    assert "张" not in json.dumps(event.detail, ensure_ascii=False)
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=corrected, headers=headers).status_code == 200
    assert len(events(app, sid)) == before + 1  # the same draft again changes nothing


def test_a_submitted_form_cannot_be_corrected_by_the_family_ask_the_window(client, family):
    headers, sid = family
    submit(client, headers, sid)
    refused = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(applicant__name="张晓梅"),
                         headers=headers)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "already_submitted" and "窗口" in error["message"] and "window" in error["message_en"]
    assert error["fields"]["tracking_code"]


# --- withdraw the consent --------------------------------------------------------------------------------------

def test_withdrawing_consent_deletes_the_drafts_details_and_the_uploads_then_the_form_needs_consent(client, app, family):
    headers, sid = family
    files = files_of(app, sid)
    assert files and all(f.exists() for f in files)
    response = client.delete(f"/api/v1/questionnaires/{sid}/consent", headers=headers)
    assert response.status_code == 200 and response.get_json()["given"] is False
    assert not any(f.exists() for f in files)
    with app.app_context():
        qs = db.session.get(QuestionnaireSession, sid)
        assert qs.consent_at is None and qs.consent_version is None
        assert "张小梅" not in json.dumps(qs.form_draft, ensure_ascii=False)
        assert qs.form_draft.get("commitment_accepted") is True  # a choice, nothing personal: kept
        assert db.session.scalar(select(func.count(UploadedPage.id)).filter_by(questionnaire_id=sid)) == 0
    assert client.get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()["consent"]["given"] is False
    refused = client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "consent_required"
    refused = upload(client, headers, sid, "applicant_id_card", photo())
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "consent_required"
    event = events(app, sid)[-1]
    assert event.action == "withdraw_consent" and event.detail == {"was_given": True, "pages": 1, "files": 2}
    give_consent(client, headers, sid)  # they may consent again and start over
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200


def test_consent_of_a_submitted_application_cannot_be_withdrawn_here(client, app, family):
    headers, sid = family
    submit(client, headers, sid)
    files = files_of(app, sid)
    refused = client.delete(f"/api/v1/questionnaires/{sid}/consent", headers=headers)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "consent_withdrawal_after_submission"
    assert "窗口" in error["message"] and "window" in error["message_en"] and "statutory" in error["message_en"]
    assert all(f.exists() for f in files)
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid).consent_at is not None
    assert not [e for e in events(app, sid) if e.action == "withdraw_consent"]


# --- delete an unsubmitted application -------------------------------------------------------------------------

def test_deleting_an_application_removes_its_rows_and_files_and_it_is_then_404(client, app, family):
    headers, sid = family
    files = files_of(app, sid)
    assert files and all(f.exists() for f in files)
    response = client.delete(f"/api/v1/questionnaires/{sid}", headers=headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert not any(f.exists() for f in files)
    assert stored_files(app) == []  # nothing left in the upload folder
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is None
        assert db.session.scalar(select(func.count(UploadedPage.id)).filter_by(questionnaire_id=sid)) == 0
    assert client.get(f"/api/v1/questionnaires/{sid}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/questionnaires/{sid}", headers=headers).status_code == 404
    event = events(app, sid)[-1]
    assert event.action == "delete" and event.detail == {"pages": 1, "files": 2} and event.applicant_id


def test_a_shared_photo_file_stays_for_the_other_family(client, app):
    """Content-addressed files: the same photo bytes of another questionnaire stay."""
    headers, gone = anonymous_with_photo(client)
    other_headers, kept = anonymous_with_photo(client)
    assert client.delete(f"/api/v1/questionnaires/{gone}", headers=headers).status_code == 204
    assert files_of(app, kept) and all(f.exists() for f in files_of(app, kept))
    assert client.get(f"/api/v1/questionnaires/{kept}/export", headers=other_headers).status_code == 200


def test_a_submitted_application_cannot_be_deleted(client, app, family):
    headers, sid = family
    submit(client, headers, sid)
    refused = client.delete(f"/api/v1/questionnaires/{sid}", headers=headers)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "already_submitted" and "窗口" in error["message"] and "window" in error["message_en"]
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is not None
    assert all(f.exists() for f in files_of(app, sid))


def test_privacy_events_outlive_the_application_and_retention(client, app, family):
    """The audit of the family's rights is kept like the audit trail: the questionnaire it names may be gone,
    and the retention sweep never touches it; it is append-only."""
    headers, sid = family
    client.get(f"/api/v1/questionnaires/{sid}/export", headers=headers)
    client.delete(f"/api/v1/questionnaires/{sid}", headers=headers)
    other_headers, other = anonymous_with_photo(client)
    client.delete(f"/api/v1/questionnaires/{other}/consent", headers=other_headers)
    last_active(app, other, T0)
    assert sweep(app, T0 + 400 * dt.timedelta(days=1)).questionnaires == 1
    assert [e.action for e in events(app, sid)] == ["export", "delete"]  # filling the form in corrects nothing
    assert [e.action for e in events(app, other)] == ["withdraw_consent"]
    with app.app_context():
        row = db.session.scalars(select(PrivacyEvent).filter_by(questionnaire_id=sid)).first()
        row.action = "changed"
        with pytest.raises(RuntimeError):
            db.session.flush()
        db.session.rollback()


def test_the_new_operations_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    export = spec["paths"]["/questionnaires/{session_id}/export"]["get"]
    assert export["operationId"] == "exportPersonalData"
    assert export["responses"]["200"]["content"]["application/zip"]["schema"]["format"] == "binary"
    assert spec["paths"]["/questionnaires/{session_id}/consent"]["delete"]["operationId"] == "withdrawConsent"
    delete = spec["paths"]["/questionnaires/{session_id}"]["delete"]
    assert delete["operationId"] == "deleteQuestionnaire" and {"404", "409"} <= set(delete["responses"])


# --- the H5 page -----------------------------------------------------------------------------------------------

def test_h5_my_information_page_downloads_withdraws_and_deletes_each_after_a_confirmation(client, app):
    from tests.test_h5_pages import Family, text, unlabelled

    browser = Family(client, app)
    browser.start()
    browser.answer_all()
    assert "/h5/privacy" in text(browser.get("/h5/checklist"))  # linked from the questionnaire's pages
    assert browser.post("/h5/materials/applicant_id_card", {"file": (io.BytesIO(photo()), "id.jpg")},
                        content_type="multipart/form-data").status_code == 302
    page = browser.get("/h5/privacy")
    assert page.status_code == 200 and "我的个人信息" in text(page) and unlabelled(text(page)) == []
    zipped = archive(browser.get("/h5/privacy/export"))
    assert len(json.loads(zipped.read("data.json"))["pages"]) == 1
    sid = json.loads(zipped.read("data.json"))["questionnaire"]["id"]
    files = files_of(app, sid)

    ask = browser.post("/h5/privacy/withdraw")  # the first tap only asks
    assert ask.status_code == 200 and "确定" in text(ask) and all(f.exists() for f in files)
    done = browser.post("/h5/privacy/withdraw", {"confirm": "yes"})
    assert done.status_code == 302 and not any(f.exists() for f in files)
    assert browser.get("/h5/materials/applicant_id_card").location.endswith("/h5/consent?material=applicant_id_card")

    ask = browser.post("/h5/privacy/delete")
    assert ask.status_code == 200 and "确定" in text(ask)
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is not None
    done = browser.post("/h5/privacy/delete", {"confirm": "yes"})
    assert done.status_code == 302 and done.location.endswith("/h5/")
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is None
    assert [e.action for e in events(app, sid)] == ["export", "withdraw_consent", "delete"]
    assert browser.client.post("/h5/privacy/delete", data={"confirm": "yes"}).status_code == 400  # no CSRF token


def test_h5_a_submitted_application_is_explained_not_deleted(client, app):
    from tests.test_h5_pages import Family, text

    browser = Family(client, app)
    browser.start()
    browser.answer_all()
    browser.sign_in()
    assert "/h5/done/" in browser.submit().location
    page = text(browser.get("/h5/privacy"))
    assert "窗口" in page and 'action="/h5/privacy/delete"' not in page
    refused = browser.post("/h5/privacy/delete", {"confirm": "yes"})
    assert refused.status_code == 409 and "窗口" in text(refused)


def test_export_reads_every_file_through_the_storage_interface(client, app, family, monkeypatch):
    """Files may be encrypted at rest behind storage.get: the archive holds what get returns, never the raw
    file on disk."""
    headers, sid = family
    storage = app.extensions["storage"]
    original = storage.get
    monkeypatch.setattr(storage, "get", lambda key: b"decrypted:" + original(key)[:8])
    zipped = archive(client.get(f"/api/v1/questionnaires/{sid}/export", headers=headers))
    page, = json.loads(zipped.read("data.json"))["pages"]
    assert zipped.read(page["file"]).startswith(b"decrypted:")
    assert Path(app.config["UPLOAD_FOLDER"]).exists()


def test_the_privacy_events_migration_up_and_down(empty_database):
    """The table comes and goes with its migration (SQLite, and PostgreSQL with DATABASE_URL)."""
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database, "SECRET_KEY": "test-secret",
                      "DIALOGS_CHECK_ON_START": False, "REDIS_URL": None})
    with app.app_context():
        try:
            upgrade(revision="b8e4c2f7a915")
            assert "privacy_events" not in sa.inspect(db.engine).get_table_names()
            upgrade(revision="c9f1a3d5e7b2")
            columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("privacy_events")}
            assert set(columns) == {"id", "questionnaire_id", "applicant_id", "action", "detail", "at"}
            assert columns["applicant_id"]["nullable"] and not columns["questionnaire_id"]["nullable"]
            assert sa.inspect(db.engine).get_foreign_keys("privacy_events") == []  # outlives the questionnaire
            downgrade(revision="b8e4c2f7a915")
            assert "privacy_events" not in sa.inspect(db.engine).get_table_names()
            upgrade()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_a_file_store_down_is_a_503_never_a_500_and_no_export_is_recorded(client, app, family, monkeypatch):
    from miniapp_api.storage import StorageError

    headers, sid = family
    storage = app.extensions["storage"]

    def down(key):
        raise StorageError("unreachable")

    monkeypatch.setattr(storage, "get", down)
    response = client.get(f"/api/v1/questionnaires/{sid}/export", headers=headers)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "storage_unavailable"
    assert response.get_json()["error"]["message"] and response.get_json()["error"]["message_en"]
    assert not [e for e in events(app, sid) if e.action == "export"]
