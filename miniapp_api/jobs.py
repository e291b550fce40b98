"""Jobs the rq worker runs. Each runs inside the app context the worker set up, on a session of its own:
one left broken by a database restart (or holding a transaction) is never handed to the next job."""

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
