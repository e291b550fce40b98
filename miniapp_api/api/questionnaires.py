"""Questionnaire sessions: start, state, answer, back, review, goto (to change one answer), checklist.

An anonymous questionnaire is reached with its resume secret (header ``X-Resume-Secret``), so a
family can continue on another phone; once it belongs to a signed-in applicant (started signed in,
or claimed), only that applicant's bearer token reaches it.
"""

from flask import Blueprint, jsonify, request, url_for

from ..services import consent, questionnaires, uploads
from . import presenters
from .access import bearer_applicant
from .schemas import Answer, GiveConsent, GotoQuestion, StartQuestionnaire, json_body

bp = Blueprint("questionnaires", __name__)


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_applicant(required=False))


def _state(session, state) -> dict:
    body = presenters.state(session.id, state, session.rules_version, session.rules_notice)
    body["consent"] = consent.status(session)
    return body


@bp.post("/questionnaires")
def start():
    data = StartQuestionnaire().load(json_body())
    session, secret = questionnaires.start(data["region"], bearer_applicant(required=False))
    body = _state(session, questionnaires.state(session))
    body["resume_secret"] = secret
    return jsonify(body), 201


@bp.get("/questionnaires/<session_id>")
def get_state(session_id: str):
    session = _session(session_id)
    return jsonify(_state(session, questionnaires.state(session)))


@bp.post("/questionnaires/<session_id>/answers")
def answer(session_id: str):
    session = _session(session_id)
    data = Answer().load(json_body())
    return jsonify(_state(session, questionnaires.answer(session, data["question"], data["value"])))


@bp.post("/questionnaires/<session_id>/back")
def back(session_id: str):
    session = _session(session_id)
    return jsonify(_state(session, questionnaires.back(session)))


@bp.post("/questionnaires/<session_id>/goto")
def goto(session_id: str):
    session = _session(session_id)
    data = GotoQuestion().load(json_body())
    return jsonify(_state(session, questionnaires.goto(session, data["question"])))


@bp.get("/questionnaires/<session_id>/review")
def review(session_id: str):
    session = _session(session_id)
    goto_path = None if questionnaires.submitted_case(session) else url_for(".goto", session_id=session.id)
    return jsonify(presenters.review(session.id, questionnaires.state(session), questionnaires.review(session),
                                     goto_path))


@bp.post("/questionnaires/<session_id>/claim")
def claim(session_id: str):
    """An anonymous questionnaire becomes the signed-in applicant's (needs its resume secret)."""
    applicant = bearer_applicant()
    session = questionnaires.claim(session_id, request.headers.get("X-Resume-Secret"), applicant)
    return jsonify(_state(session, questionnaires.state(session)))


@bp.get("/questionnaires/<session_id>/checklist")
def checklist(session_id: str):
    session = _session(session_id)
    return jsonify(uploads.annotate(questionnaires.checklist(session), session))


@bp.get("/questionnaires/<session_id>/consent")
def get_consent(session_id: str):
    """The separate consent's text for this questionnaire's region (PIPL art. 29-30), and whether it is given."""
    return jsonify(consent.body(_session(session_id)))


@bp.post("/questionnaires/<session_id>/consent")
def give_consent(session_id: str):
    """The family consents to the text of ``version`` (the one GET returned)."""
    session = _session(session_id)
    data = GiveConsent().load(json_body())
    return jsonify(consent.give(session, data["version"]))
