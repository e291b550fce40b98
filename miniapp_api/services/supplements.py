"""一次性告知, the family's side: what the departments asked for, photos of exactly those materials after
submission (every other material stays frozen), and 「我已补齐」, which hands the items back as ``supplied``.

A page is a supplement when it was stored after the case was submitted; such a page may be removed again until
the family declares the items supplied (a wrong photo is then fixed by the department asking again).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..domain.vocabulary import load_vocabulary
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant, AuditEvent, Case, QuestionnaireSession, UploadedPage, WorkItem
from . import staff, uploads


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite gives naive UTC back


def questionnaire_of(case: Case) -> QuestionnaireSession:
    return db.session.get(QuestionnaireSession, case.questionnaire_id)


def open_items(case: Case) -> list[WorkItem]:
    """The items a department is waiting on the family for."""
    return [w for w in case.work_items if w.status == "needs_supplement"]


def material_names(case: Case) -> dict[str, tuple[str, str]]:
    """Each material in the case's own wording (its checklist), else the shared vocabulary's."""
    names = {k: (v["name"], v.get("name_en") or v["name"]) for k, v in load_vocabulary().materials.items()}
    names.update({m["id"]: (m["name"], m.get("name_en") or m["name"]) for m in case.checklist.get("materials", [])})
    return names


def requested_materials(case: Case) -> list[str]:
    """Material ids some open request names, in the order asked (what else is missing is typed, not a photo)."""
    known = material_names(case)
    seen: list[str] = []
    for item in open_items(case):
        seen += [m for m in item.missing if m in known and m not in seen]
    return seen


def _asked_at(item: WorkItem) -> dt.datetime:
    """When the department last asked (the audit log's move to needs_supplement)."""
    at = db.session.scalars(db.select(AuditEvent.at).where(AuditEvent.work_item_id == item.id,
                                                           AuditEvent.to_status == "needs_supplement")
                            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).first()
    return _aware(at or item.updated_at)


def _pages(case: Case, material_id: str | None = None) -> list[UploadedPage]:
    query = db.select(UploadedPage).filter_by(questionnaire_id=case.questionnaire_id).order_by(UploadedPage.id)
    if material_id:
        query = query.filter_by(material_id=material_id)
    return list(db.session.scalars(query))


def is_supplement(case: Case, page: UploadedPage) -> bool:
    return _aware(page.created_at) > _aware(case.submitted_at)


def view(case: Case) -> dict[str, Any]:
    """What is asked, item by item (with the clerk's note), and each requested material with its pages: ``new``
    pages were sent for this request and may still be removed; the others are from the application, frozen."""
    names = material_names(case)
    pages = _pages(case)
    requests = []
    for item in open_items(case):
        asked_at = _asked_at(item)
        requests.append({"item": item.id, "matter": item.matter_id, "department": item.department,
                         "note": item.reason or "",
                         "materials": [m for m in item.missing if m in names],
                         "other": [m for m in item.missing if m not in names],
                         "asked_at": asked_at.isoformat(timespec="seconds")})
    materials = []
    for material_id in requested_materials(case):
        mine = [p for p in pages if p.material_id == material_id]
        materials.append({"id": material_id, "name": names[material_id][0], "name_en": names[material_id][1],
                          "pages": [{**uploads.page_view(p), "new": is_supplement(case, p)} for p in mine],
                          "new_pages": sum(1 for p in mine if is_supplement(case, p))})
    return {"requests": requests, "materials": materials}


def _not_asked(material_id: str) -> ApiError:
    return ApiError(409, "material_not_requested", "这项材料没有被要求补充，已提交的材料不能再修改",
                    f"{material_id!r} was not asked for; the submitted materials are frozen")


def add_pages(case: Case, material_id: str, files: list[bytes]) -> list[UploadedPage]:
    """Photos of a material a department asked for; any other material is frozen once submitted."""
    if material_id not in requested_materials(case):
        raise _not_asked(material_id)
    return uploads.store_pages(questionnaire_of(case), material_id, files)


def supplement_page(case: Case, page_id: int) -> UploadedPage:
    """A page of this case's questionnaire (404 otherwise, as for another family's)."""
    return uploads.get_page(questionnaire_of(case), page_id)


def delete_page(case: Case, page_id: int) -> str:
    """Remove a photo sent for a request still open; the application's own pages stay. Returns its material."""
    page = supplement_page(case, page_id)
    if not is_supplement(case, page) or page.material_id not in requested_materials(case):
        raise ApiError(409, "page_frozen", "申请时提交的材料不能再修改", "pages of the submitted application are frozen")
    material_id = page.material_id
    uploads.forget(page)
    return material_id


def declare_supplied(applicant: Applicant, case: Case, item_ids: list[int] | None = None) -> list[WorkItem]:
    """「我已补齐」: every open request (or the ones named) goes back to its department as ``supplied`` — refused
    while a material it asked for has no photo sent since it asked, so nothing reaches the clerk half done."""
    asked = open_items(case)
    if item_ids is not None:
        unknown = [i for i in item_ids if i not in {w.id for w in case.work_items}]
        if unknown:
            raise ApiError(404, "work_item_not_found", "找不到该事项", "no such work item")
        asked = [w for w in asked if w.id in item_ids]
    if not asked:
        raise ApiError(409, "supplement_not_requested", "目前没有需要补充的材料", "no department is asking for anything")
    names = material_names(case)
    pages = _pages(case)
    lacking: list[str] = []
    for item in asked:
        since = _asked_at(item)
        for material_id in item.missing:
            sent = any(p.material_id == material_id and _aware(p.created_at) >= since for p in pages)
            if material_id in names and not sent and material_id not in lacking:
                lacking.append(material_id)
    if lacking:
        zh, en = "、".join(names[m][0] for m in lacking), ", ".join(names[m][1] for m in lacking)
        raise ApiError(409, "supplement_incomplete", f"还没有上传：{zh}。请拍照上传后再点“我已补齐”",
                       f"nothing uploaded yet for: {en}; upload them, then declare them supplied",
                       fields={"materials": lacking})
    return [staff.transition(f"applicant:{applicant.id}", item, "supplied") for item in asked]
