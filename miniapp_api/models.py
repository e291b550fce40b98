"""Database models. Answers are stored as they arrive so a questionnaire survives a restart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class QuestionnaireSession(db.Model):
    """One family's walk through a region's questions (anonymous until claimed by a sign-in)."""

    __tablename__ = "questionnaire_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    resume_secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("applicants.id"), nullable=True, index=True)
    # The one form, saved as the family types (a draft until submitted).
    form_draft: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )
    # Optimistic locking: two devices answering at once cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class Applicant(db.Model):
    """Who is applying: found by WeChat openid, by a host app's user id, or by a verified phone."""

    __tablename__ = "applicants"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)  # wechat, host:<name>, sms
    channel_user_id: Mapped[str] = mapped_column(String(128), nullable=False)  # openid, host user id, phone
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Case(db.Model):
    """A submitted application: answers, checklist and form frozen, found by its tracking code."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("applicant_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), nullable=False, index=True)
    questionnaire_id: Mapped[str] = mapped_column(ForeignKey("questionnaire_sessions.id"), nullable=False,
                                                  unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    commitment_accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    work_items: Mapped[list[WorkItem]] = relationship(back_populates="case", order_by="WorkItem.id")


class WorkItem(db.Model):
    """One matter of a case, worked by one department."""

    __tablename__ = "work_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    matter_id: Mapped[str] = mapped_column(String(64), nullable=False)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="submitted")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="work_items")
