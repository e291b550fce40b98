"""Where the family's H5 journey is kept: on the server, in the app's store (Redis when REDIS_URL is set), under a
random id that is all the session cookie carries of it.

Flask's cookie is signed, not encrypted: whoever holds it (a shared phone, a proxy log, a backup) could read a
questionnaire's resume secret, our bearer token and the phone being signed in. So those live here, for
H5_SESSION_LIFETIME seconds after the last visit (sliding); signing in moves them to a new id (a planted id is
worth nothing), and signing out deletes them: the old cookie then opens nothing. The store's key is a hash of
the id, so a look at Redis does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import redis
from flask import current_app, g, session

from ..errors import ApiError

COOKIE_KEY = "h5_sid"
PREFIX = "h5-session:"


class Journey(dict[str, Any]):
    """This request's journey values (``h5_q``, ``h5_s``, ``h5_token``, ``h5_phone``, ``h5_case``)."""

    def __init__(self, sid: str | None, data: dict[str, Any], unavailable: bool = False):
        super().__init__(data)
        self.sid, self.unavailable = sid, unavailable


def _key(sid: str) -> str:
    return PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def journey() -> Journey:
    """The journey of this browser, read once per request."""
    if "h5_journey" not in g:
        sid = session.get(COOKIE_KEY)
        try:
            raw = current_app.extensions["store"].get(_key(sid)) if isinstance(sid, str) and sid else None
        except redis.RedisError:  # the page says so (the error page then renders with an empty journey)
            current_app.logger.warning("redis unavailable: the H5 journey cannot be read")
            g.h5_journey = Journey(None, {}, unavailable=True)
            raise ApiError(503, "temporarily_unavailable", "服务暂时繁忙，请稍后再试。如需帮助请拨打12345。",
                           "The service is busy; please try again later, or call 12345.") from None
        g.h5_journey = Journey(sid if raw else None, json.loads(raw) if raw else {})
    return g.h5_journey


def save() -> None:
    """After the request: keep the journey for another H5_SESSION_LIFETIME (only if there is something to keep)."""
    current = g.get("h5_journey")
    if current is None or current.unavailable or (not current and current.sid is None):
        return
    if current.sid is None:
        current.sid = secrets.token_urlsafe(32)
    if session.get(COOKIE_KEY) != current.sid:
        session[COOKIE_KEY] = current.sid
    session.permanent = True  # the family can come back on this phone, within the lifetime
    try:
        current_app.extensions["store"].set(_key(current.sid), json.dumps(current),
                                            current_app.config["H5_SESSION_LIFETIME"])
    except redis.RedisError:  # gone mid-request: the page is already answered; the next one says so
        current_app.logger.warning("redis unavailable: the H5 journey was not saved")


def renew() -> None:
    """A new id for the same journey (after signing in)."""
    current = journey()
    if current.sid is not None:
        current_app.extensions["store"].delete(_key(current.sid))
        current.sid = None


def end() -> None:
    """Sign out: the server forgets the journey, the cookie forgets the id."""
    current = journey()
    if current.sid is not None:
        current_app.extensions["store"].delete(_key(current.sid))
    current.clear()
    current.sid = None
    session.pop(COOKIE_KEY, None)
