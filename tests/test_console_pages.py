"""The staff console (/console) through the Flask test client: sign-in on every page, CSRF on every form,
who may open what, escaping, labels, security headers, friendly refusals, the queue's order, search, the
window's own applications, undelivered messages and printing."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from html.parser import HTMLParser

import pytest

from miniapp_api.extensions import db
from miniapp_api.models import Applicant, Case, Notification, StaffAccessLog, WorkItem
from miniapp_api.services import staff as staff_service
from tests.test_applications import (
    APPLICANT_ID,
    DECEASED_ID,
    HUNAN,
    first_choice,
    good_form,
    make_id,
    questionnaire,
    sign_in,
    submit,
)
from tests.test_uploads import photo, upload
from tests.test_workflow import PASSWORD, item_id

PEOPLE = {
    "hn_window": ("window", "hunan", None),
    "hn_police": ("department", "hunan", "public_security"),
    "hn_hrss": ("department", "hunan", "hrss"),
    "hn_medical": ("department", "hunan", "medical_security"),
    "hn_super": ("supervisor", "hunan", None),
    "jn_window": ("window", "jining", None),
}
SCRIPT = "<script>alert(1)</script>"


# --- Helpers (also used by the browser test) --------------------------------------------------------------

def make_staff(app, *usernames: str) -> None:
    with app.app_context():
        for username in usernames or PEOPLE:
            role, region, department = PEOPLE[username]
            staff_service.create(username, PASSWORD, f"{username}的名字", role, region, department)


def make_case(client, app, wechat_peer, with_photo: bool = False, **changes) -> tuple[dict, dict]:
    """A submitted Hunan case through the JSON API (optionally with a photo of the applicant's ID card)."""
    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family)
    if with_photo:
        assert upload(client, family, sid, "applicant_id_card", photo()).status_code == 201
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(**changes), headers=family)
    response = submit(client, family, sid)
    assert response.status_code == 201, response.get_json()
    return family, response.get_json()


def csrf_token(client, url: str = "/console/queue") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def console_sign_in(client, username: str, password: str = PASSWORD, environ_overrides=None, **extra):
    return client.post("/console/sign-in", data={"username": username, "password": password,
                                                 "csrf_token": csrf_token(client, "/console/sign-in"), **extra},
                       environ_overrides=environ_overrides)


def move(client, item: int, status: str, **fields):
    """Post the case page's action form for one work item (with the current version and a CSRF token)."""
    with client.application.app_context():
        version = db.session.get(WorkItem, item).version
    data = {"status": status, "version": str(version), "csrf_token": csrf_token(client), **fields}
    return client.post(f"/console/items/{item}/transition", data=data)


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture()
def people(app, client):
    make_staff(app)
    return PEOPLE


@pytest.fixture()
def submitted(client, app, wechat_peer, people):
    return make_case(client, app, wechat_peer, with_photo=True)


# --- Sign-in ---------------------------------------------------------------------------------------------

def test_every_console_page_needs_sign_in(client, app, submitted):
    _, case = submitted
    code = case["tracking_code"]
    pages = ["/console/", "/console/queue", "/console/queue?status=all", "/console/search?q=张", f"/console/cases/{code}",
             f"/console/cases/{code}/pages/1", f"/console/cases/{code}/pages/1/image?size=thumb",
             f"/console/cases/{code}/application.pdf", f"/console/cases/{code}/application.html", "/console/supervision",
             "/console/notifications", "/console/applications", "/console/applications/abc",
             "/console/applications/abc/checklist", "/console/applications/abc/form"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/console/sign-in"), url
    token = csrf_token(client, "/console/sign-in")  # a valid token is not a sign-in
    item = item_id(case, "hukou_cancellation")
    posts = [f"/console/items/{item}/transition", "/console/notifications/1/resend", "/console/applications",
             "/console/applications/abc/answer", "/console/applications/abc/back", "/console/applications/abc/form"]
    for url in posts:
        response = client.post(url, data={"csrf_token": token, "status": "accepted", "version": "1"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/console/sign-in"), url
    with app.app_context():
        assert db.session.get(WorkItem, item).status == "submitted"
    # After signing in, the page asked for first is where the clerk lands; never another site.
    wanted = client.get(f"/console/cases/{code}").headers["Location"]
    assert "next=" in wanted
    landed = console_sign_in(client, "hn_window", next=f"/console/cases/{code}")
    assert landed.status_code == 302 and landed.headers["Location"] == f"/console/cases/{code}"
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    for evil in ("https://evil.example/console/", "//evil.example/x", "/console/../api/v1/me", "/\\evil.example"):
        response = console_sign_in(client, "hn_window", next=evil)
        assert response.headers["Location"] == "/console/", evil
        client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})


def test_wrong_password_is_refused_and_sign_in_starts_a_fresh_session(client, people):
    refused = console_sign_in(client, "hn_window", "wrong password!")
    assert refused.status_code == 401 and "用户名或密码不正确" in text_of(refused)
    assert console_sign_in(client, "nobody", "wrong password!").status_code == 401
    assert client.get("/console/queue").status_code == 302
    with client.session_transaction() as planted:
        planted["planted_before_sign_in"] = "x"  # what an attacker might have fixed in the victim's session
    response = console_sign_in(client, "hn_window")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as fresh:
        assert "planted_before_sign_in" not in fresh and fresh["console_staff"]
    queue = client.get("/console/queue")
    assert queue.status_code == 200 and "hn_window的名字" in text_of(queue)
    assert client.post("/console/sign-out", data={"csrf_token": csrf_token(client)}).status_code == 302
    with client.session_transaction() as after:
        assert dict(after) == {}
    assert client.get("/console/queue").status_code == 302


def test_too_many_wrong_passwords_are_throttled(client, people):
    for _ in range(10):
        console_sign_in(client, "hn_police", "wrong password!")
    blocked = console_sign_in(client, "hn_police")  # even the right one, from this address, for a while
    assert blocked.status_code == 429 and "后再试" in text_of(blocked) and int(blocked.headers["Retry-After"]) > 0
    elsewhere = console_sign_in(client, "hn_police", environ_overrides={"REMOTE_ADDR": "198.51.100.20"})
    assert elsewhere.status_code == 302  # the clerk at another desk is not locked out (tests/test_staff_sign_in.py)


def test_secure_cookies_outside_testing():
    from miniapp_api import create_app

    app = create_app({"TESTING": False, "DATABASE_URL": "sqlite://", "DIALOGS_CHECK_ON_START": False,
                      "NOTIFY_SMS_CONSOLE_ALLOWED": True,  # production refuses the console SMS otherwise
                      "SECRET_KEY": "console-cookie-test-secret-32-bytes+"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# --- CSRF, headers, escaping, labels -------------------------------------------------------------------------

def test_forms_without_a_csrf_token_are_refused(client, app, submitted):
    _, case = submitted
    item = item_id(case, "hukou_cancellation")
    refused = client.post("/console/sign-in", data={"username": "hn_window", "password": PASSWORD})
    assert refused.status_code == 400 and "页面已过期" in text_of(refused)
    assert console_sign_in(client, "hn_window").status_code == 302
    with app.app_context():
        version = db.session.get(WorkItem, item).version
    for token in (None, "forged-token"):
        data = {"status": "accepted", "version": str(version), **({"csrf_token": token} if token else {})}
        response = client.post(f"/console/items/{item}/transition", data=data)
        assert response.status_code == 400 and "页面已过期" in text_of(response)
        assert response.headers["Content-Security-Policy"]
    assert client.post("/console/sign-out").status_code == 400
    assert client.post("/console/applications").status_code == 400
    with app.app_context():
        assert db.session.get(WorkItem, item).status == "submitted"
    assert move(client, item, "accepted").status_code == 302  # with the page's token it goes through
    with app.app_context():
        assert db.session.get(WorkItem, item).status == "accepted"


def test_security_headers_on_every_console_response(client, submitted):
    _, case = submitted
    code = case["tracking_code"]
    for url in ("/console/sign-in", "/console/static/console.css"):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_headers(response, static=url.endswith(".css"))
    console_sign_in(client, "hn_window")
    for url in ["/console/queue", f"/console/cases/{code}", "/console/search?q=x", "/console/applications",
                f"/console/cases/{code}/application.html", "/console/cases/NOPE0-00000"]:
        _assert_headers(client.get(url))


def _assert_headers(response, static: bool = False) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert ("no-cache" if static else "no-store") in response.headers["Cache-Control"]


def test_a_script_in_a_name_is_shown_as_text(client, app, wechat_peer, people):
    _, case = make_case(client, app, wechat_peer, deceased__name=SCRIPT, applicant__address='"><img src=x onerror=alert(2)>')
    console_sign_in(client, "hn_window")
    for url in (f"/console/cases/{case['tracking_code']}", "search",
                f"/console/cases/{case['tracking_code']}/application.html"):
        page = text_of(search(client, SCRIPT) if url == "search" else client.get(url))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
        assert SCRIPT not in page and "<img src=x" not in page, url
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in text_of(client.get(f"/console/cases/{case['tracking_code']}"))


class _Controls(HTMLParser):
    """Every form control, and what labels it: <label for>, an enclosing <label>, or aria-label(ledby)."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and attrs.get("type") in ("hidden", "submit", "button"):
                return
            self.controls.append({**attrs, "tag": tag, "wrapped": self.open_labels > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


def unlabelled(html: str) -> list[dict]:
    parser = _Controls()
    parser.feed(html)
    return [c for c in parser.controls if not (c["wrapped"] or c.get("id") in parser.label_for
                                               or c.get("aria-label") or c.get("aria-labelledby"))]


def test_every_input_is_labelled(client, app, submitted):
    _, case = submitted
    code = case["tracking_code"]
    pages = {"/console/sign-in": text_of(client.get("/console/sign-in"))}
    console_sign_in(client, "hn_window")
    for url in ("/console/queue", "/console/search?q=张", f"/console/cases/{code}", "/console/applications",
                "/console/notifications", "/console/supervision"):
        pages[url] = text_of(client.get(url))
    started = client.post("/console/applications", data={"csrf_token": csrf_token(client)})
    question_url = started.headers["Location"]
    answer_all(client, question_url, pages)  # every question screen on the way (each type of question)
    sid = question_url.rsplit("/", 1)[1]
    pages["checklist"] = text_of(client.get(f"/console/applications/{sid}/checklist"))
    pages["form"] = text_of(client.get(f"/console/applications/{sid}/form"))
    kinds = r'<input[^>]*type="(date|radio|checkbox|tel|password|search)"'
    types = {m for html in pages.values() for m in re.findall(kinds, html)}
    assert types >= {"date", "radio", "checkbox", "tel", "password", "search"}
    for url, html in pages.items():
        assert unlabelled(html) == [], url


# --- Who may open what -------------------------------------------------------------------------------------

def test_only_the_region_and_department_of_a_case_can_open_it(client, app, submitted):
    _, case = submitted
    code = case["tracking_code"]
    hukou, pension = item_id(case, "hukou_cancellation"), item_id(case, "pension_account_payout")
    for username in ("jn_window", "hn_medical"):
        console_sign_in(client, username)
        refused = client.get(f"/console/cases/{code}")
        assert refused.status_code == 404 and "找不到该申请" in text_of(refused) and "张三丰" not in text_of(refused)
        assert client.get(f"/console/cases/{code}/application.pdf").status_code == 404
        assert client.get(f"/console/cases/{code}/pages/1/image").status_code == 404
        assert move(client, hukou, "accepted").status_code == 404
        assert 'class="card result"' not in text_of(search(client, code))
        client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    console_sign_in(client, "hn_police")
    page = text_of(client.get(f"/console/cases/{code}"))
    assert "死亡人员户口注销" in page and f"item-{pension}" not in page  # only the police's own matter
    assert move(client, pension, "accepted").status_code == 404  # not the police's item
    assert move(client, hukou, "accepted").status_code == 302
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    console_sign_in(client, "hn_super")  # supervisors watch deadlines; they do not open families' files
    assert client.get(f"/console/cases/{code}").status_code == 403
    assert client.get("/console/queue").status_code == 403
    assert client.get("/console/supervision").status_code == 200
    with app.app_context():
        assert db.session.get(WorkItem, pension).status == "submitted"


def test_illegal_moves_give_a_friendly_message(client, app, submitted):
    _, case = submitted
    item = item_id(case, "hukou_cancellation")
    console_sign_in(client, "hn_window")
    cases = [({"status": "done"}, "不能从“已提交”改为“已办结”"),
             ({"status": "rejected"}, "不予办理须说明理由"),
             ({"status": "needs_supplement"}, "请一次性列明需要补充的全部材料或信息"),
             ({"status": "flying"}, "未知的办理状态"),
             ({"status": "accepted", "version": "7"}, "该事项刚被他人更新，请刷新后再操作")]
    for fields, message in cases:
        response = move(client, item, **fields)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"#item-{item}")
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and message in text_of(page), message
    with app.app_context():
        assert db.session.get(WorkItem, item).status == "submitted"


# --- Working a case ------------------------------------------------------------------------------------------

def test_case_page_shows_people_items_photos_and_audit_trail(client, app, submitted):
    family, case = submitted
    code = case["tracking_code"]
    pension = item_id(case, "pension_account_payout")
    console_sign_in(client, "hn_window")
    assert move(client, pension, "needs_supplement", missing=["social_security_card"], missing_other="开户行名称",
                reason="请补充社保卡").status_code == 302
    sent = client.post(f"/api/v1/cases/{code}/supplements/social_security_card/pages", headers=family,
                       data={"file": [(io.BytesIO(photo()), "card.jpg")]}, content_type="multipart/form-data")
    assert sent.status_code == 201  # the family photographs what was asked (the other materials are frozen)
    assert client.post(f"/api/v1/cases/{code}/items/{pension}/supplied", headers=family).status_code == 200
    for status in ("accepted", "in_progress", "done"):
        assert move(client, pension, status).status_code == 302
    page = text_of(client.get(f"/console/cases/{code}"))
    assert DECEASED_ID in page and APPLICANT_ID in page and "13800138000" in page  # staff see the full numbers
    assert "张三丰" in page and "张小梅" in page and "子女" in page
    assert "死亡人员户口注销" in page and "公安" in page and "人社" in page
    assert re.search(r'src="/console/cases/[^"]+/pages/\d+/image\?size=thumb"', page)
    audit = page[page.index("办理记录"):]
    for text in ("已提交 → 需补充材料", "开户行名称", "请补充社保卡", "申请人（家属）", "需补充材料 → 材料已补齐",
                 "材料已补齐 → 已受理", "已受理 → 办理中", "办理中 → 已办结", "hn_window的名字"):
        assert text in audit, text
    with app.app_context():
        reads = db.session.scalars(db.select(StaffAccessLog.what)).all()
        assert "case" in reads


def test_document_photos_thumbnail_and_full_size_are_logged(client, app, submitted):
    _, case = submitted
    code = case["tracking_code"]
    console_sign_in(client, "hn_hrss")
    page = text_of(client.get(f"/console/cases/{code}"))
    page_id = int(re.search(r"/pages/(\d+)/image\?size=thumb", page).group(1))
    thumb = client.get(f"/console/cases/{code}/pages/{page_id}/image?size=thumb")
    full = client.get(f"/console/cases/{code}/pages/{page_id}/image")
    assert thumb.mimetype == full.mimetype == "image/jpeg" and len(thumb.data) < len(full.data)
    viewer = text_of(client.get(f"/console/cases/{code}/pages/{page_id}"))
    assert f'src="/console/cases/{code}/pages/{page_id}/image"' in viewer and "返回申请" in viewer
    assert client.get(f"/console/cases/{code}/pages/{page_id + 999}/image").status_code == 404
    with app.app_context():
        assert f"page:{page_id}" in db.session.scalars(db.select(StaffAccessLog.what)).all()


def test_queue_puts_supplements_and_overdue_first_then_new(client, app, submitted):
    _, case = submitted
    hukou, pension, survivor = (item_id(case, m) for m in ("hukou_cancellation", "pension_account_payout",
                                                           "survivor_benefits"))
    console_sign_in(client, "hn_window")
    move(client, survivor, "accepted")
    move(client, pension, "needs_supplement", missing=["social_security_card"])

    def order() -> list[str]:
        page = text_of(client.get("/console/queue"))
        page = page[page.index("<tbody>"):]  # not the flashed message of the last move
        names = {"死亡人员户口注销": hukou, "养老保险个人账户": pension, "职工遗属": survivor}
        return [i for _, i in sorted((page.index(n), i) for n, i in names.items() if n in page)]

    assert order() == [pension, hukou, survivor]
    with app.app_context():  # the accepted one runs late: overdue comes first
        row = db.session.get(WorkItem, survivor)
        row.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        db.session.commit()
    assert order() == [survivor, pension, hukou]
    assert "已超期" in text_of(client.get("/console/queue"))
    move(client, hukou, "accepted")
    move(client, hukou, "done")
    assert hukou not in order()  # finished work leaves the default view
    assert "死亡人员户口注销" in text_of(client.get("/console/queue?status=all"))
    assert "死亡人员户口注销" in text_of(client.get("/console/queue?status=done"))


def search(client, query: str):
    """The search form, posted: names and ID tails stay out of URLs and access logs."""
    return client.post("/console/search", data={"q": query, "csrf_token": csrf_token(client, "/console/search")})


def test_search_by_code_name_or_id_tail_within_the_region(client, app, wechat_peer, people):
    _, case = make_case(client, app, wechat_peer)
    code = case["tracking_code"]
    console_sign_in(client, "hn_police")
    # Names and numbers are found by their blind indexes (models.CaseSearchKey): a full name, not a part of one.
    for query in (code, code.lower().replace("-", ""), "张三丰", "张 三丰", "张小梅", DECEASED_ID[-4:],
                  DECEASED_ID[-6:], APPLICANT_ID[-5:]):
        assert code in text_of(search(client, query)), query
    for query in ("李四", "三丰", "0000", DECEASED_ID[-3:]):
        assert code not in text_of(search(client, query)), query
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    for username in ("jn_window", "hn_medical"):
        console_sign_in(client, username)
        assert code not in text_of(search(client, "张三丰"))
        client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        assert db.session.scalars(db.select(StaffAccessLog.what)).all().count("search") == 8


def test_search_is_posted_so_names_stay_out_of_urls(client, app, wechat_peer, people):
    """A name or ID tail in a query string ends up in access logs, proxies and browser history: search is a POST."""
    _, case = make_case(client, app, wechat_peer)
    console_sign_in(client, "hn_window")
    page = text_of(client.get("/console/search"))
    assert re.search(r'<form method="post" action="/console/search"', page)
    assert re.search(r'<form class="quick-search" method="post" action="/console/search"', page)
    by_url = client.get("/console/search", query_string={"q": "张三丰"})
    assert case["tracking_code"] not in text_of(by_url) and "张三丰" not in text_of(by_url)
    assert case["tracking_code"] in text_of(search(client, "张三丰"))
    assert client.post("/console/search", data={"q": "张三丰"}).status_code == 400  # CSRF token required


def test_print_the_application_form(client, submitted):
    _, case = submitted
    code = case["tracking_code"]
    console_sign_in(client, "hn_window")
    pdf = client.get(f"/console/cases/{code}/application.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    html = client.get(f"/console/cases/{code}/application.html")
    assert html.status_code == 200 and code in text_of(html) and "张三丰" in text_of(html)
    assert client.get(f"/console/cases/{code}/application.txt").status_code == 404


def test_dead_letters_can_be_resent_by_the_window(client, app, submitted):
    _, case = submitted
    with app.app_context():
        note = db.session.scalars(db.select(Notification)).first()
        note.status, note.attempts, note.last_error = "dead", 5, "isv.BUSINESS_LIMIT_CONTROL"
        db.session.commit()
        note_id = note.id
    console_sign_in(client, "hn_super")
    page = text_of(client.get("/console/notifications"))
    assert "isv.BUSINESS_LIMIT_CONTROL" in page and "重新发送</button>" not in page
    assert client.post(f"/console/notifications/{note_id}/resend", data={"csrf_token": csrf_token(client)}).status_code == 403
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    console_sign_in(client, "jn_window")
    assert "isv.BUSINESS_LIMIT_CONTROL" not in text_of(client.get("/console/notifications"))
    assert client.post(f"/console/notifications/{note_id}/resend", data={"csrf_token": csrf_token(client)}).status_code == 404
    client.post("/console/sign-out", data={"csrf_token": csrf_token(client)})
    console_sign_in(client, "hn_window")
    assert case["tracking_code"] in text_of(client.get("/console/notifications"))
    response = client.post(f"/console/notifications/{note_id}/resend", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert "已重新发送" in text_of(client.get(response.headers["Location"]))
    with app.app_context():
        assert db.session.get(Notification, note_id).status != "dead"


# --- Applying at the window --------------------------------------------------------------------------------

def answer_all(client, question_url: str, pages: dict | None = None, script=HUNAN, consent: bool = True) -> str:
    """Answer each screen as a clerk would, from the family's replies (`script`), then record the family's
    consent (unless ``consent`` is false); returns the checklist URL."""
    for _ in range(60):
        response = client.get(question_url)
        if response.status_code == 302:
            if consent:
                record_consent(client, question_url, pages)
            return response.headers["Location"]
        html = text_of(response)
        if pages is not None:
            pages[f"question {len(pages)}"] = html
        qid = re.search(r'name="question" value="([^"]+)"', html).group(1)
        qtype = ("multiple" if 'type="checkbox" name="value"' in html else "date" if 'type="date"' in html
                 else "yes_no" if 'value="true"' in html else "single" if 'type="radio"' in html else "text")
        options = [{"value": v} for v in re.findall(r'name="value" value="([^"]+)"', html)]
        value = script.get(qid, first_choice({"type": qtype, "options": options}))
        if qtype == "yes_no":
            value = "true" if value is True else "false"
        posted = client.post(question_url + "/answer", data={"csrf_token": csrf_token(client, question_url),
                                                             "question": qid, "value": value})
        assert posted.status_code == 302
    raise AssertionError("the questionnaire never ended")


def record_consent(client, question_url: str, pages: dict | None = None) -> None:
    """The clerk shows the family the consent text and records that they consented."""
    consent_url = question_url + "/consent"
    html = text_of(client.get(consent_url))
    if pages is not None:
        pages["consent"] = html
    version = re.search(r'name="version" value="([^"]+)"', html).group(1)
    posted = client.post(consent_url, data={"csrf_token": csrf_token(client, consent_url), "version": version,
                                            "family_consented": "yes"})
    assert posted.status_code == 302 and posted.headers["Location"].endswith("/form"), posted.status_code


def form_fields(form: dict) -> dict:
    flat = {f"{section}-{key}": value for section in ("deceased", "applicant") for key, value in form[section].items()}
    for i, account in enumerate(form["accounts"]):
        flat.update({f"accounts-{i}-{key}": value for key, value in account.items()})
    flat["commitment_accepted"] = "yes"
    return flat


def test_the_window_enters_an_application_for_a_family(client, app, people):
    console_sign_in(client, "hn_window")
    started = client.post("/console/applications", data={"csrf_token": csrf_token(client)})
    question_url = started.headers["Location"]
    sid = question_url.rsplit("/", 1)[1]
    first = text_of(client.get(question_url))
    assert "您与死亡人员的关系是" in first and "上一题" not in first
    token = csrf_token(client, question_url)
    assert "请先选择或填写答案" in text_of(client.post(question_url + "/answer", data={"csrf_token": token,
                                                                                      "question": "relationship"},
                                                       follow_redirects=True))
    client.post(question_url + "/answer", data={"csrf_token": token, "question": "relationship", "value": "child"})
    second = text_of(client.get(question_url))
    assert "亡故时间" in second and "上一题" in second
    client.post(question_url + "/back", data={"csrf_token": token})
    again = text_of(client.get(question_url))  # back to the first question, its answer ticked
    assert "您与死亡人员的关系是" in again and re.search(r'value="child"[^>]*checked', again)
    checklist_url = answer_all(client, question_url)
    checklist = text_of(client.get(checklist_url))
    assert "死亡人员户口注销" in checklist and "填写申请表" in checklist
    # Another clerk cannot continue it.
    other = app.test_client()
    with app.app_context():
        staff_service.create("hn_window2", PASSWORD, "第二窗口", "window", "hunan")
    console_sign_in(other, "hn_window2")
    assert other.get(question_url).status_code == 404
    # The form: saving an empty one lists the problems; a good one is submitted as a case.
    form_url = f"/console/applications/{sid}/form"
    token = csrf_token(client, form_url)
    saved = client.post(form_url, data={"csrf_token": token, "action": "save"}, follow_redirects=True)
    assert "已保存" in text_of(saved) and "请填写逝者姓名" in text_of(saved)
    page = text_of(client.get(form_url))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {**form_fields(good_form()), "csrf_token": token, "idempotency_key": key, "action": "submit"}
    done = client.post(form_url, data=data)
    assert done.status_code == 302 and done.headers["Location"].startswith("/console/cases/")
    case_page = text_of(client.get(done.headers["Location"]))
    assert "申请已提交" in case_page and "综合窗口代办" in case_page and "张三丰" in case_page
    assert client.post(form_url, data=data).headers["Location"] == done.headers["Location"]  # a double click: one case
    with app.app_context():
        made = db.session.scalars(db.select(Case)).one()
        applicant = db.session.get(Applicant, made.applicant_id)
        assert applicant.channel == "window" and applicant.channel_user_id.endswith(f":{sid}")
        assert applicant.phone == "13800138000"
        assert {w.matter_id for w in made.work_items} == {"hukou_cancellation", "pension_account_payout",
                                                          "survivor_benefits"}
    assert sid not in text_of(client.get("/console/applications"))  # no longer a draft


def test_the_window_form_asks_the_fields_only_hrss_reads(client, app, people):
    """Issue 14 item 10: the 申请表's 「死亡人员是否企业职工」「亡故前工作状态」「其他参保类型」 are form fields for 人社,
    labelled so: the clerk picks them on the form when a 人社 matter is applied for."""
    console_sign_in(client, "hn_window")
    question_url = client.post("/console/applications", data={"csrf_token": csrf_token(client)}).headers["Location"]
    sid = question_url.rsplit("/", 1)[1]
    answer_all(client, question_url)
    form_url = f"/console/applications/{sid}/form"
    page = text_of(client.get(form_url))
    assert 'name="deceased-enterprise_employee"' in page and 'name="deceased-other_insurance" multiple' in page
    assert "仅供人社经办人员核对" in page and "工伤保险" in page and 'value="true"' in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {**form_fields(good_form()), "csrf_token": csrf_token(client, form_url), "idempotency_key": key,
            "action": "submit"}
    missing = {k: v for k, v in data.items() if k != "deceased-employment_status"}
    refused = client.post(form_url, data=missing, follow_redirects=True)
    assert "请填写死亡人员亡故前工作状态" in text_of(refused)
    done = client.post(form_url, data={**data, "deceased-other_insurance": ["work_injury", "unemployment"]})
    assert done.status_code == 302 and done.headers["Location"].startswith("/console/cases/")
    with app.app_context():
        made = db.session.scalars(db.select(Case)).one()
        assert (made.facts["enterprise_employee"], made.facts["other_insurance"]) == (True, ["work_injury",
                                                                                            "unemployment"])


def test_only_window_clerks_enter_applications(client, people):
    console_sign_in(client, "hn_police")
    assert client.get("/console/applications").status_code == 403
    assert client.post("/console/applications", data={"csrf_token": csrf_token(client)}).status_code == 403
    assert client.get(f"/console/applications/{uuid.uuid4().hex}").status_code == 403


def test_the_window_form_for_a_xinjiang_proxy_asks_the_proxy_section_only(client, app):
    """Issue 14 item 11: Xinjiang's 一张表单 「被委托人基本情况（如无被委托人，无需填写）」 names the proxy on the form
    itself; the clerk types the 被委托人 and is not asked for a separate 授权委托书."""
    with app.app_context():
        staff_service.create("xj_window", PASSWORD, "新疆窗口", "window", "xinjiang")
    console_sign_in(client, "xj_window")
    question_url = client.post("/console/applications", data={"csrf_token": csrf_token(client)}).headers["Location"]
    sid = question_url.rsplit("/", 1)[1]
    script = {"relationship": "child", "applicant_is_proxy": True, "death_type": "normal",
              "funeral_home_registered": True, "has_cremation_certificate": True, "medical_account": False,
              "medical_insurance": "none", "pension_payout": False, "driving_licence": False, "has_housing_fund": False}
    answer_all(client, question_url, script=script)
    form_url = f"/console/applications/{sid}/form"
    page = text_of(client.get(form_url))
    assert 'name="proxy-name"' in page and 'name="proxy-id_number"' in page
    assert "proxy-authorization" not in page and "授权委托书" not in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {**form_fields(good_form(accounts=[])), "csrf_token": csrf_token(client, form_url), "idempotency_key": key,
            "action": "submit", "proxy-name": "李四", "proxy-id_number": make_id("19800101"),
            "proxy-phone": "13600136000"}
    done = client.post(form_url, data=data)
    assert done.status_code == 302 and done.headers["Location"].startswith("/console/cases/"), text_of(
        client.get(form_url))
    with app.app_context():
        made = db.session.scalars(db.select(Case)).one()
        assert made.form["proxy"]["name"] == "李四" and "authorization" not in made.form["proxy"]


def test_the_window_sees_the_pension_matter_by_the_name_that_applies(client, app, wechat_peer, people):
    """Issue 14 item 1, 「人社部门根据逝者参保类型推送办理」: the queue and the case page name a Jining civil servant's
    pension box as 表2 does (「机关事业单位在职人员」…), not the box's generic wording."""
    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family, region="jining", script={
        "relationship": "spouse", "death_type": "normal", "matters": ["pension_account_payout"],
        "pension_insurance": "institution", "receiving_pension": False})
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=family)
    response = submit(client, family, sid)
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["tracking_code"]
    console_sign_in(client, "jn_window")
    name = "机关事业单位在职人员养老保险个人账户一次性待遇申领"
    assert name in text_of(client.get("/console/queue"))
    page = text_of(client.get(f"/console/cases/{code}"))
    assert name in page and "个人账户一次性待遇申领（养老保险）" not in page
