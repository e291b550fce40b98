"""How many sign-in and verification texts we send before someone must wait (SMS pumping: every text costs
money, paid per text to the provider, and one number can be flooded with them).

Caps per client address (``OTP_LIMITS_PER_ADDRESS``), per number (``OTP_MAX_PER_HOUR`` and
``OTP_MAX_PER_PHONE_PER_DAY``) and in all (``OTP_LIMITS_GLOBAL``), counted with the ``limits`` library (the one
under Flask-Limiter) in this app's Redis when REDIS_URL is set, so every server counts together; and after
``OTP_CHALLENGE_AFTER`` texts from one address in an hour, each further one needs the answer to a challenge
(``challenge.py``), because one address may be a whole carrier-grade NAT of families. A refusal is a 429 with
Retry-After and says how long to wait.

Known trade-off: the per-number and global caps can be used up on purpose (a victim then waits, or everyone
does); the challenge makes that cost the attacker, and a WeChat or host-app sign-in still works.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ..errors import ApiError

SENT_FROM = "otp:sent-from:{}"  # texts sent for this address in the last hour (store key)


def make_counter(redis_url: str | None) -> FixedWindowRateLimiter:
    """This app's counts (``app.extensions["otp_limits"]``): Redis when REDIS_URL is set, else in-process."""
    return FixedWindowRateLimiter(storage_from_string(redis_url or "memory://"))


def challenge_if_due(address: str, answer: str | None) -> None:
    """Once the address has had its few texts this hour, each further one needs the challenge answered."""
    sent = int(current_app.extensions["store"].get(SENT_FROM.format(address)) or 0)
    if sent >= current_app.config["OTP_CHALLENGE_AFTER"]:
        _challenge(address, answer)


def before_sending(phone: str, address: str | None) -> None:
    """Count this text against each cap; refuse (429 with Retry-After) when one is reached.

    ``address`` None: a signed-in window clerk sending a read-back code (no per-address caps)."""
    config = current_app.config
    if address is not None:
        _count(config["OTP_LIMITS_PER_ADDRESS"], ("address", address), "otp_address_limit",
               "此网络请求验证码的次数过多", "too many codes were requested from this network")
    per_phone = f"{config['OTP_MAX_PER_HOUR']} per hour;{config['OTP_MAX_PER_PHONE_PER_DAY']} per day"
    _count(per_phone, ("phone", phone), "otp_too_many_requests",
           "这个手机号请求验证码过于频繁", "too many codes were requested for this number")
    _count(config["OTP_LIMITS_GLOBAL"], ("all",), "otp_busy", "短信发送繁忙", "text messages are busy right now")


def sent(address: str | None) -> None:
    """A text went out for this address (counts towards asking it for the challenge)."""
    if address is not None:
        current_app.extensions["store"].incr(SENT_FROM.format(address), 3600)


def _challenge(address: str, answer: str | None) -> None:
    hook = current_app.extensions["sms_challenge"]
    if not answer:
        raise ApiError(429, "otp_challenge_required", "请先完成安全验证，再获取短信验证码",
                       "answer the challenge (GET /api/v1/auth/sms/challenge) and send its answer as `challenge`",
                       {"challenge": ["required"]})
    if not hook.verify(answer, address):
        raise ApiError(403, "otp_challenge_failed", "安全验证未通过或已过期，请重新验证",
                       "the challenge answer is wrong, used or expired; get a new one", {"challenge": ["failed"]})


def _count(limits_text: str, identifiers: tuple[str, ...], code: str, zh: str, en: str) -> None:
    """One more against each limit of ``limits_text``; the first one over it refuses with its wait."""
    strategy = current_app.extensions["otp_limits"]
    for item in parse_many(limits_text):
        if not strategy.hit(item, "otp", *identifiers):
            wait = _wait(strategy, item, identifiers)
            zh_wait, en_wait = _words(wait)
            raise ApiError(429, code, f"{zh}，请{zh_wait}后再试", f"{en}; try again in {en_wait}",
                           {"retry_after": [str(wait)]}, headers={"Retry-After": str(wait)})


def _wait(strategy, item: RateLimitItem, identifiers: tuple[str, ...]) -> int:
    reset = strategy.get_window_stats(item, "otp", *identifiers).reset_time
    return max(1, math.ceil(reset - time.time()))


def _words(seconds: int) -> tuple[str, str]:
    if seconds < 90:
        return f"{seconds}秒", f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes}分钟", f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return f"{hours}小时", f"{hours} hours"
