"""Tracking codes a family can read over the phone: ``7KQ2M-9XH4P``.

Nine random characters (secrets, so no code says anything about another) from Crockford's base-32
alphabet, which has no I, L, O or U to confuse, plus one check character (Luhn mod 32, python-stdnum)
that catches any single mistyped character and any swap of two neighbours. Luhn mod N misses one
swap, of the characters worth 0 and N-1 ("0" and "Z"); codes with those two side by side are never
issued, so every neighbour swap is caught.
"""

from __future__ import annotations

import secrets

from stdnum import luhn

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 9
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
        code = body + luhn.calc_check_digit(body, alphabet=ALPHABET)
        if not _has_blind_pair(code):
            return code


def _has_blind_pair(code: str) -> bool:
    return any({a, b} == {ALPHABET[0], ALPHABET[-1]} for a, b in zip(code, code[1:], strict=False))


def display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def normalise(text: str) -> str | None:
    """The canonical code for what a person typed (any case, spaces, dash, O for 0), or None if invalid."""
    compact = "".join(ch for ch in (text or "").upper() if ch not in " -").translate(_READ_AS)
    if len(compact) != RANDOM_LENGTH + 1 or any(ch not in ALPHABET for ch in compact):
        return None
    return compact if luhn.is_valid(compact, alphabet=ALPHABET) else None
