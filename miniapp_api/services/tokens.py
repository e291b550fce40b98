"""Our bearer tokens: signed with SECRET_KEY (itsdangerous), a salt per kind, and an age limit."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import ApiError


def issue(salt: str, payload: dict[str, Any], max_age: int) -> dict[str, Any]:
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)
    return {"token": serializer.dumps(payload), "token_type": "Bearer", "expires_in": max_age}


def read(salt: str, token: str, max_age: int) -> dict[str, Any]:
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        raise ApiError(401, "token_expired", "登录已过期，请重新登录", "the sign-in has expired; sign in again") from None
    except BadSignature:
        raise ApiError(401, "token_invalid", "登录凭证无效，请重新登录", "the token is not valid; sign in again") from None
