"""Questionnaire sessions: the engine's answers kept in the database, one commit per answer."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..domain import engine, rules
from ..domain.dialogs import UnknownRegion, load_dialog
from ..errors import ApiError
from ..extensions import db
from ..models import QuestionnaireSession


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def dialog_for(region: str):
    try:
        return load_dialog(region)
    except UnknownRegion:
        raise ApiError(404, "unknown_region", "没有这个地区", f"unknown region {region!r}") from None


def start(region: str) -> tuple[QuestionnaireSession, str]:
    """Open a session; the resume secret is returned once and stored only as a hash."""
    dialog_for(region)
    secret = secrets.token_urlsafe(24)
    session = QuestionnaireSession(id=secrets.token_hex(16), region=region,
                                   resume_secret_hash=_hash(secret), answers={})
    db.session.add(session)
    db.session.commit()
    return session, secret


def load(session_id: str, secret: str | None) -> QuestionnaireSession:
    session = db.session.get(QuestionnaireSession, session_id) if len(session_id) <= 64 else None
    if session is None:
        raise ApiError(404, "session_not_found", "找不到这次问答，请重新开始",
                       "questionnaire session not found")
    if not secret or not hmac.compare_digest(session.resume_secret_hash, _hash(secret)):
        raise ApiError(403, "invalid_resume_secret", "续答凭证不正确",
                       "the resume secret is missing or wrong")
    return session


def state(session: QuestionnaireSession) -> engine.State:
    return engine.state(dialog_for(session.region), session.answers)


def answer(session: QuestionnaireSession, question_id: str, value: Any) -> engine.State:
    dialog = dialog_for(session.region)
    try:
        new_answers = engine.answer(dialog, session.answers, question_id, value)
    except engine.AnswerError as exc:
        status = 404 if exc.code == "unknown_question" else 422
        raise ApiError(status, exc.code, exc.message, exc.message_en, {"value": [exc.message_en]}) from None
    _save(session, new_answers)
    return engine.state(dialog, new_answers)


def back(session: QuestionnaireSession) -> tuple[engine.State, Any]:
    dialog = dialog_for(session.region)
    new_answers, question, previous = engine.back(dialog, session.answers)
    if question is None:
        raise ApiError(409, "nothing_to_go_back_to", "已经是第一个问题", "already at the first question")
    _save(session, new_answers)
    return engine.state(dialog, new_answers), previous


def checklist(session: QuestionnaireSession) -> dict[str, Any]:
    dialog = dialog_for(session.region)
    return rules.evaluate_checklist(dialog, engine.state(dialog, session.answers).rule_facts)


def _save(session: QuestionnaireSession, answers: dict[str, Any]) -> None:
    session.answers = answers
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, "concurrent_update", "这份问答刚在另一台设备上被修改，请刷新后再试",
                       "the questionnaire was changed on another device; reload and try again") from None
