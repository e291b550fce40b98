"""The console SMS provider: on a developer's server it prints the sign-in code (so someone can sign in
with `flask run --debug`), and a production app refuses to start with it, so codes never reach a
production log."""

from __future__ import annotations

import logging

import pytest

from miniapp_api import create_app
from tests.peers.sms import AliyunSmsPeer

PHONE = "13900139000"
# Production-like: neither debug nor testing, whatever FLASK_DEBUG or MINIAPP_CONFIG_JSON say.
PRODUCTION = {"TESTING": False, "DEBUG": False, "NOTIFY_SMS_CONSOLE_ALLOWED": False, "DATABASE_URL": "sqlite://",
              "REDIS_URL": None, "DIALOGS_CHECK_ON_START": False, "SECRET_KEY": "production-like-secret-of-at-least-32-bytes"}


def request_code(app) -> None:
    response = app.test_client().post("/api/v1/auth/sms/code", json={"phone": PHONE})
    assert response.status_code == 202, response.get_json()


def test_the_debug_server_prints_the_sign_in_code_with_the_phone_masked(capsys):
    app = create_app({**PRODUCTION, "DEBUG": True, "NOTIFY_SMS_PROVIDER": "console"})  # as `flask run --debug`
    request_code(app)
    code = app.extensions["sms"].sent[-1][2]["code"]
    output = capsys.readouterr().err
    line = next(line for line in output.splitlines() if code in line)
    assert "139****9000" in line and PHONE not in output


@pytest.mark.parametrize("mode", [{"TESTING": True}, {"NOTIFY_SMS_CONSOLE_ALLOWED": True}])
def test_testing_mode_and_the_dev_setting_also_show_the_code(caplog, mode):
    app = create_app({**PRODUCTION, "NOTIFY_SMS_PROVIDER": "console", **mode})
    with caplog.at_level(logging.INFO):
        request_code(app)
    code = app.extensions["sms"].sent[-1][2]["code"]
    assert any(code in r.getMessage() and "139****9000" in r.getMessage() for r in caplog.records)
    assert PHONE not in caplog.text


def test_production_refuses_to_start_with_the_console_provider():
    with pytest.raises(RuntimeError, match="NOTIFY_SMS_PROVIDER"):
        create_app({**PRODUCTION, "NOTIFY_SMS_PROVIDER": "console"})


def test_an_unknown_provider_is_refused_rather_than_falling_back_to_the_console():
    with pytest.raises(RuntimeError, match="NOTIFY_SMS_PROVIDER"):
        create_app({**PRODUCTION, "TESTING": True, "NOTIFY_SMS_PROVIDER": "aliyun "})


def test_production_never_logs_the_code(caplog, capsys):
    peer = AliyunSmsPeer()
    try:
        settings = {"access_key_id": peer.access_key_id, "access_key_secret": peer.access_key_secret,
                    "sign_name": "身后一件事", "endpoint": peer.base, "timeout": 5}
        app = create_app({**PRODUCTION, "NOTIFY_SMS_PROVIDER": "aliyun", "NOTIFY_SMS_SETTINGS": settings})
        with caplog.at_level(logging.DEBUG):
            request_code(app)
        code = [d.params["code"] for d in peer.deliveries if d.phone == PHONE][-1]
    finally:
        peer.stop()
    assert caplog.records  # the request was logged, without the code
    assert code not in caplog.text and code not in capsys.readouterr().err


def test_the_code_is_shown_after_an_in_process_migration_too(client, app, caplog):
    """The session app ran Alembic's upgrade() in this process; its logging set-up must not silence ours."""
    with caplog.at_level(logging.INFO):
        assert client.post("/api/v1/auth/sms/code", json={"phone": PHONE}).status_code == 202
    code = app.extensions["sms"].sent[-1][2]["code"]
    assert any(code in r.getMessage() and r.name == "miniapp_api.sms" for r in caplog.records)
