"""The supplement loop (一次性告知) end to end on a 390x844 phone in Chromium: a Hunan family submits through the H5
pages; the police clerk asks (through the staff API) for two materials with a note; the family sees the list and
the note on the done and status pages, opens 补充材料, photographs exactly those two (every other material shows
no upload or delete button), presses 「我已补齐」, and the clerk sees the item as supplied (材料已补齐).
Screenshots: tests/e2e/screenshots/h5-supplement-*.png."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from miniapp_api.domain import tracking
from miniapp_api.extensions import db
from miniapp_api.models import Case
from miniapp_api.services import staff as staff_service
from tests.e2e.conftest import screenshot
from tests.e2e.test_console_reads import no_axe_violations
from tests.e2e.test_h5 import no_sideways_scroll
from tests.e2e.test_h5_families import HUNAN_CERTIFICATES, answer_until_checklist, fill_people, sign_in, start, submit
from tests.test_applications import good_form
from tests.test_uploads import photo
from tests.test_workflow import PASSWORD

PHONE = "13900139018"
ASKED = ("household_register", "cremation_certificate")
NOTE = "户口页请拍逝者本人那一页，四角完整"


def clerk_for(client, app, department: str) -> dict:
    with app.app_context():
        staff_service.create("hn_clerk", PASSWORD, "李文", "department", "hunan", department)
    token = client.post("/api/v1/staff/auth", json={"username": "hn_clerk", "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_family_supplies_exactly_what_was_asked_on_a_phone(phone_page, live_server, app, client, tmp_path):
    page = phone_page
    start(page, live_server, "湖南省")
    answer_until_checklist(page, HUNAN_CERTIFICATES)
    sign_in(page, app, PHONE)
    # A photo of the applicant's ID card before submitting: it is frozen afterwards.
    picture = tmp_path / "document.jpg"
    picture.write_bytes(photo())
    with page.expect_navigation():
        page.goto(f"{live_server}/h5/materials/applicant_id_card")
    page.set_input_files("#camera", str(picture))
    with page.expect_navigation():
        page.click("#upload")
    expect(page.locator(".thumb img")).to_have_count(1)
    with page.expect_navigation():
        page.goto(f"{live_server}/h5/form")
    fill_people(page, good_form())
    code = submit(page)

    # The done page says what comes next: the trips, the originals, the messages and when.
    expect(page.locator("#next")).to_contain_text("您会收到的消息")
    expect(page.locator("#notices-how")).to_contain_text("短信")
    expect(page.locator("h1")).to_have_text("申请已提交")
    expect(page.locator("#code-title")).to_have_text("查询码")
    assert "受理编号" not in page.locator("main").inner_text()
    screenshot(page, "h5-supplement-01-done")
    no_sideways_scroll(page)
    no_axe_violations(page)

    # The clerk asks for two materials and one typed thing at once, with a note.
    with app.app_context():
        case = db.session.scalars(db.select(Case).filter_by(tracking_code=tracking.normalise(code))).one()
        item = next(w for w in case.work_items if w.matter_id == "death_certificate_normal")
        item_id, department = item.id, item.department
    clerk = clerk_for(client, app, department)
    asked = client.post(f"/api/v1/staff/work-items/{item_id}/transitions", headers=clerk,
                        json={"status": "needs_supplement", "missing": [*ASKED, "逝者生前住址"], "reason": NOTE})
    assert asked.status_code == 200, asked.get_json()

    # The done page now lists what is missing with the clerk's note; so does the status page.
    page.reload()
    box = page.locator("#asked")
    expect(box).to_contain_text("户口簿（逝者户口页）")  # not in this checklist: the shared vocabulary's name
    expect(box).to_contain_text("火化证明")
    expect(box).to_contain_text("逝者生前住址")
    expect(box.locator(".clerk-note")).to_contain_text(NOTE)
    with page.expect_navigation():
        page.click("#check-status")
    page.fill("#phone_tail", PHONE[-4:])
    with page.expect_navigation():
        page.click("#lookup")
    status_box = page.locator("#result #asked")
    expect(status_box).to_contain_text("火化证明")
    expect(status_box.locator(".clerk-note")).to_contain_text(NOTE)
    expect(page.locator("#result")).to_contain_text("需补充材料")
    screenshot(page, "h5-supplement-02-status")
    no_sideways_scroll(page)
    no_axe_violations(page)

    # 补充材料: the two asked materials, each with a camera upload; nothing else.
    with page.expect_navigation(url=re.compile(r"/h5/supplement/")):
        page.click("#to-supplement")
    sections = page.locator("section[id^='m-']")
    expect(sections).to_have_count(2)
    assert [s.get_attribute("id") for s in sections.all()] == [f"m-{m}" for m in ASKED]
    assert page.get_attribute(f"#camera-{ASKED[0]}", "capture") == "environment"
    screenshot(page, "h5-supplement-03-page")
    no_sideways_scroll(page)
    no_axe_violations(page)

    # 「我已补齐」 before any photo: refused, saying what is still missing.
    with page.expect_navigation():
        page.click("#supplied")
    expect(page.locator("#supplement-error")).to_contain_text("还没有上传")
    for material in ASKED:
        page.set_input_files(f"#camera-{material}", str(picture))
        with page.expect_navigation():
            page.click(f"#upload-{material}")
        section = page.locator(f"#m-{material}")
        expect(section.locator(".thumb img")).to_have_count(1)
        thumb = section.locator(".thumb img").first
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        expect(section.get_by_role("button", name=re.compile("删除"))).to_have_count(1)
    screenshot(page, "h5-supplement-04-uploaded")
    no_sideways_scroll(page)
    no_axe_violations(page)

    # Every other material is frozen: its page shows the photo with no upload or delete button.
    with page.expect_navigation():
        page.goto(f"{live_server}/h5/materials/applicant_id_card")
    expect(page.locator("#frozen")).to_be_visible()
    expect(page.locator(".thumb img")).to_have_count(1)
    expect(page.locator("main button")).to_have_count(0)
    expect(page.locator("input[type=file]")).to_have_count(0)
    screenshot(page, "h5-supplement-05-frozen")
    no_axe_violations(page)
    with page.expect_navigation():
        page.goto(f"{live_server}/h5/supplement/{code}")

    with page.expect_navigation(url=re.compile(r"/h5/done/")):
        page.click("#supplied")
    expect(page.get_by_role("status")).to_contain_text("材料已补齐")
    expect(page.locator("#asked")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("材料已补齐")
    screenshot(page, "h5-supplement-06-supplied")
    no_axe_violations(page)

    # The clerk sees it as supplied.
    listed = client.get("/api/v1/staff/work-items?status=supplied", headers=clerk).get_json()["items"]
    assert [(w["id"], w["status"]) for w in listed] == [(item_id, "supplied")]
    view = client.get(f"/api/v1/staff/cases/{code}", headers=clerk).get_json()
    assert next(w for w in view["work_items"] if w["id"] == item_id)["status"] == "supplied"
