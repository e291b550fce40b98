"""Settings come from config/default.py, then the environment (one prefix, ``MINIAPP_``, for every
setting), then the mapping passed to ``create_app`` — one way, as config/README.md says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from miniapp_api import create_app

ROOT = Path(__file__).resolve().parent.parent


def _app(tmp_path: Path, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "settings-test-secret-of-32-bytes-or-more",
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'settings.sqlite'}", **config})


def test_any_setting_from_a_prefixed_environment_variable(tmp_path, monkeypatch):
    """MINIAPP_<NAME> sets <NAME>; a value that reads as JSON is taken as JSON (numbers, booleans, objects),
    a nested key with a double underscore — Flask's ``from_prefixed_env``."""
    monkeypatch.setenv("MINIAPP_TOKEN_MAX_AGE", "600")
    monkeypatch.setenv("MINIAPP_STAFF_REQUIRE_TOTP", "false")
    monkeypatch.setenv("MINIAPP_NOTIFY_QUIET_HOURS", "[22, 7]")
    monkeypatch.setenv("MINIAPP_WECHAT_APPID", "wx-from-env")
    monkeypatch.setenv("MINIAPP_DEPARTMENT_WEBHOOKS__hrss", '{"url": "https://hrss.example/hook", "secret": "s"}')
    app = _app(tmp_path)
    assert app.config["TOKEN_MAX_AGE"] == 600
    assert app.config["STAFF_REQUIRE_TOTP"] is False
    assert app.config["NOTIFY_QUIET_HOURS"] == [22, 7]
    assert app.config["WECHAT_APPID"] == "wx-from-env"
    assert app.config["DEPARTMENT_WEBHOOKS"]["hrss"]["url"] == "https://hrss.example/hook"


def test_the_mapping_wins_over_the_environment_and_config_json_is_no_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIAPP_TOKEN_MAX_AGE", "600")
    monkeypatch.setenv("MINIAPP_CONFIG_JSON", '{"WECHAT_TIMEOUT": 9}')
    app = _app(tmp_path, TOKEN_MAX_AGE=60)
    assert app.config["TOKEN_MAX_AGE"] == 60
    assert app.config["WECHAT_TIMEOUT"] == 9
    assert "CONFIG_JSON" not in app.config


def test_prefixed_database_url_is_the_database(tmp_path, monkeypatch):
    """MINIAPP_DATABASE_URL works like DATABASE_URL: it chooses the SQLAlchemy URI."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MINIAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    app = create_app({"TESTING": True, "SECRET_KEY": "settings-test-secret-of-32-bytes-or-more"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite")


def _tables(markdown: str) -> list[list[str]]:
    """Consecutive lines starting with '|': a Markdown table ends at the first line that does not."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_readme_settings_tables_render_as_tables():
    """Each table has a header and a delimiter row, and no table is a stray row (a blank line in the middle
    of a table makes the rest plain text)."""
    for doc in (ROOT / "README.md", ROOT / "config" / "README.md"):
        for table in _tables(doc.read_text()):
            assert len(table) >= 3, f"{doc.name}: a table without header or rows: {table[0]}"
            assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", table[1]), f"{doc.name}: no delimiter row under {table[0]}"


def test_documents_and_commands_named_exist():
    """README, config/README and the code's docstrings name only documents in the repository and commands
    that exist."""
    texts = {p: p.read_text() for p in [ROOT / "README.md", ROOT / "config" / "README.md",
                                        *(ROOT / "miniapp_api").rglob("*.py")]}
    assert [str(p.relative_to(ROOT)) for p, t in texts.items() if re.search(r"(?<![/\w])CONTRACT\.md", t)] == []
    assert [str(p.relative_to(ROOT)) for p, t in texts.items() if "webhooks sweep" in t] == []


def test_imported_third_party_packages_are_declared():
    """``requests`` is imported by the app (WeChat, SMS, webhooks, JWKS), so it is a dependency of its own."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"requests\b", d) for d in deps)
