"""Department systems pushing results: HMAC over timestamp and body, a clock window, no replays.

A callback's signature is recorded as received in the same commit as the change it applies: when that
commit does not happen (our database was away: 503), the department's retry of the very same callback
is applied, not refused as a replay; once it has happened, the same callback again is a 409.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..errors import ApiError
from ..extensions import db
from ..models import CallbackReceipt, WorkItem, utcnow
from . import staff
from .webhooks import sign


def _replayed() -> ApiError:
    return ApiError(409, "replayed_callback", "重复的回调已被拒绝", "this callback was already received")


def verify(department: str, timestamp: str | None, signature: str | None, body: bytes) -> None:
    secret = current_app.config["DEPARTMENT_CALLBACK_SECRETS"].get(department)
    if not secret:
        raise ApiError(404, "unknown_department", "未配置该部门的回调", f"no callback configured for {department!r}")
    # ASCII digits only: str.isdigit() also takes "²³", which int() refuses, and int() refuses 4,300 digits or more
    if (not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12
            or not signature.isascii()):  # compare_digest refuses non-ASCII str
        raise ApiError(401, "signature_missing", "缺少签名", "X-Timestamp and X-Signature are required")
    if abs(time.time() - int(timestamp)) > current_app.config["CALLBACK_MAX_SKEW"]:
        raise ApiError(401, "stale_callback", "回调时间戳已过期", "the timestamp is outside the allowed window")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise ApiError(401, "bad_signature", "签名不正确", "the signature does not match")
    if db.session.scalars(db.select(CallbackReceipt.id).filter_by(department=department, signature=signature)).first():
        raise _replayed()


def apply(department: str, signature: str, item: WorkItem, status: str, reason: str | None,
          missing: list[str] | None) -> WorkItem:
    """Move the item as the department reports; the receipt is committed with the move, or not at all."""
    window = dt.timedelta(seconds=2 * current_app.config["CALLBACK_MAX_SKEW"])
    db.session.execute(db.delete(CallbackReceipt).where(CallbackReceipt.received_at < utcnow() - window))
    db.session.add(CallbackReceipt(department=department, signature=signature))
    try:
        return staff.transition(f"callback:{department}", item, status, reason, missing)
    except IntegrityError:  # the same callback, applied by a concurrent request a moment ago
        db.session.rollback()
        raise _replayed() from None
