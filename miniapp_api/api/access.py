"""Reading who is calling: the applicant's bearer token, when there is one."""

from __future__ import annotations

from flask import request

from ..errors import ApiError
from ..models import Applicant
from ..services.auth import applicant_from_token


def bearer_applicant(required: bool = True) -> Applicant | None:
    header = request.headers.get("Authorization", "")
    if not header:
        if required:
            raise ApiError(401, "sign_in_required", "请先登录", "sign in first")
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "token_invalid", "登录凭证无效，请重新登录", "use 'Authorization: Bearer <token>'")
    return applicant_from_token(token.strip())
