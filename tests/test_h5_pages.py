"""The family's H5 pages (/h5) through the Flask test client: every page renders, every POST needs its CSRF
token, user text comes back escaped, every control has a label, bad input is a message (never a 500), the
security headers are there, and the palette's contrast figures are what the stylesheet says."""

from __future__ import annotations

import io
import re
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.test_applications import HUNAN, IM_PROXY, TODAY, good_form
from tests.test_uploads import photo

CSS = Path(__file__).resolve().parents[1] / "miniapp_api" / "static" / "h5" / "h5.css"
PHONE = "13900139000"


# --- helpers: a family in a browser without JavaScript --------------------------------------------------

class Family:
    """The test client plus the CSRF token read from the last rendered page, as a browser form would send it."""

    def __init__(self, client, app):
        self.client, self.app, self.csrf = client, app, None

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        match = response.mimetype == "text/html" and re.search(r'name="csrf_token" value="([^"]+)"', text(response))
        if match:
            self.csrf = match.group(1)
        return response

    def post(self, url: str, data: dict | None = None, **kwargs):
        if self.csrf is None:
            self.get("/h5/")
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def start(self, region: str = "hunan"):
        self.get("/h5/")
        response = self.post("/h5/start", {"region": region})
        assert response.status_code == 302 and response.location.endswith("/h5/q")

    def current_question(self) -> str | None:
        """Where /h5/q (where the family left off) leads: a question's own page, or None for the review."""
        response = self.get("/h5/q")
        assert response.status_code == 302
        match = re.search(r"/h5/q/([a-z0-9_]+)$", response.location)
        assert match or response.location.endswith("/h5/review"), response.location
        return match.group(1) if match else None

    def answer(self, question: str, value):
        values = value if isinstance(value, list) else [value]
        posted = [("true" if v else "false") if isinstance(v, bool) else v for v in values]
        return self.post(f"/h5/q/{question}", {"question": question, "value": posted})

    def answer_all(self, script=HUNAN, consent: bool = True) -> list[str]:
        """Every question to the end; then the family gives the separate consent the photos and form need,
        unless ``consent`` is false."""
        asked = []
        while (question := self.current_question()) is not None:
            asked.append(question)
            page = self.get(f"/h5/q/{question}").get_data(as_text=True)
            first = re.search(r'name="value" value="([^"]*)"', page)
            value = script.get(question, first.group(1) if first else TODAY)
            response = self.answer(question, value)
            assert response.status_code == 302, response.get_data(as_text=True)
            assert len(asked) < 40
        if consent:
            self.consent()
        return asked

    def consent(self):
        """Read the consent page and agree, as the family does before the first photo."""
        page = self.get("/h5/consent")
        assert page.status_code == 200, page.get_data(as_text=True)
        version = re.search(r'name="version" value="([^"]+)"', text(page)).group(1)
        response = self.post("/h5/consent", {"version": version, "agree": "yes"})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def sign_in(self, phone: str = PHONE):
        self.get("/h5/signin")
        assert self.post("/h5/signin/code", {"phone": phone}).status_code == 302
        code = [p["code"] for to, _, p in self.app.extensions["sms"].sent if to == phone][-1]
        return self.post("/h5/signin/verify", {"code": code})

    def submit(self, form: dict | None = None, key: str | None = None):
        page = self.get("/h5/form").get_data(as_text=True)
        key = key or re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
        return self.post("/h5/submit", {**form_fields(form or good_form()), "idempotency_key": key})


def form_fields(form: dict) -> dict:
    """The one form as the H5 page posts it: ``section.field`` names, ticked boxes as "1"."""
    out: dict = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif isinstance(node, list) and all(isinstance(v, str) for v in node):
            out[prefix[:-1]] = list(node)  # ticked boxes of one name
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{prefix}{i}.")
        elif node is True:
            out[prefix[:-1]] = "1"
        elif node not in (None, False):
            out[prefix[:-1]] = str(node)

    walk(form, "")
    return out


@pytest.fixture()
def family(client, app):
    return Family(client, app)


@pytest.fixture()
def submitted(family):
    """A Hunan family that went all the way: returns (family, display tracking code)."""
    family.start()
    family.answer_all()
    family.sign_in()
    response = family.submit()
    assert response.status_code == 302 and "/h5/done/" in response.location, response.get_data(as_text=True)
    return family, response.location.rsplit("/", 1)[1]


class Controls(HTMLParser):
    """Every form control and every <label for> of a page."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a})


def unlabelled(html: str) -> list[dict]:
    parser = Controls()
    parser.feed(html)
    assert len(parser.ids) == len(set(parser.ids)), "duplicate ids"
    return [c for c in parser.controls if not c.get("aria-label") and c.get("id") not in parser.label_for]


def text(response) -> str:
    return response.get_data(as_text=True)


# --- every page renders ------------------------------------------------------------------------------------

def journey_value(client, app, key: str):
    """A value of the browser's H5 journey, which lives on the server (web/h5_session.py), not in the cookie."""
    import json

    from miniapp_api.web import h5_session

    with client.session_transaction() as cookie:
        sid = cookie[h5_session.COOKIE_KEY]
    return json.loads(app.extensions["store"].get(h5_session._key(sid)))[key]


def test_the_whole_journey_renders_page_by_page(family, app):
    home = family.get("/h5/")
    assert home.status_code == 200 and "湖南省" in text(home) and "请选择" in text(home)
    family.start()
    first = family.get("/h5/q/relationship")
    assert first.status_code == 200
    page = text(first)
    assert "您与死亡人员的关系是" in page and "下一步" in page and "第 1 题" in page  # who the family is, first
    assert 'role="progressbar"' in page and 'type="radio"' in page
    asked = family.answer_all()
    assert asked[:3] == ["relationship", "death_date", "local_death"] and "medical_account_overpaid" in asked
    review = text(family.get("/h5/review"))
    assert "请核对您的回答" in review and review.count(">修改<") == len(asked)
    checklist = family.get("/h5/checklist")
    page = text(checklist)
    assert checklist.status_code == 200
    for words in ("死亡人员户口注销", "公安", "收到死亡证明", "申请人身份证", "还没上传", "殡仪馆的身后“一件事一次办”受理窗口",
                  "下一步：填写申请表"):
        assert words in page, words
    material = family.get("/h5/materials/applicant_id_card")
    assert material.status_code == 200
    assert 'capture="environment"' in text(material) and 'accept="image/*,application/pdf"' in text(material)
    upload = family.post("/h5/materials/applicant_id_card", {"file": (io.BytesIO(photo()), "id.jpg")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302
    page = text(family.get("/h5/materials/applicant_id_card"))
    thumb = re.search(r'src="(/h5/pages/\d+\?size=thumb)"', page).group(1)
    image = family.get(thumb)
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and "no-store" in image.headers["Cache-Control"]
    assert "已上传" in text(family.get("/h5/checklist"))
    # The form needs a sign-in first.
    assert family.get("/h5/form").location.endswith("/h5/signin")
    signin = family.get("/h5/signin")
    assert "获取验证码" in text(signin)
    family.post("/h5/signin/code", {"phone": PHONE})
    step_two = text(family.get("/h5/signin"))
    assert "139****9000" in step_two and "one-time-code" in step_two
    assert family.sign_in().location.endswith("/h5/form")
    form = family.get("/h5/form")
    page = text(form)
    assert form.status_code == 200
    assert "2026年11月20日" in page and "子女" in page  # prefilled from the answers, shown read-only
    assert "殡葬政策" in page and 'name="commitment_accepted"' in page
    assert 'value="13900139000"' in page  # the signed-in phone is offered as the applicant's
    assert "还有" not in page.split("<form")[0]  # a fresh form is not covered in red
    response = family.submit()
    done = family.get(response.location)
    page = text(done)
    code = response.location.rsplit("/", 1)[1]
    assert done.status_code == 200 and code in page and "<svg" in page and "application.pdf" in page
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    pdf = family.get(f"/h5/done/{code}/application.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    status = family.get(f"/h5/status?code={code}")
    assert status.status_code == 200 and f'value="{code}"' in text(status)
    result = family.post("/h5/status", {"tracking_code": code, "phone_tail": PHONE[-4:]})  # the signed-in number
    assert result.status_code == 200
    page = text(result)
    assert "死亡人员户口注销" in page and "已提交" in page and "张三丰" not in page  # progress only, no names


def test_the_question_page_shows_progress_and_goes_back_with_the_old_answer_selected(family):
    family.start()
    assert family.answer("relationship", "child").location.endswith("/h5/q/death_date")  # post, redirect, get
    family.answer("death_date", "2026-11-20")
    page = text(family.get("/h5/q/local_death"))
    assert "第 3 题" in page and "返回上一题" in page and 'type="radio"' in page
    assert 'action="/h5/q/local_death"' in page and 'action="/h5/q/local_death/back"' in page
    width = int(re.search(r'style="width: (\d+)%"', page).group(1))
    assert 0 < width < 100
    back = family.post("/h5/q/local_death/back")
    assert back.status_code == 302 and back.location.endswith("/h5/q/death_date")
    page = text(family.get("/h5/q/death_date"))
    assert "逝者的亡故时间是" in page and "第 2 题" in page and 'type="date"' in page
    assert 'value="2026-11-20"' in page  # the earlier answer comes back filled in
    assert family.current_question() == "death_date"  # the cursor moved; no answer was deleted
    family.post("/h5/q/death_date/back")
    page = text(family.get("/h5/q/relationship"))
    assert "第 1 题" in page and "返回选择地区" in page and "返回上一题" not in page
    assert re.search(r'value="child" checked', page)  # the earlier answer comes back selected
    assert family.post("/h5/q/relationship/back").location.endswith("/h5/q/relationship")  # nothing before it


def test_question_pages_have_their_own_addresses(family):
    family.start()
    family.answer("relationship", "child")
    family.answer("death_date", "2026-11-20")
    # A page the browser's Back button returns to is shown again, its answer selected, and moves nothing.
    assert re.search(r'value="child" checked', text(family.get("/h5/q/relationship")))
    assert family.current_question() == "local_death"
    # A question not reached yet, not shown, or unknown leads to where the family is.
    for path in ("/h5/q/death_type", "/h5/q/housing_fund_blocked", "/h5/q/no_such_question", "/h5/q/" + "x" * 300):
        response = family.get(path)
        assert response.status_code == 302 and response.location.endswith("/h5/q/local_death"), path
    # Answering an earlier page (reached with Back) goes on to the next question, its answer kept.
    response = family.answer("relationship", "child")
    assert response.location.endswith("/h5/q/death_date")
    assert 'value="2026-11-20"' in text(family.get("/h5/q/death_date"))


def test_the_review_changes_one_answer_and_comes_straight_back(family):
    family.start()
    family.answer_all()
    assert family.current_question() is None  # the end: the review
    page = text(family.get("/h5/review"))
    assert "2026年11月20日" in page and "死亡人员户口注销" in page  # answers in words
    assert 'action="/h5/review/requested"' in page and unlabelled(page) == []
    change = family.post("/h5/review/requested")
    assert change.status_code == 302 and change.location.endswith("/h5/q/requested")
    page = text(family.get("/h5/q/requested"))
    assert re.search(r'value="survivor_benefits" checked', page)
    more = [*HUNAN["requested"], "driving_licence_cancellation"]
    response = family.answer("requested", more)
    assert response.location.endswith("/h5/q/local_driving_licence")  # the one question the change made appear
    assert family.answer("local_driving_licence", True).location.endswith("/h5/review")  # then straight back
    assert "驾驶证注销业务" in text(family.get("/h5/review"))
    fewer = family.post("/h5/review/requested")
    assert fewer.location.endswith("/h5/q/requested")
    assert family.answer("requested", ["hukou_cancellation"]).location.endswith("/h5/review")  # nothing new
    refused = family.post("/h5/review/housing_fund_blocked", follow_redirects=True)
    assert "这个问题现在不需要回答" in text(refused)


def test_the_review_waits_for_the_last_answer(family):
    family.start()
    family.answer("local_death", True)
    response = family.get("/h5/review")
    assert response.status_code == 302 and response.location.endswith("/h5/q")


def test_start_again_asks_first_and_a_stale_answer_after_the_end_goes_to_the_checklist(family):
    family.start()
    family.answer("relationship", "child")
    confirm = family.post("/h5/restart")
    assert confirm.status_code == 200 and "确定要重新开始吗" in text(confirm)
    assert family.current_question() == "death_date"  # one tap loses nothing
    family.answer_all()
    stale = family.post("/h5/q/local_death", {"value": "maybe"})  # a wrong answer to an earlier page
    assert stale.status_code == 422 and "请选择“是”或“否”" in text(stale) and "逝者是在湖南省内去世的吗" in text(stale)
    assert family.current_question() is None  # nothing changed: still at the end
    cleared = family.post("/h5/restart", {"confirm": "yes"})
    assert cleared.status_code == 302 and cleared.location.endswith("/h5/")
    assert family.get("/h5/q").location.endswith("/h5/")


def test_english_toggle_is_remembered_and_chinese_is_the_default(family):
    assert 'lang="zh-CN"' in text(family.get("/h5/"))
    page = text(family.get("/h5/?lang=en"))
    assert 'lang="en"' in page and "Hunan Province" in page and "中文" in page
    family.start()
    page = text(family.get("/h5/q/relationship"))
    assert "What is your relationship to the deceased?" in page and "Next" in page and "Question 1 of" in page
    family.answer("relationship", "child")
    family.answer("death_date", "2026-11-20")
    for question in ("local_death", "local_hukou"):
        family.answer(question, True)
    family.answer("death_type", "normal")
    page = text(family.get("/h5/q/welfare"))
    assert "Choose all that apply" in page and "None of these" in page and "Previous question" in page
    family.answer_all()
    page = text(family.get("/h5/checklist"))
    assert "Cancel the household registration" in page and "Documents to prepare" in page and "Public security" in page
    assert family.get("/h5/q?lang=zh").location.endswith("/h5/review")  # done: on to the review, in Chinese
    page = text(family.get("/h5/checklist"))
    assert "您的办事清单" in page and 'lang="zh-CN"' in page


def test_a_proxy_application_shows_the_proxy_section(family):
    family.start("inner_mongolia")
    family.answer_all(IM_PROXY)
    family.sign_in()
    page = text(family.get("/h5/form"))
    assert 'name="proxy.authorization.signed"' in page and 'name="proxy.name"' in page
    assert unlabelled(page) == []



def test_a_submitted_questionnaire_shows_its_case_instead_of_a_question(submitted):
    family, code = submitted
    for response in (family.get("/h5/q"), family.get("/h5/q/local_death"), family.answer("local_death", False),
                     family.post("/h5/q/local_death/back"), family.get("/h5/review"), family.post("/h5/review/requested")):
        assert response.status_code == 302 and response.location.endswith(f"/h5/done/{code}")
    assert code in text(family.get(f"/h5/done/{code}"))

# --- CSRF ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/h5/start", "/h5/restart", "/h5/q/local_death", "/h5/q/local_death/back",
                                  "/h5/review/local_death", "/h5/signin/code", "/h5/form",
                                  "/h5/submit", "/h5/status", "/h5/materials/applicant_id_card",
                                  "/h5/signin/verify", "/h5/pages/1/delete"])
def test_posts_without_the_csrf_token_are_refused(family, app, path):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    family.start()
    for data in ({"region": "hunan"}, {"region": "hunan", "csrf_token": "forged"}):
        response = family.client.post(path, data=data)
        assert response.status_code == 400
        page = text(response)
        assert "页面停留时间太长或已失效" in page and "Traceback" not in page
        assert response.mimetype == "text/html"


def test_a_refused_post_changes_nothing(family):
    family.start()
    family.client.post("/h5/q/relationship", data={"question": "relationship", "value": "child"})
    assert family.current_question() == "relationship"


# --- escaping ------------------------------------------------------------------------------------------------------

SCRIPT = '<script>alert("x")</script>'


def test_script_typed_into_a_text_field_is_shown_escaped(family):
    family.start()
    family.answer_all()
    family.sign_in()
    family.get("/h5/form")
    fields = {**form_fields(good_form()), "deceased.name": SCRIPT, "applicant.address": f'"><img src=x onerror=1>{SCRIPT}'}
    assert family.post("/h5/form", {**fields, "action": "save"}).status_code == 302
    page = text(family.get("/h5/form"))
    assert SCRIPT not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<script" not in page  # no script at all: the CSP allows none inline
    status = family.post("/h5/status", {"tracking_code": SCRIPT, "phone_tail": "12<b>"})
    assert status.status_code == 422 and "<script>" not in text(status) and "&lt;script&gt;" in text(status)


# --- labels --------------------------------------------------------------------------------------------------------

def test_every_control_has_a_label(submitted):
    family, code = submitted
    pages = ["/h5/", "/h5/status", f"/h5/done/{code}", "/h5/checklist", "/h5/materials/applicant_id_card",
             "/h5/signin?change=1"]
    for path in pages:
        response = family.get(path)
        assert response.status_code in (200, 302), path
        if response.status_code == 200:
            assert unlabelled(text(response)) == [], path


def test_every_control_of_the_question_form_and_sign_in_pages_has_a_label(family):
    family.start()
    seen_types = set()
    while (question := family.current_question()) is not None:
        page = text(family.get(f"/h5/q/{question}"))
        assert unlabelled(page) == [], question
        seen_types.update(re.findall(r'<input [^>]*type="(radio|checkbox|date)"', page))
        value = HUNAN[question]
        family.answer(question, value)
    assert seen_types == {"radio", "checkbox", "date"}
    assert unlabelled(text(family.get("/h5/consent"))) == []
    family.consent()
    assert unlabelled(text(family.get("/h5/signin"))) == []
    family.post("/h5/signin/code", {"phone": PHONE})
    assert unlabelled(text(family.get("/h5/signin"))) == []
    family.sign_in()
    family.post("/h5/form", {**form_fields(good_form(deceased__id_number="123")), "action": "add_account"})
    page = text(family.get("/h5/form?add=1"))
    assert page.count('name="accounts.1.bank_name"') == 1  # the extra account block
    assert "f-deceased-id_number-err" in page and unlabelled(page) == []


# --- bad input is a message, never a 500 ------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "value", "message", "shown"), [
    ("local_death", [], "请选择“是”或“否”", "您与死亡人员的关系是"),
    ("local_death", "maybe", "请选择“是”或“否”", "您与死亡人员的关系是"),
    ("no_such_question", "true", "没有这个问题", "您与死亡人员的关系是"),
    ("x" * 200, "true", "请从给出的选项中选择", "您与死亡人员的关系是"),
    ("local_hukou", "true", "这个问题现在不需要回答", "您与死亡人员的关系是"),
])
def test_bad_answers_show_a_message(family, question, value, message, shown):
    family.start()
    response = family.post(f"/h5/q/{question}", {"value": value})
    assert 400 <= response.status_code < 500
    page = text(response)
    assert message in page and 'role="alert"' in page
    assert shown in page  # the question (or, for one that cannot be answered, the current one) is shown again


def test_bad_dates_and_choices_show_a_message(family):
    family.start()
    family.answer("relationship", "child")
    for value, message in [("2999-01-01", "日期不能晚于今天"), ("20 Nov", "请填写正确的日期"), ("", "请填写正确的日期")]:
        response = family.post("/h5/q/death_date", {"value": value})
        assert response.status_code == 422 and message in text(response)
    family.answer("death_date", "2026-11-20")
    family.answer("local_death", True)
    family.answer("local_hukou", True)
    family.answer("death_type", "normal")
    response = family.answer("welfare", ["none", "subsistence_allowance"])
    assert response.status_code == 422 and "都不是" in text(response)
    assert re.search(r'value="none" checked', text(response))  # what was ticked stays ticked
    response = family.answer("welfare", [])
    assert response.status_code == 422 and "请至少选择一项" in text(response)


def test_bad_input_elsewhere_is_a_friendly_page(family, submitted):
    fam, code = submitted
    cases = [
        (fam.get("/h5/materials/no_such_material"), 404, "不需要上传这项材料"),
        (fam.get("/h5/pages/99999"), 404, "找不到这张照片"),
        (fam.get("/h5/done/AAAAA-AAAAA"), 404, "找不到该申请"),
        (fam.get("/h5/no/such/page"), 404, "找不到这个页面"),
        (fam.post("/h5/status", {"tracking_code": code, "phone_tail": "12"}), 422, "后4位"),
        (fam.post("/h5/status", {"tracking_code": code, "phone_tail": "1234"}), 404, "查询不到"),
        (fam.post("/h5/status", {}), 422, "查询码"),
        (fam.post("/h5/signin/code", {"phone": "12345"}), 422, "手机号"),
    ]
    for response, status, message in cases:
        assert response.status_code == status, message
        assert message in text(response) and response.mimetype == "text/html" and "Traceback" not in text(response)
    fresh = Family(fam.client.application.test_client(), fam.app)
    assert fresh.post("/h5/start", {"region": "atlantis"}).status_code == 302
    assert "请从列表中选择一个地区" in text(fresh.get("/h5/"))
    assert fresh.get("/h5/q").location.endswith("/h5/")  # no journey yet: back to choosing a region
    assert fresh.get("/h5/checklist").location.endswith("/h5/")
    assert fresh.get("/h5/done/" + code).location.endswith("/h5/signin")


JUNK = [{}, {"value": "\x00"}, {"question": "death_date", "value": ["a", "b"]}, {"region": "hunan" * 100},
        {"accounts.0.payee": "x" * 5000, "accounts.99.bank_name": "x", "accounts.x.y": "1", "deceased": "x",
         "deceased.name.first": "x", "proxy.authorization": "x", "commitment_accepted": "no", "idempotency_key": "k"},
        {"tracking_code": "\u202e" * 30, "phone_tail": "١٢٣٤", "phone": "+86" + "9" * 30, "code": "１２３４５６"}]


def test_junk_posted_to_every_page_is_never_a_500(submitted, app):
    family, code = submitted
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("h5.")]
    assert len(rules) >= 18
    for rule in rules:
        path = re.sub(r"<(?:int:)?page_id>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "applicant_id_card" if "materials" in rule.rule else code, path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for data in JUNK:
                response = family.post(path, data) if method == "POST" else family.get(path, query_string=data)
                assert response.status_code < 500, (method, path, data, response.status_code)
                if response.mimetype == "text/html":
                    assert "Traceback" not in text(response)


def test_upload_errors_are_plain_words(family):
    family.start()
    family.answer_all()
    family.get("/h5/materials/applicant_id_card")
    nothing = family.post("/h5/materials/applicant_id_card", {"file": (io.BytesIO(b""), "")},
                          content_type="multipart/form-data")
    assert nothing.status_code == 400 and "请选择要上传的照片" in text(nothing)
    junk = family.post("/h5/materials/applicant_id_card", {"file": (io.BytesIO(b"not an image at all"), "x.jpg")},
                       content_type="multipart/form-data")
    assert junk.status_code == 422 and 'role="alert"' in text(junk) and "Traceback" not in text(junk)
    unknown = family.post("/h5/materials/marriage_proof", {"file": (io.BytesIO(photo()), "x.jpg")},
                          content_type="multipart/form-data")
    assert unknown.status_code == 404


def test_bad_sign_in_codes_show_a_message(family, app):
    family.get("/h5/signin")
    family.post("/h5/signin/code", {"phone": PHONE})
    for code, message in [("12", "6位数字"), ("abcdef", "6位数字"), ("000000", "验证码不正确")]:
        real = [p["code"] for to, _, p in app.extensions["sms"].sent if to == PHONE][-1]
        if code == real:
            continue
        response = family.post("/h5/signin/verify", {"code": code})
        assert response.status_code in (401, 422) and message in text(response)
    assert 'name="code"' in text(family.get("/h5/signin"))  # still not signed in: the code step again


def test_form_problems_are_shown_next_to_their_fields(family):
    family.start()
    family.answer_all()
    family.sign_in()
    bad = good_form(applicant__id_number="43010219700505", accounts=[], commitment_accepted=False)
    response = family.submit(bad)
    assert response.status_code == 302 and response.location.endswith("/h5/form#problems")
    page = text(family.get("/h5/form"))
    assert "表单有需要修改的地方" in page  # the flash of the refused submission
    assert 'id="problems"' in page
    field = page.split('id="f-applicant-id_number-err"')[1].split("</p>")[0]
    assert "身份证号码应为18位" in field
    assert 'aria-invalid="true"' in page and 'href="#f-applicant-id_number"' in page
    assert "请填写收款账户" in page and "请阅读并同意申请人承诺" in page
    too_long = family.post("/h5/form", {**form_fields(good_form()), "deceased.name": "张" * 60, "action": "save"})
    assert too_long.status_code == 422 and "太长" in text(too_long) and "张" * 60 in text(too_long)


def test_double_submit_with_the_page_key_makes_one_case(family, app):
    family.start()
    family.answer_all()
    family.sign_in()
    first = family.submit(key="same-page-key-0001")
    second = family.submit(key="same-page-key-0001")
    assert first.location == second.location and "/h5/done/" in first.location
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    other = family.submit(key="another-page-key-02")
    assert other.location == first.location  # already submitted: back to the same tracking code


def test_simultaneous_taps_of_one_page_make_one_case(family, app):
    """Several submits of the same page racing each other (an impatient double tap): one case, no error page."""
    family.start()
    family.answer_all()
    family.sign_in()
    page = text(family.get("/h5/form"))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    cookie = family.client.get_cookie("session").value
    data = {**form_fields(good_form()), "idempotency_key": key, "csrf_token": family.csrf}
    barrier = threading.Barrier(4)
    results = []

    def tap():
        browser = app.test_client()
        browser.set_cookie("session", cookie)
        barrier.wait()
        response = browser.post("/h5/submit", data=data)
        results.append((response.status_code, response.location))

    taps = [threading.Thread(target=tap) for _ in range(4)]
    for t in taps:
        t.start()
    for t in taps:
        t.join(30)
    assert len(results) == 4
    assert {status for status, _ in results} == {302}, results
    assert len({location for _, location in results}) == 1 and "/h5/done/" in results[0][1]
    with app.app_context():
        from miniapp_api.extensions import db
        from miniapp_api.models import Case
        assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1


def test_status_lookup_is_rate_limited_with_a_friendly_page(submitted, app):
    family, code = submitted
    app.config["STATUS_LOOKUP_LIMITS"] = "3 per minute"
    try:
        statuses = [family.post("/h5/status", {"tracking_code": code, "phone_tail": f"{n:04d}"}).status_code
                    for n in range(5)]
        assert statuses[-1] == 429
        limited = family.post("/h5/status", {"tracking_code": code, "phone_tail": "8000"})
        assert limited.status_code == 429 and "操作太频繁" in text(limited)
        assert family.get("/h5/status").status_code == 200  # only lookups count
    finally:
        app.config["STATUS_LOOKUP_LIMITS"] = "10 per minute;60 per hour"


def test_another_browser_cannot_see_the_photos(family, app):
    family.start()
    family.answer_all()
    family.get("/h5/materials/applicant_id_card")
    family.post("/h5/materials/applicant_id_card", {"file": (io.BytesIO(photo()), "id.jpg")},
                content_type="multipart/form-data")
    thumb = re.search(r'src="(/h5/pages/\d+)\?size=thumb"', text(family.get("/h5/materials/applicant_id_card"))).group(1)
    stranger = app.test_client()
    response = stranger.get(thumb)
    assert response.status_code == 302 and not response.mimetype.startswith("image/")
    other = Family(app.test_client(), app)
    other.start()
    assert other.get(thumb).status_code == 404


# --- security headers ------------------------------------------------------------------------------------------------

def test_security_headers_on_every_kind_of_page(submitted):
    family, code = submitted
    for response in (family.get("/h5/"), family.get("/h5/checklist"), family.get(f"/h5/done/{code}"),
                     family.get("/h5/nowhere"), family.client.post("/h5/start", data={}),
                     family.post("/h5/status", {"tracking_code": "x", "phone_tail": "1"})):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split(
            "script-src")[1].split(";")[0]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response.headers["Cache-Control"]
        assert "<script" not in text(response)


def _bearer(family) -> dict:
    """The family's own API token, as the H5 pages keep it in the server-side journey."""
    return {"Authorization": f"Bearer {journey_value(family.client, family.app, 'h5_token')}"}


def _assert_page_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_apis_printable_application_page_has_the_page_security_headers(submitted):
    family, code = submitted
    response = family.client.get(f"/api/v1/cases/{code}/application.html", headers=_bearer(family))
    assert response.status_code == 200 and response.mimetype == "text/html"
    _assert_page_headers(response)
    assert "no-store" in response.headers["Cache-Control"]
    _assert_page_headers(family.client.get("/api/v1/docs"))


def test_every_api_response_with_personal_data_is_no_store(submitted):
    """Phones, tablets and proxies must not keep a family's case or a clerk's queue: every /api/v1 response is
    no-store (errors too), except the public regions, dialogs and API description."""
    family, code = submitted
    api, token = family.client, _bearer(family)
    qid = journey_value(api, family.app, "h5_q")
    private = [api.get("/api/v1/me", headers=token), api.get(f"/api/v1/cases/{code}", headers=token),
               api.get(f"/api/v1/cases/{code}/application.pdf", headers=token),
               api.get(f"/api/v1/questionnaires/{qid}", headers=token),
               api.get(f"/api/v1/questionnaires/{qid}/form", headers=token),
               api.get(f"/api/v1/questionnaires/{qid}/checklist", headers=token),
               api.post("/api/v1/status", json={"tracking_code": code, "phone_tail": PHONE[-4:]}),
               api.post("/api/v1/auth/sms/code", json={"phone": "13900139001"}),
               api.get("/api/v1/me"), api.get("/api/v1/cases/AAAAA-AAAAA", headers=token), api.get("/api/v1/nowhere"),
               api.get("/api/v1/staff/work-items")]
    for response in private:
        assert response.status_code < 500
        assert "no-store" in response.headers.get("Cache-Control", ""), (response.request.path, response.status_code)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for url in ("/api/v1/regions", "/api/v1/regions/hunan/dialog", "/api/v1/openapi.json"):
        response = api.get(url)
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", ""), url


def test_hsts_is_sent_over_https_as_the_trusted_proxy_reports_it(app, client):
    from miniapp_api import create_app

    over_https = client.get("/api/v1/regions", base_url="https://localhost")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/h5/", base_url="https://localhost").headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/api/v1/regions").headers  # plain http: browsers ignore it
    spoofed = client.get("/api/v1/regions", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers  # no TRUSTED_PROXIES: the header is not believed
    behind = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "t",
                         "TRUSTED_PROXIES": 1}).test_client()
    proxied = behind.get("/api/v1/regions", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"})
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in behind.get("/api/v1/regions", headers={"X-Forwarded-Proto": "http"}).headers


def test_session_cookie_is_http_only(family):
    response = family.get("/h5/?lang=en")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- look and feel -----------------------------------------------------------------------------------------------

def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_helper_matches_wcag_reference_values():
    assert round(contrast("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the well-known lightest AA grey on white


def test_palette_contrast_ratios_are_as_stated_and_high():
    css = CSS.read_text(encoding="utf-8")
    palette = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", css))
    stated = re.findall(r"contrast: (--[a-z-]+) on (--[a-z-]+) = ([0-9.]+):1(.*)", css)
    assert len(stated) >= 12
    pairs = {(fg, bg) for fg, bg, _, _ in stated}
    for needed in [("--text", "--bg"), ("--text", "--surface"), ("--on-primary", "--primary"), ("--error", "--surface"),
                   ("--muted", "--surface"), ("--primary", "--surface"), ("--text", "--focus")]:
        assert needed in pairs, needed
    for fg, bg, figure, note in stated:
        ratio = contrast(palette[fg], palette[bg])
        assert abs(ratio - float(figure)) < 0.01, (fg, bg, ratio, figure)
        assert ratio >= (3 if "non-text" in note else 7), (fg, bg, ratio)  # AAA for all text


def test_stylesheet_sizes_for_elderly_readers():
    css = CSS.read_text(encoding="utf-8")
    base = int(re.search(r"html \{[^}]*font-size: (\d+)px", css).group(1))
    assert base >= 18
    button = re.search(r"\.button, button\.button \{([^}]*)\}", css).group(1)
    assert int(re.search(r"min-height: (\d+)px", button).group(1)) >= 48
    for rule in re.findall(r"min-height: (\d+)px", css):
        assert int(rule) >= 48


JINING_ENTERPRISE_RETIREE = {"relationship": "child", "death_date": TODAY, "death_type": "normal",
                             "matters": ["pension_account_payout"], "pension_insurance": "enterprise",
                             "receiving_pension": True}


def test_a_jining_family_sees_the_pension_matter_that_applies_on_every_page(family):
    """Issue 14 item 1, 「人社部门根据逝者参保类型推送办理」: an enterprise retiree's family ticks
    「个人账户一次性待遇申领（养老保险）」 and reads 「办理企业离退休人员个人账户一次性待遇申领、遗属待遇申领」 as what will be
    done, on the checklist, the page after submitting and the public progress lookup."""
    family.start("jining")
    family.answer_all(JINING_ENTERPRISE_RETIREE)
    names = ("企业离退休人员个人账户一次性待遇申领", "企业离退休人员遗属待遇申领")
    page = text(family.get("/h5/checklist"))
    assert all(name in page for name in names), page
    assert "个人账户一次性待遇申领（养老保险）" not in page  # not the box's generic name
    family.sign_in()
    response = family.submit()
    assert response.status_code == 302 and "/h5/done/" in response.location, response.get_data(as_text=True)
    code = response.location.rsplit("/", 1)[1]
    done = text(family.get(response.location))
    assert all(name in done for name in names), done
    result = text(family.post("/h5/status", {"tracking_code": code, "phone_tail": PHONE[-4:]}))
    assert all(name in result for name in names), result
