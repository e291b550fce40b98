"""After submission: the family's own actions, and the public status lookup by code + phone tail."""

from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from ..domain import tracking
from ..errors import ApiError
from ..extensions import limiter
from ..services import applications, family, supplements, uploads
from . import presenters, responses
from .access import bearer_applicant
from .operations import APPLICANT, NO_CONTENT, PUBLIC, UPLOAD, operation, path
from .schemas import Text, json_body
from .uploads import upload_limits

bp = Blueprint("family", __name__, description="After submission: the family's own actions, and the public status lookup")


class RatingBody(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = Text(validate=validate.Length(max=500), multiline=True)


class StatusLookup(Schema):
    tracking_code = Text(required=True, validate=validate.Length(min=1, max=20))
    phone_tail = Text(required=True, validate=validate.Regexp(r"^[0-9]{4}$", error="四位数字 / four digits"))


def _status_code_key() -> str:
    """The code as the lookup will read it (tracking.normalise), from a JSON body (API) or a form (H5 page):
    every spelling of one code (spaces, dash, case, O/I/L for 0/1) is one bucket."""
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except (ApiError, ValidationError):  # json_body refuses it below; a key function that raised would make the
        body = None                      # limiter take Redis for down and fall back to per-process counting
    raw = body.get("tracking_code") if isinstance(body, dict) else request.form.get("tracking_code")
    text = str(raw or "")[:40]
    code = tracking.normalise(text)
    if code:
        return f"code:{code}"
    return "typed:" + "".join(ch for ch in text.upper() if ch not in " -")[:20]  # never a case: no bucket worth sharing


def _limits() -> str:
    return current_app.config["STATUS_LOOKUP_LIMITS"]


# One count for the JSON API and the H5 status page (web/h5.py uses these too): per client address, and per
# tracking code so one code cannot be tried from many addresses.
status_limit_per_address = limiter.shared_limit(_limits, scope="status-lookup-address", methods=["POST"])
status_limit_per_code = limiter.shared_limit(_limits, scope="status-lookup-code", key_func=_status_code_key,
                                             methods=["POST"])


@bp.post("/cases/<code>/items/<int:item_id>/supplied")
@bp.response(200, responses.Case)
@operation("markSupplied", "The family has supplied what one department asked for: the item becomes `supplied` "
           "(409 supplement_incomplete while an asked-for material has no photo sent since the request)",
           APPLICANT, errors=(401, 404, 409))
def supplied(code: str, item_id: int):
    applicant = bearer_applicant()
    case = applications.case_for(applicant, code)
    family.supplied(applicant, case, item_id)
    return jsonify(presenters.case(case))


@bp.get("/cases/<code>/supplements")
@bp.response(200, responses.Supplements)
@operation("listSupplements", "一次性告知: what the departments ask for, with the clerk's note, and the materials "
           "to photograph with their pages", APPLICANT, errors=(401, 404))
def list_supplements(code: str):
    return jsonify(supplements.view(applications.case_for(bearer_applicant(), code)))


MATERIAL = path("material_id", "a material id some open request names", {"type": "string"})


@bp.post("/cases/<code>/supplements/<material_id>/pages")
@bp.response(201, responses.Pages, description="stored")
@operation("uploadSupplementPages", "Upload pages of a material a department asked for (multipart, parts named "
           "'file'); every other material is frozen: 409 material_not_requested", APPLICANT, body=UPLOAD,
           errors=(401, 403, 404, 409, 413, 422, 429, 507), parameters=[MATERIAL])
@upload_limits(lambda: "case:" + tracking.normalise(str((request.view_args or {}).get("code", "")))[:20])
def upload_supplement(code: str, material_id: str):
    case = applications.case_for(bearer_applicant(), code)
    pages = supplements.add_pages(case, material_id, [part.read() for part in request.files.getlist("file")])
    return jsonify({"pages": [uploads.page_view(p) for p in pages]}), 201


@bp.delete("/cases/<code>/supplements/pages/<int:page_id>")
@operation("deleteSupplementPage", "Remove a page sent for an open request (the application's own pages are "
           "frozen: 409 page_frozen)", APPLICANT, errors=(401, 404, 409), success={204: NO_CONTENT})
def delete_supplement_page(code: str, page_id: int):
    supplements.delete_page(applications.case_for(bearer_applicant(), code), page_id)
    return "", 204


@bp.post("/cases/<code>/supplied")
@bp.response(200, responses.Case)
@operation("declareSupplied", "「我已补齐」: every open request goes back to its department as `supplied` "
           "(409 supplement_not_requested when nothing is asked, supplement_incomplete while an asked-for "
           "material has no photo sent since the request)", APPLICANT, errors=(401, 404, 409))
def declare_supplied(code: str):
    applicant = bearer_applicant()
    case = applications.case_for(applicant, code)
    supplements.declare_supplied(applicant, case)
    return jsonify(presenters.case(case))


@bp.post("/cases/<code>/rating")
@bp.response(201, responses.Rating, description="recorded")
@operation("rateCase", "好差评, once per completed case", APPLICANT, body=RatingBody, errors=(401, 404, 409))
def rate(code: str):
    case = applications.case_for(bearer_applicant(), code)
    data = RatingBody().load(json_body())
    rating = family.rate(case, data["score"], data.get("comment"))
    return jsonify({"score": rating.score, "comment": rating.comment}), 201


@bp.post("/status")
@bp.response(200, responses.PublicStatus)
@operation("lookUpStatus", "Public progress lookup: tracking code and the last four digits of a proven phone number "
           "(rate limited per address and per code)", PUBLIC, body=StatusLookup, errors=(404, 429))
@status_limit_per_address
@status_limit_per_code
def status():
    data = StatusLookup().load(json_body())
    return jsonify(family.public_status(family.lookup(data["tracking_code"], data["phone_tail"])))
