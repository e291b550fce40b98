"""Envelope encryption of one record (AES-256-GCM, ``cryptography``): a fresh data key per record, wrapped
by a master key that stays with the key provider (keys.py: a local keyring, or a provincial KMS).

A sealed value carries everything needed to open it but the master key: the format version, the id of the
master key that wrapped its data key, the wrapped data key, the nonce and the ciphertext with its tag. So a
master-key rotation only re-wraps 60 bytes per record (``rewrap``), and records under an older key stay
readable for as long as the provider still knows that key. ``aad`` binds a value to where it is kept (the
table and column), so a ciphertext copied into another column fails to open instead of being read as it.

Binary layout: ``MAGIC | len(key_id):1 | key_id | len(wrapped):2 | wrapped | nonce:12 | ciphertext+tag``.
Text form (for text columns): ``TEXT_PREFIX`` + base64url of the binary. No Flask here.
"""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MAE1"
TEXT_PREFIX = "e1:"
NONCE_BYTES = 12


class DecryptError(Exception):
    """A sealed value that cannot be opened: damaged, moved from another column, or its key is unknown."""


@dataclass(frozen=True)
class DataKey:
    """What a KMS's GenerateDataKey returns: the key to use once, and the same key wrapped by ``key_id``."""

    key_id: str
    plaintext: bytes
    wrapped: bytes


class KeyProvider(Protocol):
    """The KMS-shaped interface (Tencent Cloud KMS / AWS KMS: GenerateDataKey, Decrypt, Encrypt)."""

    def current_key_id(self) -> str: ...
    def generate_data_key(self) -> DataKey: ...
    def decrypt_data_key(self, key_id: str, wrapped: bytes) -> bytes: ...
    def encrypt_data_key(self, key_id: str, plaintext: bytes) -> bytes: ...

    index_key: bytes  # the blind indexes' HMAC key: a local secret even beside a KMS (one HMAC per search)


@dataclass(frozen=True)
class Sealed:
    key_id: str
    wrapped: bytes
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        kid = self.key_id.encode()
        return (MAGIC + struct.pack(">B", len(kid)) + kid + struct.pack(">H", len(self.wrapped)) + self.wrapped
                + self.nonce + self.ciphertext)


def is_sealed(blob: bytes) -> bool:
    return blob[:4] == MAGIC


def is_sealed_text(text: str) -> bool:
    return text.startswith(TEXT_PREFIX)


def parse(blob: bytes) -> Sealed:
    try:
        if not is_sealed(blob):
            raise ValueError("no magic")
        at = 4
        (kid_len,) = struct.unpack_from(">B", blob, at)
        at += 1
        key_id = blob[at:at + kid_len].decode()
        at += kid_len
        (wrapped_len,) = struct.unpack_from(">H", blob, at)
        at += 2
        wrapped = blob[at:at + wrapped_len]
        at += wrapped_len
        nonce, ciphertext = blob[at:at + NONCE_BYTES], blob[at + NONCE_BYTES:]
        if len(wrapped) != wrapped_len or len(nonce) != NONCE_BYTES or len(ciphertext) < 16:
            raise ValueError("truncated")
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise DecryptError(f"not a sealed value: {exc}") from None
    return Sealed(key_id, wrapped, nonce, ciphertext)


def seal(provider: KeyProvider, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` under a new data key wrapped by the provider's current master key."""
    data_key = provider.generate_data_key()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key.plaintext).encrypt(nonce, plaintext, aad)
    return Sealed(data_key.key_id, data_key.wrapped, nonce, ciphertext).to_bytes()


def open_sealed(provider: KeyProvider, blob: bytes, aad: bytes) -> bytes:
    sealed = parse(blob)
    try:
        data_key = provider.decrypt_data_key(sealed.key_id, sealed.wrapped)
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag:
        raise DecryptError("the value does not open with its key (damaged or moved from elsewhere)") from None


def key_id_of(blob: bytes) -> str:
    return parse(blob).key_id


def rewrap(provider: KeyProvider, blob: bytes) -> bytes:
    """The same ciphertext with its data key wrapped by the current master key (rotation: nothing else
    changes, so it is cheap and the value itself is never exposed outside this call)."""
    sealed = parse(blob)
    current = provider.current_key_id()
    if sealed.key_id == current:
        return blob
    data_key = provider.decrypt_data_key(sealed.key_id, sealed.wrapped)
    return Sealed(current, provider.encrypt_data_key(current, data_key), sealed.nonce, sealed.ciphertext).to_bytes()


def seal_text(provider: KeyProvider, plaintext: str, aad: str) -> str:
    blob = seal(provider, plaintext.encode(), aad.encode())
    return TEXT_PREFIX + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def _text_blob(text: str) -> bytes:
    if not is_sealed_text(text):
        raise DecryptError("not a sealed text")
    body = text[len(TEXT_PREFIX):]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise DecryptError("not a sealed text: bad base64") from None


def open_text(provider: KeyProvider, text: str, aad: str) -> str:
    return open_sealed(provider, _text_blob(text), aad.encode()).decode()


def key_id_of_text(text: str) -> str:
    return key_id_of(_text_blob(text))


def rewrap_text(provider: KeyProvider, text: str) -> str:
    blob = _text_blob(text)
    again = rewrap(provider, blob)
    return text if again is blob else TEXT_PREFIX + base64.urlsafe_b64encode(again).decode().rstrip("=")
