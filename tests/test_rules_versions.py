"""Versioned rules (issue 14 item 13): every region file has a version, a hash of its parsed content; a
questionnaire records the version it is on and a case the one it was submitted under. When the file changes
(here: a second app on the same database, reading a changed copy of dialogs/ through DIALOGS_DIR, as a server
restarted with the new file would), an open questionnaire is re-checked and the family told what changed; a
submitted case never changes."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from miniapp_api import create_app
from miniapp_api.domain import engine, rules
from miniapp_api.domain import rules_versions as versioning
from miniapp_api.domain.dialogs import build_dialog, content_version, line_index, load_dialog
from miniapp_api.domain.vocabulary import DIALOGS_DIR, load_vocabulary
from miniapp_api.extensions import db
from miniapp_api.models import Case, QuestionnaireSession, RulesVersion, WorkItem
from miniapp_api.services import staff as staff_service
from tests.test_applications import HUNAN, IM_PROXY, good_form, make_card, questionnaire, sign_in, submit
from tests.test_h5_pages import Family
from tests.test_workflow import item_id, move, staff  # noqa: F401  (the staff fixture)

Edit = Callable[[dict[str, Any]], None]
V1 = load_dialog("hunan").version
COMMITMENT_V2 = "申请人承诺：这是第二版的承诺书文字，提交时并未出现。"


def changed_dialogs(tmp_path: Path, region: str, edit: Edit | None) -> Path:
    """A copy of dialogs/ with ``region``'s file changed by ``edit`` (None: an unchanged copy)."""
    target = tmp_path / f"dialogs-{region}-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(DIALOGS_DIR, target)
    if edit is not None:
        raw = yaml.safe_load((target / f"{region}.yaml").read_text(encoding="utf-8"))
        edit(raw)
        (target / f"{region}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                                               encoding="utf-8")
    return target


@contextmanager
def server_on(app: Flask, dialogs_dir: Path) -> Iterator[Flask]:
    """Another server of the same deployment (same database, Redis and keys) reading ``dialogs_dir``."""
    keys = ("TESTING", "SECRET_KEY", "STAFF_REQUIRE_TOTP", "UPLOAD_FOLDER", "REDIS_URL", "WECHAT_APPID",
            "WECHAT_SECRET", "WECHAT_API_BASE", "HOST_CHANNELS")
    other = create_app({**{k: app.config[k] for k in keys}, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                        "DIALOGS_DIR": str(dialogs_dir), "DIALOGS_CHECK_ON_START": False})
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def hunan_v2(raw: dict[str, Any]) -> None:
    """A new version of Hunan's rules: one question gone, an option relabelled, a matter gone, one made mandatory."""
    raw["questions"] = [q for q in raw["questions"] if q["id"] != "medical_account_overpaid"]
    welfare = next(q for q in raw["questions"] if q["id"] == "welfare")
    welfare["options"][2]["label"] = "老年人福利补贴（高龄津贴）"
    raw["matters"] = [m for m in raw["matters"] if m["id"] != "survivor_benefits"]
    next(m for m in raw["matters"] if m["id"] == "death_certificate_normal")["mandatory"] = True


def conforms(client, body: dict[str, Any], schema: str) -> None:
    """The body is what the API description says (as schemathesis' response_schema_conformance checks)."""
    from openapi_schema_validator import OAS31Validator

    components = client.get("/api/v1/openapi.json").get_json()["components"]
    OAS31Validator({"$ref": f"#/components/schemas/{schema}", "components": components}).validate(body)


def anonymous_walk(client, script: dict[str, Any] = HUNAN) -> tuple[str, dict[str, str], dict[str, Any]]:
    state = client.post("/api/v1/questionnaires", json={"region": "hunan"}).get_json()
    headers = {"X-Resume-Secret": state["resume_secret"]}
    while not state["complete"]:
        q = state["current"]
        response = client.post(f"/api/v1/questionnaires/{state['id']}/answers",
                               json={"question": q["id"], "value": script[q["id"]]}, headers=headers)
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
    return state["id"], headers, state


# --- the version --------------------------------------------------------------------------------------------

def test_the_version_is_a_hash_of_what_the_file_says_not_of_its_bytes():
    """「（二）坚持动态调整。各县（市、区）要依据市级“公民身后一件事”服务事项设定情况和本级实际，进一步梳理本级涉及身后相关服务事项，
    明确本级“公民身后一件事”事项范畴，及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — the rules change over
    time, so each file's content has a version: a comment, a re-indent or anchors written out keep it; any change
    of content is a new one."""
    text = (DIALOGS_DIR / "hunan.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    assert len(V1) == 12 and int(V1, 16) >= 0
    assert content_version(raw) == V1
    assert content_version(yaml.safe_load("# 注释：只改了注释\n" + text.replace("\n", "  # 行尾注释\n", 3))) == V1
    assert content_version(yaml.safe_load(yaml.safe_dump(raw, allow_unicode=True, sort_keys=True, indent=4))) == V1
    relabelled = copy.deepcopy(raw)
    relabelled["questions"][0]["options"][0]["label"] = "丈夫或妻子"
    assert content_version(relabelled) != V1
    versions = {load_dialog(r).version for r in load_vocabulary().regions}
    assert len(versions) == len(load_vocabulary().regions)


def test_the_dialog_endpoint_a_new_questionnaire_and_a_case_carry_the_version(client, app, wechat_peer):
    """「材料齐全的予以受理，当日将申请事项进行业务流转」 (Jining) — what was accepted is recorded with the rules it was
    accepted under."""
    dialog = client.get("/api/v1/regions/hunan/dialog").get_json()
    assert dialog["rules_version"] == V1
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    state = client.get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
    assert (state["rules_version"], state["rules_changed"]) == (V1, None)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    case = submit(client, headers, sid).get_json()
    assert case["rules_version"] == V1
    assert client.get(f"/api/v1/cases/{case['tracking_code']}", headers=headers).get_json()["rules_version"] == V1
    conforms(client, case, "Case")
    conforms(client, state, "QuestionnaireState")
    with app.app_context():
        stored = db.session.scalars(db.select(RulesVersion).filter_by(region="hunan", version=V1)).one()
        assert content_version(stored.content) == V1
        assert db.session.scalars(db.select(Case.rules_version)).one() == V1


# --- an open questionnaire ----------------------------------------------------------------------------------

def test_an_open_questionnaire_is_rechecked_and_the_family_told_what_changed(client, app, tmp_path):
    """「（二）坚持动态调整。…及时进行调整充实，配套完善业务流程和办理标准。」 and 「材料不齐的，一次性告知需补充的材料。」
    (Jining) — when the rules change while a family is answering, their answers are checked again under the new
    ones, and they are told at once, kindly, what changed for them: which questions went, which to answer again,
    which matters came onto or left their checklist."""
    sid, headers, before = anonymous_walk(client)
    assert before["complete"] and before["rules_version"] == V1
    with server_on(app, changed_dialogs(tmp_path, "hunan", hunan_v2)) as new:
        v2 = new.test_client().get("/api/v1/regions/hunan/dialog").get_json()["rules_version"]
        assert v2 != V1
        state = new.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
        assert state["rules_version"] == v2
        notice = state["rules_changed"]
        assert (notice["from"], notice["to"]) == (V1, v2)
        assert [q["question"] for q in notice["questions_removed"]] == ["medical_account_overpaid"]
        assert [q["question"] for q in notice["answers_dropped"]] == ["welfare"]  # its options changed
        assert [m["id"] for m in notice["matters_added"]] == ["death_certificate_normal"]
        assert [m["id"] for m in notice["matters_removed"]] == ["survivor_benefits"]
        assert "清单中新增：《居民死亡医学证明（推断）书》开具" in notice["message"]
        assert "请再回答 1 个问题" in notice["message"] and "敬请谅解" in notice["message"]
        assert "Please answer 1 more question; your other answers are kept." in notice["message_en"]
        conforms(client, state, "QuestionnaireState")
        conforms(client, notice, "RulesChanged")  # (a nullable nested schema is "any object" in OpenAPI 3.0)
        conforms(client, new.test_client().get("/api/v1/regions/hunan/dialog").get_json(), "Dialog")
        # The answers that still stand are kept; the family is taken to the question to answer again.
        assert "welfare" not in state["answers"] and "medical_account_overpaid" not in state["answers"]
        assert state["answers"]["requested"] == HUNAN["requested"]
        assert (state["complete"], state["current"]["id"]) == (False, "welfare")
        checklist = new.test_client().get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
        assert {m["id"] for m in checklist["matters"]} >= {"death_certificate_normal", "hukou_cancellation"}
        assert "survivor_benefits" not in {m["id"] for m in checklist["matters"]}
        # Said until the family acts on it: read again, still there; after their next answer, gone.
        again = new.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
        assert again["rules_changed"] == notice
        answered = new.test_client().post(f"/api/v1/questionnaires/{sid}/answers", headers=headers,
                                          json={"question": "welfare", "value": ["none"]}).get_json()
        assert answered["rules_changed"] is None and answered["complete"] is True
        assert answered["rules_version"] == v2
    with app.app_context():
        row = db.session.get(QuestionnaireSession, sid)
        assert (row.rules_version, row.rules_notice) == (v2, None)
        assert db.session.scalar(db.select(db.func.count()).select_from(RulesVersion)) == 2


def test_a_change_that_changes_nothing_for_the_family_is_taken_on_silently(client, app, tmp_path):
    """「（二）坚持动态调整。…及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — a softened help text changes
    nothing a family answered or gets: the questionnaire moves to the new version without a notice."""
    def reword(raw: dict[str, Any]) -> None:
        next(q for q in raw["questions"] if q["id"] == "death_date")["help"] = "以死亡证明上的日期为准。"

    sid, headers, _ = anonymous_walk(client)
    with server_on(app, changed_dialogs(tmp_path, "hunan", reword)) as new:
        state = new.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
        assert state["rules_version"] != V1 and state["rules_changed"] is None
        assert state["answers"] == {k: v for k, v in HUNAN.items() if k in state["answers"]}
        assert state["complete"] is True


def test_a_server_still_on_the_old_file_never_moves_a_family_back_and_a_rollback_does(client, app, tmp_path):
    """「（二）坚持动态调整。…及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — during a rolling deploy a server
    still on the old file reads a questionnaire already moved to the new rules under those (from their stored
    content); once the old file is served again (a rollback), the family is moved to it, and told."""
    sid, headers, _ = anonymous_walk(client)
    with server_on(app, changed_dialogs(tmp_path, "hunan", hunan_v2)) as new:
        v2 = new.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()["rules_version"]
    old_server = client.get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
    assert old_server["rules_version"] == v2 and old_server["current"]["id"] == "welfare"
    assert "medical_account_overpaid" not in old_server["answers"]
    # Answered on the old server, the answer is checked under the questionnaire's version: V2's welfare options.
    answered = client.post(f"/api/v1/questionnaires/{sid}/answers", headers=headers,
                           json={"question": "welfare", "value": ["elderly_allowance"]}).get_json()
    assert answered["rules_version"] == v2 and answered["complete"] is True
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid).rules_version == v2
    with server_on(app, changed_dialogs(tmp_path, "hunan", None)) as rolled_back:
        state = rolled_back.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
    assert state["rules_version"] == V1
    notice = state["rules_changed"]
    assert (notice["from"], notice["to"]) == (v2, V1)
    assert [q["question"] for q in notice["answers_dropped"]] == ["welfare"]
    assert [q["question"] for q in notice["questions_added"]] == ["medical_account_overpaid"]
    assert [m["id"] for m in notice["matters_added"]] == ["survivor_benefits"]
    assert "death_certificate_normal" in [m["id"] for m in notice["matters_removed"]]


def test_an_old_server_first_reading_the_region_after_the_new_one_does_not_move_the_family_back(client, app, tmp_path):
    """「（二）坚持动态调整。…及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — which version is the newer is when
    the servers serving them started, not when one first happened to read a questionnaire: a server started on the
    old file before the new one was deployed, reading its first questionnaire afterwards, leaves it on the new."""
    sid, headers, _ = anonymous_walk(client)
    with server_on(app, changed_dialogs(tmp_path, "hunan", None)) as old:  # started before the deploy
        with server_on(app, changed_dialogs(tmp_path, "hunan", hunan_v2)) as new:
            moved = new.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
        assert moved["rules_version"] != V1
        first = old.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
    assert first["rules_version"] == moved["rules_version"]
    assert first["rules_changed"] == moved["rules_changed"]  # still the one notice, V1 to V2, not yet acted on


def test_submitting_in_the_request_that_found_the_rules_changed_is_refused_once(client, app, tmp_path, wechat_peer):
    """「已知晓全部告知内容，以上填报信息真实有效」 (Fuyuan commitment) — the family commits to what they were told: a
    submission that would go under rules they have not seen is a clear 409; once told, they may submit."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)

    def reorder_notes(raw: dict[str, Any]) -> None:
        hukou = next(m for m in raw["matters"] if m["id"] == "hukou_cancellation")
        hukou["notes"] = [*hukou.get("notes", []), "新增说明：请带好户口簿。"]
        hukou["notes_en"] = [*hukou.get("notes_en", []), "New: bring the household register."]

    with server_on(app, changed_dialogs(tmp_path, "hunan", reorder_notes)) as new:
        refused = submit(new.test_client(), headers, sid)
        assert refused.status_code == 409
        error = refused.get_json()["error"]
        assert error["code"] == "rules_changed" and "办事规则刚刚更新" in error["message"]
        state = new.test_client().get(f"/api/v1/questionnaires/{sid}", headers=headers).get_json()
        assert "清单中的说明有所更新" in state["rules_changed"]["message"]
        accepted = submit(new.test_client(), headers, sid)
        assert accepted.status_code == 201, accepted.get_json()
        assert accepted.get_json()["rules_version"] == state["rules_version"] != V1
        assert "新增说明：请带好户口簿。" in next(m for m in accepted.get_json()["checklist"]["matters"]
                                                  if m["id"] == "hukou_cancellation")["notes"]
    with app.app_context():
        assert db.session.get(QuestionnaireSession, sid).rules_notice is None  # nothing left to tell after it


# --- a submitted case ---------------------------------------------------------------------------------------

def hunan_v2_for_cases(raw: dict[str, Any]) -> None:
    """What would show in a case read under new rules: the commitment, a matter's name, its materials."""
    raw["form"]["commitment"] = COMMITMENT_V2
    hukou = next(m for m in raw["matters"] if m["id"] == "hukou_cancellation")
    hukou["name"] = "户口注销（第二版名称）"
    hukou["materials"] = ["application_form"]
    raw.setdefault("materials", {})["deceased_id_card"] = {"name": "第二版的身份证名称", "upload": False}
    hunan_v2(raw)


def test_a_submitted_case_keeps_its_checklist_version_and_print_out(client, app, tmp_path, wechat_peer):
    """「各部门接收到推送的事项须在承诺时限内办结」 (Hunan) and 「以上填报信息真实有效，因对死亡人员享受政策不清误填报，
    同意工作人员据实处理。」 (Hunan commitment) — what was pushed to the departments, and what the applicant committed
    to, is the case: a later change of the rules changes nothing of it (its checklist, answers, materials to
    upload, printed application and commitment), on any server."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    case = submit(client, headers, sid).get_json()
    code = case["tracking_code"]
    before = {path: client.get(path, headers=headers).get_json() for path in (
        f"/api/v1/cases/{code}", f"/api/v1/questionnaires/{sid}", f"/api/v1/questionnaires/{sid}/checklist",
        f"/api/v1/questionnaires/{sid}/review", f"/api/v1/questionnaires/{sid}/materials")}
    printed = client.get(f"/api/v1/cases/{code}/application.html", headers=headers).get_data(as_text=True)
    commitment_v1 = load_dialog("hunan").form["commitment"]
    assert commitment_v1 in printed
    with server_on(app, changed_dialogs(tmp_path, "hunan", hunan_v2_for_cases)) as new:
        later = new.test_client()
        assert later.get("/api/v1/regions/hunan/dialog").get_json()["rules_version"] != V1
        for path, body in before.items():
            assert later.get(path, headers=headers).get_json() == body, path
        assert before[f"/api/v1/cases/{code}"]["rules_version"] == V1
        assert before[f"/api/v1/questionnaires/{sid}"]["rules_changed"] is None
        materials = {m["id"] for m in before[f"/api/v1/questionnaires/{sid}/materials"]["materials"]}
        assert "deceased_id_card" in materials  # V2 no longer has it uploaded: the case's own list stands
        reprinted = later.get(f"/api/v1/cases/{code}/application.html", headers=headers).get_data(as_text=True)
        assert commitment_v1 in reprinted and COMMITMENT_V2 not in reprinted
        assert "第二版名称" not in reprinted
    with app.app_context():
        row = db.session.get(QuestionnaireSession, sid)
        assert (row.rules_version, row.rules_notice) == (V1, None)


def test_a_case_is_worked_in_the_order_of_the_rules_it_was_submitted_under(client, app, tmp_path, wechat_peer,
                                                                           staff):  # noqa: F811
    """「8. 服务办结。最后办结户口注销手续」 (Inner Mongolia) — a case submitted while the rules said the hukou is
    cancelled last is worked so, even after a new version of the file drops that order."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    script = {**IM_PROXY, "applicant_is_proxy": False, "welfare": ["subsistence_allowance"],
              "medical_insurance": "employee", "medical_fees_settled": True}
    sid = questionnaire(client, headers, region="inner_mongolia", script=script)
    form = good_form(accounts=[{"payee": "applicant_bank_card", "bank_name": "工行", "holder_name": "张小梅",
                                "account_number": make_card()}])
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=headers)
    case = submit(client, headers, sid).get_json()
    hukou = item_id(case, "hukou_cancellation")

    def no_order(raw: dict[str, Any]) -> None:
        for matter in raw["matters"]:
            matter.pop("after", None)

    with server_on(app, changed_dialogs(tmp_path, "inner_mongolia", no_order)) as new:
        later = new.test_client()
        assert move(later, staff["im_police"], hukou, "accepted").status_code == 200
        blocked = move(later, staff["im_police"], hukou, "done")
        assert blocked.status_code == 409 and blocked.get_json()["error"]["code"] == "order_violation"
        with new.app_context():
            for w in case["work_items"]:
                if w["matter"] != "hukou_cancellation":
                    staff_service.transition("staff:test", db.session.get(WorkItem, w["id"]), "rejected", reason="测试")
        assert move(later, staff["im_police"], hukou, "done").status_code == 200


# --- the H5 pages -------------------------------------------------------------------------------------------

def test_the_h5_page_says_what_changed_once(client, app, tmp_path):
    """「材料不齐的，一次性告知需补充的材料。」 (Jining) — told once: the next page the family opens says in one kind
    sentence what the change of rules changed for them; the page after does not repeat it."""
    family = Family(client, app)
    family.start()
    family.answer_all()
    assert family.current_question() is None
    with server_on(app, changed_dialogs(tmp_path, "hunan", hunan_v2)) as new:
        later = new.test_client()
        for cookie in client._cookies.values():
            later.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
        shown = later.get("/h5/q", follow_redirects=True)
        text = shown.get_data(as_text=True)
        assert shown.request.path == "/h5/q/welfare"
        assert "办事规则有了更新" in text and "清单中新增" in text and "敬请谅解" in text
        assert "办事规则有了更新" not in later.get("/h5/q/welfare").get_data(as_text=True)


# --- the domain -----------------------------------------------------------------------------------------------

def _hunan(edit: Edit | None = None):
    text = (DIALOGS_DIR / "hunan.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if edit is not None:
        edit(raw)
    return build_dialog(raw, line_index(text), DIALOGS_DIR / "hunan.yaml", load_vocabulary())


def _answers(dialog, script: dict[str, Any]) -> engine.Answers:
    answers: engine.Answers = {}
    while (q := engine.state(dialog, answers).current) is not None:
        answers = engine.answer(dialog, answers, q.id, script[q.id], today=dt.date(2026, 12, 1))
    return answers


def test_an_answer_stands_while_its_question_asks_the_same_thing():
    """「（二）坚持动态调整。…及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — a reworded question keeps its
    answer; one whose options (or type) changed is asked again, since the family might now choose otherwise."""
    old = _hunan()
    answers = _answers(old, HUNAN)

    def reword_and_add_option(raw: dict[str, Any]) -> None:
        relationship = next(q for q in raw["questions"] if q["id"] == "relationship")
        relationship["text"] = "请问您是逝者的什么人?"
        pension = next(q for q in raw["questions"] if q["id"] == "pension_insurance")
        pension["options"].insert(2, {"value": "institution", "label": "机关事业单位养老保险",
                                      "label_en": "Government and institution pension insurance"})

    new = _hunan(reword_and_add_option)
    result = versioning.recheck(old, new, answers, engine.Cursor())
    assert result.answers["relationship"] == "child"
    assert "pension_insurance" not in result.answers
    assert result.notice is not None and [q["question"] for q in result.notice["answers_dropped"]] == [
        "pension_insurance"]
    assert versioning.same_question(old.question("death_date"), new.question("death_date"))


def test_two_changes_before_the_family_returns_are_told_as_one():
    """「材料不齐的，一次性告知需补充的材料。」 (Jining) — told at one time: a second change of the rules before the
    family has seen the first is merged into one notice, from the version they were on to the latest."""
    v1 = _hunan()
    answers = _answers(v1, HUNAN)
    v2 = _hunan(hunan_v2)
    first = versioning.recheck(v1, v2, answers, engine.Cursor())

    def also_drop_hukou(raw: dict[str, Any]) -> None:
        hunan_v2(raw)
        raw["matters"] = [m for m in raw["matters"] if m["id"] != "hukou_cancellation"]

    v3 = _hunan(also_drop_hukou)
    second = versioning.recheck(v2, v3, first.answers, first.cursor)
    merged = versioning.merge(first.notice, second.notice, v3)
    assert (merged["from"], merged["to"]) == (v1.version, v3.version)
    assert {m["id"] for m in merged["matters_removed"]} == {"survivor_benefits", "hukou_cancellation"}
    assert [q["question"] for q in merged["questions_removed"]] == ["medical_account_overpaid"]
    assert "户口注销" in merged["message"] and "survivor" not in merged["message"]
    checklist = rules.evaluate_checklist(v3, engine.state(v3, second.answers).rule_facts)
    assert "hukou_cancellation" not in {m["id"] for m in checklist["matters"]}


@pytest.mark.parametrize("value", ["2026-11-20"])
def test_an_unknown_earlier_version_drops_only_what_no_longer_validates(value):
    """「（二）坚持动态调整。…及时进行调整充实，配套完善业务流程和办理标准。」 (Jining) — a questionnaire from before versions
    were recorded takes the current one; answers that still validate are kept, and nothing is said when none
    was dropped (nothing can be compared)."""
    dialog = _hunan()
    answers = _answers(dialog, {**HUNAN, "death_date": value})
    kept = versioning.recheck(None, dialog, answers, engine.Cursor())
    assert (kept.answers, kept.notice) == (answers, None)
    broken = versioning.recheck(None, dialog, {**answers, "welfare": ["no_such_option"]}, engine.Cursor("welfare"))
    assert "welfare" not in broken.answers and broken.cursor == engine.Cursor()
    assert broken.notice is not None and broken.notice["from"] is None
