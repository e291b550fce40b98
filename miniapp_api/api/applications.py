"""The one form, submission, and the applicant's own cases (with the printable application)."""

from flask import Blueprint, Response, jsonify, request

from ..errors import ApiError
from ..services import applications, questionnaires
from . import presenters
from .access import bearer_applicant
from .files import file_response
from .schemas import ApplicationForm, json_body

bp = Blueprint("applications", __name__)


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_applicant(required=False))


@bp.get("/questionnaires/<session_id>/form")
def get_form(session_id: str):
    return jsonify(applications.form_view(_session(session_id)))


@bp.put("/questionnaires/<session_id>/form")
def save_form(session_id: str):
    session = _session(session_id)
    form = ApplicationForm().load(json_body())
    return jsonify(applications.save_draft(session, form))


@bp.post("/questionnaires/<session_id>/submit")
def submit(session_id: str):
    """Idempotent: the same ``Idempotency-Key`` (a network retry) gives back the same case."""
    applicant = bearer_applicant()
    key = request.headers.get("Idempotency-Key", "").strip()
    if not 8 <= len(key) <= 64 or not key.isascii() or not key.isprintable():
        raise ApiError(400, "idempotency_key_required", "缺少提交编号（Idempotency-Key）",
                       "send an Idempotency-Key header of 8 to 64 printable ASCII characters")
    session = questionnaires.load(session_id, None, applicant)
    case, created = applications.submit(session, applicant, key)
    return jsonify(presenters.case(case)), 201 if created else 200


@bp.get("/cases/<code>")
def get_case(code: str):
    return jsonify(presenters.case(applications.case_for(bearer_applicant(), code)))


@bp.get("/cases/<code>/application.<fmt>")
def printable(code: str, fmt: str):
    from .. import printing  # ReportLab is only loaded when someone prints

    if fmt not in ("html", "pdf"):
        raise ApiError(404, "not_found", "找不到该地址", "no such resource")
    case = applications.case_for(bearer_applicant(), code)
    data = presenters.printable(case, questionnaires.dialog_of_case(case), applications.submitted_at_local(case))
    if fmt == "html":
        return Response(printing.render_application_html(data), mimetype="text/html")
    return file_response(printing.render_application_pdf(data), "application/pdf", case.tracking_code)
