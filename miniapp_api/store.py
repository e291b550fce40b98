"""Short-lived keys (one-time codes, throttles, the WeChat token): Redis when REDIS_URL is set,
otherwise an in-process store so the dev server runs with no other service."""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis


class Store(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: int) -> None: ...
    def add(self, key: str, value: str, ttl: int) -> bool: ...
    def incr(self, key: str, ttl: int) -> int: ...
    def delete(self, key: str) -> None: ...


class RedisStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    def get(self, key: str) -> str | None:
        value = self.client.get(key)
        return None if value is None else value.decode()

    def set(self, key: str, value: str, ttl: int) -> None:
        self.client.set(key, value, ex=ttl)

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Set only if absent: the atomic building block of throttles."""
        return bool(self.client.set(key, value, ex=ttl, nx=True))

    def incr(self, key: str, ttl: int) -> int:
        with self.client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
            count, _ = pipe.execute()
        return int(count)

    def delete(self, key: str) -> None:
        self.client.delete(key)


class MemoryStore:
    """The same operations in one process (dev server, single worker)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None or item[1] < time.monotonic():
            self._data.pop(key, None)
            return None
        return item[0]

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl)

    def add(self, key: str, value: str, ttl: int) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, time.monotonic() + ttl)
            return True

    def incr(self, key: str, ttl: int) -> int:
        with self._lock:
            current = self._live(key)
            expires = self._data[key][1] if current is not None else time.monotonic() + ttl
            count = int(current or 0) + 1
            self._data[key] = (str(count), expires)
            return count

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


def make_store(redis_url: str | None) -> Store:
    return RedisStore(redis.Redis.from_url(redis_url)) if redis_url else MemoryStore()
