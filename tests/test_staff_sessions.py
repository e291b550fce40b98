"""Staff sessions end when they should (issue 13, item 6): signing out, a new password or a disabled account
ends every console session and staff token of that person, on the server, whoever kept a copy of the cookie
or the token; a console left idle past STAFF_CONSOLE_IDLE_TIMEOUT, or open past STAFF_CONSOLE_MAX_AGE, asks
for the sign-in again."""

from __future__ import annotations

import time

from miniapp_api.cli import staff_group
from tests.test_console_pages import console_sign_in, csrf_token, make_staff
from tests.test_workflow import PASSWORD

QUEUE = "/console/queue"
WORK = "/api/v1/staff/work-items"


def api_token(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/staff/auth", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/console/sign-in")


def test_a_cookie_captured_before_sign_out_no_longer_opens_the_console(client, app):
    """The attack: copy the session cookie, let the clerk sign out, replay the copy."""
    make_staff(app, "hn_window")
    assert console_sign_in(client, "hn_window").status_code == 302
    assert client.get(QUEUE).status_code == 200
    captured = client.get_cookie("session").value
    assert client.post("/console/sign-out", data={"csrf_token": csrf_token(client)}).status_code == 302
    client.set_cookie("session", captured)
    assert sent_to_sign_in(client.get(QUEUE))
    assert console_sign_in(client, "hn_window").status_code == 302  # signing in again is a new session
    assert client.get(QUEUE).status_code == 200


def test_signing_out_of_the_api_revokes_the_token(client, app):
    make_staff(app, "hn_hrss")
    token = api_token(client, "hn_hrss")
    assert client.get(WORK, headers=token).status_code == 200
    assert client.post("/api/v1/staff/auth/sign-out").status_code == 401  # only a signed-in caller signs out
    signed_out = client.post("/api/v1/staff/auth/sign-out", headers=token)
    assert signed_out.status_code == 204 and signed_out.data == b""
    refused = client.get(WORK, headers=token)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "token_revoked"
    assert client.post("/api/v1/staff/auth/sign-out", headers=token).status_code == 401
    assert client.get(WORK, headers=api_token(client, "hn_hrss")).status_code == 200


def test_signing_out_anywhere_ends_the_console_and_the_tokens(client, app):
    """One generation per person: a sign-out in the console also ends that person's API tokens."""
    make_staff(app, "hn_window")
    token = api_token(client, "hn_window")
    console_sign_in(client, "hn_window")
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    assert client.get(WORK, headers=token).status_code == 401


def test_an_idle_console_asks_for_the_sign_in_again(client, app):
    make_staff(app, "hn_window")
    assert app.config["STAFF_CONSOLE_IDLE_TIMEOUT"] == 30 * 60
    console_sign_in(client, "hn_window")
    with client.session_transaction() as session:
        session["console_seen"] = time.time() - 29 * 60  # the last page was 29 minutes ago
    assert client.get(QUEUE).status_code == 200
    with client.session_transaction() as session:
        assert session["console_seen"] > time.time() - 60  # that visit counts as activity
        session["console_seen"] = time.time() - 31 * 60
    assert sent_to_sign_in(client.get(QUEUE))
    with client.session_transaction() as session:
        assert dict(session) == {}


def test_a_console_session_has_an_absolute_lifetime(client, app):
    make_staff(app, "hn_window")
    console_sign_in(client, "hn_window")
    with client.session_transaction() as session:
        session["console_since"] = time.time() - app.config["STAFF_CONSOLE_MAX_AGE"] - 1  # busy all day long
    assert sent_to_sign_in(client.get(QUEUE))


def test_a_new_password_or_a_disabled_account_ends_every_session(client, app):
    make_staff(app, "hn_window")
    runner = app.test_cli_runner()
    token = api_token(client, "hn_window")
    console_sign_in(client, "hn_window")
    result = runner.invoke(staff_group, ["password", "hn_window", "--password", "a-new-password-2"])
    assert result.exit_code == 0, result.output
    assert sent_to_sign_in(client.get(QUEUE))
    assert client.get(WORK, headers=token).status_code == 401
    assert console_sign_in(client, "hn_window").status_code == 401  # the old password is gone
    assert console_sign_in(client, "hn_window", "a-new-password-2").status_code == 302
    token = {"Authorization": "Bearer " + client.post("/api/v1/staff/auth", json={
        "username": "hn_window", "password": "a-new-password-2"}).get_json()["token"]}
    result = runner.invoke(staff_group, ["disable", "hn_window"])
    assert result.exit_code == 0, result.output
    assert sent_to_sign_in(client.get(QUEUE))
    assert client.get(WORK, headers=token).status_code == 401
    assert console_sign_in(client, "hn_window", "a-new-password-2").status_code == 401
    assert runner.invoke(staff_group, ["disable", "nobody"]).exit_code != 0


def test_an_idle_api_token_asks_for_the_sign_in_again(client, app):
    """A staff bearer token left unused past STAFF_TOKEN_IDLE_TIMEOUT is refused (等保: 登录连接超时自动退出),
    as the console is; each use keeps it alive. The last use is kept in the store (Redis), so every server
    agrees and a copy of the token cannot outlive the clerk's break."""
    make_staff(app, "hn_hrss")
    assert app.config["STAFF_TOKEN_IDLE_TIMEOUT"] == 30 * 60
    store = app.extensions["store"]
    before = set(store.client.scan_iter("staff-token-seen:*"))
    token = api_token(client, "hn_hrss")
    [key] = set(store.client.scan_iter("staff-token-seen:*")) - before  # the token's last use, kept in Redis
    assert client.get(WORK, headers=token).status_code == 200
    assert 29 * 60 < store.client.ttl(key) <= 30 * 60  # a use renews the whole idle window
    store.delete(key)  # what 30 idle minutes do: the entry expires
    refused = client.get(WORK, headers=token)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "token_idle"
    assert "重新登录" in refused.get_json()["error"]["message"]
    assert client.get(WORK, headers=api_token(client, "hn_hrss")).status_code == 200


def test_signing_out_forgets_the_tokens_last_use(client, app):
    make_staff(app, "hn_hrss")
    token = api_token(client, "hn_hrss")
    store = app.extensions["store"]
    before = set(store.client.scan_iter("staff-token-seen:*"))
    assert client.post("/api/v1/staff/auth/sign-out", headers=token).status_code == 204
    assert len(before - set(store.client.scan_iter("staff-token-seen:*"))) == 1
