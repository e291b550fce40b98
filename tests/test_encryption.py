"""Personal data encrypted at rest (issue 16 item 1): after a whole journey the database's own bytes hold no
ID, bank or phone number and no name; what the family and staff see is unchanged; master keys rotate with
old records still readable; the app refuses to start without keys; search and the phone-tail lookup work
through blind indexes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from miniapp_api import create_app, envelope
from miniapp_api.cli import keys_group
from miniapp_api.extensions import db
from miniapp_api.keys import KeyConfigError, new_key, read_keyring_file
from miniapp_api.models import Applicant, Case, Notification, QuestionnaireSession, VerifiedPhone
from tests.conftest import REDIS_URL
from tests.test_applications import APPLICANT_ID, DECEASED_ID, good_form, make_card, questionnaire, sign_in, submit
from tests.test_auth import sms_code
from tests.test_console_pages import console_sign_in, make_staff, search, text_of
from tests.test_migrations import empty_database  # noqa: F401, F811  (SQLite, and PostgreSQL in CI's second run)

PHONE = good_form()["applicant"]["phone"]
SECRETS = {"deceased ID": DECEASED_ID, "applicant ID": APPLICANT_ID, "bank account": make_card(),
           "phone": PHONE, "deceased name": "张三丰", "applicant name": "张小梅"}


def _needles() -> dict[str, list[bytes]]:
    """Each secret as it could sit in a row: UTF-8, or JSON's \\u escapes for a name."""
    return {what: [value.encode(), json.dumps(value).strip('"').encode()] for what, value in SECRETS.items()}


def _raw_database_bytes(app) -> bytes:
    """SQLite: the database file itself (and its journal); PostgreSQL: every row of every table as text."""
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            path = Path(db.engine.url.database)
            return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists())
        chunks = []
        with db.engine.connect() as connection:
            for table in sa.inspect(connection).get_table_names():
                chunks += [row[0].encode() for row in connection.execute(sa.text(f'SELECT t::text FROM "{table}" t'))]
        return b"\n".join(chunks)


def _journey_with_a_clerk(client, app, wechat_peer) -> str:
    family = sign_in(client, app, wechat_peer, "wechat")  # WeChat proved PHONE: it is a verified number
    sid = questionnaire(client, family)
    assert client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family).status_code == 200
    response = submit(client, family, sid)
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["tracking_code"]
    assert client.get(f"/api/v1/cases/{code}", headers=family).get_json()["deceased"]["name"] == "张三丰"
    make_staff(app, "hn_window")
    console_sign_in(client, "hn_window")
    assert code in text_of(search(client, "张三丰"))
    return code


def test_after_a_journey_the_database_holds_no_id_bank_or_phone_number_in_clear(client, app, wechat_peer):
    code = _journey_with_a_clerk(client, app, wechat_peer)
    raw = _raw_database_bytes(app)
    assert code.replace("-", "").encode() in raw or code.encode() in raw  # the scan does see the rows
    found = [what for what, forms in _needles().items() if any(form in raw for form in forms)]
    assert found == [], f"in clear in the database: {found}"
    with app.app_context():  # and every sealed value names its master key
        stored = db.session.execute(sa.text("SELECT form FROM cases")).scalar_one()
        assert envelope.is_sealed_text(stored) and envelope.key_id_of_text(stored) == app.extensions["keys"].current
        case = db.session.scalars(db.select(Case)).one()
        assert case.form["accounts"][0]["account_number"] == SECRETS["bank account"]  # read back in clear


def test_sms_sign_in_finds_the_same_applicant_by_the_numbers_blind_index(client, app):
    phone = "139" + str(uuid.uuid4().int)[:8]
    for _ in range(2):  # a second sign-in later (the resend wait cleared) is the same applicant
        redis.Redis.from_url(REDIS_URL).flushdb()
        client.post("/api/v1/auth/sms/code", json={"phone": phone})
        response = client.post("/api/v1/auth/sms/verify", json={"phone": phone, "code": sms_code(app, phone)})
        assert response.status_code == 200, response.get_json()
    with app.app_context():
        applicants = db.session.scalars(db.select(Applicant).filter_by(channel="sms")).all()
        assert len(applicants) == 1 and applicants[0].phone == phone and applicants[0].channel_user_id != phone
        proven = db.session.scalars(db.select(VerifiedPhone)).one()
        assert proven.phone == phone and phone not in (proven.phone_digest, proven.tail_digest)
    assert phone.encode() not in _raw_database_bytes(app)


def test_the_status_lookup_by_phone_tail_works_through_the_blind_index(client, app, wechat_peer):
    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family)
    code = submit(client, family, sid).get_json()["tracking_code"]
    assert client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": PHONE[-4:]}).status_code == 200
    wrong = client.post("/api/v1/status", json={"tracking_code": code, "phone_tail": "0000"})
    assert wrong.status_code == 404 and wrong.get_json()["error"]["code"] == "case_not_found"


def test_a_sealed_value_moved_to_another_column_does_not_open(app):
    with app.app_context():
        keys = app.extensions["keys"]
        sealed = envelope.seal_text(keys, '{"id_number": "x"}', "cases.form")
        assert envelope.open_text(keys, sealed, "cases.form") == '{"id_number": "x"}'
        with pytest.raises(envelope.DecryptError):
            envelope.open_text(keys, sealed, "questionnaire_sessions.form_draft")
        with pytest.raises(envelope.DecryptError):
            envelope.open_text(keys, sealed[:-4] + "AAAA", "cases.form")


# --- Keys: production settings, rotation ----------------------------------------------------------------

def _own_app(tmp_path, **config):
    settings = {"TESTING": True, "SECRET_KEY": "rotation-test-secret-of-32-bytes-or-more",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'rotation.sqlite'}", "REDIS_URL": None,
                "DIALOGS_CHECK_ON_START": False, "UPLOAD_FOLDER": str(tmp_path / "uploads"), **config}
    return create_app(settings)


@pytest.mark.parametrize("config, message", [
    ({"MASTER_KEYS": {}, "KEYRING_FILE": None}, "no master key"),
    ({"MASTER_KEYS": {"k1": "c2hvcnQ="}, "BLIND_INDEX_KEY": new_key()}, "32 bytes"),
    ({"MASTER_KEYS": {"k1": new_key()}}, "BLIND_INDEX_KEY"),
    ({"MASTER_KEYS": {"k1": new_key(), "k2": new_key()}, "BLIND_INDEX_KEY": new_key()}, "MASTER_KEY_ID"),
    ({"MASTER_KEYS": {"k1": new_key()}, "MASTER_KEY_ID": "k9", "BLIND_INDEX_KEY": new_key()}, "k9"),
])
def test_outside_tests_the_app_refuses_to_start_without_sound_keys(tmp_path, config, message):
    with pytest.raises(KeyConfigError, match=message):
        _own_app(tmp_path, TESTING=False, SECRET_KEY="production-like-secret-of-at-least-32-bytes",
                 NOTIFY_SMS_CONSOLE_ALLOWED=True, **config)


def test_keys_from_settings_open_what_another_server_with_them_sealed(tmp_path):
    keys = {"MASTER_KEYS": json.dumps({"k1": new_key()}), "BLIND_INDEX_KEY": new_key(), "KEYRING_FILE": None}
    one, two = _own_app(tmp_path, **keys), _own_app(tmp_path, **keys)
    with one.app_context():
        sealed = envelope.seal_text(one.extensions["keys"], "13800138000", "applicants.phone")
    with two.app_context():
        assert envelope.open_text(two.extensions["keys"], sealed, "applicants.phone") == "13800138000"


def test_rotation_adds_a_key_rewraps_every_value_and_old_values_stay_readable(tmp_path):
    ring = tmp_path / "keyring.json"
    app = _own_app(tmp_path, KEYRING_FILE=str(ring))
    other_server = _own_app(tmp_path, KEYRING_FILE=str(ring))  # shares the file, rotated under it
    with app.app_context():
        upgrade()
        applicant = Applicant(id="a" * 32, channel="wechat", channel_user_id="o-1", phone=PHONE)
        session = QuestionnaireSession(id="q" * 32, region="hunan", resume_secret_hash="0" * 64, answers={},
                                       form_draft=good_form())
        db.session.add_all([applicant, session])
        db.session.commit()
        # A value written before encryption (plain JSON), as rows from before the migration were:
        db.session.execute(sa.text("UPDATE questionnaire_sessions SET form_draft = :v"), {"v": json.dumps({"x": 1})})
        db.session.execute(sa.text("UPDATE applicants SET phone = :v"), {"v": PHONE})
        db.session.commit()
        assert db.session.get(Applicant, "a" * 32).phone == PHONE  # plaintext from before is still read

        runner = app.test_cli_runner()
        result = runner.invoke(keys_group, ["rotate"])
        assert result.exit_code == 0, result.output
        assert "current master key k2" in result.output
        assert read_keyring_file(ring).current == "k2" and set(read_keyring_file(ring).keys) == {"k1", "k2"}
        db.session.remove()
        for table, column in (("applicants", "phone"), ("questionnaire_sessions", "form_draft")):
            stored = db.session.execute(sa.text(f"SELECT {column} FROM {table}")).scalar_one()
            assert envelope.key_id_of_text(stored) == "k2", (table, column)
        assert db.session.get(Applicant, "a" * 32).phone == PHONE
        assert db.session.get(QuestionnaireSession, "q" * 32).form_draft == {"x": 1}
        assert "k2: 2 value(s)" in runner.invoke(keys_group, ["status"]).output
        # A value sealed under k1 by a server that had not yet seen the rotation still opens:
        old = envelope.seal_text(read_keyring_file_k1(ring), "old", "ratings.comment")
        assert envelope.open_text(app.extensions["keys"], old, "ratings.comment") == "old"
    with other_server.app_context():  # the other server picks the new key up without a restart
        assert other_server.extensions["keys"].current_key_id() == "k2"
        assert db.session.get(Applicant, "a" * 32).phone == PHONE
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        db.engine.dispose()


def read_keyring_file_k1(path: Path):
    """A provider that still thinks k1 is current (a server before the rotation)."""
    from miniapp_api.keys import LocalKeyring

    ring = read_keyring_file(path)
    return LocalKeyring(ring.keys, "k1", ring.index_key)


# --- The migration: rows from before are sealed, and back ------------------------------------------------

def test_the_migration_seals_existing_rows_and_the_downgrade_opens_them(tmp_path, empty_database):  # noqa: F811
    app = _own_app(tmp_path, DATABASE_URL=empty_database)
    now = "2026-12-01 08:00:00"
    with app.app_context():
        upgrade(revision="b8e4c2f7a915")
        run = db.session.execute
        run(sa.text("INSERT INTO applicants (id, channel, channel_user_id, phone, created_at) "
                    "VALUES ('aaaa', 'sms', :p, :p, :t)"), {"p": PHONE, "t": now})
        run(sa.text("INSERT INTO verified_phones (applicant_id, phone, how, verified_at) VALUES ('aaaa', :p, 'sms', :t)"),
            {"p": PHONE, "t": now})
        run(sa.text("INSERT INTO questionnaire_sessions (id, region, resume_secret_hash, answers, cursor_review, "
                    "form_draft, created_at, updated_at, version) VALUES ('qqqq', 'hunan', :h, '{}', false, :f, :t, :t, 1)"),
            {"h": "0" * 64, "f": json.dumps(good_form(), ensure_ascii=False), "t": now})
        run(sa.text("INSERT INTO cases (tracking_code, region, applicant_id, questionnaire_id, idempotency_key, answers, "
                    "facts, checklist, form, commitment_accepted_at, submitted_at) VALUES ('7KQ2M9XH4P', 'hunan', "
                    "'aaaa', 'qqqq', 'k', '{}', '{}', '{}', :f, :t, :t)"),
            {"f": json.dumps(good_form(), ensure_ascii=False), "t": now})
        db.session.commit()

        upgrade()
        raw = db.session.execute(sa.text("SELECT form FROM cases")).scalar_one()
        assert envelope.is_sealed_text(raw) and DECEASED_ID not in raw
        assert db.session.scalars(db.select(Case)).one().form["deceased"]["id_number"] == DECEASED_ID
        applicant = db.session.get(Applicant, "aaaa")
        assert applicant.phone == PHONE and applicant.channel_user_id != PHONE
        assert db.session.scalars(db.select(VerifiedPhone.phone)).one() == PHONE
        keys = db.session.execute(sa.text("SELECT COUNT(*) FROM case_search_keys")).scalar_one()
        assert keys == 2 * 4 + 1  # two people: a name and three ID tails each; the applicant phone's last four
        db.session.remove()

        downgrade(revision="b8e4c2f7a915")
        form = db.session.execute(sa.text("SELECT form FROM cases")).scalar_one()
        assert (form if isinstance(form, dict) else json.loads(form)) == good_form()  # PostgreSQL decodes JSON
        assert db.session.execute(sa.text("SELECT channel_user_id, phone FROM applicants")).one() == (PHONE, PHONE)
        db.session.remove()
        upgrade()
        assert db.session.get(Applicant, "aaaa").phone == PHONE
        assert len(db.session.scalars(db.select(Notification)).all()) == 0
        db.session.remove()
        db.engine.dispose()


def test_reindex_gives_cases_from_before_the_keys_they_lack(client, app, wechat_peer):
    """Cases submitted before the phone's last four became a search key are found by it after `flask keys
    reindex`; a second run changes nothing."""
    from miniapp_api.models import CaseSearchKey

    code = _journey_with_a_clerk(client, app, wechat_peer)
    with app.app_context():
        case = db.session.scalars(db.select(Case)).one()
        db.session.execute(sa.delete(CaseSearchKey).where(CaseSearchKey.case_id == case.id))
        db.session.commit()
    assert code not in text_of(search(client, "张三丰"))
    runner = app.test_cli_runner()
    assert "rebuilt for 1 case(s)" in runner.invoke(keys_group, ["reindex"]).output
    assert code in text_of(search(client, "张三丰")) and code in text_of(search(client, PHONE[-4:]))
    assert "rebuilt for 0 case(s)" in runner.invoke(keys_group, ["reindex"]).output
