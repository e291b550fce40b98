"""The staff console in a real browser: a window clerk signs in, opens the queue and a submitted case, looks at
the family's document photo, asks for a supplement by ticking what is missing, and (once the family has supplied
it) accepts, starts and finishes the matter, partly from the keyboard; the audit trail shows every step."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.test_applications import HUNAN, good_form
from tests.test_console_pages import make_case, make_staff
from tests.test_uploads import photo
from tests.test_workflow import PASSWORD, item_id


def test_a_clerk_works_a_case_from_the_queue_to_done(desk_page, live_server, client, app, wechat_peer):
    make_staff(app, "hn_window")
    family, case = make_case(client, app, wechat_peer, with_photo=True)
    code = case["tracking_code"]
    pension = item_id(case, "pension_account_payout")
    page = desk_page
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    # Sign in: any console address leads to the sign-in page first.
    page.goto(f"{live_server}/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    page.get_by_label("用户名").fill("hn_window")
    page.get_by_label("密码").fill("not the password")
    with page.expect_navigation():  # every click that loads a page waits for it before looking at the page
        page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    screenshot(page, "console-01-sign-in-refused")
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()

    # The queue: the new case's three matters.
    expect(page.get_by_role("heading", name="待办队列")).to_be_visible()
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(code)
    screenshot(page, "console-02-queue")

    # The case: people, matters, the photo's thumbnail.
    with page.expect_navigation():
        rows.first.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", name=f"申请 {code}")).to_be_visible()
    expect(page.get_by_role("region", name="逝者")).to_contain_text("张三丰")
    expect(page.get_by_role("region", name="申请人")).to_contain_text("张小梅")
    thumb = page.get_by_role("img", name=re.compile("点击查看原图"))
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    thumb_width = thumb.evaluate("img => img.naturalWidth")
    assert 0 < thumb_width <= 320
    screenshot(page, "console-03-case")

    # Click for full size, then back.
    with page.expect_navigation():
        thumb.click()
    full = page.get_by_role("img", name=re.compile("（原图）"))
    expect(full).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    assert full.evaluate("img => img.naturalWidth") > 2 * thumb_width
    screenshot(page, "console-04-full-size")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("返回申请")).click()

    # Ask for a supplement, ticking the missing material (all at once, 一次性告知).
    item = page.locator(f"#item-{pension}")
    item.get_by_text("要求补充材料").click()
    item.get_by_role("checkbox", name=re.compile("社会保障卡")).check()
    item.get_by_label("给家属的说明（选填）").fill("请补充逝者社会保障卡")
    screenshot(page, "console-05-ask-for-supplement")
    with page.expect_navigation():
        item.get_by_role("button", name="通知家属补充材料").click()
    expect(page.get_by_role("status")).to_contain_text("已改为“需补充材料”")
    expect(item.locator(".badge-needs_supplement")).to_be_visible()
    expect(item).to_contain_text("需补充")
    screenshot(page, "console-06-supplement-requested")

    # The family photographs it and declares it supplied in the mini-program; the matter comes back to the clerk.
    sent = client.post(f"/api/v1/cases/{code}/supplements/social_security_card/pages", headers=family,
                       data={"file": [(io.BytesIO(photo()), "card.jpg")]}, content_type="multipart/form-data")
    assert sent.status_code == 201
    supplied = client.post(f"/api/v1/cases/{code}/items/{pension}/supplied", headers=family)
    assert supplied.status_code == 200
    page.reload()
    expect(item.locator(".badge-supplied")).to_contain_text("材料已补齐")

    # Keyboard: Tab reaches the matter's action buttons; Enter accepts it.
    page.locator("h1").click()
    on_accept = ("el => el.tagName === 'BUTTON' && el.textContent.trim() === '受理' "
                 f"&& el.closest('#item-{pension}') !== null")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => ({on_accept})(document.activeElement)"):
            break
    else:
        raise AssertionError("Tab never reached the 受理 button")
    screenshot(page, "console-07-keyboard-focus")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(item.locator(".badge-accepted")).to_be_visible()
    with page.expect_navigation():
        item.get_by_role("button", name="开始办理").click()
    expect(item.locator(".badge-in_progress")).to_be_visible()
    with page.expect_navigation():
        item.get_by_role("button", name="办结").click()
    expect(item.locator(".badge-done")).to_be_visible()
    expect(item.get_by_role("button")).to_have_count(0)  # nothing left to do on it

    # The audit trail shows each step, who took it, and what was asked for.
    audit = page.get_by_role("region", name="办理记录")
    for step in ("已提交 → 需补充材料", "社会保障卡", "请补充逝者社会保障卡", "需补充材料 → 材料已补齐", "申请人（家属）",
                 "材料已补齐 → 已受理", "已受理 → 办理中", "办理中 → 已办结", "hn_window的名字"):
        expect(audit).to_contain_text(step)
    audit.scroll_into_view_if_needed()
    screenshot(page, "console-08-done-with-audit-trail")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def sign_in_as(page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/console/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def answer_screen(page) -> str:
    """Answer the question on screen as the family tells the clerk (tests.test_applications.HUNAN), and wait
    for the next screen: the question page posts to itself, so only the navigation says it has changed."""
    qid = page.locator('input[name="question"]').input_value()
    boxes, radios = page.locator('input[name="value"][type="checkbox"]'), page.locator('input[name="value"][type="radio"]')
    if page.locator('input[type="date"]').count():
        page.locator('input[type="date"]').fill(HUNAN.get(qid, "2026-11-20"))
    elif boxes.count():
        for value in HUNAN.get(qid, [boxes.first.get_attribute("value")]):
            page.locator(f'input[name="value"][value="{value}"]').check()
    elif radios.count():
        wanted = HUNAN.get(qid, radios.first.get_attribute("value"))
        wanted = {True: "true", False: "false"}.get(wanted, wanted) if isinstance(wanted, bool) else wanted
        page.locator(f'input[name="value"][value="{wanted}"]').check()
    else:
        page.locator("#answer-value").fill(HUNAN.get(qid, "无"))
    with page.expect_navigation():
        page.get_by_role("button", name="下一题").click()
    return qid


def test_the_window_enters_an_application_for_a_family(desk_page, live_server, client, app):
    make_staff(app, "hn_window")
    page = desk_page
    sign_in_as(page, live_server, "hn_window")
    with page.expect_navigation():
        page.get_by_role("link", name="窗口代办申请").click()
    expect(page.get_by_role("heading", name="窗口代办申请")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="开始新的代办申请").click()

    # One question per screen; 上一题 brings the last one back with its answer ticked.
    expect(page.get_by_role("group", name=re.compile("与死亡人员的关系"))).to_be_visible()  # who the family is, first
    screenshot(page, "console-window-01-first-question")
    page.get_by_label("子女", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="下一题").click()
    with page.expect_navigation():
        page.get_by_role("button", name="上一题").click()
    expect(page.get_by_role("group", name=re.compile("与死亡人员的关系"))).to_be_visible()
    expect(page.get_by_label("子女", exact=True)).to_be_checked()
    answered = []
    while page.locator('input[name="question"]').count():
        answered.append(answer_screen(page))
        if len(answered) == 5:
            screenshot(page, "console-window-02-a-later-question")
        assert len(answered) < 40
    assert {"local_death", "death_date", "welfare", "requested", "relationship"} <= set(answered)

    # The tailored checklist, then the one form.
    expect(page.get_by_role("heading", name="为这户家庭生成的办理清单")).to_be_visible()
    expect(page.get_by_text("死亡人员户口注销", exact=False).first).to_be_visible()
    screenshot(page, "console-window-03-checklist")
    with page.expect_navigation():
        page.get_by_role("link", name="填写申请表").click()
    # The separate consent first: the clerk shows the region's text and records that the family consented.
    page.wait_for_url("**/consent")
    expect(page.locator("#consent-text")).to_contain_text("依托全省“一网通办”平台")
    screenshot(page, "console-window-03a-consent")
    page.check("#family-consented")
    with page.expect_navigation():
        page.click("#record-consent")
    page.locator("#f-deceased-name").fill("李四")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("处需要修改")
    expect(page.locator("#f-applicant-name-problem")).to_be_visible()
    screenshot(page, "console-window-04-form-problems")
    form = good_form(deceased__name="李四")
    for section in ("deceased", "applicant"):
        for key, value in form[section].items():
            target = page.locator(f"#f-{section}-{key}")
            if target.count():
                if key == "gender" or isinstance(value, list) or target.evaluate("e => e.tagName") == "SELECT":
                    target.select_option(value)  # a choice, or (a list) several of a multiple select
                else:
                    target.fill(value)
    account = form["accounts"][0]
    page.locator("#f-accounts-0-payee").select_option(account["payee"])
    for key in ("purpose", "bank_name", "holder_name", "account_number"):
        page.locator(f"#f-accounts-0-{key}").fill(account[key])
    page.get_by_label(re.compile("申请人已阅读上述承诺")).check()
    screenshot(page, "console-window-05-form-filled")
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()

    # The case is made; the clerk prints the form for the applicant to sign.
    expect(page.get_by_role("status")).to_contain_text("申请已提交，查询码")
    expect(page.get_by_role("region", name="逝者")).to_contain_text("李四")
    expect(page.get_by_role("region", name="办理记录")).to_contain_text("综合窗口代办")
    screenshot(page, "console-window-06-case-made")
    pdf = page.request.get(live_server + page.get_by_role("link", name="打印申请表（PDF）").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
