"""Questionnaire sessions: start, state, answer, back, checklist.

Every call after the first carries the resume secret in the ``X-Resume-Secret`` header, so a
family can continue on another phone with the session id and that secret.
"""

from flask import Blueprint, jsonify, request

from ..errors import ApiError
from ..services import questionnaires
from . import presenters
from .schemas import Answer, StartQuestionnaire

bp = Blueprint("questionnaires", __name__)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请以 JSON 对象提交", "the body must be a JSON object")
    return body


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"))


@bp.post("/questionnaires")
def start():
    data = StartQuestionnaire().load(_json_body())
    session, secret = questionnaires.start(data["region"])
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
    data = Answer().load(_json_body())
    return jsonify(presenters.state(session.id, questionnaires.answer(session, data["question"], data["value"])))


@bp.post("/questionnaires/<session_id>/back")
def back(session_id: str):
    session = _session(session_id)
    state, previous = questionnaires.back(session)
    return jsonify(presenters.state(session.id, state, previous))


@bp.get("/questionnaires/<session_id>/checklist")
def checklist(session_id: str):
    return jsonify(questionnaires.checklist(_session(session_id)))
