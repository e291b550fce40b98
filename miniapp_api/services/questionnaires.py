"""Questionnaire sessions: the engine's answers kept in the database, one commit per answer.

Once its case is submitted a questionnaire is frozen: answering and going back are refused (409
``already_submitted``, naming the case's tracking code), and its checklist is the case's own.

Each questionnaire records the version of its region file it is on (``rules_version``). Read (or answered)
after the file changed, an open one is re-checked under the new version first (``refresh``): the answers that
no longer stand are dropped and the family is told what changed (``rules_notice``, shown until their next
answer, back or goto). Everything else reads a questionnaire under its own version (``dialog_of``).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..domain import engine, navigation, rules, tracking
from ..domain import rules_versions as versioning
from ..domain.dialogs import Dialog, UnknownRegion
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant, Case, QuestionnaireSession, utcnow
from . import rules_versions
from .auth import TokenHolder


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def dialog_for(region: str) -> Dialog:
    """The region's dialog as its file says now."""
    try:
        return rules_versions.current(region)
    except UnknownRegion:
        raise ApiError(404, "unknown_region", "没有这个地区", f"unknown region {region!r}") from None


def dialog_of(session: QuestionnaireSession) -> Dialog:
    """The dialog this questionnaire is read under: the version it is on (a submitted one, the version its case
    was submitted under)."""
    dialog_for(session.region)
    return rules_versions.dialog_at(session.region, session.rules_version)


def dialog_of_case(case: Case) -> Dialog:
    """The dialog a case was submitted under: what its print-out and its work read, whatever the file says now."""
    dialog_for(case.region)
    return rules_versions.dialog_at(case.region, case.rules_version)


def start(region: str, owner: Applicant | None = None) -> tuple[QuestionnaireSession, str]:
    """Open a session on the region file's current version; the resume secret is returned once and stored
    only as a hash."""
    dialog = dialog_for(region)
    rules_versions.remember(dialog)
    secret = secrets.token_urlsafe(24)
    session = QuestionnaireSession(id=secrets.token_hex(16), region=region, resume_secret_hash=_hash(secret),
                                   answers={}, form_draft={}, owner_id=owner.id if owner else None,
                                   rules_version=dialog.version, last_activity_at=utcnow())
    db.session.add(session)
    db.session.commit()
    return session, secret


def load(session_id: str, secret: str | None, applicant: Applicant | TokenHolder | None = None) -> QuestionnaireSession:
    """The session, if the caller may see it: its owner, or anyone with the secret while it has none."""
    session = _get(session_id)
    if session.owner_id is not None:
        if applicant is None or applicant.id != session.owner_id:
            raise ApiError(403, "not_your_questionnaire", "这份问答属于其他申请人，请用本人账号登录",
                           "this questionnaire belongs to another applicant")
        return refresh(session)
    if applicant is None or secret:
        _check_secret(session, secret)
    else:
        raise ApiError(403, "claim_required", "请先认领这份问答（需要续答凭证）",
                       "claim this questionnaire first (with its resume secret)")
    return refresh(session)


def claim(session_id: str, secret: str | None, applicant: Applicant) -> QuestionnaireSession:
    session = _get(session_id)
    if session.owner_id == applicant.id:
        return refresh(session)
    if session.owner_id is not None:
        raise ApiError(403, "not_your_questionnaire", "这份问答属于其他申请人",
                       "this questionnaire belongs to another applicant")
    _check_secret(session, secret)
    session.owner_id = applicant.id
    try:
        db.session.commit()
    except StaleDataError:  # a simultaneous claim (another tap, or another person with the secret) won
        db.session.rollback()
        raise _concurrent_update() from None
    return refresh(session)


def refresh(session: QuestionnaireSession) -> QuestionnaireSession:
    """An open questionnaire on an older version of its region file, re-checked under the current one: the
    answers that no longer stand dropped, the family's notice of what changed kept until they are shown it.
    A submitted one never changes; one on a newer version than this server's stays on it."""
    now = dialog_for(session.region)
    recorded = session.rules_version
    if recorded == now.version or submitted_case(session) is not None:
        return session
    if recorded is not None and not rules_versions.is_older(session.region, recorded, now):
        return session  # this server still serves the older file (a rolling deploy): read it under its own
    rules_versions.remember(now)
    old = rules_versions.snapshot(session.region, recorded) if recorded else None
    result = versioning.recheck(old, now, session.answers, cursor(session))
    session.answers = result.answers
    session.cursor_question, session.cursor_review = result.cursor.question, result.cursor.review
    session.rules_version = now.version
    if result.notice is not None:
        session.rules_notice = versioning.merge(session.rules_notice, result.notice, now)
    elif session.rules_notice:  # an earlier change not yet shown: it now leads to this version
        session.rules_notice = {**session.rules_notice, "to": now.version}
    try:
        db.session.commit()
    except StaleDataError:  # another request re-checked (or answered) it at the same moment: theirs stands
        db.session.rollback()
        return session
    session.rules_rechecked_now = result.notice is not None
    return session


def notice_shown(session: QuestionnaireSession) -> None:
    """The family is shown what changed (a page that says it once): the notice is done with."""
    if session.rules_notice is not None:
        session.rules_notice = None
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()


def _get(session_id: str) -> QuestionnaireSession:
    session = db.session.get(QuestionnaireSession, session_id) if len(session_id) <= 64 else None
    if session is None:
        raise not_found()
    return session


def not_found() -> ApiError:
    return ApiError(404, "session_not_found", "找不到这次问答，请重新开始", "questionnaire session not found")


def _check_secret(session: QuestionnaireSession, secret: str | None) -> None:
    if not secret or not hmac.compare_digest(session.resume_secret_hash, _hash(secret)):
        raise ApiError(403, "invalid_resume_secret", "续答凭证不正确",
                       "the resume secret is missing or wrong")


def cursor(session: QuestionnaireSession) -> engine.Cursor:
    return engine.Cursor(session.cursor_question, bool(session.cursor_review))


def state(session: QuestionnaireSession) -> engine.State:
    return engine.state(dialog_of(session), session.answers, cursor(session))


def state_at(session: QuestionnaireSession, question_id: str) -> engine.State:
    """The state as if the cursor were on ``question_id`` (a page the browser asks for); moves nothing. Its
    ``current`` is that question if the family may see it now, else where they really are."""
    return engine.state(dialog_of(session), session.answers,
                        engine.Cursor(question_id, bool(session.cursor_review)))


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
    """Record (or change) one answer; the cursor moves on (navigation.after_answer)."""
    _not_submitted(session)
    dialog = dialog_of(session)
    try:
        new_answers = engine.answer(dialog, session.answers, question_id, value)
    except engine.AnswerError as exc:
        raise _api_error(exc, options=_options(dialog, exc.question)) from None
    moved = navigation.after_answer(dialog, new_answers, question_id, cursor(session))
    commit_session(session, new_answers, moved)
    return engine.state(dialog, new_answers, moved)


def back(session: QuestionnaireSession, from_question: str | None = None) -> engine.State:
    """One question back, keeping every answer; ``from_question``: the page the family is on, when a
    browser's own Back/Forward may have left it elsewhere than the stored cursor."""
    _not_submitted(session)
    dialog = dialog_of(session)
    here = engine.Cursor(from_question) if from_question and dialog.question(from_question) else cursor(session)
    moved = navigation.back(dialog, session.answers, here)
    if moved is None:
        raise ApiError(409, "nothing_to_go_back_to", "已经是第一个问题", "already at the first question")
    commit_session(session, session.answers, moved)
    return engine.state(dialog, session.answers, moved)


def goto(session: QuestionnaireSession, question_id: str) -> engine.State:
    """To an answered question (from the review) to change it; after answering, straight back."""
    _not_submitted(session)
    dialog = dialog_of(session)
    try:
        moved = navigation.goto(dialog, session.answers, question_id)
    except engine.AnswerError as exc:
        raise _api_error(exc, "question") from None
    commit_session(session, session.answers, moved)
    return engine.state(dialog, session.answers, moved)


def review(session: QuestionnaireSession) -> list[navigation.ReviewItem]:
    return navigation.review(dialog_of(session), session.answers)


CHOICE_ERRORS = ("invalid_answer", "invalid_choice", "exclusive_choice")


def _api_error(exc: engine.AnswerError, field: str = "value", options: list[str] | None = None) -> ApiError:
    """The engine's refusal; one about the options names them in ``fields`` (the message stays the family's)."""
    status = 404 if exc.code == "unknown_question" else 422
    zh, en = exc.message, exc.message_en
    if options and exc.code in CHOICE_ERRORS:
        zh, en = f"{zh}，可选：{'、'.join(options)}", f"{en}: one of {', '.join(options)}"
    return ApiError(status, exc.code, exc.message, exc.message_en, {field: [f"{zh} / {en}"]})


def _options(dialog, question_id: str | None) -> list[str]:
    """A question's option values as an answer sends them (true/false for yes or no)."""
    question = dialog.question(question_id) if question_id else None
    if question is None:
        return []
    return [("true" if o.value else "false") if isinstance(o.value, bool) else str(o.value) for o in question.options]


def checklist(session: QuestionnaireSession) -> dict[str, Any]:
    """The tailored checklist; once submitted, the case's frozen one (even if the region's file changed since)."""
    case = submitted_case(session)
    if case is not None:
        return copy.deepcopy(case.checklist)
    return rules.evaluate_checklist(dialog_of(session), state(session).rule_facts)


def commit_session(session: QuestionnaireSession, answers: dict[str, Any], at: engine.Cursor | None = None) -> None:
    """Store the answers, the cursor when given (and anything else changed on the session) in one commit. A
    move (``at``) is the family acting on the state they were shown: a notice of changed rules it carried
    has been seen (one made in this very request has not)."""
    session.answers = answers
    if at is not None:
        session.cursor_question, session.cursor_review = at.question, at.review
        if not session.rules_rechecked_now:
            session.rules_notice = None
    try:
        touch(session)  # flushes the changes above first: a conflict is caught here like at the commit
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise _concurrent_update() from None


TOUCH_EVERY = dt.timedelta(minutes=1)  # retention counts in days: a minute's precision is plenty


def touch(session: QuestionnaireSession) -> None:
    """The family's last activity, what retention counts from (flushes the session's other changes first).
    When the row is written anyway (new answers, the form) it rides in that UPDATE; otherwise it is written
    beside the versioned row update, not through it, so a repeated save of the same answers (a double tap)
    is no conflict, and only when a minute old: every UPDATE leaves PostgreSQL a dead copy of the row."""
    now = utcnow()
    if db.session.is_modified(session):
        session.last_activity_at = now
        db.session.flush()
        return
    db.session.flush()
    last = session.last_activity_at
    if last is not None and now - (last if last.tzinfo else last.replace(tzinfo=dt.UTC)) < TOUCH_EVERY:
        return
    db.session.execute(db.update(QuestionnaireSession).where(QuestionnaireSession.id == session.id)
                       .values(last_activity_at=now, updated_at=QuestionnaireSession.updated_at)
                       .execution_options(synchronize_session=False))


def _concurrent_update() -> ApiError:
    return ApiError(409, "concurrent_update", "这份问答刚在另一台设备上被修改，请刷新后再试",
                    "the questionnaire was changed on another device; reload and try again")
