"""Document photos per material slot of the checklist: upload pages, list, view, replace, delete."""

from flask import Blueprint, jsonify, request

from ..errors import ApiError
from ..services import questionnaires, uploads
from .access import bearer_applicant
from .files import file_response

bp = Blueprint("uploads", __name__)


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_applicant(required=False))


def _files() -> list[bytes]:
    """The bytes of every part named 'file'; the client's file names are never used."""
    return [part.read() for part in request.files.getlist("file")]


@bp.get("/questionnaires/<session_id>/materials")
def list_materials(session_id: str):
    materials = uploads.material_status(_session(session_id))
    return jsonify({"materials": materials, "missing": [m["id"] for m in materials if not m["provided"]]})


@bp.post("/questionnaires/<session_id>/materials/<material_id>/pages")
def add_pages(session_id: str, material_id: str):
    pages = uploads.add_pages(_session(session_id), material_id, _files())
    return jsonify({"pages": [uploads.page_view(p) for p in pages]}), 201


@bp.put("/questionnaires/<session_id>/pages/<int:page_id>")
def replace_page(session_id: str, page_id: int):
    files = _files()
    if len(files) != 1:
        raise ApiError(400, "one_file", "请上传一张照片替换", "send exactly one file (field 'file')")
    return jsonify(uploads.page_view(uploads.replace_page(_session(session_id), page_id, files[0])))


@bp.delete("/questionnaires/<session_id>/pages/<int:page_id>")
def delete_page(session_id: str, page_id: int):
    uploads.delete_page(_session(session_id), page_id)
    return "", 204


@bp.get("/questionnaires/<session_id>/pages/<int:page_id>")
def view_page(session_id: str, page_id: int):
    """``?size=thumb`` for the thumbnail; the full processed image otherwise. Never cached publicly."""
    page = uploads.get_page(_session(session_id), page_id)
    content, mimetype = uploads.read(page, thumbnail=request.args.get("size") == "thumb")
    return file_response(content, mimetype, f"page-{page.id}")
