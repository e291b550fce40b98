"""The family's rights over their application (PIPL art. 44-47; art. 49: a close relative exercises them for the
deceased's data): download everything held about it, withdraw the consent with what was collected under it,
delete an unsubmitted application. (Correcting the draft is the form's own save: applications.save_draft.)

Each use is a privacy event written in the same transaction as what it did (domain/privacy.py says what it
records). Files are removed only after that commit, as retention does, whose deletion this reuses.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from typing import IO, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..domain import tracking
from ..domain.consent import without_sensitive
from ..errors import ApiError
from ..extensions import db
from ..models import (
    AuditEvent,
    Case,
    Notification,
    PrivacyEvent,
    QuestionnaireSession,
    UploadedPage,
    iso,
    utcnow,
)
from . import consent, questionnaires, retention, uploads

SPOOL_BYTES = 8 * 1024 * 1024  # an archive larger than this is built in a temporary file, not in memory


def load(session_id: str, secret: str | None, applicant) -> QuestionnaireSession:
    """The questionnaire, with the same credentials as every other of its endpoints; another family's (or a
    wrong secret) is a 404 exactly like a missing one, so these endpoints say nothing of what exists."""
    try:
        return questionnaires.load(session_id, secret, applicant)
    except ApiError as exc:
        if exc.status == 403:
            raise questionnaires.not_found() from None
        raise


def record(session: QuestionnaireSession, action: str, detail: dict[str, Any]) -> None:
    """One privacy event, in the caller's transaction."""
    db.session.add(PrivacyEvent(questionnaire_id=session.id, applicant_id=session.owner_id, action=action,
                                detail=detail, at=utcnow()))


# --- download everything ----------------------------------------------------------------------------------

def export(session: QuestionnaireSession) -> IO[bytes]:
    """One zip: ``data.json`` (everything held about the application) and every uploaded page's file, read
    through the storage (which gives the plain bytes of a file kept encrypted). Built one file at a time
    into a temporary file that spills to disk past ``SPOOL_BYTES``; returned at its start."""
    pages = _pages(session)
    case = questionnaires.submitted_case(session)
    data = export_data(session, pages, case)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2),
                             compress_type=zipfile.ZIP_DEFLATED)
            for page in pages:
                content, _ = uploads.read(page, thumbnail=False)  # 503 storage_unavailable if the store is down
                archive.writestr(_file_name(page), content, compress_type=zipfile.ZIP_STORED)  # JPEG, PDF: packed
    except BaseException:
        out.close()
        raise
    record(session, "export", {"pages": len(pages), "submitted": case is not None})
    db.session.commit()
    out.seek(0)
    return out


def export_data(session: QuestionnaireSession, pages: list[UploadedPage], case: Case | None) -> dict[str, Any]:
    """What data.json says: the answers, the draft as typed, the consent, the checklist, each page's metadata
    and, once submitted, the case with its work items and the family's own notifications. In full (not
    masked): it is theirs."""
    state = questionnaires.state(session)
    return {
        "exported_at": iso(utcnow()),
        "questionnaire": {"id": session.id, "region": session.region, "rules_version": session.rules_version,
                          "created_at": iso(session.created_at), "last_activity_at": iso(session.last_activity_at),
                          "signed_in": session.owner_id is not None, "answers": session.answers,
                          "facts": state.facts, "complete": state.complete},
        "form_draft": session.form_draft,
        "consent": consent.status(session),
        "checklist": uploads.annotate(questionnaires.checklist(session), session),
        "pages": [{**uploads.page_view(p), "size": p.size, "created_at": iso(p.created_at), "file": _file_name(p)}
                  for p in pages],
        "case": _case(case) if case is not None else None,
        "privacy_events": [{"action": e.action, "at": iso(e.at), "detail": e.detail} for e in db.session.scalars(
            db.select(PrivacyEvent).filter_by(questionnaire_id=session.id).order_by(PrivacyEvent.id))],
    }


def _case(case: Case) -> dict[str, Any]:
    history = db.session.scalars(db.select(AuditEvent).filter_by(case_id=case.id).order_by(AuditEvent.id)).all()
    notes = db.session.scalars(db.select(Notification).where(Notification.case_id == case.id,
                                                             Notification.channel != "console")  # staff's, not theirs
                               .order_by(Notification.id)).all()
    return {
        "tracking_code": tracking.display(case.tracking_code), "region": case.region,
        "rules_version": case.rules_version, "submitted_at": iso(case.submitted_at),
        "commitment_accepted_at": iso(case.commitment_accepted_at), "answers": case.answers, "facts": case.facts,
        "form": case.form, "checklist": case.checklist,
        "work_items": [{"id": w.id, "matter": w.matter_id, "department": w.department, "status": w.status,
                        "missing": w.missing, "reason": w.reason, "due_at": iso(w.due_at),
                        "created_at": iso(w.created_at), "updated_at": iso(w.updated_at),
                        "history": [{"from": h.from_status, "to": h.to_status, "reason": h.reason, "at": iso(h.at)}
                                    for h in history if h.work_item_id == w.id]}
                       for w in case.work_items],
        "notifications": [{"event": n.event, "channel": n.channel, "recipient": n.recipient, "status": n.status,
                           "created_at": iso(n.created_at), "sent_at": iso(n.sent_at), "content": n.payload}
                          for n in notes],
    }


def _file_name(page: UploadedPage) -> str:
    return f"files/page-{page.id}-{page.material_id}.{'pdf' if page.mimetype == 'application/pdf' else 'jpg'}"


def _pages(session: QuestionnaireSession) -> list[UploadedPage]:
    return list(db.session.scalars(db.select(UploadedPage).filter_by(questionnaire_id=session.id)
                                   .order_by(UploadedPage.id)))


# --- withdraw the consent ---------------------------------------------------------------------------------

def withdraw_consent(session: QuestionnaireSession) -> dict[str, Any]:
    """The consent cleared, the draft's personal details (everything typed in) and every upload deleted, in
    one commit; then the files. Afterwards the form and uploads need a consent again (403 consent_required).
    A submitted application's data is being worked by the departments as a statutory duty: not here."""
    case = questionnaires.submitted_case(session)
    if case is not None:
        raise ApiError(409, "consent_withdrawal_after_submission",
                       "申请已提交，各部门正依法办理，不能在这里撤回同意；如需停止办理，请联系“一件事一次办”受理窗口",
                       "the application was submitted and the departments are handling it as a statutory duty, so "
                       "the consent cannot be withdrawn here; to stop it, ask the one-stop service window",
                       {"tracking_code": [tracking.display(case.tracking_code)]})
    was_given = consent.given(session)
    session.consent_version = session.consent_at = session.consent_recorded_by = None
    session.form_draft = without_sensitive(session.form_draft)
    try:
        # The versioned row update first: it holds the row, so an upload (which locks it too) cannot slip a
        # page in between; and a submission or a save made meanwhile makes this a conflict, not a loss.
        db.session.flush()
        pages, keys = retention.delete_pages([session.id])
        record(session, "withdraw_consent", {"was_given": was_given, "pages": pages, "files": len(set(keys))})
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise _changed_meanwhile() from None
    retention.remove_files(keys)
    return consent.status(session)


# --- delete an unsubmitted application --------------------------------------------------------------------

def delete(session: QuestionnaireSession) -> None:
    """The questionnaire, its pages and their files, as retention deletes an abandoned one; the privacy event
    stays. A submitted one is the departments' record: only the window can stop it."""
    case = questionnaires.submitted_case(session)
    if case is not None:
        raise _submitted(case)
    try:
        gone, pages, keys = retention.delete_questionnaires([session.id])
        if gone != 1:  # submitted between the check and the delete
            db.session.rollback()
            raise _changed_meanwhile()
        record(session, "delete", {"pages": pages, "files": len(set(keys))})
        db.session.expunge(session)  # its row is gone: nothing of it is to be flushed or reloaded
        db.session.commit()
    except IntegrityError:  # a case or a page referencing it arrived at the same moment
        db.session.rollback()
        raise _changed_meanwhile() from None
    retention.remove_files(keys)


def _submitted(case: Case) -> ApiError:
    return ApiError(409, "already_submitted",
                    "申请已提交，不能删除；各部门正依法办理，如需停止办理，请联系“一件事一次办”受理窗口",
                    "the application was submitted and cannot be deleted; the departments are handling it as a "
                    "statutory duty: to stop it, ask the one-stop service window",
                    {"tracking_code": [tracking.display(case.tracking_code)]})


def _changed_meanwhile() -> ApiError:
    return ApiError(409, "concurrent_update", "这份申请刚在另一台设备上被修改或提交，请刷新后再试",
                    "the application was changed or submitted on another device just now; reload and try again")

