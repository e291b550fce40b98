"""Issue 12's three families, each submitting through the H5 pages on a 390x844 phone in Chromium:
a Hunan family asking only for the death certificate and cremation (the form asks the relationship the
questionnaire did not), a Fuyuan family meeting the four conditions, and a Hunan sibling asking for
survivors' benefits (that matter is not submitted, with its reason; the rest goes ahead)."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import screenshot
from tests.e2e.test_h5 import fill_people as fill_form_people
from tests.e2e.test_h5 import html_value, no_sideways_scroll
from tests.test_applications import DECEASED_ID, HUNAN, good_form

HUNAN_CERTIFICATES = {**HUNAN, "requested": ["death_certificate_normal", "cremation_certificate"]}
HUNAN_SIBLING = {**HUNAN, "relationship": "sibling"}
FUYUAN = {"death_type": "normal", "death_place": "medical_institution", "local_death": True, "death_date": "2026-11-20",
          "local_hukou": True, "local_insured": True, "local_cremation": True,
          "requested_matters": ["cremation_certificate", "hukou_cancellation"], "body_at_funeral_home": True}


def answer_until_checklist(page, script: dict[str, Any]) -> list[str]:
    """Answer each question page from the script (its first option where the script is silent)."""
    asked: list[str] = []
    while "/h5/checklist" not in page.url:
        assert len(asked) < 40, asked
        question = page.locator('input[name="question"]')
        if "/h5/review" in page.url:  # the summary of the answers, before the checklist
            with page.expect_navigation():
                page.click("#to-checklist")
            continue
        qid = question.get_attribute("value")
        asked.append(qid)
        value = script.get(qid)
        if page.locator("#answer-date").count():
            page.fill("#answer-date", value or "2026-11-20")
        elif value is None:
            page.check("#opt-1")
        else:
            for v in value if isinstance(value, list) else [value]:
                page.check(f'input[name="value"][value="{html_value(v)}"]')
        with page.expect_navigation():
            page.click("#next")
    return asked


def sign_in(page, app, phone: str) -> None:
    page.click("#to-form")
    page.wait_for_url("**/h5/signin")
    page.fill("#phone", phone)
    page.click("#send-code")
    page.locator("#code").wait_for()
    code = [params["code"] for to, _, params in app.extensions["sms"].sent if to == phone][-1]
    page.fill("#code", code)
    with page.expect_navigation():
        page.click("#verify")
    page.wait_for_url("**/h5/consent")  # no photo was taken: the separate consent comes before the form
    page.check("#consent-agree")
    with page.expect_navigation():
        page.click("#consent-give")
    page.wait_for_url("**/h5/form")


def fill_people(page, form: dict[str, Any]) -> None:
    fill_form_people(page, form)
    page.check("#f-commitment_accepted")


def submit(page) -> str:
    with page.expect_navigation():
        page.click("#submit")
    page.wait_for_url(re.compile(r".*/h5/done/[0-9A-Z]{5}-[0-9A-Z]{5}$"))
    return page.locator("#tracking-code").inner_text().strip()


def case_of(app, code: str):
    from miniapp_api.domain import tracking
    from miniapp_api.extensions import db
    from miniapp_api.models import Case

    with app.app_context():
        case = db.session.scalars(db.select(Case).filter_by(tracking_code=tracking.normalise(code))).one()
        return dict(case.facts), sorted(w.matter_id for w in case.work_items), dict(case.form)


def start(page, live_server: str, region_name: str) -> None:
    page.goto(f"{live_server}/h5/")
    with page.expect_navigation():
        page.get_by_role("button", name=region_name).click()


def test_hunan_family_asking_only_the_certificates_submits(phone_page, live_server, app):
    page = phone_page
    start(page, live_server, "湖南省")
    asked = answer_until_checklist(page, HUNAN_CERTIFICATES)
    assert asked[:2] == ["relationship", "death_date"]  # who the family is and when, first (issue 14 item 9)
    sign_in(page, app, "13900139001")
    # Nothing asked twice and no 人社 field (no 人社 matter); no bank account is needed.
    assert page.locator("#f-applicant-relationship").count() == 0
    assert page.locator("#f-deceased-enterprise_employee").count() == 0
    assert page.locator("#accounts").count() == 0
    form = good_form()
    fill_people(page, form)
    screenshot(page, "h5-family-hunan-certificates-form")
    no_sideways_scroll(page)
    code = submit(page)
    facts, matters, stored = case_of(app, code)
    assert matters == ["cremation_certificate", "death_certificate_normal"]
    assert facts["relationship"] == stored["applicant"]["relationship"] == "child"
    assert stored["deceased"]["death_date"] == facts["death_date"] == "2026-11-20"
    assert stored["deceased"]["id_number"] == DECEASED_ID


def test_fuyuan_family_meeting_the_four_conditions_submits(phone_page, live_server, app):
    page = phone_page
    start(page, live_server, "抚远市")
    answer_until_checklist(page, FUYUAN)
    assert "火化" in page.locator("#matters").inner_text()
    sign_in(page, app, "13900139002")
    form = good_form()
    form["deceased"]["hukou_address"] = "黑龙江省抚远市"
    fill_people(page, form)
    page.check('input[name="applicant.relationship"][value="spouse"]')
    screenshot(page, "h5-family-fuyuan-form")
    no_sideways_scroll(page)
    code = submit(page)
    facts, matters, _ = case_of(app, code)
    assert "cremation_certificate" in matters and "hukou_cancellation" in matters
    assert facts["relationship"] == "spouse"


def test_hunan_sibling_asking_survivors_benefits_submits_the_rest(phone_page, live_server, app):
    page = phone_page
    start(page, live_server, "湖南省")
    answer_until_checklist(page, HUNAN_SIBLING)
    sign_in(page, app, "13900139003")
    # Told before submitting: survivors' payments cannot go, everything else can.
    assert "职工遗属" in page.locator("#not-submitted").inner_text()
    assert page.locator("#f-applicant-relationship").count() == 0  # answered in the questionnaire
    form = good_form()
    fill_people(page, form)
    account = form["accounts"][0]
    page.select_option("#f-accounts-0-payee", account["payee"])
    for key in ("bank_name", "holder_name", "account_number"):
        page.fill(f"#f-accounts-0-{key}", account[key])
    code = submit(page)
    notice = page.locator("#not-submitted")
    assert "职工遗属" in notice.inner_text() and "直系亲属" in notice.inner_text()
    screenshot(page, "h5-family-hunan-sibling-done")
    no_sideways_scroll(page)
    facts, matters, _ = case_of(app, code)
    assert "survivor_benefits" not in matters and "hukou_cancellation" in matters
    assert facts["relationship"] == "sibling"
