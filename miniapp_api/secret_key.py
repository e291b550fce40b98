"""SECRET_KEY signs every bearer token, SMS-code hash and console cookie: whoever knows it can mint a
staff token that reads a region's whole queue.

Outside debug and testing the app refuses to start with no key, the value once published in
config/default.py, or a key shorter than 32 bytes. A development machine (``FLASK_DEBUG=1``) makes a
random key once and keeps it in ``instance/secret_key`` (or ``SECRET_KEY_FILE``), so sign-ins survive a
restart; tests get a random key per app unless they set one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

MIN_BYTES = 32
PUBLISHED = frozenset({"dev-only-change-me"})  # shipped as the default once: as good as no key at all


class SecretKeyError(RuntimeError):
    """The app must not serve with this key."""


def ensure(app: Flask) -> None:
    """Check the key before anything is served; make one for a development machine or a test."""
    key = app.config.get("SECRET_KEY") or b""
    raw = key if isinstance(key, bytes) else key.encode()
    published = raw.decode(errors="replace") in PUBLISHED
    if app.debug or app.testing:
        if not raw or published:
            path = Path(app.config.get("SECRET_KEY_FILE") or Path(app.instance_path) / "secret_key")
            app.config["SECRET_KEY"] = kept_key(path) if app.debug else secrets.token_urlsafe(48)
        return
    if not raw or published or len(raw) < MIN_BYTES:
        reason = "is not set" if not raw else "is the published default" if published else f"is under {MIN_BYTES} bytes"
        raise SecretKeyError(
            f"SECRET_KEY {reason}: it signs every token, so the app refuses to start. Set SECRET_KEY to at least "
            f"{MIN_BYTES} random bytes, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))' "
            "(a development machine may run with FLASK_DEBUG=1 instead: a key is made once and kept in instance/)")


def kept_key(path: Path) -> str:
    """The key in ``path``, made there first if missing (owner-only; two processes starting at once agree)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)  # atomic, and never replaces a key another process kept first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
