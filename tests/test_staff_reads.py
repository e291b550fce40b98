"""Every read of a family's personal data by staff is logged with its purpose and what it showed (field groups,
never the data), one row per read, and the region's supervisors see those reads, newest first, a page at a time
(issue 16 item 6); no one else does."""

from __future__ import annotations

import re
import uuid

import pytest

from miniapp_api.domain import tracking
from miniapp_api.extensions import db
from miniapp_api.models import Applicant, Case, QuestionnaireSession, StaffAccessLog, StaffUser, utcnow
from miniapp_api.services import staff as staff_service
from tests.test_applications import APPLICANT_ID, DECEASED_ID
from tests.test_console_pages import console_sign_in, csrf_token, text_of
from tests.test_staff_need_to_know import CARD, case_with_photos, token  # noqa: F401 (a fixture)
from tests.test_workflow import PASSWORD


def rows(app) -> list[tuple[str, str, str, list | None]]:
    with app.app_context():
        return [(user.username, log.purpose, log.what, log.shown) for log, user in db.session.execute(
            db.select(StaffAccessLog, StaffUser).join(StaffUser).order_by(StaffAccessLog.id))]


def new_rows(app, call) -> list[tuple[str, str, str, list | None]]:
    before = len(rows(app))
    response = call()
    assert response.status_code == 200, response.status_code
    return rows(app)[before:]


def test_every_read_path_writes_one_row_with_its_purpose(client, app, case_with_photos):  # noqa: F811
    code, pages = case_with_photos
    police = token(client, "hn_police")
    register = pages["household_register"]
    groups = ["deceased", "applicant", "other"]  # no proxy on this form; the accounts withheld from the police
    assert new_rows(app, lambda: client.get(f"/api/v1/staff/cases/{code}", headers=police)) == [
        ("hn_police", "handle", "case", groups)]
    assert new_rows(app, lambda: client.get(f"/api/v1/staff/cases/{code}/pages/{register}", headers=police)) == [
        ("hn_police", "photo", f"page:{register}", ["photo:household_register"])]

    console_sign_in(client, "hn_police")
    assert new_rows(app, lambda: client.get(f"/console/cases/{code}")) == [("hn_police", "handle", "case", groups)]
    assert new_rows(app, lambda: client.get(f"/console/cases/{code}/pages/{register}/image?size=thumb")) == [
        ("hn_police", "photo", f"page:{register}", ["photo:household_register"])]
    assert new_rows(app, lambda: client.get(f"/console/cases/{code}/pages/{register}")) == []  # the frame: no data
    for fmt in ("html", "pdf"):
        assert new_rows(app, lambda fmt=fmt: client.get(f"/console/cases/{code}/application.{fmt}")) == [
            ("hn_police", "print", f"application.{fmt}", groups)]
    search = lambda: client.post("/console/search", data={"q": "张三丰", "csrf_token": csrf_token(client, "/console/search")})  # noqa: E731
    assert new_rows(app, search) == [("hn_police", "search", "search", ["deceased", "applicant"])]

    logged = repr(rows(app))
    for secret in (CARD, DECEASED_ID, APPLICANT_ID, "张三丰", "张小梅", "13800138000"):
        assert secret not in logged  # what was read, never the data itself


def other_region_case() -> Case:
    """A Jining case straight in the database (the reads of another region's staff)."""
    applicant = Applicant(id=uuid.uuid4().hex, channel="sms", channel_user_id=uuid.uuid4().hex)
    session = QuestionnaireSession(id=uuid.uuid4().hex, region="jining", resume_secret_hash="0" * 64, answers={},
                                   owner_id=applicant.id, form_draft={})
    case = Case(tracking_code=tracking.new_code(), region="jining", applicant_id=applicant.id,
                questionnaire_id=session.id, idempotency_key="k" * 16, answers={}, facts={},
                checklist={"matters": [], "materials": []}, form={}, commitment_accepted_at=utcnow())
    for row in (applicant, session, case):  # in the order of their foreign keys (no relationships to sort by)
        db.session.add(row)
        db.session.flush()
    db.session.commit()
    return case


@pytest.fixture()
def reads(client, app, case_with_photos):  # noqa: F811
    """Five reads by the Hunan police, one by the Hunan window, two in Jining; supervisors of both regions."""
    code, _ = case_with_photos
    police, window = token(client, "hn_police"), token(client, "hn_window")
    for _ in range(5):
        assert client.get(f"/api/v1/staff/cases/{code}", headers=police).status_code == 200
    assert client.get(f"/api/v1/staff/cases/{code}", headers=window).status_code == 200
    with app.app_context():
        staff_service.create("jn_window", PASSWORD, "济宁窗口", "window", "jining")
        staff_service.create("jn_super", PASSWORD, "济宁督办", "supervisor", "jining")
        jining = other_region_case()
        clerk = db.session.scalars(db.select(StaffUser).filter_by(username="jn_window")).one()
        db.session.add_all([StaffAccessLog(staff_id=clerk.id, case_id=jining.id, what="case", purpose="handle",
                                           shown=["deceased"]) for _ in range(2)])
        db.session.commit()
        jining_code = jining.tracking_code
    return code, jining_code


def test_a_supervisor_pages_through_the_reads_of_their_region_only(client, app, reads):
    code, jining_code = reads
    supervisor = token(client, "hn_super")
    seen, before, pages = [], None, 0
    while True:
        url = "/api/v1/staff/access-log?limit=4" + (f"&before={before}" if before else "")
        response = client.get(url, headers=supervisor)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["reads"]) <= 4
        seen += body["reads"]
        pages += 1
        before = body["next_before"]
        if before is None:
            break
    assert pages == 2 and len(seen) == 6
    assert [r["id"] for r in seen] == sorted((r["id"] for r in seen), reverse=True)  # newest first
    assert {r["tracking_code"] for r in seen} == {code}
    newest = seen[0]
    assert newest["staff"] == {"id": newest["staff"]["id"], "username": "hn_window", "name": "hn_window的名字",
                               "role": "window", "department": None}
    assert newest["purpose"] == "handle" and newest["shown"] == ["deceased", "applicant", "accounts", "other"]
    assert newest["purpose_label"] == "办理" and newest["at"]
    police = [r for r in seen if r["staff"]["username"] == "hn_police"]
    assert len(police) == 5 and police[0]["staff"]["department"] == "public_security"

    only = client.get("/api/v1/staff/access-log?staff=hn_police", headers=supervisor).get_json()
    assert [r["staff"]["username"] for r in only["reads"]] == ["hn_police"] * 5 and only["next_before"] is None
    by_case = client.get(f"/api/v1/staff/access-log?case={code.lower()}", headers=supervisor).get_json()
    assert len(by_case["reads"]) == 6
    assert client.get(f"/api/v1/staff/access-log?case={jining_code}", headers=supervisor).get_json()["reads"] == []
    jining = client.get("/api/v1/staff/access-log", headers=token(client, "jn_super")).get_json()
    assert [r["tracking_code"] for r in jining["reads"]] == [tracking.display(jining_code)] * 2
    for bad in ("limit=101", "limit=0", "before=abc", "before=0", "case=not-a-code!"):
        response = client.get(f"/api/v1/staff/access-log?{bad}", headers=supervisor)
        assert response.status_code == 422, bad


def test_only_supervisors_see_the_reads(client, app, reads):
    for username in ("hn_police", "hn_window"):
        response = client.get("/api/v1/staff/access-log", headers=token(client, username))
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
        console_sign_in(client, username)
        assert client.get("/console/reads").status_code == 403
        client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    assert client.get("/api/v1/staff/access-log").status_code == 401


def test_the_console_lists_the_reads_a_page_at_a_time(client, app, reads):
    code, jining_code = reads
    console_sign_in(client, "hn_super")
    page = text_of(client.get("/console/reads?limit=4"))
    assert "查阅记录" in page and "hn_police的名字" in page and "hn_window的名字" in page and "公安" in page
    assert code in page and jining_code not in page and "办理" in page and "逝者信息" in page
    assert page.count("<tr>") - 1 == 4  # the header row and four reads
    later = re.search(r'href="(/console/reads\?[^"]*before=\d+[^"]*)"', page)
    assert later, "no link to the earlier reads"
    rest = text_of(client.get(later.group(1).replace("&amp;", "&")))
    assert rest.count("<tr>") - 1 == 2 and "before=" not in rest.split("</table>")[-1]
    only = text_of(client.get("/console/reads?staff=hn_window"))
    assert only.count("<tr>") - 1 == 1
    for secret in (CARD, DECEASED_ID, APPLICANT_ID, "张三丰", "张小梅"):
        assert secret not in page
    assert "查阅记录" in text_of(client.get("/console/supervision"))  # in the supervisor's menu
