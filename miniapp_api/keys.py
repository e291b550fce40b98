"""The master keys that wrap every record's data key (envelope.py), and the key of the blind indexes.

Where they come from, first match wins:

- ``MASTER_KEYS`` (``{"id": "<base64 of 32 bytes>", ...}``) with ``MASTER_KEY_ID`` (the one new records use)
  and ``BLIND_INDEX_KEY``: set by the operator (a secrets manager, the environment as MINIAPP_MASTER_KEYS).
- ``KEYRING_FILE``: a JSON file holding the same three (owner-only), made on first use;
  ``flask keys rotate`` adds a new key to it. A development machine (FLASK_DEBUG=1) uses
  ``instance/keyring.json`` without being told.
- Tests: derived from SECRET_KEY with HKDF, so two apps of a test on one database read each other's rows.

Outside debug and testing the app refuses to start without one of the first two: a server that made up
its own key would write records no other server (and no restart with another instance folder) can read.
A provincial KMS replaces ``LocalKeyring`` with a class of the same four methods (envelope.KeyProvider);
the blind-index key stays a local secret (an HMAC per search must not be a network call).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .envelope import DataKey, DecryptError

KEY_BYTES = 32


class KeyConfigError(RuntimeError):
    """The app must not start with these key settings."""


def new_key() -> str:
    """A fresh master or index key, as the settings hold it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _decode(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise KeyConfigError(f"{name} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyConfigError(f"{name} must be {KEY_BYTES} bytes (base64 of them); it is {len(raw)}")
    return raw


class LocalKeyring:
    """Master keys held by this process: AES-256-GCM wraps each data key, with the key id as associated data."""

    def __init__(self, keys: dict[str, bytes], current: str, index_key: bytes, path: Path | None = None):
        if current not in keys:
            raise KeyConfigError(f"MASTER_KEY_ID {current!r} is not one of MASTER_KEYS ({', '.join(keys)})")
        self.keys, self.current, self.index_key, self.path = dict(keys), current, index_key, path
        self._mtime = path.stat().st_mtime_ns if path and path.exists() else None

    def current_key_id(self) -> str:
        self._reload_if_changed()
        return self.current

    def generate_data_key(self) -> DataKey:
        key_id = self.current_key_id()
        plaintext = secrets.token_bytes(KEY_BYTES)
        return DataKey(key_id, plaintext, self.encrypt_data_key(key_id, plaintext))

    def encrypt_data_key(self, key_id: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self._key(key_id)).encrypt(nonce, plaintext, key_id.encode())

    def decrypt_data_key(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self._key(key_id)).decrypt(wrapped[:12], wrapped[12:], key_id.encode())
        except InvalidTag:
            raise DecryptError(f"the data key does not unwrap with master key {key_id!r}") from None

    def _key(self, key_id: str) -> bytes:
        if key_id not in self.keys:
            self._reload_if_changed(force=True)  # another process rotated the file
        if key_id not in self.keys:
            raise DecryptError(f"unknown master key {key_id!r}")
        return self.keys[key_id]

    def _reload_if_changed(self, force: bool = False) -> None:
        """A keyring file rotated by `flask keys rotate` is picked up by running servers: new records use
        the new key without a restart (one stat per record written)."""
        if self.path is None or not self.path.exists():
            return
        mtime = self.path.stat().st_mtime_ns
        if force or mtime != self._mtime:
            other = read_keyring_file(self.path)
            self.keys, self.current, self.index_key, self._mtime = other.keys, other.current, other.index_key, mtime


def read_keyring_file(path: Path) -> LocalKeyring:
    try:
        data = json.loads(path.read_text())
        keys = {kid: _decode(f"key {kid}", value) for kid, value in data["keys"].items()}
        return LocalKeyring(keys, data["current"], _decode("index_key", data["index_key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyConfigError(f"the keyring file {path} cannot be read: {exc}") from None


def write_keyring_file(path: Path, keys: dict[str, str], current: str, index_key: str) -> None:
    """Write the whole file beside it, then rename it into place: a reader never sees half a keyring."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"current": current, "keys": keys, "index_key": index_key}, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(draft, path)


def kept_keyring(path: Path) -> LocalKeyring:
    """The keyring in ``path``, made there first if missing (two processes starting at once agree)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        write_keyring_file(draft, {"k1": new_key()}, "k1", new_key())
        try:
            os.link(draft, path)  # atomic, and never replaces a keyring another process made first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    ring = read_keyring_file(path)
    return LocalKeyring(ring.keys, ring.current, ring.index_key, path)


def add_key_to_file(path: Path) -> str:
    """`flask keys rotate` on a keyring file: a new master key, made current; the old ones stay for reading."""
    data = json.loads(path.read_text())
    number = 1 + max((int(k[1:]) for k in data["keys"] if k[1:].isdigit()), default=0)
    key_id = f"k{number}"
    write_keyring_file(path, {**data["keys"], key_id: new_key()}, key_id, data["index_key"])
    return key_id


def _derived(secret: str | bytes, info: bytes) -> bytes:
    raw = secret if isinstance(secret, bytes) else secret.encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(raw)


def make_keyring(config: dict[str, Any], instance_path: str, debug: bool, testing: bool) -> LocalKeyring:
    """The provider for this app's settings (see the module's docstring for the order)."""
    if config.get("MASTER_KEYS"):
        keys = config["MASTER_KEYS"]
        if isinstance(keys, str):
            try:
                keys = json.loads(keys)
            except ValueError:
                raise KeyConfigError("MASTER_KEYS is not a JSON object of key id to base64 key") from None
        if not isinstance(keys, dict) or not keys:
            raise KeyConfigError("MASTER_KEYS must map key ids to base64 keys")
        if not config.get("BLIND_INDEX_KEY"):
            raise KeyConfigError("BLIND_INDEX_KEY must be set with MASTER_KEYS (base64 of 32 random bytes)")
        current = config.get("MASTER_KEY_ID") or (next(iter(keys)) if len(keys) == 1 else None)
        if current is None:
            raise KeyConfigError("MASTER_KEY_ID must say which of several MASTER_KEYS new records use")
        return LocalKeyring({kid: _decode(f"MASTER_KEYS[{kid}]", v) for kid, v in keys.items()}, current,
                            _decode("BLIND_INDEX_KEY", config["BLIND_INDEX_KEY"]))
    if config.get("KEYRING_FILE") or debug:
        return kept_keyring(Path(config.get("KEYRING_FILE") or Path(instance_path) / "keyring.json"))
    if testing:
        secret = config["SECRET_KEY"]
        return LocalKeyring({"t1": _derived(secret, b"test-master-key")}, "t1", _derived(secret, b"test-index-key"))
    raise KeyConfigError(
        "no master key: set MASTER_KEYS, MASTER_KEY_ID and BLIND_INDEX_KEY (base64 of 32 random bytes each: "
        "python -c 'import base64,secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'), "
        "or KEYRING_FILE (a file the servers share, made on first use). They encrypt the "
        "families' personal data at rest, so the app refuses to start without them "
        "(FLASK_DEBUG=1 keeps a keyring in instance/keyring.json instead)")
