"""Handing outbox rows to the worker: on Redis with rq's retries, or inline on a dev server.

A row whose job cannot be queued (Redis down) stays in its outbox table as pending; the sweep
queues it again later, so nothing is lost. A row is sent only by whoever claimed it (pending →
sending in one conditional UPDATE): the job queued at submission, a retry and the sweep's job may all
reach the same row at once, and only one of them sends.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import current_app
from rq import Queue, Retry

from ..extensions import db
from ..models import utcnow


class RetryLater(Exception):
    """Raised by a job's attempt so that rq tries it again after the next interval."""


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
        queue = Queue(queue_name, connection=redis.Redis.from_url(url))
        for row_id in ids:
            queue.enqueue(job, row_id, job_id=f"{queue_name}-{row_id}-{time.time_ns()}",
                          retry=Retry(max=len(intervals), interval=intervals))
    except redis.RedisError:
        current_app.logger.warning("redis unavailable; %d %s job(s) wait for the sweep", len(ids), queue_name)


def claim(row: Any, since: str) -> int | None:
    """Take an outbox row (``status``, ``attempts``, and the timestamp column ``since``) for one attempt.

    Pending → sending, the attempt counted and ``since`` set to now (when the lease began), in one
    UPDATE that only matches the row as it was read: of two claimers one wins. Returns the attempt
    number (the claim's token for `release`), or None when the row is someone else's or done.
    """
    model, seen = type(row), row.attempts
    taken = db.session.execute(db.update(model).where(model.id == row.id, model.status == "pending",
                                                      model.attempts == seen)
                               .values(status="sending", attempts=seen + 1, **{since: utcnow()}))
    db.session.commit()
    return seen + 1 if taken.rowcount == 1 else None


def release(model: Any, row_id: int, token: int, **values: Any) -> bool:
    """End a claim (``values`` say how: back to pending, delivered, dead), if it is still this claim's."""
    done = db.session.execute(db.update(model).where(model.id == row_id, model.status == "sending",
                                                     model.attempts == token).values(**values))
    db.session.commit()
    return done.rowcount == 1


def lapsed_claims(model: Any, since: str, lease: dt.timedelta) -> list[Any]:
    """Rows claimed longer ago than ``lease``: their worker died mid-attempt (the caller decides what now)."""
    cutoff = utcnow() - lease
    rows = db.session.scalars(db.select(model).where(model.status == "sending")).all()
    return [r for r in rows if _aware(getattr(r, since)) < cutoff]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
