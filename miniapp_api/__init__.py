"""公民身后“一件事一次办” — the Flask application factory."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
# The common settings also read from their plain names (what hosting platforms set); every setting,
# these too, from MINIAPP_<NAME>.
ENV_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "UPLOAD_FOLDER", "TRUSTED_PROXIES")
ENV_PREFIX = "MINIAPP"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults from config/default.py, then the environment (the plain names of
    ``ENV_SETTINGS``, then ``MINIAPP_<NAME>`` for any setting, then ``MINIAPP_CONFIG_JSON``), then ``config``."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"), template_folder=str(ROOT / "templates"))
    app.config.from_pyfile(str(ROOT / "config" / "default.py"))
    engine_defaults = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])  # kept under any options set below
    for name in ENV_SETTINGS:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.from_prefixed_env(ENV_PREFIX)  # MINIAPP_<NAME>: any setting, JSON-parsed when it parses
    app.config.pop("CONFIG_JSON", None)  # MINIAPP_CONFIG_JSON is read whole just below, not a setting
    if os.environ.get("MINIAPP_CONFIG_JSON"):  # any setting, as one JSON object (containers, worker processes)
        app.config.update(json.loads(os.environ["MINIAPP_CONFIG_JSON"]))
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["DATABASE_URL"])
    if config:
        app.config.update(config)
        if "DATABASE_URL" in config:
            app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(config["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_defaults, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    app.json.ensure_ascii = False
    from .routing import RowIdConverter

    app.url_map.converters["int"] = RowIdConverter  # before any route is added: every <int:id> is a row id
    Path(app.instance_path).mkdir(exist_ok=True)
    from .secret_key import ensure as ensure_secret_key

    ensure_secret_key(app)  # before anything else: never serve with a guessable signing key
    from .keys import make_keyring

    # The master keys of the personal data encrypted at rest (encrypted.py): refused to start without them.
    app.extensions["keys"] = make_keyring(app.config, app.instance_path, app.debug, app.testing)

    from .services.auth import check_host_channels

    check_host_channels(app.config["HOST_CHANNELS"], app.testing)
    if app.config["DIALOGS_CHECK_ON_START"]:
        _check_dialogs(Path(app.config.get("DIALOGS_DIR") or ROOT / "dialogs"))
    app.extensions["need_to_know"] = _need_to_know(app.config.get("NEED_TO_KNOW_FILE"))

    from .extensions import db, limiter, migrate

    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)  # Redis down: limit per process
    limiter.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))

    from . import models  # noqa: F401  (register the tables)
    from .api import applications, auth, family, questionnaires, regions, staff, uploads
    from .challenge import make_challenge
    from .errors import register_error_handlers
    from .services.sms_limits import make_counter
    from .sms import make_sms_provider
    from .storage import make_storage, rewrap_all
    from .store import make_store
    from .wechat import make_client

    # When this server started serving its region files: which of two rules versions is the newer (services/rules_versions.py).
    app.extensions["rules_served_since"] = dt.datetime.now(dt.UTC)
    app.extensions["store"] = make_store(app.config.get("REDIS_URL"))
    app.extensions["sms"] = make_sms_provider(app.config, development=app.debug or app.testing)
    app.extensions["sms_challenge"] = make_challenge(app)
    app.extensions["otp_limits"] = make_counter(app.config.get("REDIS_URL"))
    app.extensions["wechat"] = make_client(app.config)
    app.extensions["storage"] = make_storage(app.config, app.extensions["keys"])  # files encrypted at rest
    # `flask keys rotate` re-wraps the stored files too (services/key_rotation.py), in the store in use then.
    app.extensions["rewrap_files"] = lambda: rewrap_all(app.extensions["storage"], app.extensions["keys"])

    from .api import health, openapi

    # flask-smorest: each blueprint registered with its operations' documentation (api/openapi.py).
    openapi.init_api(app, [m.bp for m in (regions, questionnaires, auth, applications, uploads, family, staff)])
    from .logs import init_logging
    from .web import init_web

    app.register_blueprint(health.bp)
    from flask_cors import CORS

    CORS(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
         allow_headers=["Authorization", "Content-Type", "X-Resume-Secret", "Idempotency-Key", "X-Request-Id"])
    app.register_blueprint(openapi.bp, url_prefix="/api/v1")
    init_web(app)
    init_logging(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    register_error_handlers(app)
    from .headers import init_headers
    from .wrappers import init_wrappers

    init_wrappers(app)  # after init_web: a page's CSRF check comes first
    init_headers(app)
    return app


def _normalise_db_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres://`` / ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _need_to_know(setting: str | None) -> dict:
    """Who of the staff sees what (config/need_to_know.yaml): read once, refused at start when broken."""
    from .domain import need_to_know
    from .domain.vocabulary import load_vocabulary

    path = Path(setting) if setting else need_to_know.DEFAULT_FILE
    try:
        return need_to_know.load(path, load_vocabulary().departments)
    except need_to_know.NeedToKnowError as exc:
        listing = "\n".join(exc.problems)
        raise RuntimeError(f"{path} has problems; fix them before starting:\n{listing}") from None


def _check_dialogs(dialogs_dir: Path) -> None:
    from .domain.checker import check_all

    problems = check_all(dialogs_dir)
    if problems:
        listing = "\n".join(str(p) for p in problems)
        raise RuntimeError(f"dialogs/ has problems; fix them before starting:\n{listing}")
