"""Retention (issue 16 item 3): unsubmitted questionnaires with their uploads and resume secrets, completed
cases' photos and notifications' recipients and contents go after their configured days; the time is passed
in (``now=``), never frozen by patching; audit events and open cases are never touched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from miniapp_api.cli import retention_group
from miniapp_api.extensions import db
from miniapp_api.models import AuditEvent, Case, Notification, QuestionnaireSession, UploadedPage, WorkItem
from miniapp_api.services import retention
from tests.test_applications import HUNAN, first_choice, give_consent, good_form, questionnaire, sign_in, submit
from tests.test_uploads import photo, upload

T0 = dt.datetime(2027, 1, 10, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def anonymous_with_photo(client, size=(1600, 1200)) -> tuple[dict, str]:
    """An anonymous family who answered, consented and uploaded one photo, then went away."""
    state = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    headers = {"X-Resume-Secret": state["resume_secret"]}
    while not state["complete"]:
        q = state["current"]
        state = client.post(f"/api/v1/questionnaires/{state['id']}/answers", headers=headers,
                            json={"question": q["id"], "value": HUNAN.get(q["id"], first_choice(q))}).get_json()
    give_consent(client, headers, state["id"])
    assert upload(client, headers, state["id"], "applicant_id_card", photo(*size)).status_code == 201
    return headers, state["id"]


def last_active(app, sid: str, when: dt.datetime) -> None:
    with app.app_context():
        db.session.execute(db.update(QuestionnaireSession).where(QuestionnaireSession.id == sid)
                           .values(last_activity_at=when))
        db.session.commit()


def files_of(app, sid: str) -> list[Path]:
    with app.app_context():
        rows = db.session.execute(select(UploadedPage.storage_key, UploadedPage.thumbnail_key)
                                  .where(UploadedPage.questionnaire_id == sid)).all()
    root = Path(app.config["UPLOAD_FOLDER"])
    return [root / k for row in rows for k in row if k]


def sweep(app, now: dt.datetime, **kwargs) -> retention.SweepReport:
    with app.app_context():
        return retention.sweep(now=now, **kwargs)


def test_an_abandoned_questionnaire_goes_with_its_uploads_and_resume_secret_after_30_days(client, app):
    """30 days after the family's last step (QUESTIONNAIRE_RETENTION_DAYS): the questionnaire, its pages, its
    files and its resume secret are gone; a day earlier nothing is; a dry run deletes nothing."""
    headers, sid = anonymous_with_photo(client)
    files = files_of(app, sid)
    assert files and all(f.exists() for f in files)
    last_active(app, sid, T0)
    assert sweep(app, T0 + 29 * DAY).questionnaires == 0
    dry = sweep(app, T0 + 31 * DAY, dry_run=True)
    assert (dry.questionnaires, dry.questionnaire_pages) == (1, 1)
    assert all(f.exists() for f in files) and client.get(f"/api/v1/questionnaires/{sid}", headers=headers).status_code == 200
    done = sweep(app, T0 + 31 * DAY)
    assert (done.questionnaires, done.questionnaire_pages) == (1, 1)
    assert not any(f.exists() for f in files)
    assert client.get(f"/api/v1/questionnaires/{sid}", headers=headers).status_code == 404  # the secret opens nothing
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is None
        assert db.session.scalar(select(func.count(UploadedPage.id)).where(UploadedPage.questionnaire_id == sid)) == 0


def test_activity_counts_from_the_last_step_and_a_shared_photo_file_stays_for_the_other_family(client, app):
    """The count starts again at each step; a file the kept questionnaire also uses (content-addressed) stays."""
    _, gone = anonymous_with_photo(client)
    headers, kept = anonymous_with_photo(client)  # the very same photo bytes: one stored file for both
    shared = files_of(app, kept)
    last_active(app, gone, T0)
    last_active(app, kept, T0 + 20 * DAY)
    report = sweep(app, T0 + 31 * DAY)
    assert report.questionnaires == 1
    assert all(f.exists() for f in shared)
    assert client.get(f"/api/v1/questionnaires/{kept}", headers=headers).status_code == 200


def test_the_days_come_from_configuration(client, app):
    """QUESTIONNAIRE_RETENTION_DAYS = 7: a week without activity is enough."""
    _, sid = anonymous_with_photo(client)
    last_active(app, sid, T0)
    app.config["QUESTIONNAIRE_RETENTION_DAYS"] = 7
    try:
        assert sweep(app, T0 + 8 * DAY).questionnaires == 1
    finally:
        app.config["QUESTIONNAIRE_RETENTION_DAYS"] = 30


def test_sweeps_in_batches_each_its_own_transaction(client, app):
    """Five abandoned questionnaires in batches of two: three batches, all five gone."""
    sids = [anonymous_with_photo(client, (1600 + i * 8, 1200))[1] for i in range(5)]
    for sid in sids:
        last_active(app, sid, T0)
    report = sweep(app, T0 + 40 * DAY, batch=2)
    assert report.questionnaires == 5 and report.batches == 3


@pytest.fixture()
def case_with_photo(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    assert upload(client, headers, sid, "applicant_id_card", photo()).status_code == 201
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers).status_code == 200
    case = submit(client, headers, sid).get_json()
    return sid, case


def finish_all(app, code: str, when: dt.datetime) -> None:
    with app.app_context():
        case = db.session.scalars(select(Case).filter_by(tracking_code=code)).one()
        db.session.execute(db.update(WorkItem).where(WorkItem.case_id == case.id).values(status="done", updated_at=when)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def test_an_open_case_is_never_touched_however_old(client, app, case_with_photo):
    """A submitted questionnaire is not abandoned, and an open case keeps its photos, even after a year."""
    sid, case = case_with_photo
    files = files_of(app, sid)
    last_active(app, sid, T0)
    report = sweep(app, T0 + 400 * DAY)
    assert (report.questionnaires, report.case_photo_pages) == (0, 0)
    assert files and all(f.exists() for f in files)


def test_a_completed_cases_photos_go_after_90_days_while_record_work_items_and_audit_stay(client, app, case_with_photo):
    """CASE_PHOTO_RETENTION_DAYS after the last work item was finished: the pages and files go; the case, its
    work items and its audit trail stay."""
    sid, case = case_with_photo
    code = case["tracking_code"].replace("-", "")
    files = files_of(app, sid)
    finish_all(app, code, T0)
    with app.app_context():
        case_id = db.session.scalars(select(Case.id).filter_by(tracking_code=code)).one()
        audit = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id == case_id))
        items = db.session.scalar(select(func.count(WorkItem.id)).where(WorkItem.case_id == case_id))
    assert sweep(app, T0 + 89 * DAY).case_photo_pages == 0
    dry = sweep(app, T0 + 91 * DAY, dry_run=True)
    assert dry.case_photo_pages == 1 and dry.cases == [code] and all(f.exists() for f in files)
    assert sweep(app, T0 + 91 * DAY).case_photo_pages == 1
    assert not any(f.exists() for f in files)
    with app.app_context():
        assert db.session.get(Case, case_id) is not None
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id == case_id)) == audit
        assert db.session.scalar(select(func.count(WorkItem.id)).where(WorkItem.case_id == case_id)) == items
        assert db.session.scalar(select(func.count(UploadedPage.id)).where(UploadedPage.questionnaire_id == sid)) == 0


def test_a_case_with_one_item_still_open_keeps_its_photos(client, app, case_with_photo):
    """Not completed while any work item is open: never touched."""
    sid, case = case_with_photo
    code = case["tracking_code"].replace("-", "")
    finish_all(app, code, T0)
    with app.app_context():
        case_id = db.session.scalars(select(Case.id).filter_by(tracking_code=code)).one()
        first = db.session.scalars(select(WorkItem).filter_by(case_id=case_id).order_by(WorkItem.id)).first()
        db.session.execute(db.update(WorkItem).where(WorkItem.id == first.id).values(status="in_progress")
                           .execution_options(synchronize_session=False))
        db.session.commit()
    assert sweep(app, T0 + 200 * DAY).case_photo_pages == 0
    assert all(f.exists() for f in files_of(app, sid))


def test_notifications_lose_recipient_and_content_after_7_days_and_keep_a_history_row(client, app, case_with_photo):
    """Seed (fuyuan): 建议利用平台开发短信告知申请人办理结果等信息服务 — those texts carry the family's number and
    their case; 7 days after (NOTIFICATION_RETENTION_DAYS, as GOV.UK Notify) a sent or dead one keeps its
    history row (event, channel, status, time) without recipient or content; a pending one is not touched."""
    _, case = case_with_photo
    code = case["tracking_code"].replace("-", "")
    with app.app_context():
        case_id = db.session.scalars(select(Case.id).filter_by(tracking_code=code)).one()
        db.session.execute(db.delete(Notification).where(Notification.case_id == case_id))
        for status in ("sent", "dead", "pending"):
            db.session.add(Notification(case_id=case_id, event="status_changed", channel="sms", recipient="13800138000",
                                        payload={"code": code, "status": "done"}, idempotency_key=f"k-{status}-{code}",
                                        status=status, created_at=T0, not_before=T0,
                                        sent_at=T0 if status == "sent" else None))
        db.session.commit()
    assert sweep(app, T0 + 6 * DAY).notifications == 0
    assert sweep(app, T0 + 8 * DAY, dry_run=True).notifications == 2
    assert sweep(app, T0 + 8 * DAY).notifications == 2
    with app.app_context():
        rows = {n.status: n for n in db.session.scalars(select(Notification).filter_by(case_id=case_id))}
        for status in ("sent", "dead"):
            assert rows[status].recipient == "" and rows[status].payload == {}
            assert rows[status].event == "status_changed" and rows[status].channel == "sms"
        assert rows["sent"].sent_at is not None
        assert rows["pending"].recipient == "13800138000" and rows["pending"].payload["code"] == code
    assert sweep(app, T0 + 9 * DAY).notifications == 0  # done once


def test_the_cli_dry_run_prints_and_deletes_nothing(client, app):
    """`flask retention sweep --dry-run` says what it would delete, in lines a cron mail can be read from."""
    _, sid = anonymous_with_photo(client)
    last_active(app, sid, dt.datetime.now(dt.UTC) - 60 * DAY)
    result = app.test_cli_runner().invoke(retention_group, ["sweep", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete 1 unsubmitted, with 1 page(s)" in result.output
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is not None
    result = app.test_cli_runner().invoke(retention_group, ["sweep"])
    assert result.exit_code == 0 and "deleted 1 unsubmitted" in result.output, result.output
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid) is None
