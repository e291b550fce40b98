"""Keyed blind indexes: an HMAC-SHA256 of a normalised value under BLIND_INDEX_KEY (keys.py), so a name, an
ID number's tail or a phone number can be found with ``=`` on an indexed column while the value itself is
stored only encrypted. Without the key a digest cannot be tested against guesses (an ID tail has only
10^4 values: a plain hash would give it away). Each kind is its own domain of the HMAC, so a name's digest
never equals a tail's. Exact matches only: a part of a name finds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from typing import Any

DIGEST_CHARS = 32  # 128 bits: collisions among a province's cases are out of reach
TAIL_LENGTHS = (4, 5, 6)
PEOPLE = ("deceased", "applicant", "proxy")


def digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def normal_name(name: str) -> str:
    """Full-width and half-width letters alike, no spaces (「张 三」 is 「张三」), Latin letters upper-case."""
    return "".join(unicodedata.normalize("NFKC", name).split()).upper()


def name_digest(key: bytes, name: str) -> str:
    return digest(key, "name", normal_name(name))


def id_tail_digest(key: bytes, tail: str) -> str:
    return digest(key, "id-tail", tail.strip().upper())


def phone_digest(key: bytes, phone: str) -> str:
    return digest(key, "phone", phone.strip())


def phone_tail_digest(key: bytes, tail: str) -> str:
    return digest(key, "phone-tail", tail.strip())


def form_digests(key: bytes, form: Mapping[str, Any]) -> set[str]:
    """What staff may search a case by: each person's full name, the last 4, 5 and 6 characters of
    their ID number, and the last 4 digits of the applicant's phone (what a family says on the telephone)."""
    found: set[str] = set()
    for role in PEOPLE:
        person = form.get(role)
        if not isinstance(person, Mapping):
            continue
        name = str(person.get("name") or "").strip()
        if name:
            found.add(name_digest(key, name))
        number = str(person.get("id_number") or "").strip().upper()
        found.update(id_tail_digest(key, number[-n:]) for n in TAIL_LENGTHS if len(number) >= n)
    applicant = form.get("applicant")
    phone = "".join(c for c in str(applicant.get("phone") or "") if c.isdigit()) if isinstance(applicant, Mapping) else ""
    if len(phone) >= 4:
        found.add(phone_tail_digest(key, phone[-4:]))
    return found


def search_digests(key: bytes, text: str) -> list[str]:
    """What a clerk's search text could be: an ID tail (4-6 digits, the last may be X), a phone's last 4
    (4 digits: an ID tail or a phone tail) or a full name."""
    text = text.strip()
    upper = text.upper()
    is_tail = 4 <= len(upper) <= 6 and upper[:-1].isdigit() and (upper[-1].isdigit() or upper[-1] == "X")
    if len(upper) == 4 and upper.isdigit():
        return [id_tail_digest(key, upper), phone_tail_digest(key, upper)]
    return [id_tail_digest(key, upper)] if is_tail else [name_digest(key, text)]
