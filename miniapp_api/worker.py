"""The background worker: ``python -m miniapp_api.worker`` (needs REDIS_URL); ``--check`` for its health.

It runs rq's worker on our queues inside one app context, with the scheduler on so that retries
with backoff happen, and first queues any webhook or notification left pending while Redis or a
worker was down (deferred SMS after quiet hours are picked up by ``flask notify sweep``, run by cron).

A database restart costs a retry of the jobs running at that moment, never the worker: rq runs each
job in a forked work horse, the worker itself holds no connection or transaction such a fork could
inherit, and each job has a session of its own (jobs.py). Every WORKER_HEARTBEAT_SECONDS the worker
checks that the database answers and writes what it found to Redis (``miniapp:worker-health:<host>:<pid>``,
gone after three missed beats); ``python -m miniapp_api.worker --check`` prints this host's reports and
exits 0 only when there is one and every one says the database is ok (for a container health check
or a monitor; /readyz is the web servers' and does not depend on workers).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import Any

import redis
from flask import Flask
from redis.client import Pipeline
from rq import Worker
from sqlalchemy import text

from . import create_app
from .extensions import db
from .models import iso, utcnow
from .services import notify, webhooks

HEALTH_PREFIX = "miniapp:worker-health:"


def health_key() -> str:
    return f"{HEALTH_PREFIX}{socket.gethostname()}:{os.getpid()}"


def database_state() -> str:
    """"ok", or the error class; the connection is closed again, so no forked job inherits it."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "not healthy"
        return f"error: {type(exc).__name__}"
    finally:
        db.engine.dispose()


class AppWorker(Worker):
    """rq's forking worker, waking every WORKER_HEARTBEAT_SECONDS when idle to report its health."""

    heartbeat_seconds = 15

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.health_key = health_key()
        self._checked_at = -float("inf")

    @property
    def dequeue_timeout(self) -> int:
        return self.heartbeat_seconds

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """rq's heartbeat, and ours: the database checked at most once per interval (rq beats after every job)."""
        super().heartbeat(timeout, pipeline)
        ttl = 3 * self.heartbeat_seconds
        if pipeline is not None or time.monotonic() - self._checked_at < self.heartbeat_seconds:
            (pipeline if pipeline is not None else self.connection).expire(self.health_key, ttl)  # the report stands
            return
        self._checked_at = time.monotonic()
        report = {"host": socket.gethostname(), "pid": os.getpid(), "worker": self.name,
                  "database": database_state(), "at": iso(utcnow())}
        self.connection.set(self.health_key, json.dumps(report), ex=ttl)


def health_reports(connection: redis.Redis, host: str | None = None) -> list[dict[str, Any]]:
    """The live reports of the workers on ``host`` (this one by default)."""
    reports = []
    for key in connection.scan_iter(match=f"{HEALTH_PREFIX}{host or socket.gethostname()}:*"):
        value = connection.get(key)
        if value is not None:  # expired between the scan and the read
            reports.append(json.loads(value))
    return reports


def check(connection: redis.Redis) -> int:
    """Print this host's reports; 0 when there is one and all say the database is ok, else 1."""
    try:
        reports = health_reports(connection)
    except redis.RedisError as exc:
        print(json.dumps({"redis": f"error: {type(exc).__name__}"}))
        return 1
    for report in reports:
        print(json.dumps(report, ensure_ascii=False))
    if not reports:
        print(json.dumps({"workers": "none has reported on this host"}))
    return 0 if reports and all(r["database"] == "ok" for r in reports) else 1


def build(app: Flask, connection: redis.Redis) -> AppWorker:
    """The worker on our two queues, notifications listed first."""
    worker = AppWorker([notify.QUEUE, webhooks.QUEUE], connection=connection)
    worker.heartbeat_seconds = app.config["WORKER_HEARTBEAT_SECONDS"]
    return worker


def serve(worker: AppWorker, burst: bool = False, max_jobs: int | None = None) -> bool:
    """Work the queues (until they are empty with ``burst``); the scheduler runs the retries' backoff."""
    return worker.work(with_scheduler=not burst, burst=burst, max_jobs=max_jobs)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    burst = "--burst" in args  # work until the queues are empty, then stop
    app = create_app()
    with app.app_context():
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        if "--check" in args:
            sys.exit(check(connection))
        webhooks.sweep()
        notify.sweep()
        db.session.remove()  # the sweeps' session and connections: nothing for a forked job to inherit
        db.engine.dispose()
        worker = build(app, connection)
        try:
            serve(worker, burst)
        finally:
            connection.delete(worker.health_key)


if __name__ == "__main__":
    main()
