"""Reading who is calling: the applicant's bearer token, when there is one."""

from __future__ import annotations

from flask import request

from ..errors import ApiError
from ..models import Applicant
from ..services.auth import TokenHolder, applicant_from_token, holder_from_token


def _bearer_token(required: bool) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        if required:
            raise ApiError(401, "sign_in_required", "请先登录", "sign in first")
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "token_invalid", "登录凭证无效，请重新登录", "use 'Authorization: Bearer <token>'")
    return token.strip()


def bearer_applicant(required: bool = True) -> Applicant | None:
    token = _bearer_token(required)
    return applicant_from_token(token) if token else None


def bearer_holder() -> TokenHolder | None:
    """The token's applicant id, its row unread: what the questionnaire endpoints compare with the owner."""
    token = _bearer_token(required=False)
    return holder_from_token(token) if token else None
