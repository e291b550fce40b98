"""The H5 session (issue 13 item 17): the cookie carries no resume secret, bearer token or phone (it is
signed, not encrypted: anyone holding it could read them), the journey lives on the server for
H5_SESSION_LIFETIME after the last visit, and signing out ends it (the old cookie opens nothing)."""

from __future__ import annotations

import datetime as dt
import json

import redis
from flask.sessions import SecureCookieSessionInterface

from tests.conftest import REDIS_URL
from tests.test_faults import own_redis  # noqa: F401  (fixture)
from tests.test_h5_pages import PHONE, Family, family, submitted, text  # noqa: F401  (fixtures)


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def decoded(app, cookie: str) -> dict:
    """What anyone holding the cookie can read (no key needed to decode, only to forge)."""
    return SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)


def test_the_cookie_holds_no_secret_token_or_phone(submitted, app):  # noqa: F811 (fixture)
    browser, code = submitted
    raw = cookie_of(browser.client)
    data = decoded(app, raw)
    dumped = json.dumps(data)
    assert not {"h5_s", "h5_token", "h5_phone", "h5_q"} & set(data), data
    assert PHONE not in dumped and PHONE[-4:] not in dumped
    assert "." not in "".join(str(v) for k, v in data.items() if k not in ("csrf_token", "_flashes"))  # no token
    # The journey is on the server: the case and its form still open with this cookie.
    assert browser.get(f"/h5/done/{code}").status_code == 200


def test_the_cookie_lasts_days_not_a_month_and_slides(family, app):  # noqa: F811 (fixture)
    family.start()
    cookie = family.client.get_cookie("session")
    lifetime = app.config["H5_SESSION_LIFETIME"]
    assert lifetime <= 7 * 24 * 3600
    left = cookie.expires - dt.datetime.now(dt.UTC).timestamp() if isinstance(cookie.expires, (int, float)) else None
    if left is None:
        left = (cookie.expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert lifetime - 120 < left <= lifetime + 5
    store = redis.Redis.from_url(REDIS_URL)
    keys = [k for k in store.scan_iter("h5-session:*")]
    assert len(keys) == 1 and lifetime - 120 < store.ttl(keys[0]) <= lifetime
    store.expire(keys[0], 60)
    family.get("/h5/q")  # a visit renews it
    assert store.ttl(keys[0]) > lifetime - 120


def test_sign_out_ends_the_session_and_the_old_cookie_opens_nothing(submitted, app):  # noqa: F811 (fixture)
    browser, code = submitted
    old = cookie_of(browser.client)
    page = text(browser.get(f"/h5/done/{code}"))
    assert 'action="/h5/signout"' in page  # the sign-out button is on the pages
    out = browser.post("/h5/signout")
    assert out.status_code == 302 and out.location.endswith("/h5/")
    assert browser.get(f"/h5/done/{code}").status_code == 302  # sign in again
    replay = app.test_client()
    replay.set_cookie("session", old)
    again = replay.get(f"/h5/done/{code}")
    assert again.status_code == 302 and "/h5/signin" in again.location
    assert replay.get("/h5/checklist").status_code == 302  # the questionnaire is gone from it too
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter("h5-session:*")) == []


def test_signing_in_gives_a_new_session_id(family, app):  # noqa: F811 (fixture)
    family.start()
    family.answer_all()
    before = decoded(app, cookie_of(family.client)).get("h5_sid")
    family.sign_in()
    after = decoded(app, cookie_of(family.client)).get("h5_sid")
    assert before and after and before != after  # a planted id is worth nothing after sign-in


def test_with_the_store_down_the_h5_pages_say_so_kindly(client, app, own_redis):  # noqa: F811 (fixture)
    """The journey now lives in Redis: with Redis gone a page is a friendly 503, never a bare 500."""
    from miniapp_api import create_app

    faulty = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SECRET_KEY": "test-secret", "REDIS_URL": own_redis.url, "DIALOGS_CHECK_ON_START": False})
    browser = Family(faulty.test_client(), faulty)
    browser.start()  # a journey kept in that Redis
    own_redis.stop()
    for response in (browser.get("/h5/"), browser.get("/h5/checklist")):
        assert response.status_code == 503 and "稍后再试" in text(response) and "12345" in text(response)
