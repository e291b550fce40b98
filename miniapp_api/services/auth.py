"""Who the applicant is: WeChat mini-program sign-in, a host app's signed assertion, or an SMS
one-time code. Each ends in our own signed, expiring bearer token; WeChat's openid and session key
never leave the server."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from flask import current_app
from sqlalchemy.exc import IntegrityError
from wechatpy.exceptions import WeChatClientException

from .. import blind_index
from ..domain import text
from ..domain.identity import IdentityError, mobile
from ..encrypted import index_key
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant
from ..sms_providers import SmsError
from . import phones, sms_limits, tokens

TOKEN_SALT = "applicant-token"
WECHAT_INVALID_CODE = (40029, 40163, 40226)  # invalid, already used, high-risk user


def issue_token(applicant: Applicant) -> dict[str, Any]:
    return tokens.issue(TOKEN_SALT, {"a": applicant.id}, current_app.config["TOKEN_MAX_AGE"])


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid bearer token names, without reading their row: all that checking a questionnaire's owner
    needs (applicants are never deleted, so a signed, unexpired token's id is one)."""

    id: str


def holder_from_token(token: str) -> TokenHolder:
    data = tokens.read(TOKEN_SALT, token, current_app.config["TOKEN_MAX_AGE"])
    if not isinstance(data.get("a"), str) or not data["a"]:
        raise ApiError(401, "token_invalid", "登录凭证无效，请重新登录", "the token is not valid; sign in again")
    return TokenHolder(data["a"])


def applicant_from_token(token: str) -> Applicant:
    data = tokens.read(TOKEN_SALT, token, current_app.config["TOKEN_MAX_AGE"])
    applicant = db.session.get(Applicant, data.get("a", ""))
    if applicant is None:
        raise ApiError(401, "token_invalid", "登录凭证无效，请重新登录", "the token is not valid; sign in again")
    return applicant


def find_or_create(channel: str, user_id: str, phone: str | None = None, phone_verified: bool = True) -> Applicant:
    """The applicant for a channel identity; safe when two sign-ins race.

    ``phone`` comes from the sign-in itself (SMS code, WeChat getPhoneNumber, the host's signed claim) and is
    recorded as proven unless ``phone_verified`` is false (a number a clerk typed)."""
    query = db.select(Applicant).filter_by(channel=channel, channel_user_id=user_id)
    applicant = db.session.scalars(query).first()
    if applicant is None:
        applicant = Applicant(id=secrets.token_hex(16), channel=channel, channel_user_id=user_id, phone=phone)
        db.session.add(applicant)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            applicant = db.session.scalars(query).one()
    if phone and applicant.phone != phone:
        applicant.phone = phone
        db.session.commit()
    if phone and phone_verified:
        phones.record(applicant, phone, channel.split(":")[0])
    return applicant


# --- WeChat mini-program ------------------------------------------------------------------------

def sign_in_wechat(code: str, phone_code: str | None = None) -> Applicant:
    client = current_app.extensions["wechat"]
    if client is None:
        raise ApiError(404, "wechat_not_configured", "此处暂不支持微信登录", "WeChat sign-in is not available here")
    result = _wechat_call(client.wxa.code_to_session, code)
    openid = result.get("openid")
    if not openid:
        raise ApiError(502, "wechat_unavailable", "微信服务暂时不可用，请稍后再试", "WeChat did not answer as expected")
    phone = None
    if phone_code:
        info = _wechat_call(client.wxa.get_phone_number, phone_code).get("phone_info") or {}
        phone = info.get("purePhoneNumber")
    return find_or_create("wechat", openid, phone)


def _wechat_call(method, code: str) -> dict[str, Any]:
    try:
        return method(code)
    except WeChatClientException as exc:
        if exc.errcode in WECHAT_INVALID_CODE:
            raise ApiError(401, "wechat_code_invalid", "微信登录凭证无效或已使用，请重新进入小程序",
                           "the WeChat code is invalid or already used") from None
        raise ApiError(502, "wechat_unavailable", "微信服务暂时不可用，请稍后再试",
                       "WeChat is unavailable, please try again") from None
    except requests.RequestException:
        raise ApiError(502, "wechat_unavailable", "微信服务暂时不可用，请稍后再试",
                       "WeChat is unavailable, please try again") from None


# --- Host apps (湘易办-style) ----------------------------------------------------------------------

HOST_LEEWAY = 30  # seconds of clock difference allowed with a host app


def check_host_channels(channels: dict[str, Any], testing: bool) -> None:
    """Refuse to start with a host channel that could be forged: no key, a short shared secret, or key set
    fetched over plain HTTP (anyone on the path could hand us their own keys). Tests' loopback peers use HTTP."""
    for name, settings in (channels or {}).items():
        url, secret = settings.get("jwks_url"), settings.get("secret")
        if not url and not secret:
            raise RuntimeError(f"HOST_CHANNELS[{name!r}] needs a secret or a jwks_url")
        if url and not testing and not str(url).startswith("https://"):
            raise RuntimeError(f"HOST_CHANNELS[{name!r}] jwks_url must be an https:// URL, not {url!r}")
        if secret and not url and not testing and len(str(secret).encode()) < 32:
            raise RuntimeError(f"HOST_CHANNELS[{name!r}] secret must be at least 32 bytes (HS256)")


def sign_in_host(channel: str, assertion: str) -> Applicant:
    """The host app signs a short-lived, single-use JWT: iss = channel, sub = its user id, jti unique.

    Per channel, either a shared ``secret`` (HS256) or the host's public keys at ``jwks_url``
    (RS256/ES256, fetched over HTTPS and cached by PyJWT's PyJWKClient) are configured. An assertion may
    live at most HOST_ASSERTION_MAX_AGE seconds (``exp - iat``) and is accepted once: its jti is kept in
    the store until it expires, so a leaked or logged assertion cannot be played again.
    """
    settings = current_app.config["HOST_CHANNELS"].get(channel)
    if not settings:
        raise ApiError(404, "unknown_channel", "不支持该应用渠道", f"unknown host channel {channel!r}")
    try:
        if settings.get("jwks_url"):
            key = _jwks_client(settings["jwks_url"]).get_signing_key_from_jwt(assertion).key
            algorithms = ["RS256", "ES256"]
        else:
            key, algorithms = settings["secret"], ["HS256"]
        claims = jwt.decode(assertion, key, algorithms=algorithms, issuer=channel,
                            options={"require": ["exp", "iat", "sub", "iss", "jti"]}, leeway=HOST_LEEWAY)
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "assertion_expired", "登录信息已过期，请从应用重新进入",
                       "the host assertion has expired") from None
    except jwt.PyJWKClientConnectionError:
        raise ApiError(502, "host_unavailable", "应用服务暂时不可用，请稍后再试",
                       "the host app's keys could not be fetched") from None
    except (jwt.InvalidTokenError, jwt.PyJWKClientError):  # bad signature, claims, or unknown key id
        raise ApiError(401, "assertion_invalid", "登录信息无效", "the host assertion is not valid") from None
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= 128 or text.problem(user_id) is not None:
        # channel_user_id is a String(128) column; PostgreSQL text cannot hold NUL
        raise ApiError(401, "assertion_invalid", "登录信息无效", "the host assertion's sub is not a valid user id")
    _accept_once(channel, claims)
    phone = claims.get("phone")
    if phone is not None:
        try:
            phone = mobile(str(phone))
        except IdentityError:
            phone = None
    return find_or_create(f"host:{channel}", user_id, phone)


def _accept_once(channel: str, claims: dict[str, Any]) -> None:
    """Short-lived (exp - iat within HOST_ASSERTION_MAX_AGE) and never seen before (jti)."""
    jti = claims["jti"]
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise ApiError(401, "assertion_invalid", "登录信息无效", "the host assertion's jti is not valid")
    if claims["exp"] - claims["iat"] > current_app.config["HOST_ASSERTION_MAX_AGE"]:
        raise ApiError(401, "assertion_too_long_lived", "登录信息有效期过长，请从应用重新进入",
                       "the host assertion lives too long (exp - iat over the limit)")
    ttl = max(1, int(claims["exp"] - time.time()) + HOST_LEEWAY + 1)  # until it would be refused as expired anyway
    if not current_app.extensions["store"].add(f"host-jti:{channel}:{jti}", "1", ttl):
        raise ApiError(401, "assertion_replayed", "登录信息已使用过，请从应用重新进入",
                       "this host assertion was already used")


_JWKS_CLIENTS: dict[str, jwt.PyJWKClient] = {}


def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached key-set client per host (keys are refetched after their lifespan)."""
    if url not in _JWKS_CLIENTS:
        _JWKS_CLIENTS[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
    return _JWKS_CLIENTS[url]


# --- SMS one-time codes ----------------------------------------------------------------------------

def _code_hash(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_sms_code(raw_phone: str, scope: str = "", address: str | None = None, challenge: str | None = None) -> str:
    """Send a 6-digit code, within the caps of services/sms_limits.py. Returns the phone.

    ``scope`` keeps codes for different uses apart: "" signs in, ``verify:<applicant>:`` proves a number for
    that applicant (a sign-in code never verifies a number for someone else's account, nor the reverse).
    ``address`` is the client's (None: a signed-in window clerk); ``challenge`` the answer to the challenge."""
    phone = _phone(raw_phone)
    config, store = current_app.config, current_app.extensions["store"]
    if address is not None and not store.get(f"otp:cooldown:{phone}"):  # a resend too soon is not worth a challenge
        sms_limits.challenge_if_due(address, challenge)
    if not store.add(f"otp:cooldown:{phone}", "1", config["OTP_RESEND_INTERVAL"]):
        wait = str(config["OTP_RESEND_INTERVAL"])
        raise ApiError(429, "otp_resend_too_soon", "验证码已发送，请稍后再试", "a code was sent just now; wait a minute",
                       {"retry_after": [wait]}, headers={"Retry-After": wait})
    sms_limits.before_sending(phone, address)
    code = f"{secrets.randbelow(10**6):06d}"
    store.set(f"otp:code:{scope}{phone}", _code_hash(phone, scope + code), config["OTP_TTL"])
    store.delete(f"otp:attempts:{scope}{phone}")
    template = config["NOTIFY_SMS_TEMPLATES"].get("otp", "otp")
    try:
        current_app.extensions["sms"].send(phone, template, {"code": code}, f"otp-{secrets.token_hex(8)}")
    except SmsError as exc:
        store.delete(f"otp:cooldown:{phone}")  # nothing was sent: let them try again at once
        store.delete(f"otp:code:{scope}{phone}")
        current_app.logger.warning("otp sms failed: %s", exc.code)
        raise ApiError(503, "sms_unavailable", "短信暂时发送失败，请稍后再试",
                       "the text message could not be sent; try again shortly") from None
    sms_limits.sent(address)
    return phone


def verify_sms_code(raw_phone: str, code: str) -> Applicant:
    phone = _check_code(raw_phone, code, "")
    # Found again by the number's blind index: the applicants table never holds it in clear.
    return find_or_create("sms", blind_index.phone_digest(index_key(), phone), phone)


def verification_scope(applicant: Applicant) -> str:
    return f"verify:{applicant.id}:"


def verify_phone(applicant: Applicant, raw_phone: str, code: str, how: str = "code") -> str:
    """The applicant proves another number (the form's) with a code sent to it; returns the number."""
    phone = _check_code(raw_phone, code, verification_scope(applicant))
    phones.record(applicant, phone, how)
    return phone


def _check_code(raw_phone: str, code: str, scope: str) -> str:
    """The code sent to this phone for this scope, once, within OTP_MAX_ATTEMPTS tries; returns the phone."""
    phone = _phone(raw_phone)
    config, store = current_app.config, current_app.extensions["store"]
    if store.incr(f"otp:attempts:{scope}{phone}", config["OTP_TTL"]) > config["OTP_MAX_ATTEMPTS"]:
        store.delete(f"otp:code:{scope}{phone}")
        raise ApiError(429, "otp_too_many_attempts", "验证码错误次数过多，请重新获取",
                       "too many wrong codes; request a new one")
    expected = store.get(f"otp:code:{scope}{phone}")
    if expected is None:
        raise ApiError(401, "otp_expired", "验证码已失效，请重新获取", "the code has expired; request a new one")
    if not hmac.compare_digest(expected, _code_hash(phone, scope + code)):
        raise ApiError(401, "otp_wrong", "验证码不正确", "the code is wrong", {"code": ["验证码不正确 / wrong code"]})
    store.delete(f"otp:code:{scope}{phone}")
    store.delete(f"otp:attempts:{scope}{phone}")
    return phone


def _phone(raw: str) -> str:
    try:
        return mobile(raw)
    except IdentityError as exc:
        raise ApiError(422, exc.code, exc.message, exc.message_en, {"phone": [f"{exc.message} / {exc.message_en}"]}) from None
