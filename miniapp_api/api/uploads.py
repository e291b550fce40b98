"""Document photos per material slot of the checklist: upload pages, list, view, replace, delete."""

from collections.abc import Callable

from flask import current_app, jsonify, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from ..errors import ApiError, error_body
from ..extensions import limiter
from ..services import questionnaires, uploads
from . import responses
from .access import bearer_holder
from .files import file_response
from .operations import BINARY, NO_CONTENT, QUESTIONNAIRE, UPLOAD, operation, path, query

bp = Blueprint("uploads", __name__, description="Document photos per material of the checklist")
SIZE = query("size", "thumb: the thumbnail", {"type": "string", "enum": ["thumb"]})
FILE = {"description": "the page", "content": {"image/jpeg": {"schema": BINARY}, "application/pdf": {"schema": BINARY}}}

RATE_LIMITED = ("上传太频繁了，请稍后再试", "too many files uploaded; wait a while and try again")


def _files_sent() -> int:
    """What an upload costs against the limits: one per file (a multipart body too large to read counts
    one; the view then answers 413)."""
    try:
        return max(1, len(request.files.getlist("file")))
    except Exception:  # RequestEntityTooLarge, a malformed body: the view reports it
        return 1


def _owners_request(response) -> bool:
    """A refused stranger (401/403/404) must not use up a family's allowance."""
    return response.status_code not in (401, 403, 404)


def upload_limits(questionnaire_id: Callable[[], str | None]):
    """Flask-Limiter's limits on files uploaded, shared by every upload route (API and H5 pages): per
    client address, counted on every request, and per questionnaire, counted only on its owner's."""
    def per_address() -> str:
        return current_app.config["UPLOAD_LIMITS_PER_ADDRESS"]

    def per_questionnaire() -> str:
        return current_app.config["UPLOAD_LIMITS_PER_QUESTIONNAIRE"]

    def questionnaire_key() -> str:
        return f"questionnaire:{questionnaire_id() or '-'}"

    by_address = limiter.shared_limit(per_address, scope="uploads-address", key_func=get_remote_address,
                                      cost=_files_sent)
    by_questionnaire = limiter.shared_limit(per_questionnaire, scope="uploads-questionnaire",
                                            key_func=questionnaire_key, cost=_files_sent,
                                            deduct_when=_owners_request)

    def decorate(view):
        return by_address(by_questionnaire(view))

    return decorate


limited = upload_limits(lambda: (request.view_args or {}).get("session_id"))


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    """The machine code says what was limited; Flask-Limiter adds Retry-After."""
    return jsonify(error_body("upload_rate_limited", *RATE_LIMITED)), 429


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_holder())


def _files() -> list[bytes]:
    """The bytes of every part named 'file'; the client's file names are never used."""
    return [part.read() for part in request.files.getlist("file")]


@bp.get("/questionnaires/<session_id>/materials")
@bp.response(200, responses.Materials)
@operation("listMaterials", "Materials to upload, with their pages and what is missing", QUESTIONNAIRE,
           errors=(401, 403, 404))
def list_materials(session_id: str):
    materials = uploads.material_status(_session(session_id))
    return jsonify({"materials": materials, "missing": uploads.missing(materials)})


@bp.post("/questionnaires/<session_id>/materials/<material_id>/pages")
@bp.response(201, responses.Pages, description="stored")
@operation("uploadPages", "Upload pages of a material (multipart, one part per page, each named 'file')",
           QUESTIONNAIRE, body=UPLOAD, errors=(401, 403, 404, 409, 413, 422, 429, 507),
           parameters=[path("material_id", "material id of the checklist, e.g. applicant_id_card", {"type": "string"})])
@limited
def add_pages(session_id: str, material_id: str):
    pages = uploads.add_pages(_session(session_id), material_id, _files())
    return jsonify({"pages": [uploads.page_view(p) for p in pages]}), 201


@bp.put("/questionnaires/<session_id>/pages/<int:page_id>")
@bp.response(200, responses.Page, description="replaced")
@operation("replacePage", "Replace a page (multipart, one part named 'file')", QUESTIONNAIRE, body=UPLOAD,
           errors=(401, 403, 404, 409, 413, 422, 429, 507))
@limited
def replace_page(session_id: str, page_id: int):
    files = _files()
    if len(files) != 1:
        raise ApiError(400, "one_file", "请上传一张照片替换", "send exactly one file (field 'file')")
    return jsonify(uploads.page_view(uploads.replace_page(_session(session_id), page_id, files[0])))


@bp.delete("/questionnaires/<session_id>/pages/<int:page_id>")
@operation("deletePage", "Delete a page", QUESTIONNAIRE, errors=(401, 403, 404, 409), success={204: NO_CONTENT})
def delete_page(session_id: str, page_id: int):
    uploads.delete_page(_session(session_id), page_id)
    return "", 204


@bp.get("/questionnaires/<session_id>/pages/<int:page_id>")
@operation("getPage", "A page: the processed photo (JPEG) or the rebuilt PDF", QUESTIONNAIRE, errors=(401, 403, 404),
           parameters=[SIZE], success={200: FILE})
def view_page(session_id: str, page_id: int):
    """``?size=thumb`` for the thumbnail; the full processed image otherwise. Never cached publicly."""
    page = uploads.get_page(_session(session_id), page_id)
    content, mimetype = uploads.read(page, thumbnail=request.args.get("size") == "thumb")
    return file_response(content, mimetype, f"page-{page.id}")
