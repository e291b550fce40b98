"""Shared fixtures: the app on a real database (SQLite file by default, PostgreSQL when
DATABASE_URL is set, as CI does), migrated with the real Alembic migrations."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
import redis
import sqlalchemy as sa
from flask_migrate import upgrade

from miniapp_api import create_app
from miniapp_api.extensions import db, limiter
from tests import openapi_check, processes
from tests.peers.host_app import HostAppPeer
from tests.peers.wechat import WeChatPeer

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Apps and servers started outside testing mode need master keys, as a deployment does: one keyring file for
# the run, shared by every server a test starts (made on first use, keys.py). Testing-mode apps use it too.
if "MINIAPP_KEYRING_FILE" not in os.environ:
    _KEYS_DIR = tempfile.mkdtemp(prefix="test-keys-")
    atexit.register(shutil.rmtree, _KEYS_DIR, True)
    os.environ["MINIAPP_KEYRING_FILE"] = os.path.join(_KEYS_DIR, "keyring.json")
HOST_SECRET = "xiangyiban-test-secret-of-32-bytes-or-more"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session", autouse=True)
def no_process_left():
    """Every process a test started (tests/processes.py) is gone when the run ends."""
    yield
    assert processes.left(processes.SESSION) == [], "tests left processes running"


@pytest.fixture(scope="session")
def wechat_peer():
    peer = WeChatPeer().start()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def host_peer():
    peer = HostAppPeer()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def app(tmp_path_factory, wechat_peer, host_peer):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": _database_url(tmp_path_factory),
        "SECRET_KEY": "test-secret",
        "STAFF_REQUIRE_TOTP": False,  # tests of the second factor turn it on (tests/test_staff_sign_in.py)
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        "REDIS_URL": REDIS_URL,
        "WECHAT_APPID": wechat_peer.appid,
        "WECHAT_SECRET": wechat_peer.secret,
        "WECHAT_API_BASE": wechat_peer.base,
        "HOST_CHANNELS": {"xiangyiban": {"secret": HOST_SECRET, "name": "湘易办"},
                          host_peer.channel: {"jwks_url": host_peer.jwks_url, "name": "湘易办（公钥）"}},
    })
    app.extensions["response_check"] = openapi_check.install(app)  # every response against the OpenAPI document
    with app.app_context():
        _drop_everything()
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _drop_everything() -> None:
    """Start from an empty database, so the migrations themselves are what is tested."""
    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    meta.drop_all(bind=db.engine)


@pytest.fixture()
def client(app):
    redis.Redis.from_url(REDIS_URL).flushdb()
    # flask-limiter has one storage for every app: a test that built its own app left it pointing there.
    # init_app again points it back at this app's (just flushed) Redis, with a fresh in-memory fallback.
    limiter.init_app(app)
    shutil.rmtree(app.config["UPLOAD_FOLDER"], ignore_errors=True)
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    check = app.extensions["response_check"]
    check.problems.clear()
    yield app.test_client()
    problems, check.problems[:] = list(check.problems), []
    assert not problems, "responses that do not match the OpenAPI document:\n" + "\n".join(problems)


JOURNEYS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def journey_tally(request) -> dict[str, dict[str, int]]:
    """Walks and cases per journey (tests/test_journeys.py), printed at the end of the run."""
    return request.config.stash.setdefault(JOURNEYS, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The journey tests' walk and case counts, shown with or without -s."""
    tally = config.stash.get(JOURNEYS, {})
    if not tally:
        return
    terminalreporter.section("journeys")
    for journey, row in sorted(tally.items()):
        terminalreporter.write_line(f"{journey}: {row['walks']} walks, {row['cases']} completed cases, "
                                    f"{row['refused']} refused (not eligible or nothing to submit)")
