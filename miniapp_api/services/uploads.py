"""Document photos attached to the materials of a questionnaire's checklist, before submission (after it, only
the materials a department asked for: services/supplements.py)."""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app

from ..errors import ApiError
from ..extensions import db
from ..imaging import ImageLimits, UploadRejected, process_upload
from ..models import Case, QuestionnaireSession, UploadedPage
from ..storage import StorageError
from . import consent
from .questionnaires import checklist as questionnaire_checklist
from .questionnaires import touch as questionnaire_touch


def limits() -> ImageLimits:
    c = current_app.config
    return ImageLimits(max_bytes=c["UPLOAD_MAX_BYTES"], max_pixels=c["UPLOAD_MAX_PIXELS"],
                       max_pixels_full_decode=c["UPLOAD_MAX_PIXELS_FULL_DECODE"], max_side=c["UPLOAD_MAX_SIDE"],
                       thumb_side=c["UPLOAD_THUMB_SIDE"], min_side=c["UPLOAD_MIN_SIDE"],
                       blur_threshold=c["UPLOAD_BLUR_THRESHOLD"], blur_action=c["UPLOAD_BLUR_ACTION"])


def checklist_of(session: QuestionnaireSession) -> dict[str, Any]:
    """The questionnaire's checklist under its own rules; once submitted, the case's frozen one (the pages a
    clerk sees are those of the materials the case was submitted with, whatever the region file says now)."""
    return questionnaire_checklist(session)


def expected_material(session: QuestionnaireSession, material_id: str) -> dict[str, Any]:
    for material in checklist_of(session)["materials"]:
        if material["id"] == material_id and material["upload"]:
            return material
    raise ApiError(404, "material_not_expected", "您的清单中不需要上传这项材料",
                   f"{material_id!r} is not a material to upload for this checklist")


def _not_submitted(session: QuestionnaireSession) -> None:
    if db.session.scalars(db.select(Case.id).filter_by(questionnaire_id=session.id)).first() is not None:
        raise ApiError(409, "already_submitted", "申请已提交，材料不能再修改", "already submitted; materials are frozen")


def add_pages(session: QuestionnaireSession, material_id: str, files: list[bytes]) -> list[UploadedPage]:
    """Process every file first; store and record only if all of them are acceptable."""
    _not_submitted(session)
    consent.require(session)
    expected_material(session, material_id)
    return store_pages(session, material_id, files)


def store_pages(session: QuestionnaireSession, material_id: str, files: list[bytes]) -> list[UploadedPage]:
    """The checks every upload passes (consent, page count, each file) and the store, all pages or none; the
    caller has decided the material may take pages now."""
    consent.require(session)
    if not files:
        raise ApiError(400, "no_file", "请选择要上传的照片", "attach at least one file (field 'file')")
    limit = current_app.config["UPLOAD_MAX_PAGES_PER_MATERIAL"]
    if len(_pages(session, material_id)) + len(files) > limit:  # early, before the costly processing
        raise _too_many_pages()
    processed = [_process(data) for data in files]
    _lock(session)  # uploads arriving together count one after another; a consent withdrawn meanwhile counts
    consent.require(session)
    if len(_pages(session, material_id)) + len(files) > limit:
        db.session.rollback()
        raise _too_many_pages()
    pages: list[UploadedPage] = []
    try:
        for item, data in zip(processed, files, strict=True):
            pages.append(_store(session, material_id, item, len(data)))
    except ApiError:  # the store failed part-way: its rows are rolled back, drop the files already put
        _delete_unused([k for page in pages for k in (page.storage_key, page.thumbnail_key) if k])
        raise
    questionnaire_touch(session)  # the last activity (retention), when a minute old
    db.session.commit()  # all pages or none
    return pages


def _too_many_pages() -> ApiError:
    return ApiError(422, "too_many_pages", "这项材料的页数太多了", "too many pages for this material")


def _lock(session: QuestionnaireSession) -> None:
    """Take the questionnaire's row lock until commit, so a count read next cannot be overtaken by a concurrent
    upload, and read its consent again under it (services/privacy.py withdraws it under the same lock). On
    PostgreSQL with SELECT … FOR UPDATE, which writes no new version of the row; SQLite has no row locks, and a
    write takes its file lock. The version is not bumped: answers go on."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.refresh(session, ["consent_at", "version"], with_for_update=True)
        return
    db.session.execute(db.update(QuestionnaireSession).where(QuestionnaireSession.id == session.id)
                       .values(updated_at=QuestionnaireSession.updated_at)
                       .execution_options(synchronize_session=False))
    db.session.refresh(session, ["consent_at"])


def replace_page(session: QuestionnaireSession, page_id: int, data: bytes) -> UploadedPage:
    _not_submitted(session)
    consent.require(session)
    page = get_page(session, page_id)
    item = _process(data)
    new = _store(session, page.material_id, item, len(data))
    questionnaire_touch(session)
    db.session.commit()
    forget(page)
    return new


def delete_page(session: QuestionnaireSession, page_id: int) -> None:
    _not_submitted(session)
    forget(get_page(session, page_id))


def get_page(session: QuestionnaireSession, page_id: int) -> UploadedPage:
    page = db.session.get(UploadedPage, page_id)
    if page is None or page.questionnaire_id != session.id:
        raise ApiError(404, "page_not_found", "找不到这张照片", "no such page")
    return page


def read(page: UploadedPage, thumbnail: bool) -> tuple[bytes, str]:
    key = page.thumbnail_key if thumbnail and page.thumbnail_key else page.storage_key
    mimetype = "image/jpeg" if thumbnail and page.thumbnail_key else page.mimetype
    try:
        return current_app.extensions["storage"].get(key), mimetype
    except StorageError:
        raise ApiError(503, "storage_unavailable", "文件暂时无法读取，请稍后再试", "the file store is unavailable") from None


def material_status(session: QuestionnaireSession) -> list[dict[str, Any]]:
    """Each material to upload with its pages; a material is provided once one valid page is stored."""
    pages: dict[str, list[UploadedPage]] = {}
    for page in _pages(session):
        pages.setdefault(page.material_id, []).append(page)
    out = []
    for material in checklist_of(session)["materials"]:
        if not material["upload"]:
            continue
        mine = pages.get(material["id"], [])
        out.append({**material, "provided": bool(mine), "pages": [page_view(p) for p in mine]})
    return out


def annotate(checklist: dict[str, Any], session: QuestionnaireSession) -> dict[str, Any]:
    """Mark each material to upload as provided or not, and list what is still missing."""
    provided = {p.material_id for p in _pages(session)}
    for material in checklist["materials"]:
        if material["upload"]:
            material["provided"] = material["id"] in provided
    checklist["materials_missing"] = missing(checklist["materials"])
    return checklist


def missing(materials: list[dict[str, Any]]) -> list[str]:
    """Materials to upload with no page yet. A conditional one (needed only if an answer still to come says
    so) is never missing: the family may photograph it already, but is not held up for it."""
    return [m["id"] for m in materials if m["upload"] and not m.get("provided") and not m.get("conditional")]


def page_view(page: UploadedPage) -> dict[str, Any]:
    return {"id": page.id, "material": page.material_id, "kind": page.kind, "mimetype": page.mimetype,
            "width": page.width, "height": page.height, "pages": page.pages, "warnings": page.warnings,
            "status": "ready"}


BUSY_RETRY_AFTER = 5  # seconds a family is asked to wait when every decode slot is taken
_SLOTS_MADE = threading.Lock()


def decode_slots() -> threading.BoundedSemaphore:
    """This process's decode slots, made on first use. Decoding is memory and CPU: twelve parallel
    uploads once took a worker from 0.5 to 3.9 GB and stalled every other request, so only
    ``UPLOAD_MAX_CONCURRENT_DECODES`` run at once and the rest wait briefly, then are turned away."""
    slots = current_app.extensions.get("upload_decode_slots")
    if slots is None:
        with _SLOTS_MADE:
            slots = current_app.extensions.setdefault(
                "upload_decode_slots", threading.BoundedSemaphore(current_app.config["UPLOAD_MAX_CONCURRENT_DECODES"]))
    return slots


def _process(data: bytes):
    slots = decode_slots()
    if not slots.acquire(timeout=current_app.config["UPLOAD_DECODE_WAIT"]):
        raise ApiError(503, "busy_try_again", "现在上传的人比较多，请过几秒钟再试一次",
                       "busy processing other uploads; try again in a few seconds",
                       headers={"Retry-After": str(BUSY_RETRY_AFTER)})
    try:
        return process_upload(data, limits())
    except UploadRejected as exc:
        status = 413 if exc.code == "file_too_large" else 422
        raise ApiError(status, exc.code, exc.message, exc.message_en) from None
    finally:
        slots.release()


def _store(session: QuestionnaireSession, material_id: str, item, size: int) -> UploadedPage:
    store = current_app.extensions["storage"]
    put: list[str] = []
    try:
        key = store.put(item.content, "pdf" if item.kind == "document" else "jpg")
        put.append(key)
        thumb = store.put(item.thumbnail, "jpg") if item.thumbnail else None
    except StorageError:
        db.session.rollback()
        _delete_unused(put)
        current_app.logger.exception("file store failed")
        raise ApiError(507, "storage_full", "暂时无法保存文件，请稍后再试", "the file could not be stored; try later") from None
    page = UploadedPage(questionnaire_id=session.id, material_id=material_id, kind=item.kind, mimetype=item.mimetype,
                        storage_key=key, thumbnail_key=thumb, width=item.width, height=item.height,
                        pages=item.pages, size=size, warnings=list(item.warnings))
    db.session.add(page)
    db.session.flush()
    return page


def forget(page: UploadedPage) -> None:
    """Drop the record; delete the stored files only when no other page uses the same content."""
    keys = [k for k in (page.storage_key, page.thumbnail_key) if k]
    db.session.delete(page)
    db.session.commit()
    _delete_unused(keys)


def _delete_unused(keys: list[str]) -> None:
    """Files are content-addressed: another page may hold the same photo, so only unused ones go."""
    store = current_app.extensions["storage"]
    for key in keys:
        used = db.session.scalars(db.select(UploadedPage.id).where(
            (UploadedPage.storage_key == key) | (UploadedPage.thumbnail_key == key))).first()
        if used is None:
            try:
                store.delete(key)
            except StorageError:  # pragma: no cover - a leftover file is harmless, a 500 is not
                current_app.logger.exception("could not delete %s", key)


def _pages(session: QuestionnaireSession, material_id: str | None = None) -> list[UploadedPage]:
    query = db.select(UploadedPage).filter_by(questionnaire_id=session.id).order_by(UploadedPage.id)
    if material_id:
        query = query.filter_by(material_id=material_id)
    return list(db.session.scalars(query))
