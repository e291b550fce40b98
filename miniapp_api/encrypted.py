"""Column types that keep personal data encrypted at rest (envelope.py), transparently for the code that
reads and writes the models: an ``EncryptedJSON`` column is a dict in Python and a sealed text in the row.

Each value is sealed with the table and column as associated data. A value written before encryption (plain
JSON or text) is still read as it is, and `flask keys rotate` seals it. Empty texts stay empty: they hold
nothing, and sweeps find emptied rows with ``= ''``. Inside an app context only (the provider is the app's).
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from . import envelope


def provider() -> envelope.KeyProvider:
    return current_app.extensions["keys"]


def index_key() -> bytes:
    """The HMAC key of the blind indexes (blind_index.py)."""
    return current_app.extensions["keys"].index_key


class _Sealed(TypeDecorator):
    impl = Text
    cache_ok = True

    def __init__(self, where: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.where = where  # "table.column": the associated data

    def _seal(self, text: str) -> str:
        return envelope.seal_text(provider(), text, self.where)

    def _open(self, stored: str) -> str | None:
        """The plaintext, or None for a legacy plaintext value (returned by the caller as it is)."""
        if not envelope.is_sealed_text(stored):
            return None
        return envelope.open_text(provider(), stored, self.where)


class EncryptedJSON(_Sealed):
    """A JSON document, sealed whole."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self._seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a legacy JSON column PostgreSQL already decoded
            return value
        opened = self._open(value)
        return json.loads(value if opened is None else opened)


class EncryptedText(_Sealed):
    """A short text (a phone number, an openid, a comment), sealed; an empty one stays empty."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None or value == "":
            return value
        return self._seal(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None or value == "":
            return value
        opened = self._open(value)
        return value if opened is None else opened
