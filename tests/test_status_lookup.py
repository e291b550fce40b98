"""The public status lookup's per-code limit counts the code, not the way it was typed, and one count
covers the JSON API and the H5 page (issue 13 item 10)."""

from __future__ import annotations

import pytest

from tests.test_h5_pages import family, submitted  # noqa: F401  (fixtures)


def spellings(code: str) -> list[str]:
    """Ways a person may type one code: dash or not, spaces anywhere, lower case, O/I/L for 0/1."""
    compact = code.replace("-", "")
    looks = compact.replace("0", "O").replace("1", "I")
    return [code, compact, f"{compact[:5]} {compact[5:]}", f"{compact[:2]} {compact[2:]}", compact.lower(),
            looks, compact.replace("1", "l"), f" {code.lower()} "]


@pytest.fixture()
def tight_limit(app):
    app.config["STATUS_LOOKUP_LIMITS"] = "3 per minute"
    yield 3
    app.config["STATUS_LOOKUP_LIMITS"] = "10 per minute;60 per hour"


def test_alternating_spellings_across_api_and_h5_share_one_bucket(submitted, app, tight_limit):  # noqa: F811 (fixture)
    browser, code = submitted
    api = app.test_client()
    statuses = []
    for n, spelled in enumerate(spellings(code)[: tight_limit + 2]):
        address = {"REMOTE_ADDR": f"10.0.0.{n + 1}"}  # a new address each time: only the per-code limit can answer
        if n % 2:
            response = browser.post("/h5/status", {"tracking_code": spelled, "phone_tail": "1234"}, environ_base=address)
        else:
            response = api.post("/api/v1/status", json={"tracking_code": spelled, "phone_tail": "1234"},
                                environ_base=address)
        statuses.append(response.status_code)
    assert statuses == [404] * tight_limit + [429, 429], statuses


def test_one_address_is_one_bucket_across_api_and_h5(submitted, app, tight_limit):  # noqa: F811 (fixture)
    browser, code = submitted
    api = app.test_client()
    statuses = []
    for n in range(tight_limit + 1):
        wrong = f"{n:04d}"
        other = f"{code[:-1]}{'Z' if code[-1] != 'Z' else 'Y'}"  # a different (invalid) code each time: per address only
        if n % 2:
            response = browser.post("/h5/status", {"tracking_code": other + str(n), "phone_tail": wrong})
        else:
            response = api.post("/api/v1/status", json={"tracking_code": other + str(n), "phone_tail": wrong})
        statuses.append(response.status_code)
    assert statuses[-1] == 429 and 429 not in statuses[:-1], statuses


def test_the_status_lookup_is_one_sql_statement(submitted, app):  # noqa: F811 (fixture)
    """The public lookup is the most called endpoint after a submission (families check it again and again):
    the case, its work items and the proven number's tail in one statement, whatever the case holds."""
    import sqlalchemy as sa

    from miniapp_api.extensions import db
    from tests.test_h5_pages import PHONE

    _, code = submitted
    client = app.test_client()
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": PHONE[-4:]})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["matters"]) >= 1
    assert len(statements) == 1, statements
