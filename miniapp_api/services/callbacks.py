"""Department systems pushing results: HMAC over timestamp and body, a clock window, no replays."""

from __future__ import annotations

import hmac
import time

from flask import current_app

from ..errors import ApiError
from .webhooks import sign


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
    window = 2 * current_app.config["CALLBACK_MAX_SKEW"]
    if not current_app.extensions["store"].add(f"callback:{department}:{signature}", "1", window):
        raise ApiError(409, "replayed_callback", "重复的回调已被拒绝", "this callback was already received")
