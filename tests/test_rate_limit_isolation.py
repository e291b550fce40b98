"""flask-limiter keeps its storage on the one Limiter object, not per app: a test that builds an app of its own
(another Redis, or none) re-points the session app's rate limits there, where flushing the test Redis no
longer clears them, and a later test is refused with 429 for lookups it never made. The two tests run in
this order (pytest keeps a file's order)."""

from __future__ import annotations

from miniapp_api import create_app

LOOKUP = {"tracking_code": "ABCDE-FGHJK", "phone_tail": "8000"}


def test_a_test_that_builds_its_own_app_and_uses_up_the_lookup_limit(client, app):
    create_app({"TESTING": True, "REDIS_URL": None, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    answers = [client.post("/api/v1/status", json=LOOKUP).status_code for _ in range(11)]
    assert answers[-1] == 429


def test_the_next_test_starts_with_fresh_limits(client):
    assert client.post("/api/v1/status", json=LOOKUP).status_code != 429
