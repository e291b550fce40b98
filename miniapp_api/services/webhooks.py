"""Pushing new work items to department systems: a signed JSON webhook per item, written to an
outbox in the same transaction as the case, sent by an rq worker that retries with backoff.

Never lost: if Redis is down when the case is submitted the outbox row stays ``pending`` and
``flask webhooks sweep`` (or the next submission's sweep) queues it again. Never doubled: each
delivery carries ``X-Delivery-Id`` and a delivered row is never sent again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

import requests
from flask import current_app

from ..extensions import db
from ..models import Case, WebhookDelivery, iso, utcnow
from . import queueing

QUEUE = "webhooks"


DeliveryFailed = queueing.RetryLater


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp.body``: what we send and what department callbacks must send."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def add_outbox(case: Case) -> list[WebhookDelivery]:
    """Outbox rows for every work item whose department has an endpoint (caller commits)."""
    endpoints = current_app.config["DEPARTMENT_WEBHOOKS"]
    rows = []
    for item in case.work_items:
        endpoint = endpoints.get(item.department)
        if not endpoint:
            continue
        payload = {"event": "work_item.submitted", "tracking_code": case.tracking_code, "region": case.region,
                   "work_item": {"matter": item.matter_id, "department": item.department, "status": item.status,
                                 "due_at": iso(item.due_at)},
                   "submitted_at": iso(case.submitted_at)}
        row = WebhookDelivery(department=item.department, url=endpoint["url"], payload=payload)
        row.work_item = item
        rows.append(row)
        db.session.add(row)
    return rows


def dispatch(delivery_ids: list[int]) -> None:
    """Queue the deliveries on Redis; without Redis (dev server) try each once, inline."""
    queueing.dispatch(QUEUE, "miniapp_api.jobs.deliver_webhook", delivery_ids,
                      current_app.config["WEBHOOK_RETRY_INTERVALS"], attempt)


def attempt(delivery_id: int) -> bool:
    """One try. True when delivered (now or before); raises DeliveryFailed to be retried."""
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None or row.status == "delivered":
        return True
    secret = current_app.config["DEPARTMENT_WEBHOOKS"].get(row.department, {}).get("secret", "")
    body = json.dumps(row.payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Delivery-Id": str(row.id), "X-Timestamp": timestamp,
               "X-Signature": sign(secret, timestamp, body)}
    row.attempts += 1
    try:
        response = requests.post(row.url, data=body, headers=headers, timeout=current_app.config["WEBHOOK_TIMEOUT"])
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    if ok:
        row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
        db.session.commit()
        return True
    intervals = current_app.config["WEBHOOK_RETRY_INTERVALS"]
    row.last_error = error
    if row.attempts > len(intervals):
        row.status = "dead"
    else:
        row.next_attempt_at = utcnow() + dt.timedelta(seconds=intervals[row.attempts - 1])
    db.session.commit()
    raise DeliveryFailed(f"delivery {row.id}: {error}")


def sweep() -> int:
    """Queue again every pending delivery whose time has come (after Redis or a worker was down)."""
    now = utcnow()
    rows = db.session.scalars(db.select(WebhookDelivery).filter_by(status="pending")).all()
    due = [r.id for r in rows if (r.next_attempt_at.replace(tzinfo=dt.UTC) if r.next_attempt_at.tzinfo is None
                                  else r.next_attempt_at) <= now]
    dispatch(due)
    return len(due)
