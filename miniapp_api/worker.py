"""The background worker: ``python -m miniapp_api.worker`` (needs REDIS_URL).

It runs rq's worker on our queues inside one app context, with the scheduler on so that retries
with backoff happen, and first queues any webhook or notification left pending while Redis or a
worker was down (deferred SMS after quiet hours are picked up by ``flask notify sweep``, run by cron).
"""

from __future__ import annotations

import sys

import redis
from rq import Worker

from . import create_app
from .services import notify, webhooks


def main(argv: list[str] | None = None) -> None:
    burst = "--burst" in (sys.argv[1:] if argv is None else argv)  # work until the queues are empty, then stop
    app = create_app()
    with app.app_context():
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        webhooks.sweep()
        notify.sweep()
        Worker([notify.QUEUE, webhooks.QUEUE], connection=connection).work(with_scheduler=not burst, burst=burst)


if __name__ == "__main__":
    main()
