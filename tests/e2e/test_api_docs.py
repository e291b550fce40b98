"""Issue 15: "The /api/v1/docs page renders the document (a maintained renderer served from the package, no CDN:
the machines have no internet), checked by a browser test". Swagger UI from the flask-swagger-ui package, in
Chromium at a developer's desk; a request that leaves the server's own origin fails the test."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot


def test_the_docs_page_renders_every_operation_from_our_own_origin(desk_page, live_server):
    page = desk_page
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((live_server, "data:", "blob:")) else elsewhere.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{live_server}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("一件事一次办")
    expect(page.locator(".opblock-tag-section")).to_have_count(7)  # one per blueprint: regions … staff
    document = page.request.get(f"{live_server}/api/v1/openapi.json").json()
    count = sum(1 for ops in document["paths"].values() for method in ops if method in ("get", "post", "put", "delete"))
    operations = page.locator(".opblock")
    expect(operations).to_have_count(count)  # every operation of the document, however many there are
    expect(page.locator(".opblock-summary-operation-id", has_text="startQuestionnaire")).to_have_count(1)

    # One operation opened: its typed response and its error responses, with the Error schema's example.
    answer = page.locator("#operations-questionnaires-answerQuestion")
    answer.locator(".opblock-summary").click()
    expect(answer.locator(".responses-table")).to_be_visible()
    for status in ("200", "409", "422", "503"):
        expect(answer.locator(f'tr.response[data-code="{status}"]')).to_have_count(1)
    expect(answer.locator('tr.response[data-code="422"]')).to_contain_text("validation_error")
    page.get_by_role("button", name="Authorize").first.wait_for()
    screenshot(page, "api-docs")
    assert elsewhere == [], elsewhere  # no CDN, nothing fetched from another origin
    assert errors == [], errors
