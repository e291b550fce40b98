"""What the family does after submitting: see where things stand, supply what is missing, rate."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..domain import tracking
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant, Case, Rating, WorkItem, iso
from . import phones, staff, supplements


def supplied(applicant: Applicant, case: Case, item_id: int) -> WorkItem:
    """The family has provided what the department asked for: the item goes back to the department as
    ``supplied`` (services/supplements.py: refused while an asked-for material has no new photo)."""
    item = next((w for w in case.work_items if w.id == item_id), None)
    if item is None:
        raise ApiError(404, "work_item_not_found", "找不到该事项", "no such work item")
    if item.status != "needs_supplement":
        return staff.transition(f"applicant:{applicant.id}", item, "supplied")  # its illegal_transition 409
    return supplements.declare_supplied(applicant, case, [item_id])[0]


def rate(case: Case, score: int, comment: str | None) -> Rating:
    if not all(w.status in ("done", "rejected") for w in case.work_items):
        raise ApiError(409, "case_not_complete", "全部事项办结后才能评价", "rate the case once every matter is finished")
    if db.session.scalars(db.select(Rating).filter_by(case_id=case.id)).first() is not None:
        raise _already_rated()
    rating = Rating(case_id=case.id, score=score, comment=(comment or "").strip() or None)
    db.session.add(rating)
    try:
        db.session.commit()
    except IntegrityError:  # a simultaneous tap rated it first (ratings.case_id is unique)
        db.session.rollback()
        raise _already_rated() from None
    return rating


def _already_rated() -> ApiError:
    return ApiError(409, "already_rated", "这件事已经评价过了，谢谢您", "this case was already rated")


def lookup(code_text: str, phone_tail: str) -> Case:
    """Anyone may check a case's progress with its code and the last four digits of a number the applicant
    proved is theirs (services/phones.py)."""
    code = tracking.normalise(code_text)
    proven = phones.tail_clause(phone_tail)  # a proven number's tail, not the form's typed one
    case = None
    if code and proven is not None:
        # One statement: the case, its work items (what the answer lists) and the tail's check together.
        case = db.session.scalars(db.select(Case).where(Case.tracking_code == code, proven)
                                  .options(joinedload(Case.work_items))).unique().first()
    if case is None:
        raise ApiError(404, "case_not_found", "查询不到，请核对查询码和手机号后四位",
                       "no case matches that code and phone number")
    return case


def public_status(case: Case) -> dict[str, Any]:
    """Progress only: no names, no numbers."""
    from ..domain.workflow import LABELS

    listed = {m["id"]: m for m in case.checklist.get("matters", [])}  # the case's names: a matter's variant
    return {"tracking_code": tracking.display(case.tracking_code), "region": case.region,
            "complete": all(w.status in ("done", "rejected") for w in case.work_items),
            "matters": [{"matter": w.matter_id, "department": w.department, "status": w.status,
                         "name": listed.get(w.matter_id, {}).get("name"), "name_en": listed.get(w.matter_id, {}).get("name_en"),
                         "status_label": LABELS[w.status][0],
                         "due_at": iso(w.due_at), "due_uncertain": w.due_uncertain} for w in case.work_items]}


def rating_summary(region: str) -> list[dict[str, Any]]:
    """Average score and count per department of the region (each case's rating counts for its departments)."""
    rows = db.session.execute(  # from the ratings (one per rated case) to their work items: no case is read
        db.select(WorkItem.department, db.func.count(db.distinct(Rating.id)), db.func.avg(Rating.score))
        .select_from(Rating).join(WorkItem, WorkItem.case_id == Rating.case_id)
        .where(WorkItem.region == region).group_by(WorkItem.department).order_by(WorkItem.department)
    ).all()
    return [{"department": d, "ratings": n, "average": round(float(avg), 2)} for d, n, avg in rows]
