"""Many cases fast, for the scale tests (tests/test_query_counts.py, tests/test_query_plans.py): one real case
made through the API is cloned with bulk INSERTs (executemany through the tables' own column types, so the
encrypted columns are sealed as the app seals them), its work items spread over every status and due date."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from miniapp_api.domain import tracking, workflow
from miniapp_api.extensions import db
from miniapp_api.models import (
    Case,
    CaseSearchKey,
    Notification,
    QuestionnaireSession,
    Rating,
    WebhookDelivery,
    WorkItem,
)

# Out of every fifty cloned items: which status each gets (most of a province's history is finished work).
STATUS_CYCLE = ("submitted", "accepted", "in_progress", "needs_supplement") + ("done",) * 42 + ("rejected",) * 4


def _one(table: sa.Table, **where: Any) -> dict[str, Any]:
    row = db.session.execute(sa.select(table).filter_by(**where)).mappings().first()
    assert row is not None, f"no {table.name} row {where}"
    return dict(row)


def _all(table: sa.Table, **where: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in db.session.execute(sa.select(table).filter_by(**where)).mappings()]


def _next_id(table: sa.Table) -> int:
    return (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


def clone_cases(code: str, count: int, mostly_finished: bool = False, dead_notes: bool = True,
                deliveries: bool = True, same_names_every: int = 1) -> None:
    """``count`` copies of the case with tracking code ``code`` (its questionnaire, work items, search keys, a
    notification and a webhook delivery each, a rating every 20th), committed. ``mostly_finished``: statuses as in
    a province's years of history (STATUS_CYCLE); otherwise every status in turn. ``same_names_every``: every how
    many-th copy has the same names and numbers (search keys) as the case; the others their own."""
    cases, sessions, items = Case.__table__, QuestionnaireSession.__table__, WorkItem.__table__
    keys, notes, hooks = CaseSearchKey.__table__, Notification.__table__, WebhookDelivery.__table__
    case = _one(cases, tracking_code=code)
    session = _one(sessions, id=case["questionnaire_id"])
    its = _all(items, case_id=case["id"])
    ks = _all(keys, case_id=case["id"])
    note = _one(notes, case_id=case["id"], event="case_submitted")
    now = dt.datetime.now(dt.UTC)
    case_id, item_id, note_id, hook_id = _next_id(cases), _next_id(items), _next_id(notes), _next_id(hooks)
    new_sessions, new_cases, new_items, new_keys, new_notes, new_hooks = [], [], [], [], [], []
    new_ratings: list[dict[str, Any]] = []
    statuses = STATUS_CYCLE if mostly_finished else workflow.STATUSES
    for n in range(count):
        sid = uuid.uuid4().hex
        new_sessions.append({**session, "id": sid})
        new_cases.append({**case, "id": case_id, "tracking_code": tracking.new_code(), "questionnaire_id": sid,
                          "idempotency_key": f"bulk-{sid}", "submitted_at": now - dt.timedelta(minutes=n)})
        for k, item in enumerate(its):
            status = statuses[(n * len(its) + k) % len(statuses)]
            due = None if (n + k) % 7 == 0 else now + dt.timedelta(hours=(n % 90) - 30 + k)
            new_items.append({**item, "id": item_id, "case_id": case_id, "status": status, "due_at": due,
                              "version": 1})
            if deliveries and k == 0:
                new_hooks.append({"id": hook_id, "work_item_id": item_id, "department": item["department"],
                                  "url": "http://127.0.0.1:9/hook", "payload": {"event": "work_item.submitted"},
                                  "status": "pending" if n % 50 == 0 else "delivered", "attempts": 1,
                                  "last_error": None, "next_attempt_at": now - dt.timedelta(minutes=n % 120),
                                  "delivered_at": None})
                hook_id += 1
            item_id += 1
        same = n % same_names_every == 0
        new_keys += [{**key, "id": None, "case_id": case_id, **({} if same else {"digest": uuid.uuid4().hex})}
                     for key in ks]
        if n % 20 == 0:
            new_ratings.append({"case_id": case_id, "score": 1 + n % 5, "comment": None, "at": now})
        status = "dead" if dead_notes and n % 3 == 0 else ("pending" if n % 40 == 0 else "sent")
        new_notes.append({**note, "id": note_id, "case_id": case_id, "status": status,
                          "idempotency_key": uuid.uuid4().hex, "attempts": 5 if status == "dead" else 1,
                          "last_error": "isv.BUSINESS_LIMIT_CONTROL" if status == "dead" else None})
        case_id, note_id = case_id + 1, note_id + 1
    for key in new_keys:
        key.pop("id")
    for table, rows in ((sessions, new_sessions), (cases, new_cases), (items, new_items), (keys, new_keys),
                        (notes, new_notes), (hooks, new_hooks), (Rating.__table__, new_ratings)):
        if rows:
            db.session.execute(table.insert(), rows)
    db.session.commit()
    _advance_sequences(cases, items, notes, hooks)


def _advance_sequences(*tables: sa.Table) -> None:
    """PostgreSQL: rows inserted with explicit ids leave the id sequences behind; move them past the rows."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                   f"(SELECT coalesce(max(id), 1) FROM {table.name}))"))
    db.session.commit()
