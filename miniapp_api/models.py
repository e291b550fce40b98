"""Database models. Answers are stored as they arrive so a questionnaire survives a restart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import event as sa_event
from sqlalchemy import false as sa_false
from sqlalchemy import text as sa_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .encrypted import EncryptedJSON, EncryptedText
from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with its offset; SQLite hands datetimes back without one, and they are UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


class QuestionnaireSession(db.Model):
    """One family's walk through a region's questions (anonymous until claimed by a sign-in)."""

    __tablename__ = "questionnaire_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    resume_secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("applicants.id"), nullable=True, index=True)
    # Where the family is (engine.Cursor): going back moves this, it never deletes an answer.
    cursor_question: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cursor_review: Mapped[bool] = mapped_column(nullable=False, default=False, server_default=sa_false())
    # The one form, saved as the family types (a draft until submitted): names, ID, phone and bank numbers,
    # so sealed at rest (encrypted.py). Loaded when read, not with every answer: opening it costs a decryption.
    form_draft: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("questionnaire_sessions.form_draft"),
                                                       nullable=False, default=dict, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )
    # The region file's version (rules_versions) the answers were last checked under, and what changed for
    # the family when they were re-checked under a newer one, until they are shown it (services/rules_versions.py).
    rules_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    rules_notice: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The family's separate consent (PIPL art. 29-30, domain/consent.py): the version of the text they were
    # shown (a hash of it), when, and the window clerk who recorded it for them (null: given by the family).
    consent_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    consent_recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The family's last step (an answer, the form, an upload): what retention counts from.
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # Optimistic locking: two devices answering at once cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    rules_rechecked_now = False  # not stored: this request re-checked the answers under new rules


class RulesVersion(db.Model):
    """A region file's content as it was at one version, kept so that a questionnaire or case of that
    version can be read under its own rules; ``loaded_at`` (when a server last started serving it) says which
    of two versions is the newer, so a server still on an older file never moves a family back."""

    __tablename__ = "rules_versions"
    __table_args__ = (UniqueConstraint("region", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    version: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Applicant(db.Model):
    """Who is applying: found by WeChat openid, by a host app's user id, or by a verified phone (for the SMS
    channel ``channel_user_id`` is the phone's blind index, services/auth.py: never the number itself)."""

    __tablename__ = "applicants"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)  # wechat, host:<name>, sms
    channel_user_id: Mapped[str] = mapped_column(String(128), nullable=False)  # openid, host user id, phone digest
    phone: Mapped[str | None] = mapped_column(EncryptedText("applicants.phone"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class VerifiedPhone(db.Model):
    """A number the applicant proved is theirs: SMS sign-in, WeChat getPhoneNumber, a host app's signed
    claim, a code sent to it (``code``), or a code the family read back to a window clerk (``window``).
    Official texts and the status lookup's phone tail use only these, never a number merely typed."""

    __tablename__ = "verified_phones"
    __table_args__ = (UniqueConstraint("applicant_id", "phone_digest", name="uq_verified_phones_applicant_id_phone_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), nullable=False, index=True)
    phone: Mapped[str] = mapped_column(EncryptedText("verified_phones.phone"), nullable=False)
    # Blind indexes (blind_index.py): the number, so a repeat is found; its last four, for the status lookup.
    phone_digest: Mapped[str] = mapped_column(String(32), nullable=False)
    tail_digest: Mapped[str] = mapped_column(String(32), nullable=False)
    how: Mapped[str] = mapped_column(String(16), nullable=False)  # sms, wechat, host, code, window
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Case(db.Model):
    """A submitted application: answers, checklist and form frozen, found by its tracking code."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("applicant_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), nullable=False, index=True)
    questionnaire_id: Mapped[str] = mapped_column(ForeignKey("questionnaire_sessions.id"), nullable=False,
                                                  unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    form: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("cases.form"), nullable=False)
    # The region file's version it was submitted under (null: submitted before versions were recorded).
    rules_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    commitment_accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    work_items: Mapped[list[WorkItem]] = relationship(back_populates="case", order_by="WorkItem.id")
    search_keys: Mapped[list[CaseSearchKey]] = relationship(cascade="all, delete-orphan")


class CaseSearchKey(db.Model):
    """What staff can find a case by without its names and numbers in clear: the blind indexes of each
    person's full name and ID-number tails (blind_index.form_digests), with the region to scope by first."""

    __tablename__ = "case_search_keys"
    __table_args__ = (db.Index("ix_case_search_keys_region_digest", "region", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    digest: Mapped[str] = mapped_column(String(32), nullable=False)


# Work items not finished (domain/workflow.OPEN), as SQL: the partial indexes of open work (PostgreSQL and SQLite).
OPEN_ITEMS = sa_text("status IN ('submitted', 'accepted', 'in_progress', 'needs_supplement', 'supplied')")
# Outbox rows still to be sent or being sent: the partial indexes the sweeps read.
UNSENT = sa_text("status IN ('pending', 'sending')")


def _partial(name: str, where: Any, *columns: str) -> db.Index:
    return db.Index(name, *columns, postgresql_where=where, sqlite_where=where)


class WorkItem(db.Model):
    """One matter of a case, worked by one department. ``region`` is the case's, copied so that a queue is read
    from one index of work items (region, department, status, due date) without joining every case."""

    __tablename__ = "work_items"
    __table_args__ = (
        db.Index("ix_work_items_region_department_status_due_at_id", "region", "department", "status", "due_at", "id"),
        db.Index("ix_work_items_region_status_due_at_id", "region", "status", "due_at", "id"),
        db.Index("ix_work_items_region_department_due_at_id", "region", "department", "due_at", "id"),
        db.Index("ix_work_items_region_due_at_id", "region", "due_at", "id"),
        _partial("ix_work_items_open_region_department", OPEN_ITEMS, "region", "department", "due_at", "id"),
        _partial("ix_work_items_open_region", OPEN_ITEMS, "region", "due_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # The matter's name in the case's checklist (a variant's, where it has one), copied so that a queue page
    # never reads each row's checklist; NULL for a matter the checklist did not list (the vocabulary names it).
    matter_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="submitted")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    # When the department must be done (from the region's time limit), and whether that is certain.
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    due_uncertain: Mapped[bool] = mapped_column(default=False)
    # What the department asked for (needs_supplement) or why it refused (rejected).
    missing: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                    onupdate=utcnow)
    # Two staff acting at once cannot both win: the second update finds a changed version.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    case: Mapped[Case] = relationship(back_populates="work_items")

    __mapper_args__ = {"version_id_col": version}


class UploadedPage(db.Model):
    """One page (photo or PDF) of one material of a questionnaire's checklist."""

    __tablename__ = "uploaded_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(ForeignKey("questionnaire_sessions.id"), nullable=False, index=True)
    material_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # image / document
    mimetype: Mapped[str] = mapped_column(String(32), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(80), nullable=False)
    thumbnail_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pages: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    warnings: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class StaffUser(db.Model):
    """A member of staff: a department's clerk in one region, the one-stop window, or a supervisor."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # department / window / supervisor
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    department: Mapped[str | None] = mapped_column(String(32), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Carried in every console session and staff token; bumped on sign-out, a new password or disabling, so
    # every session and token issued before is refused on the server, whoever kept a copy.
    session_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    # The second factor (TOTP, RFC 6238): the secret, encrypted (services/staff_totp.py); the last time step
    # a code was accepted for, so one code signs in once.
    totp_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AuditEvent(db.Model):
    """Append-only: who changed which work item, when, from what to what, and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)  # staff:<id>, applicant:<id>, callback:<dept>
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class StaffAccessLog(db.Model):
    """Every read of a family's personal data by staff: why (``purpose``: services/staff_reads.PURPOSES), what
    (``what``: the case, a print-out, a photo's page id, a search) and which field groups it showed (``shown``:
    domain/need_to_know.GROUPS, or ``photo:<material>``; null on reads logged before it was recorded). Never the
    data itself. Supervisors read it (GET /api/v1/staff/access-log, /console/reads)."""

    __tablename__ = "staff_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False, index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    what: Mapped[str] = mapped_column(String(64), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)  # handle / search / print / photo
    shown: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class WebhookDelivery(db.Model):
    """Outbox of signed pushes to department systems, written in the submission's transaction."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (_partial("ix_webhook_deliveries_unsent", UNSENT, "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")  # pending/delivered/dead
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    work_item: Mapped[WorkItem] = relationship()


class CallbackReceipt(db.Model):
    """A department callback that was applied, by its signature: written in the same commit as the change
    it made, so a callback our outage refused can be sent again, and one applied cannot. Kept while its
    timestamp is inside the clock window (older ones are refused as stale anyway)."""

    __tablename__ = "callback_receipts"
    __table_args__ = (UniqueConstraint("department", "signature"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    signature: Mapped[str] = mapped_column(String(64), nullable=False)  # hex HMAC-SHA256 of timestamp.body
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class Rating(db.Model):
    """好差评: one rating per completed case."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, unique=True)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(EncryptedText("ratings.comment"), nullable=True)  # free text
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class PrivacyEvent(db.Model):
    """Append-only: each time a family used a right over their application (PIPL art. 44-47, 49): an export, a
    correction of the draft, a consent withdrawn, a deletion. No foreign key: the questionnaire it names may be
    gone (deleted by the family or by retention), the record of the deletion stays. ``detail`` names fields
    and counts, never a value typed in."""

    __tablename__ = "privacy_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    applicant_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # null: anonymous (resume secret)
    action: Mapped[str] = mapped_column(String(32), nullable=False)  # export / correct / withdraw_consent / delete
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


@sa_event.listens_for(AuditEvent, "before_update")
@sa_event.listens_for(AuditEvent, "before_delete")
@sa_event.listens_for(PrivacyEvent, "before_update")
@sa_event.listens_for(PrivacyEvent, "before_delete")
def _audit_is_append_only(mapper, connection, target) -> None:
    raise RuntimeError("the audit log is append-only")


class SubscriptionConsent(db.Model):
    """WeChat subscribe-message consents: each tap on 「允许」 allows one message of that template."""

    __tablename__ = "subscription_consents"
    __table_args__ = (UniqueConstraint("applicant_id", "event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    remaining: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Notification(db.Model):
    """Outbox of messages to the family (and supervisors), written with the change that causes them."""

    __tablename__ = "notifications"
    __table_args__ = (_partial("ix_notifications_unsent", UNSENT, "status", "not_before", "id"),
                      _partial("ix_notifications_dead", sa_text("status = 'dead'"), "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False, index=True)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # wechat / sms / host / console
    # A phone number or openid and the text with a name in it: sealed ("" once retention emptied it).
    recipient: Mapped[str] = mapped_column(EncryptedText("notifications.recipient"), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("notifications.payload"), nullable=False)
    # Sent to the provider with every attempt, so a retry after a crash is not a second text.
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)  # pending/sent/dead
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class NotificationAttempt(db.Model):
    """Each try to hand a notification to its channel, and what came back."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), nullable=False, index=True)
    ok: Mapped[bool] = mapped_column(nullable=False)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
