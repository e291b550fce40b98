"""Queries per staff request stay few and do not grow with the data (issue 17): every staff API endpoint and
console page is asked once with 10 cases and once with 1,000 (cloned by bulk inserts, tests/bulk.py), and the
SQL statements it sends are counted with SQLAlchemy's ``before_cursor_execute`` event. A list that loads a
case (or its work items) per row shows up here as a count that grows with the rows."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from miniapp_api.domain import workflow
from miniapp_api.extensions import db
from tests import bulk
from tests.test_console_pages import console_sign_in, make_case, make_staff
from tests.test_workflow import PASSWORD

MOST = 10  # statements one staff request may send, whatever the data


@contextlib.contextmanager
def counting(app) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def api_token(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/staff/auth", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def console_client(app, username: str):
    browser = app.test_client()
    assert console_sign_in(browser, username).status_code == 302
    return browser


def csrf(browser, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url).get_data(as_text=True))
    assert match
    return match.group(1)


def requests_to_count(client, app, code: str) -> dict[str, Callable]:
    """Each staff endpoint and console page, as a call returning the response."""
    window, clerk, supervisor = (api_token(client, u) for u in ("hn_window", "hn_hrss", "hn_super"))
    desk, boss = console_client(app, "hn_window"), console_client(app, "hn_super")
    token = csrf(desk, "/console/search")
    calls: dict[str, Callable] = {
        "api queue (department)": lambda: client.get("/api/v1/staff/work-items", headers=clerk),
        "api queue (window)": lambda: client.get("/api/v1/staff/work-items", headers=window),
        "api case": lambda: client.get(f"/api/v1/staff/cases/{code}", headers=window),
        "api supervision": lambda: client.get("/api/v1/staff/supervision", headers=supervisor),
        "api dead notifications": lambda: client.get("/api/v1/staff/notifications/dead", headers=window),
        "api access log": lambda: client.get("/api/v1/staff/access-log", headers=supervisor),
        "api ratings": lambda: client.get("/api/v1/staff/ratings", headers=supervisor),
        "console queue": lambda: desk.get("/console/queue"),
        "console queue (all)": lambda: desk.get("/console/queue?status=all"),
        "console search (code)": lambda: desk.post("/console/search", data={"q": code, "csrf_token": token}),
        "console search (name)": lambda: desk.post("/console/search", data={"q": "张三丰", "csrf_token": token}),
        "console case": lambda: desk.get(f"/console/cases/{code}"),
        "console supervision": lambda: boss.get("/console/supervision"),
        "console notifications": lambda: desk.get("/console/notifications"),
        "console reads": lambda: boss.get("/console/reads"),
    }
    for status in workflow.STATUSES:
        calls[f"api queue (department, {status})"] = (
            lambda s=status: client.get(f"/api/v1/staff/work-items?status={s}", headers=clerk))
        calls[f"api queue (window, {status})"] = (
            lambda s=status: client.get(f"/api/v1/staff/work-items?status={s}", headers=window))
        calls[f"console queue ({status})"] = lambda s=status: desk.get(f"/console/queue?status={s}")
    return calls


def measure(app, calls: dict[str, Callable]) -> dict[str, int]:
    counts = {}
    for name, call in calls.items():
        with counting(app) as seen:
            response = call()
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(seen)
    return counts


@pytest.fixture()
def cases(client, app, wechat_peer):
    make_staff(app, "hn_window", "hn_hrss", "hn_super", "jn_window")
    _, case = make_case(client, app, wechat_peer)
    return case["tracking_code"]


def test_queries_per_staff_request_are_few_and_do_not_grow_with_the_cases(client, app, cases):
    calls = requests_to_count(client, app, cases)
    with app.app_context():
        bulk.clone_cases(cases.replace("-", ""), 9)
    few = measure(app, calls)
    with app.app_context():
        bulk.clone_cases(cases.replace("-", ""), 990)
    many = measure(app, calls)
    table = "\n".join(f"  {name:40} {few[name]:5} {many[name]:5}" for name in calls)
    print(f"\nstatements per request (10 cases, 1,000 cases):\n{table}")
    grown = {n: (few[n], many[n]) for n in calls if few[n] != many[n]}
    assert not grown, f"statements grow with the data:\n{table}"
    heavy = {n: many[n] for n in calls if many[n] > MOST}
    assert not heavy, f"more than {MOST} statements:\n{table}"
