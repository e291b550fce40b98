"""The background worker: ``python -m miniapp_api.worker`` (needs REDIS_URL); ``--check`` for its health.

It runs rq's SimpleWorker on our queues, served in turn (round robin: a flood of notifications never
starves the webhooks), with the scheduler on so that retries with backoff happen, and first queues any
webhook or notification left pending while Redis or a worker was down (deferred SMS after quiet hours
are picked up by ``flask notify sweep``, run by cron).

No fork per job: rq's forking Worker spent ~53 ms of CPU per webhook on the fork and on re-opening the
database (19 deliveries/s); SimpleWorker took 7.2 ms in that test (bench/worker.py). What the fork gave, each job has:
an app context and session of its own (``AppWorker.execute_job``), so nothing a job left (a broken
connection, an open transaction, a loaded row, ``g``) reaches the next one. A database restart costs a
retry of the job running at that moment, never the worker: the pool checks connections before use
(``pool_pre_ping``). Run more than one worker process for more throughput. Every WORKER_HEARTBEAT_SECONDS
the worker checks that the database answers and writes what it found to Redis
(``miniapp:worker-health:<host>:<pid>``, gone after three missed beats, or, during a job, after rq's time
for it); ``python -m miniapp_api.worker --check`` prints this host's reports and
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
from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue
from rq.worker import DequeueStrategy
from sqlalchemy import text

from . import create_app
from .extensions import db
from .models import iso, utcnow
from .services import notify, webhooks

HEALTH_PREFIX = "miniapp:worker-health:"


def health_key() -> str:
    return f"{HEALTH_PREFIX}{socket.gethostname()}:{os.getpid()}"


def database_state() -> str:
    """"ok", or the error class (a pooled connection is pinged first, so a restarted database answers)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "not healthy"
        return f"error: {type(exc).__name__}"


class AppWorker(SimpleWorker):
    """rq's worker without a fork per job, each job in a fresh app context; waking every
    WORKER_HEARTBEAT_SECONDS when idle to report its health."""

    heartbeat_seconds = 15

    def __init__(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self.health_key = health_key()
        self._checked_at = -float("inf")

    def execute_job(self, job: Job, queue: Queue) -> None:
        """The job in an app context of its own: a fresh session and ``g``, removed (rolled back) after it."""
        with self.app.app_context():
            db.session.remove()
            try:
                super().execute_job(job, queue)
            finally:
                db.session.remove()

    @property
    def dequeue_timeout(self) -> int:
        return self.heartbeat_seconds

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """rq's heartbeat, and ours: the database checked at most once per interval (rq beats several times
        a job, so between reports nothing is sent: the last one has three intervals to live)."""
        super().heartbeat(timeout, pipeline)
        ttl = 3 * self.heartbeat_seconds
        if pipeline is not None:  # before a job: the report stands while it runs, as long as rq gives the job
            pipeline.expire(self.health_key, max(ttl, timeout or 0))
            return
        if time.monotonic() - self._checked_at < self.heartbeat_seconds:
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
    """The worker on our two queues (served in turn, see `serve`)."""
    worker = AppWorker(app, [notify.QUEUE, webhooks.QUEUE], connection=connection)
    worker.heartbeat_seconds = app.config["WORKER_HEARTBEAT_SECONDS"]
    return worker


def serve(worker: AppWorker, burst: bool = False, max_jobs: int | None = None) -> bool:
    """Work the queues (until they are empty with ``burst``); the scheduler runs the retries' backoff."""
    return worker.work(with_scheduler=not burst, burst=burst, max_jobs=max_jobs,
                       dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
                       logging_level=worker.app.config["WORKER_LOG_LEVEL"])


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
        db.session.remove()  # the sweeps' session; each job starts on its own
        db.engine.dispose()  # before rq forks its scheduler: no connection shared with it
        worker = build(app, connection)
        try:
            serve(worker, burst)
        finally:
            connection.delete(worker.health_key)


if __name__ == "__main__":
    main()
