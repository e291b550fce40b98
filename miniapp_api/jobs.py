"""Jobs the rq worker runs. The worker gives each an app context of its own (worker.AppWorker), and each
job starts and ends on a fresh session besides, wherever it is run: one left broken by a database restart
(or holding a transaction) is never handed to the next job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .extensions import db
from .services import notify, webhooks


@contextmanager
def fresh_session() -> Iterator[None]:
    db.session.remove()
    try:
        yield
    finally:
        db.session.remove()  # rolls back whatever the job left open and returns its connection


def deliver_webhook(delivery_id: int) -> bool:
    with fresh_session():
        return webhooks.attempt(delivery_id)


def send_notification(notification_id: int) -> bool:
    with fresh_session():
        return notify.attempt(notification_id)
