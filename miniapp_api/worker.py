"""The background worker: ``python -m miniapp_api.worker`` (needs REDIS_URL).

It runs rq's worker on our queues inside one app context, with the scheduler on so that retries
with backoff happen, and first queues any webhook left pending while Redis or a worker was down.
"""

from __future__ import annotations

import redis
from rq import Worker

from . import create_app
from .services import webhooks


def main() -> None:
    app = create_app()
    with app.app_context():
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        webhooks.sweep()
        Worker([webhooks.QUEUE], connection=connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
