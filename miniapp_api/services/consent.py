"""The separate consent (PIPL art. 29-30) kept with each questionnaire: its text for the region, giving it,
and the check every path that takes sensitive information (the form, uploads) makes first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app

from ..domain import consent as domain
from ..domain.vocabulary import load_vocabulary
from ..errors import ApiError
from ..extensions import db
from ..models import QuestionnaireSession, iso, utcnow
from .questionnaires import dialog_of


def retention_days() -> dict[str, int]:
    """The retention settings the text quotes, so it says what the sweep does."""
    config = current_app.config
    return {"questionnaire_days": int(config["QUESTIONNAIRE_RETENTION_DAYS"]),
            "photo_days": int(config["CASE_PHOTO_RETENTION_DAYS"]),
            "notification_days": int(config["NOTIFICATION_RETENTION_DAYS"])}


def text_for(session: QuestionnaireSession) -> domain.ConsentText:
    return domain.render(dialog_of(session), load_vocabulary().departments, retention_days())


def given(session: QuestionnaireSession) -> bool:
    return session.consent_at is not None


def status(session: QuestionnaireSession) -> dict[str, Any]:
    """What the state says: whether consent is given, to which version, when, and whether the text has
    changed since (the family may then be shown it again)."""
    current = text_for(session).version
    return {"given": given(session), "version": session.consent_version, "at": iso(session.consent_at),
            "current_version": current, "recorded_by_window": session.consent_recorded_by is not None}


def give(session: QuestionnaireSession, version: str, recorded_by: str | None = None,
         now: dt.datetime | None = None) -> dict[str, Any]:
    """Record consent to the text of ``version``; a version other than the one shown now is refused (the
    family consents to what they read, not an older or made-up text)."""
    current = text_for(session).version
    if version != current:
        raise ApiError(409, "consent_version_mismatch", "同意书内容已更新，请重新阅读后再同意",
                       "the consent text has changed; read it again and consent to the current version",
                       {"version": [f"当前版本为 {current} / the current version is {current}"]})
    session.consent_version, session.consent_at = current, now or utcnow()
    session.consent_recorded_by = recorded_by
    db.session.commit()
    return status(session)


def require(session: QuestionnaireSession) -> None:
    """Before any sensitive information is accepted."""
    if not given(session):
        raise ApiError(403, "consent_required", "请先阅读并同意个人信息处理告知书，再填写或上传",
                       "read and give your consent to how your personal information is handled before filling "
                       "in the form or uploading")


def body(session: QuestionnaireSession) -> dict[str, Any]:
    """The consent text as the API gives it (the mini-program renders it from here)."""
    text = text_for(session)
    return {"region": text.region, "version": text.version, "text": text.text, "text_en": text.text_en,
            "purpose": text.purpose[0], "purpose_en": text.purpose[1],
            "recipients": [{"department": r.department, "name": r.name, "name_en": r.name_en,
                            "matters": [m[0] for m in r.matters], "matters_en": [m[1] for m in r.matters],
                            "materials": [m[0] for m in r.materials], "materials_en": [m[1] for m in r.materials]}
                           for r in text.recipients],
            "retention": text.retention[0], "retention_en": text.retention[1],
            "status": status(session)}
