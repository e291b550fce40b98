"""Pushing new work items to department systems: a signed JSON webhook per item, written to an
outbox in the same transaction as the case, sent by an rq worker that retries with backoff.

Never lost: if Redis is down when the case is submitted the outbox row stays ``pending`` and
``flask notify sweep`` (cron; it sweeps both outboxes) or the next submission's sweep queues it again. Never doubled: a delivery
is POSTed only by the worker that claimed it (a lease, as notifications have), each carries
``X-Delivery-Id``, and a delivered row is never sent again. A claim whose worker died is given back by
the sweep after the lease: the department may then see that X-Delivery-Id a second time.
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
    """One try, by whoever claims the delivery. True when delivered (now or before) or another worker
    has it; raises DeliveryFailed to be retried."""
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != "pending":
        return True  # delivered, dead, or being sent right now
    url, payload = row.url, row.payload
    secret = current_app.config["DEPARTMENT_WEBHOOKS"].get(row.department, {}).get("secret", "")
    token = queueing.claim(row, "next_attempt_at")  # while sending, next_attempt_at is when the lease began
    if token is None:
        return True
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Delivery-Id": str(delivery_id), "X-Timestamp": timestamp,
               "X-Signature": sign(secret, timestamp, body)}
    try:
        response = requests.post(url, data=body, headers=headers, timeout=current_app.config["WEBHOOK_TIMEOUT"])
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    intervals = current_app.config["WEBHOOK_RETRY_INTERVALS"]
    if ok:
        outcome = {"status": "delivered", "delivered_at": utcnow(), "last_error": None}
    elif token > len(intervals):
        outcome = {"status": "dead", "last_error": error}
    else:
        outcome = {"status": "pending", "last_error": error,
                   "next_attempt_at": utcnow() + dt.timedelta(seconds=intervals[token - 1])}
    queueing.settle(lambda: queueing.release(WebhookDelivery, delivery_id, token, **outcome))  # even if the database blinked
    if not ok:
        raise DeliveryFailed(f"delivery {delivery_id}: {error}")
    return True


def sweep(lease: dt.timedelta = dt.timedelta(minutes=5), most: int = 1000) -> int:
    """Queue again every pending delivery whose time has come (after Redis or a worker was down), and
    give back a claim held longer than the lease (its worker died mid-POST); both a batch at a time
    (queueing.SWEEP_BATCH), at most ``most`` batches of each per run, reading only the rows due."""
    for _ in range(most):
        lapsed = queueing.lapsed_claims(WebhookDelivery, "next_attempt_at", lease)
        for row in lapsed:
            queueing.release(WebhookDelivery, row.id, row.attempts, status="pending", next_attempt_at=utcnow(),
                             last_error="interrupted while sending")
        db.session.commit()
        if len(lapsed) < queueing.SWEEP_BATCH:
            break
    return _dispatch_due(utcnow(), most)


def _dispatch_due(now: dt.datetime, most: int) -> int:
    queued, after = 0, None
    for _ in range(most):
        batch = queueing.due_ids(WebhookDelivery, "next_attempt_at", now, after)
        dispatch([i for _, i in batch])
        queued += len(batch)
        if len(batch) < queueing.SWEEP_BATCH:
            break
        after = batch[-1]
    return queued
