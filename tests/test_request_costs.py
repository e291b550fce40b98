"""What the family's busiest requests cost the database (issue 17 item 6): statements per answer, and an
upload's row lock that does not write a new version of the questionnaire's row (PostgreSQL MVCC: each UPDATE
leaves a dead copy of a row that now carries an encrypted form; thousands of uploads bloated the table)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from miniapp_api.extensions import db
from tests.test_applications import questionnaire, sign_in
from tests.test_uploads import photo, upload


@contextmanager
def statements(app):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_an_answer_costs_four_statements(client, app, wechat_peer):
    """Read the questionnaire, check it is not submitted, write the answer with the last activity in the
    same UPDATE, read it back for the reply; the bearer token alone says who asks (no applicant row)."""
    family = sign_in(client, app, wechat_peer, "wechat")
    state = client.post("/api/v1/questionnaires", json={"region": "hunan"}, headers=family).get_json()
    question = state["current"]
    value = question["options"][0]["value"]
    with statements(app) as seen:
        response = client.post(f"/api/v1/questionnaires/{state['id']}/answers",
                               json={"question": question["id"], "value": value}, headers=family)
    assert response.status_code == 200, response.get_json()
    assert len(seen) <= 4, seen
    assert sum(s.lstrip().upper().startswith("UPDATE") for s in seen) == 1, seen
    assert not any("FROM applicants" in s for s in seen), seen
    with statements(app) as seen:  # the same answer again (a double tap): nothing to write
        again = client.post(f"/api/v1/questionnaires/{state['id']}/answers",
                            json={"question": question["id"], "value": value}, headers=family)
    assert again.status_code == 200
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in seen), seen


def test_an_upload_locks_the_questionnaire_without_writing_a_new_row_version(client, app, wechat_peer):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's row versions (xmin): run with DATABASE_URL=postgresql://… (CI's second run)")
    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family)
    image = photo()
    assert upload(client, family, sid, "applicant_id_card", image).status_code == 201

    def row_version() -> str:
        with app.app_context():
            return db.session.execute(sa.text("SELECT xmin::text FROM questionnaire_sessions WHERE id = :id"),
                                      {"id": sid}).scalar_one()

    before = row_version()
    for material in ("deceased_id_card", "household_register"):
        assert upload(client, family, sid, material, image).status_code == 201
    assert row_version() == before  # locked with FOR UPDATE, last activity already fresh: no new version
