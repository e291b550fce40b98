"""Database models. Answers are stored as they arrive so a questionnaire survives a restart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )
    # Optimistic locking: two devices answering at once cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}
