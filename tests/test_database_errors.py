"""A database error's log line carries its SQL, but never the values bound to it: those are a family's
phone numbers, names and ID numbers, and logs are kept and read far more widely than the database."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from miniapp_api import create_app
from miniapp_api.extensions import db
from miniapp_api.logs import JsonFormatter
from miniapp_api.models import Applicant

PHONE, NAME_ID = "13912345678", "430102199001011234"


def _logged_failure(app, caplog, view: Callable[[], str], engine_options: dict | None = None) -> str:
    """Serve ``view`` (two INSERTs, the second failing) from an app on the test database; the log line of the
    IntegrityError the unexpected-error handler wrote, as the JSON formatter renders it."""
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
              "DIALOGS_CHECK_ON_START": False}
    if engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options  # a deployment tuning its pool keeps the protection
    other = create_app(config)
    other.add_url_rule("/fail", "fail", view)
    with caplog.at_level(logging.ERROR):
        response = other.test_client().get("/fail")
    with other.app_context():
        db.engine.dispose()
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    records = [r for r in caplog.records if "IntegrityError" in r.getMessage()
               or (r.exc_info and "IntegrityError" in repr(r.exc_info[1]))]
    assert records, "the failing INSERT was logged"
    return JsonFormatter().format(records[0])


@pytest.mark.parametrize("engine_options", [None, {"pool_size": 3}], ids=["default options", "options overridden"])
def test_a_failing_insert_logs_no_personal_values(client, app, caplog, engine_options):
    def insert_twice() -> str:
        db.session.add(Applicant(id="same-id", channel="sms", channel_user_id=PHONE, phone=PHONE))
        db.session.commit()
        db.session.add(Applicant(id="same-id", channel="host:xiangyiban", channel_user_id=NAME_ID, phone=PHONE))
        db.session.commit()  # the primary key is taken: IntegrityError, logged by the unexpected-error handler
        return "unreachable"

    line = _logged_failure(app, caplog, insert_twice, engine_options)
    assert "INSERT INTO applicants" in line  # the statement is there to debug with...
    assert "parameters hidden" in line
    assert PHONE not in line and NAME_ID not in line  # ...the family's values are not


def test_a_unique_violation_logs_no_key_values(client, app, caplog):
    """PostgreSQL's message names the duplicate key's values (``DETAIL: Key (channel, channel_user_id)=(sms,
    139…) already exists``), which ``hide_parameters`` does not touch: the log keeps the statement, the
    SQLSTATE and the constraint, never that line (SQLite's message names only the columns)."""
    def same_phone_twice() -> str:
        db.session.add(Applicant(id="first-id", channel="sms", channel_user_id=PHONE, phone=PHONE))
        db.session.commit()
        db.session.add(Applicant(id="second-id", channel="sms", channel_user_id=PHONE, phone=PHONE))
        db.session.commit()  # (channel, channel_user_id) is unique
        return "unreachable"

    line = _logged_failure(app, caplog, same_phone_twice)
    assert "INSERT INTO applicants" in line and "IntegrityError" in line
    assert PHONE not in line, line
    assert PHONE not in caplog.text  # nor in any other handler's rendering of the record
