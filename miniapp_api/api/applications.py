"""The one form, submission, and the applicant's own cases (with the printable application)."""

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from ..errors import ApiError, bilingual_fields
from ..services import applications, questionnaires
from . import presenters, responses
from .access import bearer_applicant, bearer_holder
from .files import file_response
from .operations import APPLICANT, BINARY, QUESTIONNAIRE, header, operation, path
from .schemas import ApplicationForm, json_body

bp = Blueprint("applications", __name__, description="The one form, submission, and the family's own cases")


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_holder())


@bp.get("/questionnaires/<session_id>/form")
@bp.response(200, responses.FormView)
@operation("getForm", "The one form: draft, pre-filled facts, fields to render, problems", QUESTIONNAIRE,
           errors=(401, 403, 404))
def get_form(session_id: str):
    return jsonify(_form_view(applications.form_view(_session(session_id))))


@bp.put("/questionnaires/<session_id>/form")
@bp.response(200, responses.FormView, description="saved; the form view again")
@operation("saveForm", "Save the draft form (any part may be missing; submit checks completeness)", QUESTIONNAIRE,
           body=ApplicationForm, errors=(401, 403, 404, 409))
def save_form(session_id: str):
    session = _session(session_id)
    form = ApplicationForm().load(json_body())
    return jsonify(_form_view(applications.save_draft(session, form)))


def _form_view(view: dict) -> dict:
    """The form view in the API's style: its problems' Chinese in ``problems``, their English in ``problems_en``
    (as an error's ``fields`` and ``fields_en``); the pages render the service's own view."""
    zh, en = bilingual_fields(view["problems"])
    return {**view, "problems": zh, "problems_en": en}


@bp.post("/questionnaires/<session_id>/submit")
@bp.response(201, responses.Case, description="submitted: the case")
@bp.alt_response(200, schema=responses.Case, description="a retry with the same Idempotency-Key: the same case",
                 success=True)
@operation("submitApplication", "Submit: a case with a tracking code and one work item per required matter",
           APPLICANT, errors=(401, 403, 404, 409, 422),
           parameters=[header("Idempotency-Key", "one key per submission (8 to 64 printable ASCII characters); a retry "
                              "with the same key gives back the same case (200)", {"type": "string", "minLength": 8,
                                                                                    "maxLength": 64})])
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
@bp.response(200, responses.Case)
@operation("getCase", "My case (ID, phone and bank numbers masked)", APPLICANT, errors=(401, 404))
def get_case(code: str):
    return jsonify(presenters.case(applications.case_for(bearer_applicant(), code)))


@bp.get("/cases/<code>/application.<fmt>")
@operation("getPrintableApplication", "The printable application with the tracking code's QR (pdf: a download)",
           APPLICANT, errors=(401, 404),
           parameters=[path("fmt", "pdf or html", {"type": "string", "enum": ["pdf", "html"]})],
           success={200: {"description": "the application", "content": {
               "application/pdf": {"schema": BINARY}, "text/html": {"schema": {"type": "string"}}}}})
def printable(code: str, fmt: str):
    from .. import printing  # ReportLab is only loaded when someone prints

    if fmt not in ("html", "pdf"):
        raise ApiError(404, "not_found", "找不到该地址", "no such resource")
    case = applications.case_for(bearer_applicant(), code)
    data = presenters.printable(case, questionnaires.dialog_of_case(case), applications.submitted_at_local(case))
    if fmt == "html":
        return Response(printing.render_application_html(data), mimetype="text/html")
    return file_response(printing.render_application_pdf(data), "application/pdf", case.tracking_code)
