"""Xinjiang: the seed's 业务办理情形 questions and the branches its notes describe."""

from tests.walk import material_ids, matter, status, trip_places, walk

BASE = {
    "death_type": "normal",
    "relationship": "spouse",
    "applicant_is_proxy": False,
    "death_date": "2026-01-10",
    "funeral_home_registered": True,
    "has_cremation_certificate": False,
    "disposition": "cremation",
    "medical_account": False,
    "medical_insurance": "resident",
    "pension_payout": False,
    "driving_licence": False,
    "has_housing_fund": False,
}


def test_normal_death_needs_health_certificate_and_cremation_trip():
    _, checklist = walk("xinjiang", BASE)
    assert status(checklist, "death_certificate_normal") == "required"
    assert matter(checklist, "death_certificate_normal")["department"] == "health"
    assert status(checklist, "death_certificate_abnormal") is None
    assert status(checklist, "cremation_certificate") == "required"
    assert "funeral_home" in trip_places(checklist)
    assert checklist["time_limit"]["working_days"] == 5
    assert matter(checklist, "hukou_cancellation")["time_limit"]["working_days"] == 5


def test_abnormal_death_certificate_comes_from_police():
    _, checklist = walk("xinjiang", {**BASE, "death_type": "abnormal"})
    assert matter(checklist, "death_certificate_abnormal")["department"] == "public_security"
    assert status(checklist, "death_certificate_normal") is None


def test_existing_cremation_certificate_means_no_funeral_home_trip():
    _, checklist = walk("xinjiang", {**BASE, "has_cremation_certificate": True})
    assert status(checklist, "cremation_certificate") is None
    assert "funeral_home" not in trip_places(checklist)
    assert "cremation_certificate" in material_ids(checklist)


def test_not_registered_at_funeral_home_skips_question_1_1():
    state, checklist = walk("xinjiang", {**BASE, "funeral_home_registered": False})
    assert "has_cremation_certificate" not in state.answers
    assert state.facts["has_cremation_certificate"] is False
    assert status(checklist, "cremation_certificate") == "required"


def test_declared_missing_person_gets_hukou_cancellation_with_warning():
    script = {"death_type": "missing", "court_declaration": "declared_missing", "relationship": "child",
              "applicant_is_proxy": False, "death_date": "2025-12-01", "medical_account": False,
              "medical_insurance": "none", "pension_payout": False, "driving_licence": False, "has_housing_fund": False}
    _, checklist = walk("xinjiang", script)
    assert [m["id"] for m in checklist["matters"]] == ["hukou_cancellation"]
    assert any(w["code"] == "missing_person_hukou" for w in checklist["warnings"])


def test_unsettled_medical_fees_block_account_withdrawal():
    script = {**BASE, "medical_account": True, "medical_insurance": "employee", "medical_fees_settled": False}
    _, checklist = walk("xinjiang", script)
    assert status(checklist, "medical_account_withdrawal") == "blocked"
    assert any(w["code"] == "medical_fees_unsettled" for w in checklist["warnings"])
    settled = walk("xinjiang", {**script, "medical_fees_settled": True})[1]
    assert status(settled, "medical_account_withdrawal") == "required"
    assert "medical_account_withdrawal_form" in material_ids(settled)


def test_driving_licence_cancellation_is_a_trip_to_traffic_police():
    _, checklist = walk("xinjiang", {**BASE, "driving_licence": True})
    assert status(checklist, "driving_licence_cancellation") == "required"
    assert matter(checklist, "driving_licence_cancellation")["in_person"] is True
    assert "traffic_police" in trip_places(checklist)


def test_pension_payout_offers_survivor_benefits():
    _, checklist = walk("xinjiang", {**BASE, "pension_payout": True, "survivor_benefits": True})
    assert status(checklist, "pension_account_payout") == "required"
    assert status(checklist, "survivor_benefits") == "required"
    assert "relationship_proof" in material_ids(checklist)


def test_housing_fund_question_added_for_xinjiang():
    _, checklist = walk("xinjiang", {**BASE, "has_housing_fund": True, "housing_fund": True})
    assert matter(checklist, "housing_fund_withdrawal")["department"] == "housing_fund"


def test_other_relationship_warns_about_relationship_proof():
    _, checklist = walk("xinjiang", {**BASE, "relationship": "other"})
    assert any(w["code"] == "relationship_proof_needed" for w in checklist["warnings"])


# --- Issue 14 item 3: 备注 1, in its order -------------------------------------------------------------------

EMPLOYEE = {**BASE, "medical_insurance": "employee"}


def test_unsettled_fees_of_an_employer_insured_person_hold_the_deregistration_and_the_withdrawal():
    """「单位参保人员生前存在医疗费用未结算情形的，应按照医疗保障政务服务事项办理流程，先由单位通过网厅或经办机构窗口办理
    人员参保暂停，医疗费用审核结算拨付后，单位经办人员申请人员减少并做人员终止参保，由单位经办人或继承人（代理人）办理个人
    账户一次性支取。」 Deregistration (人员减少、终止参保) waits for the settlement, as the withdrawal does after it."""
    _, checklist = walk("xinjiang", {**EMPLOYEE, "medical_account": True, "medical_fees_settled": False})
    deregistration = matter(checklist, "medical_insurance_deregistration")
    assert deregistration["status"] == "blocked"
    [reason] = deregistration["reasons"]
    assert reason.index("参保暂停") < reason.index("结算拨付") < reason.index("人员减少") < reason.index("个人账户一次性支取")
    assert status(checklist, "medical_account_withdrawal") == "blocked"
    assert [w["code"] for w in checklist["warnings"]].count("medical_fees_unsettled") == 1  # one reason, said once
    assert not any("无需另行申请" in n for n in deregistration["notes"])


def test_the_deregistration_notes_state_the_order_of_note_1():
    """「先由单位通过网厅或经办机构窗口办理人员参保暂停，医疗费用审核结算拨付后，单位经办人员申请人员减少并做人员终止参保，
    由单位经办人或继承人（代理人）办理个人账户一次性支取」: the order, and the withdrawal after the deregistration."""
    from miniapp_api.domain.dialogs import load_dialog

    _, checklist = walk("xinjiang", {**EMPLOYEE, "medical_fees_settled": True})
    order = next(n for n in matter(checklist, "medical_insurance_deregistration")["notes"] if "参保暂停" in n)
    assert order.index("参保暂停") < order.index("结算拨付") < order.index("人员终止参保") < order.index("个人账户一次性支取")
    withdrawal = next(m for m in load_dialog("xinjiang").matters if m.id == "medical_account_withdrawal")
    assert withdrawal.after == ("medical_insurance_deregistration",)


def test_settled_fees_let_both_go_ahead():
    """「医疗费用审核结算拨付后，单位经办人员申请人员减少并做人员终止参保」: once settled nothing waits."""
    _, checklist = walk("xinjiang", {**EMPLOYEE, "medical_account": True, "medical_fees_settled": True})
    assert status(checklist, "medical_insurance_deregistration") == "required"
    assert status(checklist, "medical_account_withdrawal") == "required"
    assert "medical_fees_unsettled" not in {w["code"] for w in checklist["warnings"]}


def test_the_fees_question_is_asked_for_the_deregistration_even_without_the_withdrawal():
    """「单位参保人员生前存在医疗费用未结算情形的」 holds the deregistration, which is done whether or not the family
    asks for the account: the question is asked of every employer-insured family, and only of them."""
    state, checklist = walk("xinjiang", {**EMPLOYEE, "medical_account": False, "medical_fees_settled": False})
    assert "medical_fees_settled" in state.answers
    assert status(checklist, "medical_insurance_deregistration") == "blocked"
    resident, _ = walk("xinjiang", {**BASE, "medical_account": True})
    assert "medical_fees_settled" not in resident.answers


def test_unknown_fees_are_to_confirm_never_read_as_settled():
    """「单位参保人员生前存在医疗费用未结算情形的」: before the family answers, the deregistration is neither done nor
    refused; the condition is listed to confirm."""
    from miniapp_api.domain import rules
    from miniapp_api.domain.dialogs import load_dialog

    facts = {"death_type": "normal", "medical_insurance": "employee", "requested_matters": []}
    checklist = rules.evaluate_checklist(load_dialog("xinjiang"), facts)
    entry = matter(checklist, "medical_insurance_deregistration")
    assert entry["status"] == "required"
    assert any("参保暂停" in t for t in entry["to_confirm"])


# --- Issue 14 item 4: 宣告死亡 and 宣告失踪 are to confirm with the court judgment, not excluded -------------

MISSING = {**BASE, "death_type": "missing", "medical_account": True, "medical_insurance": "resident",
           "pension_payout": True, "survivor_benefits": True, "driving_licence": True, "has_housing_fund": True,
           "housing_fund": True}
COURT_MATTERS = ("medical_insurance_deregistration", "medical_account_withdrawal", "pension_account_payout",
                 "survivor_benefits", "driving_licence_cancellation", "housing_fund_withdrawal")


def test_declared_dead_keeps_every_matter_to_confirm_with_the_judgment():
    """「死亡、宣告死亡、宣告失踪人员办理户口注销」 and the goals list 参保人员个人账户一次性支取（基本医疗保险），个人账户
    一次性待遇申领（养老保险），遗属待遇申领 … 驾驶证注销 with no exclusion for a declared death: each is to confirm with the
    court judgment, none blocked; only what needs a body (the funeral home, the cremation) is not asked."""
    state, checklist = walk("xinjiang", {**MISSING, "court_declaration": "declared_dead"})
    assert state.answers["court_declaration"] == "declared_dead"
    assert "funeral_home_registered" not in state.answers
    for matter_id in COURT_MATTERS:
        entry = matter(checklist, matter_id)
        assert entry["status"] == "required", matter_id
        assert any("宣告死亡的判决书" in t for t in entry["to_confirm"]), matter_id
        assert len(entry["to_confirm_en"]) == len(entry["to_confirm"])
    assert not [m for m in checklist["matters"] if m["status"] == "blocked"]
    licence = matter(checklist, "driving_licence_cancellation")
    assert "death_certificate" not in licence["materials"] and "other_documents" in licence["materials"]
    assert status(checklist, "hukou_cancellation") == "required"
    assert "missing_person_hukou" not in {w["code"] for w in checklist["warnings"]}  # 「负责注销死亡及宣告死亡人员户口注销」


def test_declared_missing_is_kept_apart_from_declared_dead():
    """「死亡人为正常死亡、非正常死亡还是失踪?」 offers one 失踪, but 「死亡、宣告死亡、宣告失踪人员办理户口注销」 names the two
    apart, and 公安 「负责注销死亡及宣告死亡人员户口注销」 only: for 宣告失踪 each matter is to confirm in its own words and the
    hukou warning stays."""
    _, checklist = walk("xinjiang", {**MISSING, "court_declaration": "declared_missing"})
    for matter_id in COURT_MATTERS:
        entry = matter(checklist, matter_id)
        assert entry["status"] == "required", matter_id
        assert any("宣告失踪不同于宣告死亡" in t for t in entry["to_confirm"]), matter_id
        assert not any("宣告死亡的判决书" in t for t in entry["to_confirm"]), matter_id
    assert "missing_person_hukou" in {w["code"] for w in checklist["warnings"]}


def test_a_normal_death_has_nothing_to_confirm_with_a_court():
    _, checklist = walk("xinjiang", {**MISSING, "death_type": "normal", "funeral_home_registered": True,
                                     "has_cremation_certificate": True})
    assert all("to_confirm" not in m for m in checklist["matters"])


# --- Issue 14 item 5: a burial is recorded in the funeral system -------------------------------------------

def test_a_burial_not_yet_recorded_lists_the_record_still_to_do():
    """「若为土葬则将逝者信息录入殡葬管理服务信息系统」: with a burial and nothing recorded at the funeral home yet, the
    checklist tells the family this step remains (and no cremation certificate)."""
    _, checklist = walk("xinjiang", {**BASE, "funeral_home_registered": False, "disposition": "burial"})
    entry = matter(checklist, "burial_registration")
    assert entry["status"] == "required" and entry["department"] == "funeral_home"
    assert any("殡葬管理服务信息系统" in n for n in entry["notes"])
    assert status(checklist, "cremation_certificate") is None


def test_a_burial_already_recorded_or_a_cremation_needs_no_record():
    """「若为土葬则将逝者信息录入殡葬管理服务信息系统」: once recorded (情形 1 「您是否已在殡仪馆录入逝者信息?」 yes) nothing
    remains; a cremation has its certificate instead."""
    recorded, checklist = walk("xinjiang", {**BASE, "disposition": "burial"})
    assert recorded.facts["funeral_home_registered"] is True
    assert status(checklist, "burial_registration") is None
    cremation = walk("xinjiang", {**BASE, "funeral_home_registered": False})[1]
    assert status(cremation, "burial_registration") is None
    assert status(cremation, "cremation_certificate") == "required"


# --- Issue 14 item 6: the one visit, 原件核验 at the 专窗 -------------------------------------------------------

def test_the_one_visit_checks_the_originals_at_the_window_and_counts_in_trips():
    """基本信息表 「到现场次数」「1次」, 「网上办理深度」「原件核验」, and 「由县、市、区级以上政务服务管理机构设立“一件事一次办”
    专窗」: one trip to the 专窗 where the originals are checked, serving every matter that goes ahead."""
    _, checklist = walk("xinjiang", {**BASE, "has_cremation_certificate": True})
    [window] = checklist["trips"]
    assert window["place"] == "service_window"
    assert any("原件核验" in n and "专窗" in n and "1次" in n for n in window["notes"])
    assert window["notes_en"] and len(window["notes_en"]) == len(window["notes"])
    assert window["for_matters"] == [m["id"] for m in checklist["matters"] if m["status"] == "required"]


def test_the_window_visit_is_counted_once_beside_the_funeral_home_and_traffic_police():
    """「出具火化证明仍需赴殡仪馆进行现场办理；驾驶证注销仍需申请人携带相关材料赴机动车驾驶证发证地交通部门办理」 beside the
    one 专窗 visit (「到现场次数」「1次」)."""
    _, checklist = walk("xinjiang", {**BASE, "driving_licence": True})
    assert [t["place"] for t in checklist["trips"]].count("service_window") == 1
    assert trip_places(checklist) == {"funeral_home", "traffic_police", "service_window"}


# --- Issue 14 item 11: the 被委托人 section ---------------------------------------------------------------

def test_a_proxy_is_asked_with_who_the_family_is_and_brings_their_id():
    """一张表单 「被委托人基本情况（如无被委托人，无需填写）」 「姓名」「身份证件号码」: the questionnaire asks whether a
    被委托人 acts, right after the relationship, and the proxy's ID joins the one set of materials."""
    from miniapp_api.domain.dialogs import load_dialog

    ids = [q.id for q in load_dialog("xinjiang").questions]
    assert ids[:3] == ["relationship", "applicant_is_proxy", "death_date"]
    _, with_proxy = walk("xinjiang", {**BASE, "applicant_is_proxy": True, "pension_payout": True,
                                      "survivor_benefits": False})
    assert "proxy_id_card" in material_ids(with_proxy)
    proxy_card = next(m for m in with_proxy["materials"] if m["id"] == "proxy_id_card")
    assert {"hukou_cancellation", "pension_account_payout"} <= set(proxy_card["for_matters"])
    _, without = walk("xinjiang", {**BASE, "pension_payout": True, "survivor_benefits": False})
    assert "proxy_id_card" not in material_ids(without)
