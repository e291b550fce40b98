"""SECRET_KEY signs bearer tokens and console cookies: the value once published in config/default.py (or any
short key) would let anyone mint a staff token that reads a region's whole queue. Outside debug and testing
the app refuses to start with it; a development machine makes a random key once and keeps it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from miniapp_api import create_app
from tests.test_server_smoke import free_port

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_DEFAULT = "dev-only-change-me"
GOOD_KEY = "k" * 16 + "a-production-key-of-more-than-32-bytes"


@pytest.fixture()
def production_env(monkeypatch):
    """No key, no debug flag and no extra settings from this shell: what a bare `gunicorn wsgi:app` sees."""
    for name in ("SECRET_KEY", "FLASK_DEBUG", "MINIAPP_CONFIG_JSON"):
        monkeypatch.delenv(name, raising=False)


def production_app(tmp_path, **config):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite'}", "DIALOGS_CHECK_ON_START": False,
                       "NOTIFY_SMS_CONSOLE_ALLOWED": True, **config})  # the console SMS has its own refusal


@pytest.mark.parametrize("key", [None, PUBLISHED_DEFAULT, "x" * 31], ids=["unset", "published default", "31 bytes"])
def test_production_refuses_to_start_without_a_strong_secret_key(production_env, tmp_path, key):
    config = {} if key is None else {"SECRET_KEY": key}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production_app(tmp_path, **config)


def test_production_refuses_the_published_default_from_the_environment(production_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", PUBLISHED_DEFAULT)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production_app(tmp_path)


def test_production_starts_with_a_key_of_32_bytes_or_more(production_env, tmp_path):
    app = production_app(tmp_path, SECRET_KEY=GOOD_KEY)
    assert app.config["SECRET_KEY"] == GOOD_KEY


def test_gunicorn_without_a_key_does_not_boot_and_says_why(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FLASK_DEBUG", "MINIAPP_CONFIG_JSON")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'gunicorn.sqlite'}"
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{free_port()}",
                             "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _key_digest_in_a_fresh_process(key_file: Path) -> str:
    """Start the app as the dev server does (FLASK_DEBUG=1, no SECRET_KEY) in its own process."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(FLASK_DEBUG="1", DATABASE_URL=f"sqlite:///{key_file.parent / 'dev.sqlite'}",
               MINIAPP_CONFIG_JSON=json.dumps({"SECRET_KEY_FILE": str(key_file), "DIALOGS_CHECK_ON_START": False}))
    code = ("import hashlib; from miniapp_api import create_app; "
            "print(hashlib.sha256(create_app().config['SECRET_KEY'].encode()).hexdigest())")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_the_dev_server_makes_a_random_key_once_and_keeps_it_across_restarts(tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    first = _key_digest_in_a_fresh_process(key_file)
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600  # only its owner reads it
    kept = key_file.read_text().strip()
    assert len(kept.encode()) >= 32 and kept != PUBLISHED_DEFAULT
    assert hashlib.sha256(kept.encode()).hexdigest() == first
    assert _key_digest_in_a_fresh_process(key_file) == first  # a restart signs with the same key
    other = tmp_path / "other-machine" / "secret_key"
    assert _key_digest_in_a_fresh_process(other) != first  # random, not a constant


def test_testing_without_a_key_never_falls_back_to_the_published_one(production_env, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 't.sqlite'}",
                      "DIALOGS_CHECK_ON_START": False})
    assert app.config["SECRET_KEY"] and app.config["SECRET_KEY"] != PUBLISHED_DEFAULT
    assert len(app.config["SECRET_KEY"].encode()) >= 32
