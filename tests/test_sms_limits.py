"""SMS pumping (issue 13 item 8): one address asking codes for 30 numbers, one number flooded from many
addresses, everyone at once. Caps per address, per number and in all answer 429 with Retry-After; after a few
texts an address must answer a challenge (the built-in proof of work, or a configured hook)."""

from __future__ import annotations

import re

import pytest
import redis

from miniapp_api.challenge import solve
from tests.conftest import REDIS_URL
from tests.test_h5_pages import PHONE, family, text  # noqa: F401  (fixture)


def numbers(n: int, prefix: str = "1390000") -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def ask(client, phone: str, address: str = "198.51.100.7", **extra):
    return client.post("/api/v1/auth/sms/code", json={"phone": phone, **extra}, environ_base={"REMOTE_ADDR": address})


def answer(client) -> str:
    challenge = client.get("/api/v1/auth/sms/challenge").get_json()["challenge"]
    assert challenge["kind"] == "pow"
    return f"{challenge['token']}:{solve(challenge['token'], challenge['difficulty'])}"


def texts_to(app, phones: list[str]) -> int:
    return sum(1 for to, _, _ in app.extensions["sms"].sent if to in phones)


@pytest.fixture(autouse=True)
def no_earlier_texts(app):
    app.extensions["sms"].sent.clear()  # the console provider's log lives as long as the test session

@pytest.fixture()
def easy_challenge(app):
    """A proof of work a test solves in milliseconds (the default costs a phone a second or two)."""
    app.config["SMS_CHALLENGE_DIFFICULTY"], before = 8, app.config["SMS_CHALLENGE_DIFFICULTY"]
    app.extensions["sms_challenge"].difficulty = 8
    yield
    app.config["SMS_CHALLENGE_DIFFICULTY"] = app.extensions["sms_challenge"].difficulty = before


def test_thirty_numbers_from_one_address_do_not_all_get_a_code(client, app, easy_challenge):
    phones = numbers(30)
    statuses = [ask(client, phone).status_code for phone in phones]
    after = app.config["OTP_CHALLENGE_AFTER"]
    assert statuses == [202] * after + [429] * (30 - after)
    refused = ask(client, phones[-1]).get_json()["error"]
    assert refused["code"] == "otp_challenge_required" and "安全验证" in refused["message"]
    assert texts_to(app, phones) == after
    # Answering the challenge each time still stops at the address's cap (5 per 10 minutes).
    more = [ask(client, phone, challenge=answer(client)) for phone in numbers(10, "1370000")]
    cap = int(app.config["OTP_LIMITS_PER_ADDRESS"].split()[0])
    assert [r.status_code for r in more] == [202] * (cap - after) + [429] * (10 - cap + after)
    limited = more[-1]
    assert limited.get_json()["error"]["code"] == "otp_address_limit"
    assert 0 < int(limited.headers["Retry-After"]) <= 600 and "分钟" in limited.get_json()["error"]["message"]
    assert "try again in" in limited.get_json()["error"]["message_en"]
    # Another address is not affected.
    assert ask(client, "13600000001", address="203.0.113.9").status_code == 202


def test_a_challenge_answer_buys_one_text_and_must_be_right(client, app, easy_challenge):
    for phone in numbers(app.config["OTP_CHALLENGE_AFTER"]):
        assert ask(client, phone).status_code == 202
    solved = answer(client)
    assert ask(client, "13500000001", challenge=solved).status_code == 202
    reused = ask(client, "13500000002", challenge=solved)
    assert reused.status_code == 403 and reused.get_json()["error"]["code"] == "otp_challenge_failed"
    token, _, nonce = answer(client).rpartition(":")
    wrong = next(str(n) for n in range(1000) if str(n) != nonce and not _works(token, str(n)))
    for bad in (f"{token}:{wrong}", "junk", f"{token.replace('.8.', '.1.')}:{nonce}", ""):
        response = ask(client, "13500000003", challenge=bad)
        assert response.status_code in (403, 429) and response.get_json()["error"]["code"].startswith("otp_challenge")


def _works(token: str, nonce: str) -> bool:
    from miniapp_api.challenge import solves

    return solves(token, nonce, 8)


def test_one_number_from_many_addresses_gets_at_most_its_daily_cap(client, app):
    victim, store = "13900009999", redis.Redis.from_url(REDIS_URL)
    statuses = []
    for n in range(14):
        store.delete(f"otp:cooldown:{victim}")  # a minute passes between tries...
        if n % 5 == 0:
            for key in store.scan_iter("LIMITS:LIMITER/otp/phone/*/1/hour"):  # ...and sometimes hours
                store.delete(key)
        statuses.append(ask(client, victim, address=f"10.1.{n}.1").status_code)
    daily = app.config["OTP_MAX_PER_PHONE_PER_DAY"]
    assert statuses == [202] * daily + [429] * (14 - daily), statuses
    assert texts_to(app, [victim]) == daily
    store.delete(f"otp:cooldown:{victim}")
    refused = ask(client, victim, address="10.2.0.1")
    assert refused.get_json()["error"]["code"] == "otp_too_many_requests"
    assert 3600 < int(refused.headers["Retry-After"]) <= 86400 and "小时" in refused.get_json()["error"]["message"]


def test_the_global_cap_stops_everyone(client, app):
    app.config["OTP_LIMITS_GLOBAL"], before = "4 per minute", app.config["OTP_LIMITS_GLOBAL"]
    try:
        statuses = [ask(client, phone, address=f"10.3.{n}.1").status_code for n, phone in enumerate(numbers(6))]
        assert statuses == [202] * 4 + [429] * 2
        busy = ask(client, "13600000002", address="10.4.0.1")
        assert busy.get_json()["error"]["code"] == "otp_busy" and 0 < int(busy.headers["Retry-After"]) <= 60
    finally:
        app.config["OTP_LIMITS_GLOBAL"] = before


class SecretWordChallenge:
    """A stand-in for a captcha service's adapter (SMS_CHALLENGE = "tests.test_sms_limits:SecretWordChallenge")."""

    def __init__(self, app):
        self.asked = 0

    def issue(self):
        self.asked += 1
        return {"kind": "captcha", "app_id": "test-captcha"}

    def verify(self, answer, address):
        return answer == f"ticket-for-{address}"


def test_a_captcha_service_plugs_in_as_the_challenge(tmp_path, app):
    from miniapp_api import create_app

    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": REDIS_URL, "DIALOGS_CHECK_ON_START": False, "OTP_CHALLENGE_AFTER": 0,
                        "SMS_CHALLENGE": "tests.test_sms_limits:SecretWordChallenge"})
    redis.Redis.from_url(REDIS_URL).flushdb()
    client = other.test_client()
    assert client.get("/api/v1/auth/sms/challenge").get_json()["challenge"] == {"kind": "captcha", "app_id": "test-captcha"}
    assert ask(client, "13700000001").get_json()["error"]["code"] == "otp_challenge_required"
    assert ask(client, "13700000001", challenge="ticket-for-10.0.0.1").status_code == 403
    assert ask(client, "13700000001", challenge="ticket-for-198.51.100.7").status_code == 202


def test_the_h5_sign_in_page_asks_for_the_challenge_and_shows_the_waits(family, app, easy_challenge):  # noqa: F811
    family.get("/h5/signin")
    for phone in numbers(app.config["OTP_CHALLENGE_AFTER"]):
        family.get("/h5/signin?change=1")
        assert family.post("/h5/signin/code", {"phone": phone}).status_code == 302
    family.get("/h5/signin?change=1")
    asked = family.post("/h5/signin/code", {"phone": PHONE})
    page = text(asked)
    assert asked.status_code == 429 and "安全验证" in page and texts_to(app, [PHONE]) == 0
    assert 'src="/static/h5/challenge.js"' in page and "<noscript>" in page  # the page's script solves it
    token = re.search(r'data-token="([^"]+)"', page).group(1)
    bits = int(re.search(r'data-difficulty="(\d+)"', page).group(1))
    solved = family.post("/h5/signin/code", {"phone": PHONE, "challenge": f"{token}:{solve(token, bits)}"})
    assert solved.status_code == 302 and texts_to(app, [PHONE]) == 1
    # Past the address's cap (5 per 10 minutes): the page says how long to wait, in its language, with Retry-After.
    family.get("/h5/signin?change=1&lang=en")
    assert re.search(r'data-token="', text(family.get("/h5/signin"))) is None  # no challenge before one is needed
    assert family.post("/h5/signin/code", {"phone": "13600000008", "challenge": answer(family.client)}).status_code == 302
    family.get("/h5/signin?change=1")
    limited = family.post("/h5/signin/code", {"phone": "13600000009", "challenge": answer(family.client)})
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 600
    assert "from this network; try again in" in text(limited) and "minutes" in text(limited)
