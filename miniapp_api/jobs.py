"""Jobs the rq worker runs. Each runs inside the app context the worker set up."""

from __future__ import annotations

from .services import webhooks


def deliver_webhook(delivery_id: int) -> bool:
    return webhooks.attempt(delivery_id)
