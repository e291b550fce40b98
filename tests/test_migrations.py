"""The rules-versions migration up and down, on SQLite and (when DATABASE_URL is PostgreSQL, as in CI's second
run) on a PostgreSQL database of its own: what was stored before it survives both ways, and every existing
questionnaire and case has no version yet (null)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from miniapp_api import _normalise_db_url, create_app
from miniapp_api.extensions import db

BEFORE = "a7c3e9d1b2f4"
RULES_VERSIONS = "d5b8f3a61c27"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("PostgreSQL: run with DATABASE_URL=postgresql://… (CI's second run does)")
    server = sa.make_url(_normalise_db_url(url))
    name = f"{server.database}_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns(table)}


def _rows(table: str) -> list[dict]:
    meta = sa.MetaData()
    with db.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.Table(table, meta, autoload_with=connection).select())]


def _insert(table: str, **values) -> None:
    meta = sa.MetaData()
    with db.engine.begin() as connection:
        connection.execute(sa.Table(table, meta, autoload_with=connection).insert().values(**values))


def test_the_rules_versions_migration_up_and_down(empty_database):
    """「（二）坚持动态调整。各县（市、区）要依据市级“公民身后一件事”服务事项设定情况和本级实际，进一步梳理本级涉及身后相关服务事项，
    明确本级“公民身后一件事”事项范畴，及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — the rules change, so a
    deployment with questionnaires and cases from before takes the table of versions without losing any."""
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database, "SECRET_KEY": "test-secret",
                      "DIALOGS_CHECK_ON_START": False, "REDIS_URL": None})
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    with app.app_context():
        try:
            upgrade(revision=BEFORE)
            assert "rules_versions" not in sa.inspect(db.engine).get_table_names()
            _insert("applicants", id="a" * 32, channel="sms", channel_user_id="13800138000", phone="13800138000",
                    created_at=now)
            _insert("questionnaire_sessions", id="q" * 32, region="hunan", resume_secret_hash="0" * 64,
                    answers={"relationship": "child"}, owner_id="a" * 32, cursor_review=False, form_draft={},
                    created_at=now, updated_at=now, version=1)
            _insert("cases", tracking_code="7KQ2M9XH4P", region="hunan", applicant_id="a" * 32,
                    questionnaire_id="q" * 32, idempotency_key="key-00000001", answers={"relationship": "child"},
                    facts={"relationship": "child"}, checklist={"matters": []}, form={}, commitment_accepted_at=now,
                    submitted_at=now)

            upgrade(revision=RULES_VERSIONS)
            assert {"rules_version", "rules_notice"} <= _columns("questionnaire_sessions")
            assert "rules_version" in _columns("cases")
            assert {"id", "region", "version", "content", "first_seen", "loaded_at"} == _columns("rules_versions")
            unique = sa.inspect(db.engine).get_unique_constraints("rules_versions")
            assert [sorted(u["column_names"]) for u in unique] == [["region", "version"]]
            session, = _rows("questionnaire_sessions")
            case, = _rows("cases")
            assert (session["rules_version"], session["rules_notice"], case["rules_version"]) == (None, None, None)
            assert session["answers"] == {"relationship": "child"} and case["checklist"] == {"matters": []}
            _insert("rules_versions", region="hunan", version="0123456789ab", content={"region": "hunan"},
                    first_seen=now, loaded_at=now)
            with pytest.raises(sa.exc.IntegrityError):
                _insert("rules_versions", region="hunan", version="0123456789ab", content={}, first_seen=now,
                        loaded_at=now)

            downgrade(revision=BEFORE)
            assert "rules_versions" not in sa.inspect(db.engine).get_table_names()
            assert not {"rules_version", "rules_notice"} & _columns("questionnaire_sessions")
            assert "rules_version" not in _columns("cases")
            assert [r["answers"] for r in _rows("questionnaire_sessions")] == [{"relationship": "child"}]
            assert [r["tracking_code"] for r in _rows("cases")] == ["7KQ2M9XH4P"]

            upgrade()
            assert "rules_versions" in sa.inspect(db.engine).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()


CONSENT = "b8e4c2f7a915"
READ_PURPOSES = "c9f2a6d4e813"


def test_the_staff_reads_migration_gives_old_reads_a_purpose(empty_database):
    """Reads logged before the purpose was recorded get the one their `what` says; what they showed stays unknown."""
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database, "SECRET_KEY": "test-secret",
                      "DIALOGS_CHECK_ON_START": False, "REDIS_URL": None})
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    with app.app_context():
        try:
            upgrade(revision=CONSENT)
            _insert("applicants", id="a" * 32, channel="sms", channel_user_id="13800138000", created_at=now)
            _insert("questionnaire_sessions", id="q" * 32, region="hunan", resume_secret_hash="0" * 64, answers={},
                    owner_id="a" * 32, cursor_review=False, form_draft={}, created_at=now, updated_at=now, version=1)
            _insert("cases", id=1, tracking_code="7KQ2M9XH4P", region="hunan", applicant_id="a" * 32,
                    questionnaire_id="q" * 32, idempotency_key="key-00000001", answers={}, facts={},
                    checklist={"matters": []}, form={}, commitment_accepted_at=now, submitted_at=now)
            _insert("staff_users", id=1, username="clerk", password_hash="x", name="王五", role="department",
                    region="hunan", department="hrss", active=True)
            for what in ("case", "search", "page:7"):
                _insert("staff_access_log", staff_id=1, case_id=1, what=what, at=now)

            upgrade(revision=READ_PURPOSES)
            assert [(r["what"], r["purpose"], r["shown"]) for r in sorted(_rows("staff_access_log"), key=lambda r: r["id"])] == [
                ("case", "handle", None), ("search", "search", None), ("page:7", "photo", None)]
            with pytest.raises(sa.exc.IntegrityError):  # every read from now on says why
                _insert("staff_access_log", staff_id=1, case_id=1, what="case", at=now)

            downgrade(revision=CONSENT)
            assert not {"purpose", "shown"} & _columns("staff_access_log")
            assert [r["what"] for r in _rows("staff_access_log")] == ["case", "search", "page:7"]
            upgrade()
            assert {"purpose", "shown"} <= _columns("staff_access_log")
        finally:
            db.session.remove()
            db.engine.dispose()


QUEUE_INDEXES = "d17e3b5a9c40"


def test_the_queue_indexes_migration_copies_each_cases_region_onto_its_work_items(empty_database):
    """「一件事一次办」 over a province's years of cases: work items made before carry their case's region after it (the
    queues read it), the indexes the staff lists and sweeps page through exist, and down again drops them."""
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database, "SECRET_KEY": "test-secret",
                      "DIALOGS_CHECK_ON_START": False, "REDIS_URL": None})
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    with app.app_context():
        try:
            upgrade(revision=READ_PURPOSES)
            _insert("applicants", id="a" * 32, channel="sms", channel_user_id="13800138000", created_at=now)
            for n, region in enumerate(("hunan", "jining"), start=1):
                _insert("questionnaire_sessions", id=str(n) * 32, region=region, resume_secret_hash="0" * 64,
                        answers={}, owner_id="a" * 32, cursor_review=False, form_draft="sealed", created_at=now,
                        updated_at=now, version=1)
                _insert("cases", id=n, tracking_code=f"7KQ2M9XH4{n}", region=region, applicant_id="a" * 32,
                        questionnaire_id=str(n) * 32, idempotency_key=f"key-0000000{n}", answers={}, facts={},
                        checklist={"matters": []}, form="sealed", commitment_accepted_at=now, submitted_at=now)
                _insert("work_items", id=n, case_id=n, matter_id="hukou_cancellation", department="public_security",
                        status="submitted", created_at=now, due_uncertain=False, missing=[], updated_at=now, version=1)

            upgrade(revision=QUEUE_INDEXES)
            assert {(r["id"], r["region"]) for r in _rows("work_items")} == {(1, "hunan"), (2, "jining")}
            indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("work_items")}
            assert {"ix_work_items_region_department_status_due_at_id", "ix_work_items_open_region"} <= indexes
            assert "ix_cases_region" in {i["name"] for i in sa.inspect(db.engine).get_indexes("cases")}
            assert "ix_webhook_deliveries_unsent" in {
                i["name"] for i in sa.inspect(db.engine).get_indexes("webhook_deliveries")}
            assert {"ix_notifications_unsent", "ix_notifications_dead"} <= {
                i["name"] for i in sa.inspect(db.engine).get_indexes("notifications")}

            downgrade(revision=READ_PURPOSES)
            assert "region" not in _columns("work_items")
            assert "ix_cases_region" not in {i["name"] for i in sa.inspect(db.engine).get_indexes("cases")}
            assert [r["id"] for r in _rows("work_items")] == [1, 2]
        finally:
            db.session.remove()
            db.engine.dispose()


MATTER_NAMES = "e2b7c9d1f4a6"


def test_the_matter_name_migration_copies_each_items_name_from_its_cases_checklist(empty_database):
    """A queue page names each matter without reading its case's checklist: work items made before get the name
    their case's checklist gave the matter (a variant's name, not the region file's), a matter the checklist does
    not list keeps none (the console names it from the vocabulary), and down again drops the column."""
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database, "SECRET_KEY": "test-secret",
                      "DIALOGS_CHECK_ON_START": False, "REDIS_URL": None})
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    checklist = {"matters": [{"id": "pension_account_payout", "name": "企业离退休人员丧葬补助金、抚恤金申领"},
                             {"id": "hukou_cancellation", "name": "户口注销"}]}
    with app.app_context():
        try:
            upgrade(revision=QUEUE_INDEXES)
            _insert("applicants", id="a" * 32, channel="sms", channel_user_id="13800138000", created_at=now)
            _insert("questionnaire_sessions", id="1" * 32, region="jining", resume_secret_hash="0" * 64, answers={},
                    owner_id="a" * 32, cursor_review=False, form_draft="sealed", created_at=now, updated_at=now,
                    version=1)
            _insert("cases", id=1, tracking_code="7KQ2M9XH41", region="jining", applicant_id="a" * 32,
                    questionnaire_id="1" * 32, idempotency_key="key-00000001", answers={}, facts={},
                    checklist=checklist, form="sealed", commitment_accepted_at=now, submitted_at=now)
            for n, matter in enumerate(("pension_account_payout", "hukou_cancellation", "vehicle_transfer"), start=1):
                _insert("work_items", id=n, case_id=1, region="jining", matter_id=matter, department="hrss",
                        status="submitted", created_at=now, due_uncertain=False, missing=[], updated_at=now, version=1)

            upgrade(revision=MATTER_NAMES)
            assert {r["id"]: r["matter_name"] for r in _rows("work_items")} == {
                1: "企业离退休人员丧葬补助金、抚恤金申领", 2: "户口注销", 3: None}

            downgrade(revision=QUEUE_INDEXES)
            assert "matter_name" not in _columns("work_items")
            assert sorted(r["id"] for r in _rows("work_items")) == [1, 2, 3]
        finally:
            db.session.remove()
            db.engine.dispose()
