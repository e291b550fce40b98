"""Whole journeys through HTTP, as a family lives them (issue 12, item 7).

For every region hypothesis walks the questionnaire through the API, picking among the options the API
offers, going back and changing earlier answers on the way; then the family signs in, claims the
questionnaire, uploads a photo for every material of the checklist, fills the one form from what the form
view says and submits. Each department's clerk takes its work item to done through the staff API, the case
completes and the family rates it. The test knows the API and the form's shape, never a region's rules:
whatever a walk leads to, the family either gets a case for exactly the checklist's required matters, or a
clear 409 exactly when the checklist says nothing can be handled. The same again for the window clerk's 代办
in the console, for one region.

Walks are steered (hypothesis ``target``) towards families the service can serve, so that the submission is
exercised in regions whose scope rules turn most random families away. Walk and case counts per journey are
printed at the end of the run (conftest's ``pytest_terminal_summary``).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, note, settings, target
from hypothesis import strategies as st
from werkzeug.security import generate_password_hash

from miniapp_api.domain import tracking
from miniapp_api.domain.vocabulary import load_vocabulary
from miniapp_api.extensions import db
from miniapp_api.models import QuestionnaireSession
from miniapp_api.services import staff as staff_service
from tests.test_applications import make_card, make_id, sign_in, submit
from tests.test_console_pages import _Controls, console_sign_in, csrf_token
from tests.test_uploads import photo
from tests.test_workflow import PASSWORD

REGIONS = load_vocabulary().regions
# JOURNEY_WALKS: fewer walks for a quick local check (CI runs the default 100 per region, 20 at the window)
WALKS = settings(max_examples=int(os.environ.get("JOURNEY_WALKS", "100")), deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MAX_DETOURS = 4  # changes of earlier answers and steps back in one walk
MAX_STEPS = 300
TODAY = dt.date.today()
FIRST_DAY = dt.date(2000, 1, 1)  # dates of death the walks give: 2000 until today
A_MONTH_AGO = (TODAY - dt.timedelta(days=30)).isoformat()
DOCUMENT = photo(480, 400, orientation=1, gps=False)  # a real document photo, just big enough to be read

Json = dict[str, Any]


# --- The tally printed at the end of the run (conftest's journey_tally) -----------------------------------

def count(tally: dict[str, dict[str, int]], journey: str, what: str) -> None:
    row = tally.setdefault(journey, {"walks": 0, "cases": 0, "refused": 0})
    row[what] += 1


# --- The database: one per region, commits that do not wait for the disk -----------------------------------------

QUICK_COMMITS = {"sqlite": "PRAGMA synchronous = OFF", "postgresql": "SET synchronous_commit = off"}


@pytest.fixture()
def quick_commits(app):
    """A walk commits some fifty times; waiting for the disk each time would make the file run for many
    minutes, and durability is not what it tests. Only while these tests run: new connections get it."""
    with app.app_context():
        engine = db.engine
    statement = QUICK_COMMITS[engine.dialect.name]

    def on_connect(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute(statement)
        cursor.close()
        connection.commit()  # PostgreSQL: a SET in a transaction rolled back later would be undone

    sa.event.listen(engine, "connect", on_connect)
    engine.dispose()
    yield
    sa.event.remove(engine, "connect", on_connect)
    engine.dispose()


# --- Staff of the region: one clerk per department the region's matters go to --------------------------------

@pytest.fixture()
def dialog(client, region: str) -> Json:
    response = client.get(f"/api/v1/regions/{region}/dialog")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture()
def quick_passwords(monkeypatch) -> None:
    """Staff accounts hashed with few rounds: scrypt's tenth of a second, at creation and at each sign-in,
    adds up over every department of every region; what is tested here is the work, not the hash."""
    def quick(password: str) -> str:
        return generate_password_hash(password, method="pbkdf2:sha256:1000")

    monkeypatch.setattr(staff_service, "generate_password_hash", quick)


@pytest.fixture()
def clerks(client, app, region: str, dialog: Json, quick_passwords) -> dict[str, dict[str, str]]:
    """A signed-in clerk per department of the region (department -> headers)."""
    departments = sorted({m["department"] for m in dialog["matters"]})
    with app.app_context():
        for department in departments:
            staff_service.create(f"{region}-{department}", PASSWORD, department, "department", region, department)
    headers = {}
    for department in departments:
        response = client.post("/api/v1/staff/auth", json={"username": f"{region}-{department}", "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        headers[department] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return headers


# --- The family's choices -----------------------------------------------------------------------------------

class Drawn:
    """The family's answers, drawn by hypothesis as the walk goes."""

    def __init__(self, data: st.DataObject):
        self.data = data

    def pick(self, options: Sequence[Any], label: str) -> Any:
        return self.data.draw(st.sampled_from(options), label=label)


class Planned:
    """What the family and the staff decide after the questionnaire, drawn before it as a list of numbers.

    A walk's draws vary in number, and hypothesis sometimes replays an example that runs out of them (an
    "invalid" example); drawn first, these decisions never make an example run out after its costly part
    (uploads, submission, work items). Past the list's end the first option is taken.
    """

    def __init__(self, numbers: list[int]):
        self.numbers = numbers
        self.used = 0

    def pick(self, options: Sequence[Any], label: str) -> Any:
        number = self.numbers[self.used] if self.used < len(self.numbers) else 0
        self.used += 1
        value = options[number % len(options)]
        note(f"{label}: {value!r}")
        return value


Choices = Drawn | Planned
LATER = st.lists(st.integers(min_value=0, max_value=2**10 - 1), min_size=24, max_size=24)


# --- Answers the API offers ------------------------------------------------------------------------------------

def offered_answer(choices: Choices, question: Json) -> Any:
    """Any answer the family can give to this question as the API describes it."""
    label = question["id"]
    values = [o["value"] for o in question["options"]]
    if question["type"] == "yes_no":
        return choices.pick([True, False], label)
    if question["type"] == "single":
        assert values, f"{label}: a choice with nothing to choose"
        return choices.pick(values, label)
    if question["type"] == "multiple":
        exclusive = [o["value"] for o in question["options"] if o["exclusive"]]
        plain = [v for v in values if v not in exclusive]
        assert values, f"{label}: a choice with nothing to choose"
        picked = choices.pick(values, label)
        if picked in exclusive:
            return [picked]
        return [v for v in plain if v == picked or choices.pick([False, False, True], f"{label} also {v}")]
    if question["type"] == "date":
        day = TODAY - dt.timedelta(days=choices.pick(range((TODAY - FIRST_DAY).days + 1), label))
        return day.isoformat()
    return choices.pick(["张三", "不清楚", "某市某区 abc"], label)


def expect_ok(response, what: str) -> Json:
    assert response.status_code == 200, (what, response.status_code, response.get_json())
    return response.get_json()


def assert_no_dead_end(state: Json) -> None:
    """Always a question on screen, or the end with every question answered."""
    if state["current"] is None:
        assert state["complete"] and state["progress"]["remaining"] == 0, f"dead end: {state}"


class Memory:
    """What the family remembers answering, to notice a question asked twice or an answer lost.

    Going back keeps every answer: a question gone back to (or come to from the review) shows its answer,
    and answering it, the same or another, moves on. An answer may go only after the family changed one:
    then the questions that no longer apply lose theirs (perhaps a few answers later, once what decides
    them is known), and such a question may come back, unanswered, if a later change makes it apply.
    """

    def __init__(self) -> None:
        self.kept: Json = {}  # what the questionnaire should hold
        self.answered: set[str] = set()  # ever answered
        self.changed = False  # has the family changed an answer yet
        self.revisiting = False  # has the family gone back or to the review yet

    def shown(self, qid: str, has_answer: bool, shown: Any) -> None:
        """A question on screen, with the answer it shows selected (``has_answer``: it shows one)."""
        if qid in self.kept:
            assert self.revisiting, f"{qid} asked again though the family only went forward"
            assert has_answer and shown == self.kept[qid], f"{qid} shows {shown!r}, not its answer"
            return
        assert not has_answer, f"{qid} shows an answer the family never gave: {shown!r}"
        if qid in self.answered:
            assert self.changed, f"{qid} asked twice though the family changed nothing"

    def answered_now(self, qid: str, value: Any, stored: Json) -> None:
        """The family answered the question on screen; ``stored`` is what the questionnaire now holds."""
        if qid in self.kept and self.kept[qid] != value:
            self.changed = True
        self.answered.add(qid)
        assert stored.get(qid) == value, (qid, value, stored.get(qid))
        assert set(stored) <= {*self.kept, qid}, "an answer the family never gave"
        if not self.changed:
            lost = sorted(set(self.kept) - set(stored))
            assert not lost, f"answering {qid} dropped {lost} though the family changed nothing"
        self.kept = dict(stored)

    def moved(self, stored: Json) -> None:
        """The family went back, or to the review to change an answer: no answer changes by that."""
        self.revisiting = True
        assert stored == self.kept, "moving through the questionnaire changed the answers"


def answer_on_screen(choices: Choices, question: Json, has_answer: bool, shown: Any) -> Any:
    """A new question gets any answer it offers; one gone back to keeps its answer or gets another."""
    if has_answer and choices.pick(["keep", "change"], f"{question['id']} again") == "keep":
        return shown
    return offered_answer(choices, question)


def walk_questionnaire(client, choices: Choices, region: str) -> tuple[str, dict[str, str], Json]:
    """An anonymous family answers until the end, going back now and then, and changing an answer from the
    review at the end. Returns the session id, its resume-secret header and the final state."""
    started = client.post("/api/v1/questionnaires", json={"region": region})
    assert started.status_code == 201, started.get_json()
    state = started.get_json()
    sid, secret = state["id"], {"X-Resume-Secret": state["resume_secret"]}
    base = f"/api/v1/questionnaires/{sid}"
    memory = Memory()
    detours = 0
    for _ in range(MAX_STEPS):
        assert_no_dead_end(state)
        assert state["answers"] == memory.kept, "the API forgot or invented an answer"
        question = state["current"]
        if question is None:
            moves = ["finish"] * 6 + (["change", "back"] if detours < MAX_DETOURS else [])
        else:
            has_answer = "previous_value" in question
            memory.shown(question["id"], has_answer, question.get("previous_value"))
            moves = ["answer"] * 6 + (["back"] if detours < MAX_DETOURS and state["step"] > 1 else [])
        move = choices.pick(moves, "move")
        if move == "finish":
            return sid, secret, state
        if move == "answer":
            value = answer_on_screen(choices, question, has_answer, question.get("previous_value"))
            state = expect_ok(client.post(f"{base}/answers", json={"question": question["id"], "value": value},
                                          headers=secret), question["id"])
            memory.answered_now(question["id"], value, state["answers"])
            continue
        detours += 1
        if move == "back":
            state = expect_ok(client.post(f"{base}/back", headers=secret), "back")
        else:  # change: from the review at the end, to one answer
            items = expect_ok(client.get(f"{base}/review", headers=secret), "review")["items"]
            assert {i["question"]: i["value"] for i in items} == memory.kept, "the review lists every answer"
            item = choices.pick(items, "change")
            state = expect_ok(client.post(item["change"]["path"], json=item["change"]["body"], headers=secret),
                              f"go to {item['question']}")
            assert state["current"]["id"] == item["question"]
        memory.moved(state["answers"])
    raise AssertionError("the questionnaire never ended")


# --- The one form, from what the form view says ------------------------------------------------------------------

def person(choices: Choices, label: str, born: str) -> Json:
    gender = choices.pick(["male", "female"], f"{label} gender")
    return {"gender": gender, "id_number": make_id(born, gender)}


def application_form(choices: Choices, view: Json) -> Json:
    """A complete, truthful form for what the view asks: the people, the fields the questionnaire left to the
    form, the proxy and the account when the view says they are needed."""
    deceased = person(choices, "deceased", "19300101")
    applicant = person(choices, "applicant", "19700505")
    form: Json = {
        "deceased": {"name": "张三丰", "gender": deceased["gender"], "id_number": deceased["id_number"]},
        "applicant": {"name": "张小梅", "id_number": applicant["id_number"], "phone": "13800138000",
                      "address": "某市某区某路1号"},
        "commitment_accepted": True,
    }
    if view["needs"]["proxy"]:
        form["proxy"] = proxy()
    if view["needs"]["accounts"]:
        form["accounts"] = [account(choices, view["payees"])]
    for field in view["fields"]:
        put(form, field["field"], field_value(choices, field))
    return form


def proxy() -> Json:
    return {"name": "李四", "id_number": make_id("19800101"), "phone": "13600136000",
            "authorization": {"signed": True, "reason": "长期卧床", "valid_from": TODAY.isoformat(),
                              "valid_to": "2999-12-31"}}


def account(choices: Choices, payees: list[str]) -> Json:
    return {"purpose": "待遇", "payee": choices.pick(payees, "payee"), "bank_name": "中国工商银行",
            "holder_name": "张小梅", "account_number": make_card()}


def field_value(choices: Choices, field: Json) -> Any:
    """A value for a field the form view lists (a date: a month ago, after the deceased's birth)."""
    if field["type"] == "choice":
        picked = choices.pick([o["value"] for o in field["options"]], field["field"])
        return [picked] if field.get("multiple") else picked  # a list field: one ticked box
    if field["type"] == "date":
        return A_MONTH_AGO
    return "测试"


def put(form: Json, path: str, value: Any) -> None:
    *sections, key = path.split(".")
    place = form
    for section in sections:
        place = place.setdefault(section, {})
    place[key] = value


def save_form(client, choices: Choices, base: str, family: dict[str, str]) -> tuple[Json, Json]:
    """Fill the form from what the form view says, and save it. Returns the view and the saved draft's view."""
    view = expect_ok(client.get(f"{base}/form", headers=family), "form view")
    form = application_form(choices, view)
    return view, expect_ok(client.put(f"{base}/form", json=form, headers=family), "save form")


# --- The separate consent (PIPL art. 29-30) ---------------------------------------------------------------------

def consent_first(client, base: str, family: dict[str, str]) -> Json:
    """Before the consent no photo is taken; the family reads the region's text (every department of their
    checklist's matters named in it) and consents. Returns the consent status."""
    checklist = expect_ok(client.get(f"{base}/checklist", headers=family), "checklist")
    first = next((m for m in checklist["materials"] if m["upload"]), None)
    if first is not None:
        refused = client.post(f"{base}/materials/{first['id']}/pages", headers=family,
                              data={"file": [(io.BytesIO(DOCUMENT), "photo.jpg")]}, content_type="multipart/form-data")
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "consent_required"
    text = expect_ok(client.get(f"{base}/consent", headers=family), "consent text")
    named = {r["department"] for r in text["recipients"]}
    assert {m["department"] for m in checklist["matters"]} <= named, "the consent must name every department"
    given = expect_ok(client.post(f"{base}/consent", json={"version": text["version"]}, headers=family), "consent")
    assert given["given"] is True and given["version"] == text["version"]
    return given


def window_consent(console: Console, sid: str) -> None:
    """The clerk shows the family the consent text and records that they consented (the form asks first)."""
    form_url = f"/console/applications/{sid}/form"
    asked = console.browser.get(form_url)
    assert asked.status_code == 302 and asked.headers["Location"].endswith(f"/{sid}/consent"), asked.status_code
    page = console.browser.get(f"/console/applications/{sid}/consent").get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    recorded = console.browser.post(f"/console/applications/{sid}/consent", data={
        "csrf_token": console.token, "version": version, "family_consented": "yes"})
    assert recorded.status_code == 302 and recorded.headers["Location"].endswith(form_url), recorded.status_code


# --- Photos of the materials -----------------------------------------------------------------------------------

def upload_materials(client, base: str, family: dict[str, str]) -> Json:
    """A photo for every material to upload; returns the checklist after."""
    checklist = expect_ok(client.get(f"{base}/checklist", headers=family), "checklist")
    for material in checklist["materials"]:
        if not material["upload"]:
            continue
        response = client.post(f"{base}/materials/{material['id']}/pages", headers=family,
                               data={"file": [(io.BytesIO(DOCUMENT), "photo.jpg")]},
                               content_type="multipart/form-data")
        assert response.status_code == 201, (material["id"], response.get_json())
    after = expect_ok(client.get(f"{base}/checklist", headers=family), "checklist")
    assert after["materials_missing"] == []
    return after


# --- Working the case ------------------------------------------------------------------------------------------

def work_to_done(client, case: Json, clerks: dict[str, dict[str, str]]) -> None:
    """Each department takes its items to done, in whatever order the region requires."""
    for item in case["work_items"]:
        moved = client.post(f"/api/v1/staff/work-items/{item['id']}/transitions", json={"status": "accepted"},
                            headers=clerks[item["department"]])
        assert moved.status_code == 200, (item, moved.get_json())
    waiting = list(case["work_items"])
    while waiting:
        still = []
        for item in waiting:
            moved = client.post(f"/api/v1/staff/work-items/{item['id']}/transitions", json={"status": "done"},
                                headers=clerks[item["department"]])
            if moved.status_code == 409 and moved.get_json()["error"]["code"] == "order_violation":
                still.append(item)  # it must follow others of the case: after them
                continue
            assert moved.status_code == 200, (item, moved.get_json())
        assert len(still) < len(waiting), f"no item can be finished: {still}"
        waiting = still


def required_matters(checklist: Json) -> set[str]:
    return {m["id"] for m in checklist["matters"] if m["status"] == "required"}


def blocked_matters(checklist: Json) -> set[str]:
    """Matters the family asked for that cannot go ahead (they never stop the others)."""
    return {m["id"] for m in checklist["matters"] if m["status"] == "blocked"}


# --- The family's journey ------------------------------------------------------------------------------------

FAMILY_ADDRESSES = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))


@pytest.mark.parametrize("region", REGIONS)
@WALKS
@given(data=st.data())
def test_a_family_journey_ends_in_a_completed_case_or_a_clear_refusal(quick_commits, client, app, wechat_peer, region,
                                                                      clerks, journey_tally, data):
    later = Planned(data.draw(LATER, label="later"))
    client.environ_base["REMOTE_ADDR"] = next(FAMILY_ADDRESSES)  # each walk a family on its own phone, so the
    # per-address limits on uploads and sign-in texts (issue 13) see one family, as they would in life
    sid, secret, state = walk_questionnaire(client, Drawn(data), region)
    assert state["complete"]
    count(journey_tally, region, "walks")
    family = sign_in(client, app, wechat_peer, later.pick(["wechat", "host", "sms"], "sign-in channel"))
    claimed = client.post(f"/api/v1/questionnaires/{sid}/claim", headers={**family, **secret})
    assert expect_ok(claimed, "claim")["answers"] == state["answers"]
    base = f"/api/v1/questionnaires/{sid}"
    consent_first(client, base, family)
    checklist = upload_materials(client, base, family)
    assert checklist["undecided"] == []
    required, blocked = required_matters(checklist), blocked_matters(checklist)
    target(-len(checklist["reasons"]), label="reasons the service cannot serve the family")
    view, saved = save_form(client, later, base, family)
    assert {m["matter"] for m in view["not_submitted"]} == blocked, "the form view must say what will not go"
    response = submit(client, family, sid)
    if checklist["eligible"] is not True or not required:
        expected = "not_eligible" if checklist["eligible"] is not True else "nothing_to_submit"
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == expected
        count(journey_tally, region, "refused")
        return
    assert saved["problems"] == {}, f"eligible with {sorted(required)}, yet the form cannot be completed"
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert tracking.normalise(case["tracking_code"]), case["tracking_code"]
    assert {w["matter"] for w in case["work_items"]} == required
    assert {m["matter"] for m in case["not_submitted"]} == blocked
    work_to_done(client, case, clerks)
    done = expect_ok(client.get(f"/api/v1/cases/{case['tracking_code']}", headers=family), "case")
    assert done["complete"] is True and {w["status"] for w in done["work_items"]} == {"done"}
    rated = client.post(f"/api/v1/cases/{case['tracking_code']}/rating", json={"score": 5}, headers=family)
    assert rated.status_code == 201, rated.get_json()
    count(journey_tally, region, "cases")


# --- The window's 代办: a clerk enters the family's answers and form in the console --------------------------------

WINDOW_REGION = "hunan"
WINDOW_WALKS = settings(WALKS, max_examples=max(1, WALKS.max_examples // 5))


class FormControls(_Controls):
    """A console page's controls, with each select's options and the ids of those labelled （必填）."""

    def __init__(self):
        super().__init__()
        self.required: set[str] = set()
        self.labelling: str | None = None

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        attrs = dict(attrs)
        if tag == "label":
            self.labelling = attrs.get("for")
        elif tag == "span" and attrs.get("class") == "req" and self.labelling:
            self.required.add(self.labelling)
        elif tag == "option" and attrs.get("value") and self.controls and self.controls[-1]["tag"] == "select":
            self.controls[-1].setdefault("options", []).append(attrs["value"])

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if tag == "label":
            self.labelling = None


def controls(html: str) -> list[Json]:
    """The page's named controls, each marked ``required`` when its label says （必填）."""
    parser = FormControls()
    parser.feed(html)
    return [{**c, "required": c.get("id") in parser.required} for c in parser.controls if c.get("name")]


@pytest.fixture()
def window_clerk(app, client, region: str, quick_passwords) -> str:
    """The region's window clerk (username)."""
    with app.app_context():
        staff_service.create(f"{region}-window", PASSWORD, "窗口", "window", region)
    return f"{region}-window"


@dataclass
class Console:
    """The window clerk signed in to the console: a client of its own (for the session cookie) and the
    session's CSRF token, read once (every form of the session takes it)."""

    browser: Any
    token: str


@pytest.fixture()
def console(app, window_clerk: str) -> Console:
    browser = app.test_client()
    assert console_sign_in(browser, window_clerk).status_code == 302
    return Console(browser, csrf_token(browser, "/console/applications"))


@pytest.fixture()
def window_api(client, window_clerk: str) -> dict[str, str]:
    """The same clerk's staff API headers, to read a case whole."""
    response = client.post("/api/v1/staff/auth", json={"username": window_clerk, "password": PASSWORD})
    return {"Authorization": f"Bearer {expect_ok(response, 'window sign-in')['token']}"}


def flashed(browser, response) -> list[str]:
    """The messages the page a console POST redirected to shows."""
    html = browser.get(response.headers["Location"]).get_data(as_text=True)
    return re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', html)


def stored_answers(app, sid: str) -> Json:
    """What the window's questionnaire holds (the console shows one question at a time, not the answers)."""
    with app.app_context():
        return dict(db.session.get(QuestionnaireSession, sid).answers)


def console_question(html: str, questions: dict[str, Json]) -> tuple[Json, bool, Any]:
    """The question a console page asks, as the dialog describes it (its options must be the dialog's), and
    the answer it shows selected: (question, whether it shows one, that answer)."""
    qid = re.search(r'name="question" value="([^"]+)"', html).group(1)
    question = questions[qid]
    inputs = [c for c in controls(html) if c["name"] == "value"]
    if question["type"] in ("date", "text"):
        typed = inputs[0].get("value") or ""
        return question, bool(typed), typed or None
    if question["type"] in ("single", "multiple"):
        assert [c["value"] for c in inputs] == [str(o["value"]) for o in question["options"]], qid
    ticked = [c["value"] for c in inputs if "checked" in c]
    if not ticked:
        return question, False, None
    if question["type"] == "yes_no":
        return question, True, ticked[0] == "true"
    return question, True, ticked if question["type"] == "multiple" else ticked[0]


def console_value(question: Json, value: Any) -> Any:
    if question["type"] == "yes_no":
        return "true" if value else "false"
    return value


def window_walk(console: Console, app, choices: Choices, dialog: Json) -> tuple[str, str]:
    """The clerk answers screen by screen, stepping back now and then (the console has no review).
    Returns the session id and the checklist page."""
    browser, token = console.browser, console.token
    started = browser.post("/console/applications", data={"csrf_token": token})
    assert started.status_code == 302, started.status_code
    url = started.headers["Location"]
    sid = url.rsplit("/", 1)[1]
    questions = {q["id"]: q for q in dialog["questions"]}
    memory = Memory()
    detours = 0
    for _ in range(MAX_STEPS):
        page = browser.get(url)
        if page.status_code == 302:  # the end: the checklist
            assert page.headers["Location"].endswith(f"/{sid}/checklist"), page.headers["Location"]
            checklist = browser.get(page.headers["Location"]).get_data(as_text=True)
            moves = ["finish"] * 6 + (["back"] if detours < MAX_DETOURS else [])
        else:
            html = page.get_data(as_text=True)
            question, has_answer, shown = console_question(html, questions)  # no dead end: a question to answer
            memory.shown(question["id"], has_answer, shown)
            moves = ["answer"] * 6 + (["back"] if detours < MAX_DETOURS and "上一题" in html else [])
        move = choices.pick(moves, "move")
        if move == "finish":
            return sid, checklist
        if move == "back":
            detours += 1
            assert browser.post(f"{url}/back", data={"csrf_token": token}).status_code == 302
            memory.moved(stored_answers(app, sid))
            continue
        value = answer_on_screen(choices, question, has_answer, shown)
        posted = browser.post(f"{url}/answer", data={"csrf_token": token, "question": question["id"],
                                                     "value": console_value(question, value)})
        assert posted.status_code == 302 and posted.headers["Location"] == url
        memory.answered_now(question["id"], value, stored_answers(app, sid))
    raise AssertionError("the questionnaire never ended")


def flat(form: Json, prefix: str = "") -> dict[str, str]:
    """The JSON form as the console's field names: ``proxy-authorization-reason``, ``accounts-0-payee``."""
    out: dict[str, str] = {}
    for key, value in form.items():
        name = f"{prefix}-{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flat(value, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                out.update(flat(item, f"{name}-{i}"))
        else:
            out[name] = "yes" if value is True else str(value)
    return out


def console_form(choices: Choices, page: list[Json]) -> dict[str, str]:
    """What the clerk types: the same truthful form, into the fields the page shows, and something sensible
    in every other field marked （必填） (a choice from its list, a date a month ago)."""
    names = {c["name"]: c for c in page}
    payees = names["accounts-0-payee"]["options"] if "accounts-0-payee" in names else []
    view = {"needs": {"proxy": "proxy-name" in names, "accounts": bool(payees)}, "payees": payees, "fields": []}
    typed = {k: v for k, v in flat(application_form(choices, view)).items() if k in names}
    for name, control in names.items():
        if name in typed or not control["required"]:
            continue
        if control["tag"] == "select":
            typed[name] = choices.pick(control["options"], name)
        else:
            typed[name] = A_MONTH_AGO if control.get("type") == "date" else "测试"
    return typed


def family_address(number: int) -> str:
    """Each family looks its case up from its own phone (the lookup is limited per address)."""
    return f"10.1.{number // 250}.{number % 250}"


def reasons_shown(checklist_page: str) -> list[str]:
    """The reasons the window's checklist page gives why the service cannot serve this family."""
    if "不能通过本服务联办" not in checklist_page:
        return []
    warning = checklist_page.split("不能通过本服务联办", 1)[1].split("</section>", 1)[0]
    return re.findall(r"<li>([^<]*)</li>", warning)


def why_not(checklist_page: str) -> set[str]:
    """What the checklist page says when nothing can be submitted: the reasons, or that no matter can be
    handled (the same words a refused submission shows)."""
    reasons = reasons_shown(checklist_page)
    if reasons:
        return {"；".join(reasons)}
    assert "没有可以办理的事项" in checklist_page
    return {"没有可以办理的事项"}


def listed_matters(checklist_page: str) -> str:
    """The part of the window's checklist page listing the matters that can be handled."""
    return checklist_page.split("可以办理的事项", 1)[1].split("一套材料", 1)[0]


@pytest.mark.parametrize("region", [WINDOW_REGION])
@WINDOW_WALKS
@given(data=st.data())
def test_the_window_applies_on_behalf_of_a_family(quick_commits, client, app, region, dialog, clerks, console,
                                                 window_api, journey_tally, data):
    later = Planned(data.draw(LATER, label="later"))
    journey = f"{region} (window 代办)"
    sid, checklist_page = window_walk(console, app, Drawn(data), dialog)
    count(journey_tally, journey, "walks")
    target(-len(reasons_shown(checklist_page)), label="reasons the service cannot serve the family")
    form_url = f"/console/applications/{sid}/form"
    can_apply = f'href="{form_url}"' in checklist_page
    window_consent(console, sid)
    page = console.browser.get(form_url).get_data(as_text=True)
    typed = console_form(later, controls(page))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    done = console.browser.post(form_url, data={**typed, "csrf_token": console.token, "idempotency_key": key,
                                                "action": "submit"})
    assert done.status_code == 302, done.status_code
    if not can_apply:  # the clerk sees why on the checklist; submitting anyway is refused with the reason
        assert done.headers["Location"] == form_url, "a case from a checklist with nothing to handle"
        assert why_not(checklist_page) <= set(flashed(console.browser, done)), why_not(checklist_page)
        count(journey_tally, journey, "refused")
        return
    assert done.headers["Location"].startswith("/console/cases/"), flashed(console.browser, done)
    code = done.headers["Location"].rsplit("/", 1)[1]
    case = expect_ok(client.get(f"/api/v1/staff/cases/{code}", headers=window_api), "staff case")
    required = required_matters(case["checklist"])
    assert {w["matter"] for w in case["work_items"]} == required
    assert all(m["name"] in page for m in case["not_submitted"]), "the form page must say what will not go"
    shown = listed_matters(checklist_page)
    assert shown.count("<li>") == len(required) and all(m["name"] in shown for m in case["checklist"]["matters"]
                                                       if m["id"] in required)
    work_to_done(client, case, clerks)
    # The family's number was only typed by the clerk (not proven by a code), so the public lookup, which
    # needs a proven number (issue 13.9), is not theirs to use: the window sees the case complete.
    body = expect_ok(client.get(f"/api/v1/staff/cases/{code}", headers=window_api), "staff case after")
    body["matters"] = body["work_items"]
    assert body["complete"] is True and {m["status"] for m in body["matters"]} == {"done"}
    count(journey_tally, journey, "cases")
