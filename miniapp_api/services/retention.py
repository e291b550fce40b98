"""Retention (config/README.md says why each period): personal data kept no longer than needed.

- An unsubmitted questionnaire (anonymous or abandoned) goes with its uploads and its resume secret
  ``QUESTIONNAIRE_RETENTION_DAYS`` after the family's last activity.
- A completed case (every work item final) keeps its record, work items and audit; its document photos go
  ``CASE_PHOTO_RETENTION_DAYS`` after its last work item was finished.
- A notification's recipient and content go ``NOTIFICATION_RETENTION_DAYS`` after it was made, once it is sent
  or dead; the row stays as history.

Audit events and privacy events (the family's rights used, services/privacy.py) are never touched. Each batch
is one transaction; stored files are removed only after it commits (a file left by a crash is unreferenced and
harmless; a row pointing at a deleted file would not be). An open case is never touched: a questionnaire with a
case is not unsubmitted, and photos go only from completed cases. ``delete_questionnaires`` and ``delete_pages``
are also how a family deletes their own application or withdraws their consent (services/privacy.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import and_, exists, func, not_, select

from ..domain.workflow import FINAL
from ..extensions import db
from ..models import Case, Notification, QuestionnaireSession, UploadedPage, WorkItem
from .uploads import _delete_unused

BATCH = 1000


@dataclass
class SweepReport:
    """What a sweep deleted (or, dry, would delete)."""

    questionnaires: int = 0
    questionnaire_pages: int = 0
    case_photo_pages: int = 0
    notifications: int = 0
    files_removed: int = 0
    batches: int = 0
    cases: list[str] = field(default_factory=list)  # tracking codes whose photos went (dry: would go)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would delete" if dry_run else "deleted"
        return [f"questionnaires: {verb} {self.questionnaires} unsubmitted, with {self.questionnaire_pages} page(s)",
                f"case photos: {verb} {self.case_photo_pages} page(s) of {len(self.cases)} completed case(s)",
                f"notifications: {verb} the recipient and content of {self.notifications}",
                *([] if dry_run else [f"files removed: {self.files_removed}; batches: {self.batches}"])]


def _days(name: str) -> dt.timedelta:
    return dt.timedelta(days=int(current_app.config[name]))


def _unsubmitted():
    return not_(exists().where(Case.questionnaire_id == QuestionnaireSession.id))


def _abandoned(cutoff: dt.datetime):
    """Unsubmitted questionnaires whose last activity (or, before it was recorded, last update) is older."""
    last = func.coalesce(QuestionnaireSession.last_activity_at, QuestionnaireSession.updated_at)
    return and_(last < cutoff, _unsubmitted())


def _completed_before(cutoff: dt.datetime):
    """Cases whose every work item is final, the last finished before ``cutoff``."""
    open_item = exists().where(WorkItem.case_id == Case.id, WorkItem.status.not_in(FINAL))
    last_done = select(func.max(WorkItem.updated_at)).where(WorkItem.case_id == Case.id).scalar_subquery()
    return and_(not_(open_item), last_done < cutoff)


def _old_notifications(cutoff: dt.datetime):
    """Sent or dead ones older than ``cutoff`` not yet emptied (an emptied one has no recipient)."""
    return and_(Notification.created_at < cutoff, Notification.status.in_(("sent", "dead")),
                Notification.recipient != "")


def _pages_keys(questionnaire_ids: list[str]) -> list[str]:
    rows = db.session.execute(select(UploadedPage.storage_key, UploadedPage.thumbnail_key)
                              .where(UploadedPage.questionnaire_id.in_(questionnaire_ids))).all()
    return [k for row in rows for k in row if k]


def remove_files(keys: list[str]) -> int:
    """After the commit: files no other page uses (content-addressed) are removed."""
    unique = sorted(set(keys))
    _delete_unused(unique)
    return len(unique)


def delete_pages(questionnaire_ids: list[str]) -> tuple[int, list[str]]:
    """The questionnaires' pages, in the caller's transaction: (pages deleted, the keys of their files, for
    ``remove_files`` once it commits)."""
    keys = _pages_keys(questionnaire_ids)
    pages = db.session.execute(db.delete(UploadedPage).where(UploadedPage.questionnaire_id.in_(questionnaire_ids))
                               .execution_options(synchronize_session=False)).rowcount
    return pages, keys


def delete_questionnaires(ids: list[str], *where) -> tuple[int, int, list[str]]:
    """The unsubmitted ones of ``ids`` (that also meet ``where``) with their pages, in the caller's transaction:
    (questionnaires deleted, pages deleted, the keys of their files). The resume secret's hash goes with the
    row; a submitted one is never deleted (the caller sees it in the count)."""
    pages, keys = delete_pages(ids)
    gone = db.session.execute(db.delete(QuestionnaireSession)
                              .where(QuestionnaireSession.id.in_(ids), _unsubmitted(), *where)
                              .execution_options(synchronize_session=False)).rowcount
    return gone, pages, keys


def sweep_questionnaires(now: dt.datetime, report: SweepReport, dry_run: bool = False, batch: int = BATCH) -> None:
    cutoff = now - _days("QUESTIONNAIRE_RETENTION_DAYS")
    if dry_run:
        ids = select(QuestionnaireSession.id).where(_abandoned(cutoff))
        report.questionnaires += db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0
        report.questionnaire_pages += db.session.scalar(
            select(func.count(UploadedPage.id)).where(UploadedPage.questionnaire_id.in_(ids))) or 0
        return
    while True:
        ids = list(db.session.scalars(select(QuestionnaireSession.id).where(_abandoned(cutoff))
                                      .order_by(QuestionnaireSession.id).limit(batch)
                                      .with_for_update(skip_locked=True)))
        if not ids:
            break
        gone, pages, keys = delete_questionnaires(ids, _abandoned(cutoff))
        db.session.commit()
        report.questionnaires += gone
        report.questionnaire_pages += pages
        report.batches += 1
        report.files_removed += remove_files(keys)
        if len(ids) < batch:
            break


def sweep_case_photos(now: dt.datetime, report: SweepReport, dry_run: bool = False, batch: int = BATCH) -> None:
    cutoff = now - _days("CASE_PHOTO_RETENTION_DAYS")
    has_pages = exists().where(UploadedPage.questionnaire_id == Case.questionnaire_id)
    query = (select(Case.questionnaire_id, Case.tracking_code).where(_completed_before(cutoff), has_pages)
             .order_by(Case.id))
    if dry_run:
        for qid, code in db.session.execute(query):
            report.cases.append(code)
            report.case_photo_pages += db.session.scalar(
                select(func.count(UploadedPage.id)).where(UploadedPage.questionnaire_id == qid)) or 0
        return
    while True:
        rows = db.session.execute(query.limit(batch)).all()
        if not rows:
            break
        pages, keys = delete_pages([qid for qid, _ in rows])
        report.case_photo_pages += pages
        db.session.commit()
        report.cases.extend(code for _, code in rows)
        report.batches += 1
        report.files_removed += remove_files(keys)
        if len(rows) < batch:
            break


def sweep_notifications(now: dt.datetime, report: SweepReport, dry_run: bool = False, batch: int = BATCH) -> None:
    cutoff = now - _days("NOTIFICATION_RETENTION_DAYS")
    if dry_run:
        report.notifications += db.session.scalar(
            select(func.count(Notification.id)).where(_old_notifications(cutoff))) or 0
        return
    while True:
        ids = list(db.session.scalars(select(Notification.id).where(_old_notifications(cutoff))
                                      .order_by(Notification.id).limit(batch)))
        if not ids:
            break
        report.notifications += db.session.execute(
            db.update(Notification).where(Notification.id.in_(ids))
            .values(recipient="", payload={}, last_error=None)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        report.batches += 1
        if len(ids) < batch:
            break


def sweep(now: dt.datetime | None = None, dry_run: bool = False, batch: int = BATCH) -> SweepReport:
    """Everything past its retention at ``now`` (tests pass a frozen time); ``dry_run`` deletes nothing."""
    now = now or dt.datetime.now(dt.UTC)
    report = SweepReport()
    sweep_questionnaires(now, report, dry_run, batch)
    sweep_case_photos(now, report, dry_run, batch)
    sweep_notifications(now, report, dry_run, batch)
    if not dry_run:
        current_app.logger.info("retention sweep: %s", "; ".join(report.lines(False)))
    return report
