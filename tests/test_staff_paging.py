"""Staff lists a page at a time (issue 17): the API's queue, supervision and undelivered messages and the
console's queue, supervision and messages walk every row once through their cursors, in order (the console's
work order included), with counts from SQL; a bad cursor or page size is a clear 422; the applicant's phone
tail finds a case; the sweeps take due rows in batches."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from miniapp_api.domain import workflow
from miniapp_api.extensions import db
from miniapp_api.models import Notification, WebhookDelivery, WorkItem
from miniapp_api.services import notify, paging, queueing, webhooks
from tests import bulk
from tests.test_console_pages import console_sign_in, csrf_token, make_case, make_staff, search, text_of
from tests.test_query_counts import api_token

CASES = 40  # three work items each: 120, over two pages of 50 for the window


@pytest.fixture()
def many(client, app, wechat_peer):
    make_staff(app, "hn_window", "hn_hrss", "hn_super", "jn_window", "hn_police")
    _, case = make_case(client, app, wechat_peer)
    with app.app_context():
        bulk.clone_cases(case["tracking_code"].replace("-", ""), CASES - 1)
    return case


def walk(client, url: str, headers: dict, key: str, limit: int | None = None, **args) -> tuple[list[dict], int]:
    """Every row of a list through its cursors; and how many pages it took."""
    rows, cursor, pages = [], None, 0
    while True:
        params = {**args, **({"cursor": cursor} if cursor else {}), **({"limit": limit} if limit else {})}
        body = client.get(url, query_string=params, headers=headers).get_json()
        rows += body[key]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages


def due_order(rows: list[dict]) -> list[tuple]:
    never = "9999"
    return [(r["due_at"] is None, dt.datetime.fromisoformat(r["due_at"]) if r["due_at"] else never, r["id"])
            for r in rows]


def test_the_queue_pages_through_every_item_once_in_due_order(client, app, many):
    window = api_token(client, "hn_window")
    rows, pages = walk(client, "/api/v1/staff/work-items", window, "items")
    assert len(rows) == 3 * CASES and pages == 3  # 50, 50, 20
    assert len({r["id"] for r in rows}) == len(rows)
    assert due_order(rows) == sorted(due_order(rows))  # by due date, none last, then id
    small, pages = walk(client, "/api/v1/staff/work-items", window, "items", limit=7)
    assert [r["id"] for r in small] == [r["id"] for r in rows] and pages == 18
    clerk = api_token(client, "hn_hrss")
    for status in workflow.STATUSES:
        mine, _ = walk(client, "/api/v1/staff/work-items", clerk, "items", limit=5, status=status)
        with app.app_context():
            expected = db.session.scalar(db.select(db.func.count()).select_from(WorkItem).where(
                WorkItem.department == "hrss", WorkItem.status == status, WorkItem.region == "hunan"))
        assert len(mine) == expected and {r["status"] for r in mine} <= {status}
        assert {r["department"] for r in mine} <= {"hrss"}
    first = client.get("/api/v1/staff/work-items", headers=window).get_json()
    assert len(first["items"]) == paging.PAGE_SIZE and first["next_cursor"]


@pytest.mark.parametrize("url", ["/api/v1/staff/work-items", "/api/v1/staff/supervision",
                                 "/api/v1/staff/notifications/dead"])
@pytest.mark.parametrize("params,code", [({"cursor": "not-a-cursor"}, "invalid_cursor"),
                                         ({"cursor": paging.encode("other", 1)}, "invalid_cursor"),
                                         ({"cursor": paging.encode("queue", "yesterday", 1)}, "invalid_cursor"),
                                         ({"cursor": paging.encode("dead", -4)}, "invalid_cursor"),
                                         ({"cursor": paging.encode("supervision", "overdue")}, "invalid_cursor"),
                                         ({"limit": "101"}, "invalid_limit"), ({"limit": "0"}, "invalid_limit"),
                                         ({"limit": "ten"}, "invalid_limit")])
def test_a_bad_cursor_or_page_size_is_a_clear_422(client, app, many, url, params, code):
    response = client.get(url, query_string=params, headers=api_token(client, "hn_window"))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] and error["message_en"]
    assert re.search(r"[\u4e00-\u9fff]", error["message"])


def test_supervision_and_dead_letters_page_each_list(client, app, many):
    boss = api_token(client, "hn_super")
    first = client.get("/api/v1/staff/supervision", query_string={"limit": 4}, headers=boss).get_json()
    overdue, cursor = list(first["overdue"]), first["next_cursor"]["overdue"]
    while cursor:
        page = client.get("/api/v1/staff/supervision", query_string={"cursor": cursor, "limit": 4},
                          headers=boss).get_json()
        assert page["due_soon"] == []
        overdue += page["overdue"]
        cursor = page["next_cursor"]["overdue"]
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        expected = db.session.scalars(db.select(WorkItem.id).where(
            WorkItem.status.in_(workflow.OPEN), WorkItem.due_at < now).order_by(WorkItem.due_at, WorkItem.id)).all()
    assert [r["id"] for r in overdue] == expected and len(expected) > 4
    dead, _ = walk(client, "/api/v1/staff/notifications/dead", api_token(client, "hn_window"), "notifications", 5)
    with app.app_context():
        assert [n["id"] for n in dead] == db.session.scalars(
            db.select(Notification.id).filter_by(status="dead").order_by(Notification.id)).all()
    assert walk(client, "/api/v1/staff/notifications/dead", api_token(client, "jn_window"), "notifications")[0] == []


def console_pages(client, url: str) -> list[str]:
    """Each page of a console list, following its 下一页 links."""
    pages = []
    while url:
        page = text_of(client.get(url))
        pages.append(page)
        found = re.search(r'<a href="([^"]+)">下一页</a>', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    return pages


def test_the_console_queue_pages_in_work_order_with_counts_from_sql(client, app, many):
    console_sign_in(client, "hn_window")
    with app.app_context():
        items = db.session.scalars(db.select(WorkItem)).all()
        now = dt.datetime.now(dt.UTC)
        open_items = [w for w in items if w.status in workflow.OPEN]

        def group(w):
            due = w.due_at.replace(tzinfo=dt.UTC) if w.due_at and w.due_at.tzinfo is None else w.due_at
            urgent = w.status == "needs_supplement" or (w.status in workflow.OPEN and due is not None and due < now)
            return 0 if urgent else 1 if w.status in workflow.AWAITING_DEPARTMENT else 2 if w.status in workflow.OPEN else 3

        def key(w):
            due = w.due_at.replace(tzinfo=dt.UTC) if w.due_at and w.due_at.tzinfo is None else w.due_at
            return group(w), due is None, due or now, w.id

        expected = [w.id for w in sorted(items, key=key)]
    pages = console_pages(client, "/console/queue?status=all&limit=30")
    assert len(pages) == 4
    shown = [int(i) for page in pages for i in re.findall(r'data-item="(\d+)"', page)]
    assert shown == expected
    first = text_of(client.get("/console/queue"))
    assert f"未办结事项共 {len(open_items)} 项" in first and "下一页" in first
    counts = {s: sum(w.status == s for w in open_items) for s in workflow.OPEN}
    assert f"{workflow.LABELS['submitted'][0]}（{counts['submitted']}）" in first
    bad = client.get("/console/queue?cursor=nonsense")
    assert bad.status_code == 200 and "翻页参数无效" in text_of(bad)
    assert "每页条数" in text_of(client.get("/console/queue?limit=500"))


def test_console_supervision_and_messages_page(client, app, many):
    console_sign_in(client, "hn_super")
    page = text_of(client.get("/console/supervision?limit=3"))
    assert "已超期：下一页" in page and re.search(r"已超过办理时限、尚未办结的事项：共 \d+ 项，本页 3 项", page)
    assert len(console_pages(client, "/console/notifications?limit=5")) == 3  # 13 dead: 5, 5, 3
    assert "翻页参数无效" in text_of(client.get("/console/notifications?cursor=xyz"))


def test_the_applicants_phone_tail_finds_a_case_in_the_clerks_scope(client, app, wechat_peer):
    make_staff(app, "hn_window", "hn_police", "jn_window")
    _, case = make_case(client, app, wechat_peer)
    code = case["tracking_code"]
    console_sign_in(client, "hn_police")
    assert code in text_of(search(client, "8000"))  # the applicant's phone 13800138000
    assert code not in text_of(search(client, "8001"))
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    console_sign_in(client, "jn_window")
    assert code not in text_of(search(client, "8000"))  # another region


def test_work_items_carry_their_cases_region(client, app, wechat_peer):
    _, case = make_case(client, app, wechat_peer)
    with app.app_context():
        assert {w.region for w in db.session.scalars(db.select(WorkItem))} == {"hunan"}


def test_the_sweeps_take_due_rows_in_batches(client, app, many, monkeypatch):
    monkeypatch.setattr(queueing, "SWEEP_BATCH", 2)
    with app.app_context():
        db.session.execute(db.update(WebhookDelivery).values(status="pending"))
        db.session.execute(db.update(Notification).where(Notification.status == "sent").values(status="pending"))
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        first = db.session.scalars(db.select(WebhookDelivery.id).order_by(WebhookDelivery.id)).first()
        db.session.execute(db.update(WebhookDelivery).where(WebhookDelivery.id == first).values(next_attempt_at=later))
        db.session.commit()
        due_hooks = db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) - 1
        due_notes = db.session.scalar(db.select(db.func.count()).select_from(Notification).filter_by(status="pending"))
        assert webhooks.sweep() == due_hooks  # every due one, two at a time; not the one due later
        assert notify.sweep() == due_notes
