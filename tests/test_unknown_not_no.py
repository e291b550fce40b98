"""Issue 14 item 8: a fact not known yet is never read as "no". A reason is given only for a fact actually
answered false; a material whose condition is unknown is listed as one to confirm, not dropped; a requested
matter whose only unknown is marked confirmable (Hunan's 本省核发 licence) is listed with it to confirm."""

from __future__ import annotations

import random

import pytest

from miniapp_api.domain import engine, rules
from miniapp_api.domain.dialogs import load_dialog
from miniapp_api.domain.vocabulary import load_vocabulary, validate_facts
from tests.test_applications import questionnaire, sign_in
from tests.walk import matter, walk

WHO_AND_WHEN = {"relationship": "spouse", "death_date": "2026-01-10"}


def answered(region: str, steps: list[tuple[str, object]]) -> tuple[engine.State, dict]:
    """Answer these questions in order (the questionnaire may go on): the state and the checklist so far."""
    dialog = load_dialog(region)
    answers: dict = {}
    for question, value in steps:
        answers = engine.answer(dialog, answers, question, value)
    state = engine.state(dialog, answers)
    return state, rules.evaluate_checklist(dialog, state.rule_facts)


def codes(checklist: dict) -> list[str]:
    return [w["code"] for w in checklist["warnings"]]


def material(checklist: dict, material_id: str) -> dict | None:
    return next((m for m in checklist["materials"] if m["id"] == material_id), None)


# --- reasons ---------------------------------------------------------------------------------------------

def test_hunan_death_outside_hunan_names_only_that_not_the_hukou_never_asked():
    """《湖南省…实施方案》改革内容: 「为在湘死亡的本省户籍人员的近亲属及特定关系人提供」. A family that answered
    "died outside Hunan" is never asked about the hukou, so it must never read 「非湖南省户籍的…」."""
    state, checklist = walk("hunan", {**WHO_AND_WHEN, "local_death": False})
    assert "local_hukou" not in state.answers
    assert checklist["eligible"] is False
    assert len(checklist["reasons"]) == len(checklist["reasons_en"]) == 1
    assert "在湖南省外死亡的" in checklist["reasons"][0]
    assert not any("非湖南省户籍" in r for r in checklist["reasons"])
    assert codes(checklist) == ["not_local_death"]


def test_hunan_hukou_answered_no_is_the_reason():
    """「为在湘死亡的本省户籍人员的近亲属及特定关系人提供」: the hukou answered "not Hunan" gives its own reason."""
    _, checklist = walk("hunan", {**WHO_AND_WHEN, "local_death": True, "local_hukou": False})
    assert checklist["eligible"] is False
    assert len(checklist["reasons"]) == 1 and "非湖南省户籍的" in checklist["reasons"][0]
    assert codes(checklist) == ["not_local_hukou"]


def test_inner_mongolia_a_refused_proxy_is_not_told_about_a_death_abroad_never_asked():
    """内蒙古 办事指南 4: 「逝者只有一位直系亲属或近亲属且身患重疾、长期卧床行动不变的特殊情形下，申请并出具委托书，
    委托他人办理。」 A proxy outside that case is told so, and nothing about 「在国境外死亡」, which was never asked."""
    state, checklist = walk("inner_mongolia", {"relationship": "child", "applicant_is_proxy": True,
                                               "proxy_principal_incapacitated": False})
    assert "died_abroad" not in state.answers
    assert checklist["eligible"] is False
    assert len(checklist["reasons"]) == 1 and "委托书" in checklist["reasons"][0]
    assert not any("国（境）外" in r for r in checklist["reasons"])
    assert codes(checklist) == ["proxy_not_allowed"]


def _walks(dialog, count: int, seed: int):
    """Complete walks with random answers, leaning towards "yes" so that the scope questions are passed
    sometimes and failed sometimes."""
    rng = random.Random(seed)
    for _ in range(count):
        answers: dict = {}
        while (q := engine.state(dialog, answers).current) is not None:
            if q.type == "date":
                value = "2026-01-10"
            elif q.type == "multiple":
                value = [rng.choice([o.value for o in q.options])]
            else:
                value = rng.choice([o.value for o in q.options])
            answers = engine.answer(dialog, answers, q.id, value)
        yield engine.state(dialog, answers)


@pytest.mark.parametrize("region", load_vocabulary().regions)
def test_the_reasons_are_those_of_the_scope_answers_given(region):
    """Every seed's scope (e.g. 湖南 「为在湘死亡的本省户籍人员的近亲属及特定关系人提供」) is checked question by
    question; the checklist's reasons are exactly those of the scope checks the answers given fail, as the
    questionnaire's ``out_of_scope`` says (a check never asked is never named)."""
    dialog = load_dialog(region)
    refused = 0
    for state in _walks(dialog, 150, 20260110):
        checklist = rules.evaluate_checklist(dialog, state.rule_facts)
        assert checklist["reasons"] == [c.reason.zh for c in state.out_of_scope], state.answers
        assert checklist["reasons_en"] == [c.reason.en for c in state.out_of_scope]
        if checklist["eligible"] is False:
            refused += 1
            assert checklist["reasons"], state.answers
    assert refused or not dialog.eligibility


# --- materials --------------------------------------------------------------------------------------------

def test_jining_fund_materials_wait_for_the_account_question_instead_of_being_dropped():
    """济宁 表2 提取公积金（死亡） 材料: 「4. 逝者社保卡或者继承人银行卡（申请将公积金拨至继承人银行卡的，还须提供
    具有法律效力的公证书）」. Before the family says which account, the cards and the notarised certificate are
    listed to confirm, each saying when it is needed."""
    _, checklist = answered("jining", [("relationship", "spouse"), ("death_date", "2026-01-10"),
                                       ("death_type", "normal"), ("matters", ["housing_fund_withdrawal"])])
    fund = matter(checklist, "housing_fund_withdrawal")
    assert fund["status"] == "required"
    assert fund["materials"] == ["death_certificate", "applicant_id_card", "application_form"]
    assert fund["materials_to_confirm"] == ["social_security_card", "heir_bank_card", "notarised_certificate"]
    notarised = material(checklist, "notarised_certificate")
    assert notarised["conditional"] is True and notarised["for_matters"] == ["housing_fund_withdrawal"]
    assert "继承人银行卡" in notarised["condition"] and "提取的住房公积金拨付到哪个账户" in notarised["condition"]
    assert "heir's bank card" in notarised["condition_en"]
    assert "逝者社保卡" in material(checklist, "social_security_card")["condition"]
    assert material(checklist, "death_certificate")["conditional"] is False

    _, chosen = answered("jining", [("relationship", "spouse"), ("death_date", "2026-01-10"),
                                    ("death_type", "normal"), ("matters", ["housing_fund_withdrawal"]),
                                    ("fund_to_heir_account", True)])
    fund = matter(chosen, "housing_fund_withdrawal")
    assert "materials_to_confirm" not in fund
    assert {"heir_bank_card", "notarised_certificate"} <= set(fund["materials"])
    assert "social_security_card" not in fund["materials"]
    assert all(m["conditional"] is False for m in chosen["materials"])


def test_xinjiang_hukou_certificate_waits_for_the_death_type():
    """新疆 目标: 「死亡、宣告死亡、宣告失踪人员办理户口注销」 — with the 《死亡证明》 for a death and the court's papers
    (其他资料) for a declared one. Before the family says which, both are to confirm, not silently dropped."""
    _, checklist = answered("xinjiang", [("relationship", "spouse")])
    hukou = matter(checklist, "hukou_cancellation")
    assert hukou["materials"] == ["hukou_cancellation_application"]
    # (and the 被委托人's ID while the proxy question is still ahead: 一张表单's 被委托人 section)
    assert set(hukou["materials_to_confirm"]) == {"death_certificate", "cremation_certificate", "other_documents",
                                                  "proxy_id_card"}
    certificate = material(checklist, "death_certificate")
    assert certificate["conditional"] is True
    assert "正常死亡" in certificate["condition"] and "非正常死亡" in certificate["condition"]
    assert "失踪" in material(checklist, "other_documents")["condition"]


def test_a_material_certain_for_one_matter_is_not_conditional():
    """新疆 住房公积金提取: 「其他资料（根据不同提取类型，提供相应的资料原件）」 — needed for the housing fund whatever the
    death type, so not conditional although the hukou (for a declared death only) still waits for the death type."""
    dialog = load_dialog("xinjiang")
    facts = validate_facts({"requested_matters": ["housing_fund_withdrawal"], "has_housing_fund": True})
    checklist = rules.evaluate_checklist(dialog, facts)
    assert "other_documents" in matter(checklist, "hukou_cancellation")["materials_to_confirm"]
    assert "other_documents" in matter(checklist, "housing_fund_withdrawal")["materials"]
    documents = material(checklist, "other_documents")
    assert documents["conditional"] is False and "condition" not in documents
    assert documents["for_matters"] == ["hukou_cancellation", "housing_fund_withdrawal"]


def test_inner_mongolia_proxy_documents_wait_for_the_proxy_answer():
    """内蒙古 办事指南 5 必要材料: 「申请人（委托人）居民身份证、委托书。」 — the power of attorney only for a proxy.
    Before the family says whether a proxy applies, the proxy's papers are listed to confirm."""
    _, checklist = answered("inner_mongolia", [("relationship", "child")])
    hukou = matter(checklist, "hukou_cancellation")
    assert {"proxy_authorization", "proxy_id_card"} == set(hukou["materials_to_confirm"])
    poa = material(checklist, "proxy_authorization")
    assert poa["conditional"] is True and "受托人" in poa["condition"]

    _, relative = answered("inner_mongolia", [("relationship", "child"), ("applicant_is_proxy", False)])
    assert "materials_to_confirm" not in matter(relative, "hukou_cancellation")
    assert material(relative, "proxy_authorization") is None


def test_a_conditional_material_is_not_missing_and_can_still_be_uploaded(client, app, wechat_peer):
    """济宁 「申请将公积金拨至继承人银行卡的，还须提供具有法律效力的公证书」: while the account is not chosen, the
    notarised certificate is not counted as missing (a family must never be held up for a paper it may not
    need), but it can be photographed already."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = client.post("/api/v1/questionnaires", json={"region": "jining"}, headers=headers).get_json()["id"]
    for question, value in [("relationship", "spouse"), ("death_date", "2026-01-10"), ("death_type", "normal"),
                            ("matters", ["housing_fund_withdrawal"])]:
        response = client.post(f"/api/v1/questionnaires/{sid}/answers", json={"question": question, "value": value},
                               headers=headers)
        assert response.status_code == 200, response.get_json()
    checklist = client.get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
    assert material(checklist, "notarised_certificate")["conditional"] is True
    assert "notarised_certificate" not in checklist["materials_missing"]
    assert "death_certificate" in checklist["materials_missing"]
    listing = client.get(f"/api/v1/questionnaires/{sid}/materials", headers=headers).get_json()
    assert "notarised_certificate" not in listing["missing"] and "death_certificate" in listing["missing"]
    slot = next(m for m in listing["materials"] if m["id"] == "notarised_certificate")
    assert slot["conditional"] is True and slot["provided"] is False


def test_a_complete_questionnaire_leaves_no_material_conditional(client, app, wechat_peer):
    """「申请将公积金拨至继承人银行卡的，还须提供具有法律效力的公证书」: once every question is answered, each material is
    either needed or not, so the family can submit with nothing left to confirm."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, region="jining",
                        script={"relationship": "spouse", "death_date": "2026-01-10", "death_type": "normal",
                                "matters": ["housing_fund_withdrawal"], "fund_to_heir_account": False})
    checklist = client.get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
    assert all(m["conditional"] is False for m in checklist["materials"])
    assert "materials_to_confirm" not in matter(checklist, "housing_fund_withdrawal")


# --- a matter confirmable while its condition is unknown --------------------------------------------------

LICENCE_REQUESTED = [("relationship", "spouse"), ("death_date", "2026-01-10"), ("local_death", True),
                     ("local_hukou", True), ("death_type", "normal"), ("welfare", ["none"]),
                     ("requested", ["driving_licence_cancellation"])]


def test_hunan_licence_of_unknown_province_is_listed_with_its_province_to_confirm():
    """湖南 办结 3: 「公安交通管理部门在收到《居民死亡医学证明（推断）书》或非正常死亡证明30个工作日内注销本省核发的
    机动车驾驶证。」 Asked for, but the issuing province not known yet: the matter is listed (required) with
    「本省核发」 to confirm, not left undecided."""
    state, checklist = answered("hunan", LICENCE_REQUESTED)
    assert state.current.id == "local_driving_licence"
    licence = matter(checklist, "driving_licence_cancellation")
    assert licence is not None and licence["status"] == "required"
    assert any("本省核发" in t for t in licence["to_confirm"]) and licence["to_confirm_en"]
    assert checklist["undecided"] == []
    assert "licence_not_local" not in codes(checklist)


def test_hunan_licence_answered_from_another_province_is_not_applicable_with_its_reason():
    """「…30个工作日内注销本省核发的机动车驾驶证。」: a licence answered "another province" is not cancelled here, with
    the reason (a fact actually answered), and nothing left to confirm."""
    _, checklist = answered("hunan", [*LICENCE_REQUESTED, ("local_driving_licence", False)])
    licence = matter(checklist, "driving_licence_cancellation")
    assert licence["status"] == "blocked" and "本省核发" in licence["reasons"][0]
    assert "to_confirm" not in licence
    assert "licence_not_local" in codes(checklist)
    _, local = answered("hunan", [*LICENCE_REQUESTED, ("local_driving_licence", True)])
    assert matter(local, "driving_licence_cancellation")["status"] == "required"
    assert "to_confirm" not in matter(local, "driving_licence_cancellation")


def test_a_matter_not_asked_for_stays_undecided_even_when_confirmable():
    """「注销本省核发的机动车驾驶证」 is a matter the family asks for (申请表 申请办理事项): before the family has said
    which matters it wants, the licence is undecided, never listed as if asked for."""
    dialog = load_dialog("hunan")
    checklist = rules.evaluate_checklist(dialog, validate_facts({"local_death": True, "local_hukou": True}))
    assert matter(checklist, "driving_licence_cancellation") is None
    assert "driving_licence_cancellation" in {u["id"] for u in checklist["undecided"]}
