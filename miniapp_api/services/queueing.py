"""Handing outbox rows to the worker: on Redis with rq's retries, or inline on a dev server.

A row whose job cannot be queued (Redis down) stays in its outbox table as pending; the sweep
queues it again later, so nothing is lost. A row is sent only by whoever claimed it (pending →
sending in one conditional UPDATE): the job queued at submission, a retry and the sweep's job may all
reach the same row at once, and only one of them sends.

The database may go away mid-attempt (a restart, a failover). A claim whose commit failed is given
back, since nothing was sent; the outcome of a send that was made is written as soon as the database
answers again (`settle`), so it is neither lost nor sent twice.

Jobs are handed to Redis over one connection pool per app and process (`connection`): a new
connection per hand-off cost 16 % of a submission.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import sqlalchemy.exc
from flask import Flask, current_app
from rq import Queue, Retry
from sqlalchemy import tuple_

from ..extensions import db
from ..models import utcnow

# The database is away (connection refused, closed, reset): worth trying again in a moment.
DATABASE_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)
T = TypeVar("T")


class RetryLater(Exception):
    """Raised by a job's attempt so that rq tries it again after the next interval."""


def connection() -> redis.Redis:
    """The app's Redis client for handing jobs to rq, made once: one pool, its connections kept open.

    redis-py's pool notices a fork (gunicorn's workers) and starts afresh in the child; it is thread-safe.
    The connections are named after the process that made the pool, so CLIENT LIST shows whose they are.
    """
    return _client(current_app._get_current_object())


def _client(app: Flask) -> redis.Redis:
    client = app.extensions.get("rq_redis")
    if client is None:
        client = redis.Redis.from_url(app.config["REDIS_URL"], client_name=f"miniapp:enqueue:{os.getpid()}")
        app.extensions["rq_redis"] = client
    return client


def dispatch(queue_name: str, job: str, ids: list[int], intervals: list[int], attempt: Callable[[int], bool]) -> None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        for row_id in ids:
            try:
                attempt(row_id)
            except RetryLater:
                pass  # stays pending for the sweep
        return
    try:
        queue = Queue(queue_name, connection=connection())
        for row_id in ids:
            # result_ttl=0: a finished job is deleted at once (its outbox row is the record); a failed one stays
            queue.enqueue(job, row_id, job_id=f"{queue_name}-{row_id}-{time.time_ns()}", result_ttl=0,
                          retry=Retry(max=len(intervals), interval=intervals))
    except redis.RedisError:
        current_app.logger.warning("redis unavailable; %d %s job(s) wait for the sweep", len(ids), queue_name)


def claim(row: Any, since: str) -> int | None:
    """Take an outbox row (``status``, ``attempts``, and the timestamp column ``since``) for one attempt.

    Pending → sending, the attempt counted and ``since`` set to now (when the lease began), in one
    UPDATE that only matches the row as it was read: of two claimers one wins. Returns the attempt
    number (the claim's token for `release`), or None when the row is someone else's or done.
    """
    model, row_id, seen = type(row), row.id, row.attempts
    try:
        taken = db.session.execute(db.update(model).where(model.id == row_id, model.status == "pending",
                                                          model.attempts == seen)
                                   .values(status="sending", attempts=seen + 1, **{since: utcnow()}))
        db.session.commit()
    except DATABASE_ERRORS:
        # The database may have made the commit and lost the answer on the way back. Nothing was sent:
        # give it back (a no-op when the claim never landed), then let the job be retried.
        _forget_session()
        settle(lambda: release(model, row_id, seen + 1, status="pending", attempts=seen))
        raise
    return seen + 1 if taken.rowcount == 1 else None


def release(model: Any, row_id: int, token: int, **values: Any) -> bool:
    """End a claim (``values`` say how: back to pending, delivered, dead), if it is still this claim's."""
    done = db.session.execute(db.update(model).where(model.id == row_id, model.status == "sending",
                                                     model.attempts == token).values(**values))
    db.session.commit()
    return done.rowcount == 1


def settle(write: Callable[[], T]) -> T:
    """Run a write that must land although the database is away for a moment (what this worker sent, or
    did not, is known to it alone): tried again for WORKER_DATABASE_WAIT seconds, then raised."""
    deadline = time.monotonic() + current_app.config["WORKER_DATABASE_WAIT"]
    pause = 0.25
    while True:
        try:
            return write()
        except DATABASE_ERRORS:
            _forget_session()
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 2.0)


def _forget_session() -> None:
    """Drop the session and its broken connection; the next statement checks out a fresh one."""
    with contextlib.suppress(*DATABASE_ERRORS):
        db.session.rollback()
    db.session.remove()


SWEEP_BATCH = 500  # outbox rows a sweep reads at a time


def lapsed_claims(model: Any, since: str, lease: dt.timedelta, limit: int | None = None) -> list[Any]:
    """Up to ``limit`` rows claimed longer ago than ``lease``: their worker died mid-attempt (the caller decides
    what now, and calls again for the next batch). Read from the partial index of unsent rows; on PostgreSQL
    locked FOR UPDATE SKIP LOCKED, so two sweeps at once take different rows."""
    column = getattr(model, since)
    query = (db.select(model).where(model.status == "sending", column < utcnow() - lease)
             .order_by(column, model.id).limit(limit or SWEEP_BATCH))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def due_ids(model: Any, since: str, now: dt.datetime, after: tuple[dt.datetime, int] | None = None,
            limit: int | None = None) -> list[tuple[dt.datetime, int]]:
    """The next ``limit`` pending rows whose time (``since``) has come, after ``after`` in (time, id) order: their
    keys only, from the partial index of unsent rows (the worker that claims each reads it)."""
    column = getattr(model, since)
    query = db.select(column, model.id).where(model.status == "pending", column <= now)
    if after is not None:
        query = query.where(tuple_(column, model.id) > after)
    return [(t, i) for t, i in db.session.execute(query.order_by(column, model.id).limit(limit or SWEEP_BATCH))]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
