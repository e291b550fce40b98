"""A challenge answered before we pay for a text, once an address has asked for a few (SMS pumping).

``SMS_CHALLENGE`` picks the hook: ``"pow"`` (the built-in proof of work below), ``"none"``, or
``"package.module:factory"``: a callable taking the app and returning an object with ``issue()`` and
``verify(answer, address)``. In production that is a captcha service's adapter (Tencent Cloud 天御 captcha
``DescribeCaptchaResult``, Alibaba Cloud captcha ``VerifyIntelligentCaptcha``): ``issue`` returns what the page
needs to show the captcha (app id, scene), ``verify`` sends the ticket the widget gave the page to the service.

The built-in proof of work costs a client CPU time, not a person's attention, so it is a speed bump for a
script, not proof of a human; it keeps the service testable with no outside account and the H5 page and
mini-program can answer it: find a ``nonce`` so that SHA-256 of ``"<token>:<nonce>"`` starts with
``difficulty`` zero bits (about 2**difficulty hashes; 18 bits is a second or two on a phone). The token is
signed with SECRET_KEY and expires; each solved token buys one text (it is remembered until it expires).
The answer is sent as ``"<token>:<nonce>"``.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import secrets
import time
from typing import Any, Protocol


class Challenge(Protocol):
    def issue(self) -> dict[str, Any]: ...
    def verify(self, answer: str, address: str) -> bool: ...


class NoChallenge:
    """``SMS_CHALLENGE = "none"``: only the caps protect the SMS budget."""

    def issue(self) -> dict[str, Any]:
        return {"kind": "none"}

    def verify(self, answer: str, address: str) -> bool:
        return True


class ProofOfWork:
    def __init__(self, secret: str, store, difficulty: int = 18, ttl: int = 300):
        self.key, self.store, self.difficulty, self.ttl = secret.encode(), store, difficulty, ttl

    def _sign(self, body: str) -> str:
        return hmac.new(self.key, f"sms-challenge:{body}".encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> dict[str, Any]:
        body = f"{int(time.time()) + self.ttl}.{self.difficulty}.{secrets.token_urlsafe(12)}"
        return {"kind": "pow", "algorithm": "sha256", "token": f"{body}.{self._sign(body)}",
                "difficulty": self.difficulty, "expires_in": self.ttl,
                "answer": "<token>:<nonce> where sha256('<token>:<nonce>') starts with `difficulty` zero bits"}

    def verify(self, answer: str, address: str) -> bool:
        token, _, nonce = (answer or "").rpartition(":")
        parts = token.split(".")
        if len(parts) != 4 or not nonce or len(nonce) > 64:
            return False
        expires, bits, salt, signature = parts
        body = f"{expires}.{bits}.{salt}"
        if not hmac.compare_digest(signature, self._sign(body)) or not expires.isdigit() or not bits.isdigit():
            return False
        left = int(expires) - int(time.time())
        if left <= 0 or int(bits) < self.difficulty:
            return False
        if not solves(token, nonce, int(bits)):
            return False
        return self.store.add(f"otp:challenge-used:{salt}", "1", left + 1)  # one text per solved token


def solves(token: str, nonce: str, bits: int) -> bool:
    digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
    return int.from_bytes(digest, "big") >> (256 - bits) == 0


def solve(token: str, bits: int) -> str:
    """What a client does (tests, scripts that are allowed to): the first nonce that works."""
    n = 0
    while not solves(token, str(n), bits):
        n += 1
    return str(n)


def make_challenge(app) -> Challenge:
    """The configured hook (``SMS_CHALLENGE``)."""
    choice = app.config.get("SMS_CHALLENGE") or "pow"
    if choice == "none":
        return NoChallenge()
    if choice == "pow":
        return ProofOfWork(app.config["SECRET_KEY"], app.extensions["store"], int(app.config["SMS_CHALLENGE_DIFFICULTY"]),
                           int(app.config["SMS_CHALLENGE_TTL"]))
    module, _, name = choice.partition(":")
    if not name:
        raise RuntimeError(f"SMS_CHALLENGE must be 'pow', 'none' or 'package.module:factory', not {choice!r}")
    return getattr(importlib.import_module(module), name)(app)
