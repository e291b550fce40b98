"""Questionnaire sessions: the engine's answers kept in the database, one commit per answer.

Once its case is submitted a questionnaire is frozen: answering and going back are refused (409
``already_submitted``, naming the case's tracking code), and its checklist is the case's own.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..domain import engine, rules, tracking
from ..domain.dialogs import UnknownRegion, load_dialog
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant, Case, QuestionnaireSession


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def dialog_for(region: str):
    try:
        return load_dialog(region)
    except UnknownRegion:
        raise ApiError(404, "unknown_region", "没有这个地区", f"unknown region {region!r}") from None


def start(region: str, owner: Applicant | None = None) -> tuple[QuestionnaireSession, str]:
    """Open a session; the resume secret is returned once and stored only as a hash."""
    dialog_for(region)
    secret = secrets.token_urlsafe(24)
    session = QuestionnaireSession(id=secrets.token_hex(16), region=region, resume_secret_hash=_hash(secret),
                                   answers={}, form_draft={}, owner_id=owner.id if owner else None)
    db.session.add(session)
    db.session.commit()
    return session, secret


def load(session_id: str, secret: str | None, applicant: Applicant | None = None) -> QuestionnaireSession:
    """The session, if the caller may see it: its owner, or anyone with the secret while it has none."""
    session = _get(session_id)
    if session.owner_id is not None:
        if applicant is None or applicant.id != session.owner_id:
            raise ApiError(403, "not_your_questionnaire", "这份问答属于其他申请人，请用本人账号登录",
                           "this questionnaire belongs to another applicant")
        return session
    if applicant is None or secret:
        _check_secret(session, secret)
    else:
        raise ApiError(403, "claim_required", "请先认领这份问答（需要续答凭证）",
                       "claim this questionnaire first (with its resume secret)")
    return session


def claim(session_id: str, secret: str | None, applicant: Applicant) -> QuestionnaireSession:
    session = _get(session_id)
    if session.owner_id == applicant.id:
        return session
    if session.owner_id is not None:
        raise ApiError(403, "not_your_questionnaire", "这份问答属于其他申请人",
                       "this questionnaire belongs to another applicant")
    _check_secret(session, secret)
    session.owner_id = applicant.id
    db.session.commit()
    return session


def _get(session_id: str) -> QuestionnaireSession:
    session = db.session.get(QuestionnaireSession, session_id) if len(session_id) <= 64 else None
    if session is None:
        raise ApiError(404, "session_not_found", "找不到这次问答，请重新开始",
                       "questionnaire session not found")
    return session


def _check_secret(session: QuestionnaireSession, secret: str | None) -> None:
    if not secret or not hmac.compare_digest(session.resume_secret_hash, _hash(secret)):
        raise ApiError(403, "invalid_resume_secret", "续答凭证不正确",
                       "the resume secret is missing or wrong")


def state(session: QuestionnaireSession) -> engine.State:
    return engine.state(dialog_for(session.region), session.answers)


def submitted_case(session: QuestionnaireSession) -> Case | None:
    """The case this questionnaire became, if it was submitted."""
    return db.session.scalars(db.select(Case).filter_by(questionnaire_id=session.id)).first()


def _not_submitted(session: QuestionnaireSession) -> None:
    """A submitted questionnaire is what the departments work from: its answers cannot move under them."""
    case = submitted_case(session)
    if case is not None:
        raise ApiError(409, "already_submitted", "这份申请已经提交，问答不能再修改",
                       "this questionnaire was submitted; its answers can no longer change",
                       {"tracking_code": [tracking.display(case.tracking_code)]})


def answer(session: QuestionnaireSession, question_id: str, value: Any) -> engine.State:
    _not_submitted(session)
    dialog = dialog_for(session.region)
    try:
        new_answers = engine.answer(dialog, session.answers, question_id, value)
    except engine.AnswerError as exc:
        status = 404 if exc.code == "unknown_question" else 422
        raise ApiError(status, exc.code, exc.message, exc.message_en, {"value": [exc.message_en]}) from None
    commit_session(session, new_answers)
    return engine.state(dialog, new_answers)


def back(session: QuestionnaireSession) -> tuple[engine.State, Any]:
    _not_submitted(session)
    dialog = dialog_for(session.region)
    new_answers, question, previous = engine.back(dialog, session.answers)
    if question is None:
        raise ApiError(409, "nothing_to_go_back_to", "已经是第一个问题", "already at the first question")
    commit_session(session, new_answers)
    return engine.state(dialog, new_answers), previous


def checklist(session: QuestionnaireSession) -> dict[str, Any]:
    """The tailored checklist; once submitted, the case's frozen one (even if the region's file changed since)."""
    case = submitted_case(session)
    if case is not None:
        return copy.deepcopy(case.checklist)
    dialog = dialog_for(session.region)
    return rules.evaluate_checklist(dialog, engine.state(dialog, session.answers).rule_facts)


def commit_session(session: QuestionnaireSession, answers: dict[str, Any]) -> None:
    """Store the answers (and anything else changed on the session) in one commit."""
    session.answers = answers
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, "concurrent_update", "这份问答刚在另一台设备上被修改，请刷新后再试",
                       "the questionnaire was changed on another device; reload and try again") from None
