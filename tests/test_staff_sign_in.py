"""Staff sign-in against guessing (issue 13, item 7): wrong passwords hold up the address they come from (a
short, growing wait per address and account; a cap per address across usernames, so spraying stops), never
the clerk at another desk; an unknown username costs the same password-hash check as a known one; and a
second factor (TOTP, any authenticator app) is asked for once enrolled, and of everyone with
STAFF_REQUIRE_TOTP (on by default; the tests turn it off in conftest unless they test it)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from miniapp_api.cli import staff_group
from miniapp_api.extensions import db
from miniapp_api.services import staff as staff_service
from tests.test_console_pages import console_sign_in, make_staff, text_of
from tests.test_workflow import PASSWORD

ATTACKER = "203.0.113.7"
DESK = "198.51.100.20"


def attempt(client, username: str, password: str, address: str = ATTACKER, **extra):
    return client.post("/api/v1/staff/auth", json={"username": username, "password": password, **extra},
                       environ_overrides={"REMOTE_ADDR": address})


def code_of(response) -> str:
    return response.get_json()["error"]["code"]


def enrol(app, username: str) -> pyotp.TOTP:
    """`flask staff totp NAME`: the otpauth URI, printed once, read the way an authenticator app reads its QR."""
    result = app.test_cli_runner().invoke(staff_group, ["totp", username])
    assert result.exit_code == 0, result.output
    return pyotp.parse_uri(re.search(r"otpauth://\S+", result.output).group(0))


@pytest.fixture()
def settings(app):
    """Change settings for one test; put them back after."""
    saved = dict(app.config)
    yield app.config
    app.config.clear()
    app.config.update(saved)


# --- Guessing ---------------------------------------------------------------------------------------------

def test_spraying_many_usernames_from_one_address_is_refused_after_a_few(client, app):
    make_staff(app, "hn_window", "hn_police")
    names = ["hn_window", "hn_police", *(f"clerk{i:02d}" for i in range(28))]
    answers = [attempt(client, name, "Spring2026!") for name in names]
    limit = app.config["STAFF_SIGN_IN_FAILURES_PER_ADDRESS"]
    assert limit <= 10
    assert [r.status_code for r in answers[:limit]] == [401] * limit
    assert {r.status_code for r in answers[limit:]} == {429}
    blocked = answers[-1]
    assert code_of(blocked) == "too_many_attempts" and 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert attempt(client, "hn_police", PASSWORD).status_code == 429  # this address waits, even with the password
    assert attempt(client, "hn_police", PASSWORD, DESK).status_code == 200  # the clerks elsewhere do not


def test_an_attackers_wrong_passwords_do_not_lock_the_clerk_out(client, app):
    make_staff(app, "hn_police")
    answers = [attempt(client, "hn_police", f"guess number {i}") for i in range(15)]
    assert {r.status_code for r in answers} == {401, 429}
    assert attempt(client, "hn_police", PASSWORD).status_code == 429
    assert attempt(client, "hn_police", PASSWORD, DESK).status_code == 200


def test_the_wait_per_address_and_account_is_short_and_grows(client, app):
    make_staff(app, "hn_police")
    free = app.config["STAFF_SIGN_IN_FREE_FAILURES"]
    for _ in range(free + 1):
        assert attempt(client, "hn_police", "wrong password").status_code == 401
    waiting = attempt(client, "hn_police", PASSWORD)
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "1"
    time.sleep(1.1)
    assert attempt(client, "hn_police", "wrong password").status_code == 401
    assert attempt(client, "hn_police", PASSWORD).headers["Retry-After"] == "2"
    time.sleep(2.1)
    assert attempt(client, "hn_police", PASSWORD).status_code == 200
    assert attempt(client, "hn_police", "wrong password").status_code == 401  # a sign-in starts the count again
    assert attempt(client, "hn_police", PASSWORD).status_code == 200


def test_guessing_one_account_from_many_addresses_stops_but_not_at_the_clerks_desk(client, app, settings):
    make_staff(app, "hn_police")
    settings["STAFF_SIGN_IN_FAILURES_PER_ACCOUNT"] = 5
    assert attempt(client, "hn_police", PASSWORD, DESK).status_code == 200  # the clerk's usual desk
    for i in range(5):
        assert attempt(client, "hn_police", "wrong password", f"203.0.113.{i + 10}").status_code == 401
    assert attempt(client, "hn_police", "wrong password", "203.0.113.99").status_code == 429
    assert attempt(client, "hn_police", PASSWORD, "192.0.2.50").status_code == 429  # a new address waits
    assert attempt(client, "hn_police", PASSWORD, DESK).status_code == 200


def test_an_unknown_username_costs_the_same_password_check(client, app, monkeypatch):
    """Timing by work, not by clock: one real password-hash check per attempt, known user or not, with the
    same method and cost (bench/staff_sign_in.py measures the times)."""
    make_staff(app, "hn_police")
    with app.app_context():
        staff_service.disable(staff_service.by_username("hn_police"))
    make_staff(app, "hn_hrss")
    checked: list[str] = []
    real = staff_service.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(staff_service, "check_password_hash", counting)
    unknown = attempt(client, "no_such_clerk", "wrong password", "192.0.2.1")
    known = attempt(client, "hn_hrss", "wrong password", "192.0.2.2")
    disabled = attempt(client, "hn_police", PASSWORD, "192.0.2.3")
    assert unknown.status_code == known.status_code == disabled.status_code == 401
    assert unknown.get_json() == known.get_json() == disabled.get_json()
    assert len(checked) == 3
    methods = {h.split("$", 1)[0] for h in checked}  # e.g. "scrypt:32768:8:1": method and cost
    assert len(methods) == 1


# --- The second factor ------------------------------------------------------------------------------------

def test_an_enrolled_clerk_signs_in_with_the_code_once(client, app, caplog):
    make_staff(app, "hn_hrss")
    totp = enrol(app, "hn_hrss")
    with app.app_context():
        stored = staff_service.by_username("hn_hrss").totp_secret
    assert stored and totp.secret not in stored and totp.secret not in caplog.text  # encrypted, never logged
    missing = attempt(client, "hn_hrss", PASSWORD)
    assert missing.status_code == 401 and code_of(missing) == "totp_required"
    wrong = next(c for c in ("000000", "111111") if c != totp.now())
    assert code_of(attempt(client, "hn_hrss", PASSWORD, totp_code=wrong)) == "totp_invalid"
    assert code_of(attempt(client, "hn_hrss", "wrong password", totp_code=totp.now())) == "bad_credentials"
    assert code_of(attempt(client, "hn_hrss", PASSWORD, totp_code="12345")) == "validation_error"
    now = totp.now()
    assert attempt(client, "hn_hrss", PASSWORD, totp_code=now).status_code == 200
    replay = attempt(client, "hn_hrss", PASSWORD, totp_code=now, address=DESK)  # one code signs in once
    assert replay.status_code == 401 and code_of(replay) == "totp_invalid"
    ahead = totp.at(time.time() + 30)  # a phone's clock a little fast: the next step is accepted
    assert attempt(client, "hn_hrss", PASSWORD, totp_code=ahead, address=DESK).status_code == 200


def test_wrong_codes_count_like_wrong_passwords(client, app):
    make_staff(app, "hn_hrss")
    totp = enrol(app, "hn_hrss")
    wrong = next(c for c in ("000000", "111111") if c != totp.now())
    answers = [attempt(client, "hn_hrss", PASSWORD, totp_code=wrong) for _ in range(8)]
    assert answers[-1].status_code == 429
    assert attempt(client, "hn_hrss", PASSWORD, totp_code=totp.now(), address=DESK).status_code == 200


def test_the_console_asks_for_the_code(client, app):
    make_staff(app, "hn_window")
    totp = enrol(app, "hn_window")
    page = text_of(client.get("/console/sign-in"))
    assert 'name="totp_code"' in page and 'autocomplete="one-time-code"' in page
    refused = console_sign_in(client, "hn_window")
    assert refused.status_code == 401 and "动态验证码" in text_of(refused)
    assert client.get("/console/queue").status_code == 302
    assert console_sign_in(client, "hn_window", totp_code=totp.now()).status_code == 302
    assert client.get("/console/queue").status_code == 200


def test_every_clerk_needs_a_second_factor_when_required(client, app, settings):
    from miniapp_api import create_app

    production = create_app({"TESTING": False, "DATABASE_URL": "sqlite://", "DIALOGS_CHECK_ON_START": False,
                             "NOTIFY_SMS_CONSOLE_ALLOWED": True, "SECRET_KEY": "totp-test-secret-of-at-least-32-bytes!"})
    assert production.config["STAFF_REQUIRE_TOTP"] is True
    make_staff(app, "hn_window", "hn_hrss")
    settings["STAFF_REQUIRE_TOTP"] = True
    unenrolled = attempt(client, "hn_window", PASSWORD)
    assert unenrolled.status_code == 403 and code_of(unenrolled) == "totp_not_enrolled"
    assert code_of(attempt(client, "hn_window", "wrong password")) == "bad_credentials"  # nothing told before
    assert 'required' in re.search(r"<input[^>]*name=\"totp_code\"[^>]*>", text_of(client.get("/console/sign-in"))).group(0)
    totp = enrol(app, "hn_hrss")
    assert attempt(client, "hn_hrss", PASSWORD, totp_code=totp.now()).status_code == 200


def test_enrolling_again_replaces_the_secret_and_signs_out(client, app):
    make_staff(app, "hn_hrss")
    old = enrol(app, "hn_hrss")
    token = attempt(client, "hn_hrss", PASSWORD, totp_code=old.now()).get_json()["token"]
    new = enrol(app, "hn_hrss")  # a lost phone
    assert new.secret != old.secret
    assert client.get("/api/v1/staff/work-items", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert code_of(attempt(client, "hn_hrss", PASSWORD, totp_code=old.at(time.time() + 30), address=DESK)) == "totp_invalid"
    with app.app_context():
        db.session.remove()
    assert app.test_cli_runner().invoke(staff_group, ["totp", "nobody"]).exit_code != 0
