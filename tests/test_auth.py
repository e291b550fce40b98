"""Sign-in over each channel: WeChat (loopback server speaking its protocol), a host app's signed
assertion, and SMS one-time codes kept in the real Redis."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import redis

from miniapp_api import create_app
from tests.conftest import HOST_SECRET, REDIS_URL


def wechat_login(client, peer, openid="openid-1", phone=None):
    code = f"code-{openid}-{time.monotonic_ns()}"
    peer.codes[code] = openid
    body = {"code": code}
    if phone:
        peer.phone_codes["p" + code] = phone
        body["phone_code"] = "p" + code
    return client.post("/api/v1/auth/wechat", json=body)


def bearer(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_wechat_code_gives_our_token_and_keeps_openid_server_side(client, wechat_peer):
    response = wechat_login(client, wechat_peer, "openid-abc")
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert "openid-abc" not in response.get_data(as_text=True)
    me = client.get("/api/v1/me", headers=bearer(response)).get_json()
    assert me["channel"] == "wechat" and me["phone"] is None
    again = client.get("/api/v1/me", headers=bearer(wechat_login(client, wechat_peer, "openid-abc"))).get_json()
    assert again["id"] == me["id"]  # the same WeChat user is the same applicant


def test_wechat_code_used_twice_is_refused(client, wechat_peer):
    wechat_peer.codes["once"] = "openid-once"
    assert client.post("/api/v1/auth/wechat", json={"code": "once"}).status_code == 200
    response = client.post("/api/v1/auth/wechat", json={"code": "once"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "wechat_code_invalid"


def test_wechat_phone_number_and_shared_access_token_in_redis(client, wechat_peer):
    before = wechat_peer.tokens_issued
    me = client.get("/api/v1/me", headers=bearer(wechat_login(client, wechat_peer, "o-p", "13800138000")))
    assert me.get_json()["phone"] == "138****8000"
    assert redis.Redis.from_url(REDIS_URL).get("wechat:wx-test-app_access_token") is not None
    # A second worker (another app on the same Redis) reuses the cached access token.
    other = create_app({"TESTING": True, "REDIS_URL": REDIS_URL, "WECHAT_APPID": wechat_peer.appid,
                        "WECHAT_SECRET": wechat_peer.secret, "WECHAT_API_BASE": wechat_peer.base,
                        "SQLALCHEMY_DATABASE_URI": client.application.config["SQLALCHEMY_DATABASE_URI"]})
    bearer(wechat_login(other.test_client(), wechat_peer, "o-q", "13900139000"))
    assert wechat_peer.tokens_issued == before + 1


def test_wechat_down_is_a_clear_502(client, wechat_peer):
    wechat_peer.codes["c-down"] = "o-down"
    wechat_peer.fail_next = 1
    response = client.post("/api/v1/auth/wechat", json={"code": "c-down"})
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "wechat_unavailable"


def host_assertion(sub="u-1", secret=HOST_SECRET, iss="xiangyiban", ttl=300, **claims):
    now = int(time.time())
    payload = {"iss": iss, "sub": sub, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm="HS256")


def test_host_app_signed_assertion(client):
    response = client.post("/api/v1/auth/host", json={"channel": "xiangyiban",
                                                      "assertion": host_assertion(phone="13700137000")})
    me = client.get("/api/v1/me", headers=bearer(response)).get_json()
    assert me["channel"] == "host" and me["phone"] == "137****7000"


def test_a_host_assertion_works_once(client, host_peer):
    """A replayed assertion (a leaked link, a proxy log) is refused: its jti is remembered until it expires."""
    assertion = host_assertion(sub="u-replay")
    first = client.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": assertion})
    assert first.status_code == 200
    again = client.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": assertion})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "assertion_replayed"
    signed = host_peer.assertion("u-replay-rsa")
    assert client.post("/api/v1/auth/host", json={"channel": host_peer.channel, "assertion": signed}).status_code == 200
    again = client.post("/api/v1/auth/host", json={"channel": host_peer.channel, "assertion": signed})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "assertion_replayed"
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"host-jti:xiangyiban:{jti}")
    assert 0 < ttl <= 300 + 30  # kept until the assertion expires (with the leeway), no longer


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"ttl": 24 * 3600}, "assertion_too_long_lived"),  # a day-long assertion is a reusable credential
        ({"ttl": 301}, "assertion_too_long_lived"),
        ({"jti": None}, "assertion_invalid"),  # no jti: replay could not be refused
        ({"iat": None}, "assertion_invalid"),
        ({"exp": None}, "assertion_invalid"),
        ({"iat": int(time.time()) + 3600}, "assertion_invalid"),  # issued in the future
        ({"jti": ""}, "assertion_invalid"),
    ],
)
def test_host_assertions_must_be_short_lived_and_single_use(client, claims, code):
    assertion = host_assertion(**claims)
    response = client.post("/api/v1/auth/host", json={"channel": "xiangyiban", "assertion": assertion})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == code


def test_an_http_key_set_url_is_refused_at_start_outside_tests(tmp_path):
    settings = {"DIALOGS_CHECK_ON_START": False, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                "SECRET_KEY": "a-real-secret-for-this-check-only", "TESTING": False,
                "NOTIFY_SMS_CONSOLE_ALLOWED": True}
    with pytest.raises(RuntimeError, match="https"):
        create_app({**settings, "HOST_CHANNELS": {"app": {"jwks_url": "http://keys.example/jwks.json"}}})
    with pytest.raises(RuntimeError, match="secret or a jwks_url"):
        create_app({**settings, "HOST_CHANNELS": {"app": {"name": "no key"}}})
    with pytest.raises(RuntimeError, match="32"):
        create_app({**settings, "HOST_CHANNELS": {"app": {"secret": "short"}}})
    assert create_app({**settings, "HOST_CHANNELS": {"app": {"jwks_url": "https://keys.example/jwks.json"}}})


@pytest.mark.parametrize(
    ("channel", "assertion", "status", "code"),
    [
        ("xiangyiban", host_assertion(secret="forged-secret-also-at-least-32-bytes-long"), 401, "assertion_invalid"),
        ("xiangyiban", host_assertion(ttl=-120), 401, "assertion_expired"),
        ("xiangyiban", host_assertion(iss="other-app"), 401, "assertion_invalid"),
        ("xiangyiban", "not-a-jwt", 401, "assertion_invalid"),
        ("nosuchapp", host_assertion(), 404, "unknown_channel"),
    ],
)
def test_host_app_bad_assertions_are_refused(client, channel, assertion, status, code):
    response = client.post("/api/v1/auth/host", json={"channel": channel, "assertion": assertion})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def sms_code(app, phone: str) -> str:
    sent = [params["code"] for to, template, params in app.extensions["sms"].sent if to == phone]
    return sent[-1]


def test_sms_code_sign_in(client, app):
    response = client.post("/api/v1/auth/sms/code", json={"phone": "+86 138-0013-8001"})
    assert response.status_code == 202 and response.get_json()["sent_to"] == "138****8001"
    code = sms_code(app, "13800138001")
    response = client.post("/api/v1/auth/sms/verify", json={"phone": "13800138001", "code": code})
    assert client.get("/api/v1/me", headers=bearer(response)).get_json()["channel"] == "sms"
    # A code works once.
    again = client.post("/api/v1/auth/sms/verify", json={"phone": "13800138001", "code": code})
    assert again.get_json()["error"]["code"] == "otp_expired"


def test_sms_resend_is_throttled_and_codes_live_in_redis(client):
    assert client.post("/api/v1/auth/sms/code", json={"phone": "13800138002"}).status_code == 202
    response = client.post("/api/v1/auth/sms/code", json={"phone": "13800138002"})
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "otp_resend_too_soon"
    store = redis.Redis.from_url(REDIS_URL)
    assert 0 < store.ttl("otp:code:13800138002") <= 300
    assert store.get("otp:code:13800138002") not in (None, b"")


def test_sms_wrong_codes_are_limited(client, app):
    client.post("/api/v1/auth/sms/code", json={"phone": "13800138003"})
    right = sms_code(app, "13800138003")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        response = client.post("/api/v1/auth/sms/verify", json={"phone": "13800138003", "code": wrong})
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "otp_wrong"
    response = client.post("/api/v1/auth/sms/verify", json={"phone": "13800138003", "code": right})
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "otp_too_many_attempts"


@pytest.mark.parametrize("body", [{"phone": "12345"}, {"phone": "010-12345678"}, {"phone": ""}, {}])
def test_sms_bad_phone_numbers_are_422(client, body):
    response = client.post("/api/v1/auth/sms/code", json=body)
    assert response.status_code == 422
    assert "phone" in response.get_json()["error"]["fields"]


def test_tokens_are_checked(client, app, wechat_peer):
    headers = bearer(wechat_login(client, wechat_peer, "o-exp"))
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "sign_in_required"
    tampered = {"Authorization": headers["Authorization"][:-2] + "xx"}
    assert client.get("/api/v1/me", headers=tampered).get_json()["error"]["code"] == "token_invalid"
    app.config["TOKEN_MAX_AGE"] = -1
    try:
        assert client.get("/api/v1/me", headers=headers).get_json()["error"]["code"] == "token_expired"
    finally:
        app.config["TOKEN_MAX_AGE"] = 2 * 60 * 60


def test_host_app_with_public_keys_fetched_over_http(client, host_peer):
    response = client.post("/api/v1/auth/host", json={"channel": host_peer.channel,
                                                      "assertion": host_peer.assertion("u-rsa")})
    assert client.get("/api/v1/me", headers=bearer(response)).get_json()["channel"] == "host"
    assert host_peer.jwks_requests >= 1
    # A token signed by someone else's key with the same kid is refused.
    from cryptography.hazmat.primitives.asymmetric import rsa
    forged = jwt.encode({"iss": host_peer.channel, "sub": "x", "iat": int(time.time()), "exp": int(time.time()) + 60},
                        rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                        headers={"kid": host_peer.kid})
    response = client.post("/api/v1/auth/host", json={"channel": host_peer.channel, "assertion": forged})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "assertion_invalid"
    # HS256 with the public key as secret (algorithm confusion) is refused too.
    response = client.post("/api/v1/auth/host", json={"channel": host_peer.channel,
                                                      "assertion": host_assertion(iss=host_peer.channel)})
    assert response.status_code == 401


def test_host_app_keys_unreachable_is_a_clear_502(client, app, host_peer):
    from tests.test_server_smoke import free_port

    app.config["HOST_CHANNELS"]["offline-app"] = {"jwks_url": f"http://127.0.0.1:{free_port()}/jwks.json"}
    try:
        now = int(time.time())
        assertion = jwt.encode({"iss": "offline-app", "sub": "u", "iat": now, "exp": now + 60},
                               host_peer.private_key, algorithm="RS256", headers={"kid": "k"})
        response = client.post("/api/v1/auth/host", json={"channel": "offline-app", "assertion": assertion})
        assert response.status_code == 502 and response.get_json()["error"]["code"] == "host_unavailable"
    finally:
        del app.config["HOST_CHANNELS"]["offline-app"]
