"""When a work item is due: set at submission, and recomputed for open items when the holiday calendar
changes (the State Council's notice entered in ``config/holidays.yaml``, or a newer calendar package).

A due date counts from the case's submission with the matter's time limit as the case froze it, so
recomputing changes only what the calendar decides; items already done or refused keep theirs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..domain import deadlines, workflow
from ..extensions import db
from ..models import AuditEvent, Case, WorkItem, iso

ACTOR = "system:holiday-calendar"


@dataclass(frozen=True)
class Change:
    """One open work item whose due date (or its certainty) moved."""

    item_id: int
    tracking_code: str
    matter_id: str
    before: dt.datetime | None
    after: dt.datetime | None
    uncertain: bool


def due(limit: dict[str, Any] | None, submitted: dt.datetime,
        calendar: deadlines.WorkingCalendar) -> tuple[dt.datetime | None, bool]:
    """The due instant in UTC (None without a numeric limit) and whether the calendar behind it is uncertain."""
    deadline = deadlines.deadline_for(limit, _aware(submitted).astimezone(deadlines.CHINA_TZ), calendar)
    if deadline is None:
        return None, False
    return deadline.due.astimezone(dt.UTC), deadline.uncertain


def case_deadline(limit: dict[str, Any] | None, submitted: dt.datetime,
                  calendar: deadlines.WorkingCalendar) -> dict[str, Any] | None:
    """The whole service's deadline (Xinjiang 5, Jining 3 working days), counted from the submission as the
    seeds count it (济宁 「在接到有关申请后……一般不超过3个工作日」); None where the region sets no such limit."""
    deadline = deadlines.deadline_for(limit, _aware(submitted).astimezone(deadlines.CHINA_TZ), calendar)
    if deadline is None:
        return None
    out: dict[str, Any] = {k: limit[k] for k in ("working_days", "hours") if k in limit}
    out.update(text=limit.get("text"), text_en=limit.get("text_en"), counted_from="submission",
               due_at=iso(deadline.due.astimezone(dt.UTC)), date=deadline.due.date().isoformat(),
               uncertain=deadline.uncertain)
    if deadline.warning:
        out["warning"] = deadline.warning
    return out


def recompute(calendar: deadlines.WorkingCalendar | None = None) -> list[Change]:
    """Bring every open work item's due date in line with the calendar; one commit per changed item, so a
    clerk updating the same item at that moment only makes this item be read again. The deadline of each
    case still open moves with them (its work items' changes are the audited ones)."""
    calendar = calendar or deadlines.load_calendar()
    ids = db.session.scalars(db.select(WorkItem.id).where(WorkItem.status.in_(workflow.OPEN))
                             .order_by(WorkItem.id)).all()
    changes = []
    for item_id in ids:
        for _ in range(3):  # a concurrent status change bumps the version: read the item again
            try:
                change = _recompute_one(item_id, calendar)
                break
            except StaleDataError:
                db.session.rollback()
        else:  # pragma: no cover - three clerks' updates in a row
            continue
        if change is not None:
            changes.append(change)
    _recompute_case_deadlines(calendar)
    return changes


def _recompute_case_deadlines(calendar: deadlines.WorkingCalendar) -> None:
    """The case-level deadline stored in the checklist of every case with an open work item."""
    ids = db.session.scalars(db.select(WorkItem.case_id).where(WorkItem.status.in_(workflow.OPEN)).distinct()
                             .order_by(WorkItem.case_id)).all()
    for case_id in ids:
        case = db.session.get(Case, case_id)
        if case is None or not case.checklist.get("deadline"):
            continue
        fresh = case_deadline(case.checklist.get("time_limit"), case.submitted_at, calendar)
        if fresh != case.checklist["deadline"]:
            case.checklist = {**case.checklist, "deadline": fresh}  # a new dict: the JSON column sees the change
            db.session.commit()


def _recompute_one(item_id: int, calendar: deadlines.WorkingCalendar) -> Change | None:
    item = db.session.get(WorkItem, item_id, populate_existing=True)
    if item is None or item.status not in workflow.OPEN:
        return None
    case: Case = item.case
    limit = next((m.get("time_limit") for m in case.checklist.get("matters", []) if m.get("id") == item.matter_id),
                 None)
    after, uncertain = due(limit, case.submitted_at, calendar)
    before = _aware(item.due_at) if item.due_at is not None else None
    if before == after and item.due_uncertain == uncertain:
        db.session.rollback()
        return None
    db.session.add(AuditEvent(case_id=case.id, work_item_id=item.id, actor=ACTOR, from_status=item.status,
                              to_status=item.status, reason="办理时限按节假日安排重新计算 / due date recomputed",
                              detail={"due_at": [iso(before), iso(after)],
                                      "due_uncertain": [item.due_uncertain, uncertain]}))
    item.due_at, item.due_uncertain = after, uncertain
    db.session.commit()
    return Change(item.id, case.tracking_code, item.matter_id, before, after, uncertain)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
