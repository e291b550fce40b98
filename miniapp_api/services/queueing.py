"""Handing outbox rows to the worker: on Redis with rq's retries, or inline on a dev server.

A row whose job cannot be queued (Redis down) stays in its outbox table as pending; the sweep
queues it again later, so nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from flask import current_app
from rq import Queue, Retry


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
