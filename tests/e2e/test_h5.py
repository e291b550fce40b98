"""A family's whole H5 journey in Hunan on a 390x844 phone, in Chromium: region, every question, the checklist,
a photo upload, SMS sign-in, the one form, submit, the tracking code with its QR, and the public status page.
Screenshots of each step go to tests/e2e/screenshots/h5-*.png."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_console_reads import no_axe_violations
from tests.test_applications import HUNAN, good_form
from tests.test_uploads import photo

PHONE = "13900139000"
WIDTH = 390


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def html_value(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def answer_current_question(page) -> str:
    question = page.locator('input[name="question"]').get_attribute("value")
    value = HUNAN[question]
    if page.locator("#answer-date").count():
        page.fill("#answer-date", value)
    else:
        for v in value if isinstance(value, list) else [value]:
            page.check(f'input[name="value"][value="{html_value(v)}"]')
    return question


def fill_people(page, form: dict) -> None:
    """Type the deceased's and the applicant's fields of the one form as a family would."""
    for section in ("deceased", "applicant"):
        for key, value in form[section].items():
            choices = page.locator(f'input[name="{section}.{key}"][type="radio"], '
                                   f'input[name="{section}.{key}"][type="checkbox"]')
            if key == "gender":
                page.check(f"#f-deceased-gender-{value}")
            elif choices.count():  # a field the form asks as choices (form view `fields`)
                for v in value if isinstance(value, list) else [value]:
                    page.check(f'input[name="{section}.{key}"][value="{v}"]')
            elif page.locator(f"#f-{section}-{key}").count():
                page.fill(f"#f-{section}-{key}", value)


def focus_by_tab(page, selector: str, presses: int = 15) -> bool:
    """Press Tab until the element is focused (keyboard users reach it without a mouse)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return True
    return False


QUESTION_PAGE = re.compile(r".*/h5/q/[a-z0-9_]+$")


def answer_every_question(page) -> list[str]:
    """Answer from HUNAN until the questions end (at the review); the ids asked, in order."""
    asked = []
    while QUESTION_PAGE.match(page.url):
        asked.append(answer_current_question(page))
        if asked[-1] == "death_date":
            screenshot(page, "h5-03-date-question")
        if asked[-1] == "requested":
            screenshot(page, "h5-04-choose-several")
            no_sideways_scroll(page)
        with page.expect_navigation():  # post, redirect, get: wait for the next page
            page.click("#next")
        assert len(asked) < 30
    return asked


def test_family_journey_in_hunan_on_a_phone(phone_page, live_server, app, tmp_path):
    page = phone_page
    page.goto(f"{live_server}/h5/")
    screenshot(page, "h5-01-home")
    no_sideways_scroll(page)
    page.get_by_role("button", name="湖南省").click()

    # The questionnaire: one question per screen, each at its own address, with progress and a way back.
    page.wait_for_url("**/h5/q/relationship")
    assert "第 1 题" in page.locator(".progress-text").inner_text()
    screenshot(page, "h5-02-first-question")
    asked = answer_every_question(page)
    assert asked[0] == "relationship" and set(asked) <= set(HUNAN)

    # The review, then the checklist: matters, materials and trips, readable without sideways scrolling at 390 px.
    page.wait_for_url("**/h5/review")
    with page.expect_navigation():
        page.click("#to-checklist")
    page.wait_for_url("**/h5/checklist")
    screenshot(page, "h5-05-checklist")
    no_sideways_scroll(page)
    for section in ("#matters", "#materials", "#trips"):
        assert page.locator(section).is_visible(), section
    assert "死亡人员户口注销" in page.locator("#matters").inner_text()
    assert "申请人身份证" in page.locator("#materials").inner_text()
    trips = page.locator("#trips").inner_text()
    assert "殡仪馆" in trips and "受理窗口" in trips  # Hunan's offline window is at the funeral home (issue 14 item 7)

    # Before the first photo, the separate consent (PIPL art. 29-30): the region's text, then agree.
    page.locator('#materials a[href$="/h5/materials/applicant_id_card"]').click()
    page.wait_for_url("**/h5/consent?material=applicant_id_card")
    assert "依托全省“一网通办”平台" in page.locator("#consent-text").inner_text()
    screenshot(page, "h5-06a-consent")
    no_sideways_scroll(page)
    page.check("#consent-agree")
    with page.expect_navigation():
        page.click("#consent-give")
    # A photo of the applicant's ID card, as from the phone's camera.
    page.wait_for_url("**/h5/materials/applicant_id_card")
    assert page.get_attribute("#camera", "capture") == "environment"
    picture = tmp_path / "id-card.jpg"
    picture.write_bytes(photo())
    page.set_input_files("#camera", str(picture))
    with page.expect_navigation():
        page.click("#upload")
    page.wait_for_url("**/h5/materials/applicant_id_card")
    thumb = page.locator(".thumb img").first
    expect(thumb).to_be_visible()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    screenshot(page, "h5-06-uploaded")
    no_sideways_scroll(page)
    with page.expect_navigation(url=re.compile(r"/h5/checklist(#materials)?$")):  # wait for the checklist itself
        page.get_by_role("link", name="返回清单").last.click()
    expect(page.locator("#materials")).to_contain_text("已上传")

    # The family's rights (PIPL art. 44-47) from the footer of every page: download, withdraw, delete.
    with page.expect_navigation(url=re.compile(r"/h5/privacy$")):
        page.click("#my-information")
    expect(page.locator("#export")).to_be_visible()
    expect(page.locator("#withdraw")).to_be_visible()
    screenshot(page, "h5-06b-my-information")
    no_sideways_scroll(page)
    no_axe_violations(page)
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename.endswith(".zip")
    page.go_back()
    with page.expect_navigation(url=re.compile(r"/h5/checklist(#materials)?$")):
        page.goto(page.url.rsplit("/h5/", 1)[0] + "/h5/checklist")

    # Sign in by SMS code before the form.
    page.click("#to-form")
    page.wait_for_url("**/h5/signin")
    screenshot(page, "h5-07-sign-in")
    page.fill("#phone", PHONE)
    with page.expect_navigation():
        page.click("#send-code")
    expect(page.locator("#code")).to_be_visible()
    code = [params["code"] for to, _, params in app.extensions["sms"].sent if to == PHONE][-1]
    page.fill("#code", code)
    screenshot(page, "h5-08-sms-code")
    with page.expect_navigation():
        page.click("#verify")

    # The one form: facts from the answers shown read-only, every field typed, the commitment accepted.
    assert page.url.endswith("/h5/form"), page.locator("main").inner_text()
    assert "2026年11月20日" in page.locator("#prefilled-title + dl").inner_text()
    # Saving a blank form lists every problem at once, each also next to its field.
    with page.expect_navigation():
        page.click("#save")
    page.wait_for_url("**/h5/form")
    problems = page.locator("#problems")
    assert problems.is_visible() and "请填写逝者姓名" in problems.inner_text()
    assert page.locator("#f-deceased-name-err").is_visible()
    screenshot(page, "h5-09a-form-problems")
    no_sideways_scroll(page)
    form = good_form()
    fill_people(page, form)
    account = form["accounts"][0]
    page.select_option("#f-accounts-0-payee", account["payee"])
    for key in ("bank_name", "holder_name", "account_number", "purpose"):
        page.fill(f"#f-accounts-0-{key}", account[key])
    page.check("#f-commitment_accepted")
    screenshot(page, "h5-09b-form-filled")
    no_sideways_scroll(page)
    page.dblclick("#submit")  # an impatient double tap still makes one case

    # The tracking code, large, with its QR code.
    page.wait_for_url(re.compile(r".*/h5/done/[0-9A-Z]{5}-[0-9A-Z]{5}$"))
    tracking_code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", tracking_code)
    assert page.locator(".qr svg").is_visible()
    assert float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('#tracking-code')).fontSize)")) >= 32
    screenshot(page, "h5-10-tracking-code")
    no_sideways_scroll(page)
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1

    # Keyboard: Tab reaches the main button, Enter follows it to the status page with the code filled in.
    assert focus_by_tab(page, "#check-status")
    page.keyboard.press("Enter")
    page.wait_for_url("**/h5/status?code=*")
    assert page.input_value("#tracking_code") == tracking_code
    page.fill("#phone_tail", PHONE[-4:])  # the number signed in with (the form may give another)
    with page.expect_navigation():
        page.click("#lookup")
    result = page.locator("#result")
    expect(result).to_contain_text("死亡人员户口注销")
    expect(result).to_contain_text("已提交")
    screenshot(page, "h5-11-status")
    no_sideways_scroll(page)


def test_keyboard_only_answers_and_goes_back(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/h5/")
    assert focus_by_tab(page, 'button[value="hunan"]', presses=25)
    page.keyboard.press("Enter")
    page.wait_for_url("**/h5/q/relationship")
    assert focus_by_tab(page, "#opt-1")  # the radio group is one Tab stop
    page.keyboard.press("Space")
    assert page.is_checked("#opt-1")
    assert focus_by_tab(page, "#next")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "第 2 题" in page.locator(".progress-text").inner_text()
    assert focus_by_tab(page, "#back")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus ring is visible
    screenshot(page, "h5-12-keyboard-focus")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "第 1 题" in page.locator(".progress-text").inner_text() and page.is_checked("#opt-1")


def test_english_question_page_fits_the_phone(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/h5/?lang=en")
    page.get_by_role("button", name="Hunan Province").click()
    page.wait_for_url("**/h5/q/relationship")
    assert "What is your relationship to the deceased?" in page.locator("h1").inner_text()
    size = float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
    assert size >= 18
    height = page.evaluate("document.querySelector('#next').getBoundingClientRect().height")
    assert height >= 48
    screenshot(page, "h5-13-english")
    no_sideways_scroll(page)


def test_the_review_changes_one_answer_and_back_and_forward_walk_the_questions(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/h5/")
    with page.expect_navigation():
        page.get_by_role("button", name="湖南省").click()
    page.wait_for_url("**/h5/q/relationship")
    for _ in range(4):
        answer_current_question(page)
        with page.expect_navigation():
            page.click("#next")
    page.wait_for_url("**/h5/q/death_type")

    # The browser's own Back shows the question before, its answer still selected; Forward comes back.
    page.go_back()
    page.wait_for_url("**/h5/q/local_hukou")
    assert page.is_checked('input[name="value"][value="true"]')
    page.go_forward()
    page.wait_for_url("**/h5/q/death_type")
    assert "第 5 题" in page.locator(".progress-text").inner_text()

    # After the last question, the review: every answer in words with 「修改」 beside it.
    answer_every_question(page)
    page.wait_for_url("**/h5/review")
    review = page.locator("#review")
    assert "2026年11月20日" in review.inner_text() and "死亡人员户口注销" in review.inner_text()
    assert page.locator("#review button", has_text="修改").count() == review.locator("li").count() >= 10
    screenshot(page, "h5-14-review")
    no_sideways_scroll(page)

    # 修改 leads to that question; after answering it (and the one question the change made appear), straight back.
    with page.expect_navigation():
        page.locator("#answer-requested").get_by_role("button", name="修改").click()
    page.wait_for_url("**/h5/q/requested")
    assert page.is_checked('input[value="survivor_benefits"]')  # the old answer, to change
    page.check('input[value="driving_licence_cancellation"]')
    with page.expect_navigation():
        page.click("#next")
    page.wait_for_url("**/h5/q/local_driving_licence")
    page.check('input[name="value"][value="true"]')
    with page.expect_navigation():
        page.click("#next")
    page.wait_for_url("**/h5/review")
    assert "驾驶证注销业务" in page.locator("#answer-requested").inner_text()
    assert page.locator("#answer-relationship .review-answer").inner_text() == "子女"  # a later answer, kept
    screenshot(page, "h5-15-review-after-change")

    # Back and Forward walk the pages just seen, each showing what is stored now.
    page.go_back()
    page.wait_for_url("**/h5/q/local_driving_licence")
    assert page.is_checked('input[name="value"][value="true"]')
    page.go_back()
    page.wait_for_url("**/h5/q/requested")
    assert page.is_checked('input[value="driving_licence_cancellation"]')
    page.go_forward()
    page.wait_for_url("**/h5/q/local_driving_licence")
    page.go_forward()
    page.wait_for_url("**/h5/review")
    with page.expect_navigation():
        page.click("#to-checklist")
    page.wait_for_url("**/h5/checklist")
    assert "驾驶证注销" in page.locator("#matters").inner_text()
