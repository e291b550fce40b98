"""Questionnaire sessions: start, state, answer, back, checklist.

An anonymous questionnaire is reached with its resume secret (header ``X-Resume-Secret``), so a
family can continue on another phone; once it belongs to a signed-in applicant (started signed in,
or claimed), only that applicant's bearer token reaches it.
"""

from flask import Blueprint, jsonify, request

from ..services import questionnaires, uploads
from . import presenters
from .access import bearer_applicant
from .schemas import Answer, StartQuestionnaire, json_body

bp = Blueprint("questionnaires", __name__)


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_applicant(required=False))


@bp.post("/questionnaires")
def start():
    data = StartQuestionnaire().load(json_body())
    session, secret = questionnaires.start(data["region"], bearer_applicant(required=False))
    body = presenters.state(session.id, questionnaires.state(session))
    body["resume_secret"] = secret
    return jsonify(body), 201


@bp.get("/questionnaires/<session_id>")
def get_state(session_id: str):
    session = _session(session_id)
    return jsonify(presenters.state(session.id, questionnaires.state(session)))


@bp.post("/questionnaires/<session_id>/answers")
def answer(session_id: str):
    session = _session(session_id)
    data = Answer().load(json_body())
    return jsonify(presenters.state(session.id, questionnaires.answer(session, data["question"], data["value"])))


@bp.post("/questionnaires/<session_id>/back")
def back(session_id: str):
    session = _session(session_id)
    state, previous = questionnaires.back(session)
    return jsonify(presenters.state(session.id, state, previous))


@bp.post("/questionnaires/<session_id>/claim")
def claim(session_id: str):
    """An anonymous questionnaire becomes the signed-in applicant's (needs its resume secret)."""
    applicant = bearer_applicant()
    session = questionnaires.claim(session_id, request.headers.get("X-Resume-Secret"), applicant)
    return jsonify(presenters.state(session.id, questionnaires.state(session)))


@bp.get("/questionnaires/<session_id>/checklist")
def checklist(session_id: str):
    session = _session(session_id)
    return jsonify(uploads.annotate(questionnaires.checklist(session), session))
