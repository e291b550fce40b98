"""The supervisor's 查阅记录 page in a real browser at a clerk's laptop size (1366×768): reached from the menu, it
lists who read which family's data and why, filters by person, pages back to older reads, and has no accessibility
violation axe-core finds (WCAG 2.1 A and AA rules)."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_console import sign_in_as
from tests.test_console_pages import make_case, make_staff
from tests.test_staff_need_to_know import token


def no_axe_violations(page) -> None:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    assert results.violations_count == 0, results.generate_report()


def test_a_supervisor_reads_who_read_what(desk_page, live_server, client, app, wechat_peer):
    make_staff(app, "hn_police", "hn_window", "hn_super")
    _, case = make_case(client, app, wechat_peer)
    code = case["tracking_code"]
    for username, times in (("hn_police", 2), ("hn_window", 1)):
        headers = token(client, username)
        for _ in range(times):
            assert client.get(f"/api/v1/staff/cases/{code}", headers=headers).status_code == 200
    page = desk_page
    sign_in_as(page, live_server, "hn_super")
    with page.expect_navigation():
        page.get_by_role("link", name="查阅记录").click()
    expect(page.get_by_role("heading", name="查阅记录")).to_be_visible()
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("hn_window的名字")
    expect(rows.first).to_contain_text(code)
    expect(rows.first).to_contain_text("办理")
    expect(rows.nth(1)).to_contain_text("公安")
    expect(rows.nth(1)).not_to_contain_text("银行账户")  # the police were not shown the accounts
    screenshot(page, "console-reads-01")
    no_axe_violations(page)

    page.get_by_label("工作人员用户名").fill("hn_police")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    expect(rows).to_have_count(2)
    page.goto(f"{live_server}/console/reads?limit=1")
    expect(rows).to_have_count(1)
    with page.expect_navigation():
        page.get_by_role("link", name="更早的记录").click()
    expect(page).to_have_url(re.compile(r"before=\d+"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("hn_police的名字")
    screenshot(page, "console-reads-02-older")
    no_axe_violations(page)
