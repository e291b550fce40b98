"""After submission: the family's own actions, and the public status lookup by code + phone tail."""

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from ..errors import ApiError
from ..extensions import limiter
from ..services import applications, family
from . import presenters
from .access import bearer_applicant
from .schemas import Text, json_body

bp = Blueprint("family", __name__)


class RatingBody(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = Text(validate=validate.Length(max=500), multiline=True)


class StatusLookup(Schema):
    tracking_code = Text(required=True, validate=validate.Length(min=1, max=20))
    phone_tail = Text(required=True, validate=validate.Regexp(r"^[0-9]{4}$", error="四位数字 / four digits"))


def _code_key() -> str:
    try:
        body = request.get_json(silent=True)
    except (ApiError, ValidationError):  # json_body refuses it below; a key function that raised would make the
        body = None                      # limiter take Redis for down and fall back to per-process counting
    code = body.get("tracking_code") if isinstance(body, dict) else None
    return f"code:{str(code).upper().replace('-', '')[:20]}"


def _limits() -> str:
    return current_app.config["STATUS_LOOKUP_LIMITS"]


@bp.post("/cases/<code>/items/<int:item_id>/supplied")
def supplied(code: str, item_id: int):
    applicant = bearer_applicant()
    case = applications.case_for(applicant, code)
    family.supplied(applicant, case, item_id)
    return jsonify(presenters.case(case))


@bp.post("/cases/<code>/rating")
def rate(code: str):
    case = applications.case_for(bearer_applicant(), code)
    data = RatingBody().load(json_body())
    rating = family.rate(case, data["score"], data.get("comment"))
    return jsonify({"score": rating.score, "comment": rating.comment}), 201


@bp.post("/status")
@limiter.limit(_limits)  # per client address
@limiter.limit(_limits, key_func=_code_key)  # per tracking code, so codes cannot be tried from many addresses
def status():
    data = StatusLookup().load(json_body())
    return jsonify(family.public_status(family.lookup(data["tracking_code"], data["phone_tail"])))
