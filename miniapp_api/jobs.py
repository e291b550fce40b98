"""Jobs the rq worker runs. Each runs inside the app context the worker set up."""

from __future__ import annotations

from .services import notify, webhooks


def deliver_webhook(delivery_id: int) -> bool:
    return webhooks.attempt(delivery_id)


def send_notification(notification_id: int) -> bool:
    return notify.attempt(notification_id)
