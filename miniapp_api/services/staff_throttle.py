"""Staff sign-in throttles: wrong guesses hold up where they come from, never the clerk at another desk.

A hard lock per account (the old "10 wrong passwords lock it for 15 minutes") lets anyone lock any clerk out,
and does nothing against trying one password on many usernames. Instead, three counts of failures (a wrong
password or a wrong second-factor code), each in the Redis-or-memory store (store.py), so every server
shares them:

- per address and account: the first STAFF_SIGN_IN_FREE_FAILURES are free, then each failure makes that
  address wait before trying that account again, 1 s, 2 s, 4 s … (at most the window): typing mistakes cost
  nothing, a guesser gets few tries, and the clerk elsewhere is not held up;
- per address, across usernames: STAFF_SIGN_IN_FAILURES_PER_ADDRESS in the window, then that address waits
  out the window (password spraying stops after a few);
- per account, from every address: STAFF_SIGN_IN_FAILURES_PER_ACCOUNT in the window (guessing from many
  addresses), then only addresses this account signed in from lately (STAFF_SIGN_IN_KNOWN_ADDRESS_DAYS) may
  try it: the clerk's own desk still gets in.

While a wait stands the password is not even checked (429 with Retry-After). Counts are by the username as
typed, known or not, so the answers tell nothing about which usernames exist. A sign-in clears only its own
address-and-account count: the other two keep counting, or an attacker with one account of their own could
clear their address's count between guesses.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app

from ..errors import ApiError


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]  # any username, any address: one shape
    return f"staff-sign-in:{kind}:{digest}"


def check(username: str, address: str) -> None:
    """Refuse (429, Retry-After) while this address must wait before trying this account."""
    store = current_app.extensions["store"]
    blocks = [_key("address-block", address), _key("pair-block", username, address)]
    if store.get(_key("known", username, address)) is None:
        blocks.append(_key("account-block", username))
    now = time.time()
    wait = max((float(until) - now for until in (store.get(k) for k in blocks) if until), default=0.0)
    if wait > 0:
        seconds = math.ceil(wait)
        words = f"{seconds}秒" if seconds < 60 else f"{math.ceil(seconds / 60)}分钟"
        raise ApiError(429, "too_many_attempts", f"登录尝试次数过多，请{words}后再试",
                       f"too many sign-in attempts; try again in {seconds} s", headers={"Retry-After": str(seconds)})


def failed(username: str, address: str) -> None:
    """Count a wrong password or code, and start the waits it brings."""
    config, store = current_app.config, current_app.extensions["store"]
    window = int(config["STAFF_SIGN_IN_WINDOW"])
    pair = store.incr(_key("pair", username, address), window)
    free = int(config["STAFF_SIGN_IN_FREE_FAILURES"])
    if pair > free:
        _block(_key("pair-block", username, address), min(2 ** (pair - free - 1), window))
    if store.incr(_key("address", address), window) >= int(config["STAFF_SIGN_IN_FAILURES_PER_ADDRESS"]):
        _block(_key("address-block", address), window)
    if store.incr(_key("account", username), window) >= int(config["STAFF_SIGN_IN_FAILURES_PER_ACCOUNT"]):
        _block(_key("account-block", username), window)


def succeeded(username: str, address: str) -> None:
    """A sign-in: this address and account start again, and the address is one this account is known at."""
    store = current_app.extensions["store"]
    store.delete(_key("pair", username, address))
    store.delete(_key("pair-block", username, address))
    store.set(_key("known", username, address), "1", int(current_app.config["STAFF_SIGN_IN_KNOWN_ADDRESS_DAYS"]) * 86400)


def _block(key: str, seconds: int) -> None:
    current_app.extensions["store"].set(key, repr(time.time() + seconds), seconds)
