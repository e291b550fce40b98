"""The staff second factor: TOTP (RFC 6238), the 6-digit codes of any authenticator app, with pyotp.

等保 level 3 (GB/T 22239-2019, 8.1.4.1 身份鉴别) asks that staff be identified by two or more kinds of
authentication combined, one of them cryptographic: the password (something known) plus a code computed
with a secret key only the clerk's phone holds (something had). So STAFF_REQUIRE_TOTP is on by default:
without enrolment a clerk cannot sign in. The secret is made at enrolment (`flask staff totp NAME`, shown
once, as an otpauth URI and as text), stored encrypted (Fernet, with a key derived by HKDF from
STAFF_TOTP_KEY, or SECRET_KEY when that is unset), and never logged. A code is good for its 30-second step
and one step either side (a phone's clock drifts), and once only: the step it matched is stored, and a code
of that step or an earlier one is refused (RFC 6238 5.2), so a code seen over a shoulder is already spent.
The codes are HMAC-SHA1, what every authenticator app computes; a 商用密码 assessment (密评) may ask for
SM3-based dynamic tokens (GM/T 0021) instead, which would replace this module and nothing around it.
"""

from __future__ import annotations

import base64
import hmac
import time

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from ..extensions import db
from ..models import StaffUser

ISSUER = "一件事一次办"
DRIFT_STEPS = 1


def _fernet() -> Fernet:
    secret = current_app.config.get("STAFF_TOTP_KEY") or current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"staff-totp-secret").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def enrol(user: StaffUser) -> str:
    """A new secret for this person (replacing any old one: a lost phone); returns the otpauth URI to show once."""
    secret = pyotp.random_base32()
    user.totp_secret = _fernet().encrypt(secret.encode()).decode()
    user.totp_last_step = None
    db.session.commit()
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def verify(user: StaffUser, code: str) -> bool:
    """Whether the code is this person's for now (give or take a step), and not used before; marks it used."""
    try:
        secret = _fernet().decrypt(user.totp_secret.encode()).decode() if user.totp_secret else None
    except InvalidToken:
        current_app.logger.error("staff %s: the TOTP secret cannot be decrypted (STAFF_TOTP_KEY or SECRET_KEY "
                                 "changed?); enrol again with flask staff totp", user.id)
        return False
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return _spend(user, step)
    return False


def _spend(user: StaffUser, step: int) -> bool:
    """Claim the step in SQL: two sign-ins racing with one code cannot both win."""
    claimed = db.session.execute(
        db.update(StaffUser)
        .where(StaffUser.id == user.id, db.or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
        .values(totp_last_step=step)).rowcount
    db.session.commit()
    return claimed == 1
