"""Inner Mongolia (Hulunbuir): the 申请表's 必选 / 勾选 lines and the branches the seed describes."""

from tests.walk import material_ids, matter, status, trip_places, walk

# A plain case: the spouse applies, normal death, cremation still to come, nothing else to stop or claim.
BASE = {
    "died_abroad": False,
    "applicant_is_proxy": False,
    "relationship": "spouse",
    "death_type": "normal",
    "death_date": "2026-01-10",
    "disposition": "cremation",
    "has_cremation_certificate": False,
    "welfare": ["none"],
    "veteran_beneficiary": False,
    "low_income": False,
    "pension_insurance": "none",
    "receiving_unemployment_benefit": False,
    "medical_insurance": "none",
    "has_housing_fund": False,
    "has_driving_licence": False,
    "is_household_head": False,
}

OPTIONAL = {"retiree_death_benefits", "survivor_benefits", "resident_pension_funeral_grant", "pension_account_payout",
            "unemployment_death_benefits", "medical_account_withdrawal", "housing_fund_withdrawal",
            "veteran_survivor_pension", "household_head_change"}


def codes(checklist):
    return {w["code"] for w in checklist["warnings"]}


def test_plain_case_mandatory_lines_and_no_time_limits():
    state, checklist = walk("inner_mongolia", BASE)
    assert checklist["eligible"] is True
    ids = [m["id"] for m in checklist["matters"]]
    assert ids == ["death_certificate_normal", "cremation_certificate", "hukou_cancellation"]
    assert ids[-1] == "hukou_cancellation"  # 最后办结户口注销手续
    assert "time_limit" not in checklist
    assert all("time_limit" not in m for m in checklist["matters"])
    assert checklist["undecided"] == []
    assert "requested_matters" not in state.facts  # no 勾选 line was offered, none can apply
    assert {"application_form", "commitment_letter", "applicant_id_card", "death_certificate",
            "deceased_id_card", "household_register"} <= material_ids(checklist)
    assert "proxy_authorization" not in material_ids(checklist)


def test_precondition_certificate_follows_death_type():
    _, normal = walk("inner_mongolia", BASE)
    assert matter(normal, "death_certificate_normal")["department"] == "health"
    assert status(normal, "death_certificate_abnormal") is None
    _, abnormal = walk("inner_mongolia", {**BASE, "death_type": "abnormal"})
    assert status(abnormal, "death_certificate_abnormal") == "required"
    assert matter(abnormal, "death_certificate_abnormal")["department"] == "public_security"
    assert status(abnormal, "death_certificate_normal") is None


def test_who_and_when_come_first_and_the_rare_exclusions_after():
    """Issue 14 item 9: not 「逝者是否在国（境）外死亡?」 first; who applies (申请表「申请人（委托人）基本情况」, 「被委托人
    基本情况」) and when (死亡时间) first, the exclusions (办事指南 4 proxy, 5 death abroad) after, each in its words."""
    from miniapp_api.domain.dialogs import load_dialog
    dialog = load_dialog("inner_mongolia")
    assert [q.id for q in dialog.questions[:6]] == ["relationship", "applicant_is_proxy",
                                                   "proxy_principal_incapacitated", "death_date", "death_type",
                                                   "died_abroad"]
    assert dialog.question("died_abroad").text.zh == "逝者是否在国（境）外死亡?"


def test_died_abroad_is_out_of_scope_and_asks_nothing_more():
    state, checklist = walk("inner_mongolia", {"relationship": "spouse", "applicant_is_proxy": False,
                                               "death_date": "2026-01-10", "death_type": "normal",
                                               "died_abroad": True})
    assert list(state.answers)[-1] == "died_abroad" and len(state.answers) == 5
    assert [c.code for c in state.out_of_scope] == ["died_abroad"]
    assert checklist["eligible"] is False
    assert checklist["matters"] == [] and checklist["undecided"] == []
    assert "died_abroad" in codes(checklist)
    assert "专窗" in checklist["reasons"][0]


def test_proxy_allowed_only_for_single_seriously_ill_relative():
    script = {**BASE, "applicant_is_proxy": True, "proxy_principal_incapacitated": True,
              "is_household_head": True, "household_head_change": True}
    _, checklist = walk("inner_mongolia", script)
    assert checklist["eligible"] is True
    assert {"proxy_authorization", "proxy_id_card"} <= material_ids(checklist)
    poa = next(m for m in checklist["materials"] if m["id"] == "proxy_authorization")
    assert set(poa["for_matters"]) == {"household_head_change", "hukou_cancellation"}
    assert "proxy_authorization" in codes(checklist)

    state, refused = walk("inner_mongolia", {"relationship": "child", "applicant_is_proxy": True,
                                             "proxy_principal_incapacitated": False})
    assert refused["eligible"] is False
    assert list(state.answers) == ["relationship", "applicant_is_proxy", "proxy_principal_incapacitated"]
    assert [c.code for c in state.out_of_scope] == ["proxy_not_allowed"]  # the death abroad is never asked
    assert "proxy_not_allowed" in codes(refused)
    assert refused["matters"] == [] and refused["undecided"] == []
    assert "died_abroad" not in state.answers


def test_non_lineal_applicant_gets_a_warning():
    _, lineal = walk("inner_mongolia", {**BASE, "relationship": "grandchild"})
    assert "applicant_not_lineal_relative" not in codes(lineal)
    for relationship in ("sibling", "other"):
        _, checklist = walk("inner_mongolia", {**BASE, "relationship": relationship})
        assert checklist["eligible"] is True
        assert "applicant_not_lineal_relative" in codes(checklist)


def test_cremation_is_in_person_at_the_funeral_home():
    _, checklist = walk("inner_mongolia", BASE)
    cremation = matter(checklist, "cremation_certificate")
    assert cremation["department"] == "funeral_home" and cremation["in_person"] is True
    assert set(cremation["materials"]) == {"applicant_id_card", "deceased_id_card", "death_certificate"}
    assert "funeral_home" in trip_places(checklist)
    assert status(checklist, "funeral_fee_waiver") is None


def test_already_cremated_or_burial_means_no_funeral_home_trip_and_no_low_income_question():
    state, done = walk("inner_mongolia", {**BASE, "has_cremation_certificate": True})
    assert status(done, "cremation_certificate") is None
    assert "funeral_home" not in trip_places(done)
    assert "low_income" not in state.answers
    state, burial = walk("inner_mongolia", {**BASE, "disposition": "burial"})
    assert "has_cremation_certificate" not in state.answers
    assert state.facts["has_cremation_certificate"] is False
    assert status(burial, "cremation_certificate") is None and status(burial, "funeral_fee_waiver") is None


def test_fee_waiver_for_low_income_or_key_entitled_group_at_cremation():
    _, low = walk("inner_mongolia", {**BASE, "low_income": True})
    waiver = matter(low, "funeral_fee_waiver")
    assert waiver["status"] == "required" and waiver["department"] == "funeral_home"
    assert waiver["mandatory"] is True and waiver["in_person"] is True
    assert "funeral_home" in trip_places(low)
    # dibao implies the low-income group: the question is not asked.
    state, dibao = walk("inner_mongolia", {**BASE, "welfare": ["subsistence_allowance"]})
    assert "low_income" not in state.answers
    assert status(dibao, "funeral_fee_waiver") == "required"
    # a veteran beneficiary gets the waiver without the low-income question
    state, veteran = walk("inner_mongolia", {**BASE, "veteran_beneficiary": True, "veteran_survivor_pension": False})
    assert "low_income" not in state.answers
    assert status(veteran, "funeral_fee_waiver") == "required"


def test_welfare_line_is_mandatory_for_each_payment_received():
    script = {**BASE, "welfare": ["extreme_poverty", "elderly_allowance", "disability_care", "orphan_allowance"]}
    _, checklist = walk("inner_mongolia", script)
    for matter_id in ("extreme_poverty_support_termination", "elderly_allowance_termination",
                      "disability_subsidies_termination", "orphan_allowance_termination"):
        entry = matter(checklist, matter_id)
        assert entry["status"] == "required" and entry["mandatory"] is True
        assert entry["department"] == "civil_affairs"
    assert status(checklist, "subsistence_allowance_termination") is None


def test_veteran_lines_stop_is_mandatory_payment_is_ticked():
    script = {**BASE, "veteran_beneficiary": True, "veteran_survivor_pension": True}
    _, checklist = walk("inner_mongolia", script)
    assert matter(checklist, "veteran_pension_stop")["mandatory"] is True
    assert matter(checklist, "veteran_pension_stop")["department"] == "veterans_affairs"
    assert status(checklist, "veteran_survivor_pension") == "required"
    _, declined = walk("inner_mongolia", {**script, "veteran_survivor_pension": False})
    assert status(declined, "veteran_pension_stop") == "required"
    assert status(declined, "veteran_survivor_pension") is None


def test_in_service_employee_pension_is_terminated_with_survivor_benefits_optional():
    script = {**BASE, "pension_insurance": "enterprise", "receiving_pension": False, "survivor_benefits": True,
              "receiving_unemployment_benefit": False}
    state, checklist = walk("inner_mongolia", script)
    entry = matter(checklist, "employee_pension_termination")
    assert entry["status"] == "required" and entry["mandatory"] is True and entry["department"] == "hrss"
    assert status(checklist, "survivor_benefits") == "required"
    assert "pension_benefit_form" in material_ids(checklist)
    assert status(checklist, "retiree_death_benefits") is None
    assert "retiree_death_benefits" not in state.answers


def test_retiree_gets_retiree_death_benefits_not_termination():
    script = {**BASE, "pension_insurance": "institution", "receiving_pension": True,
              "retiree_death_benefits": True, "survivor_benefits": False}
    state, checklist = walk("inner_mongolia", script)
    assert status(checklist, "retiree_death_benefits") == "required"
    assert status(checklist, "employee_pension_termination") is None
    assert status(checklist, "survivor_benefits") is None
    assert "receiving_unemployment_benefit" not in state.answers  # a pensioner draws no unemployment benefit


def test_resident_pension_funeral_grant_only_when_already_drawing():
    drawing = {**BASE, "pension_insurance": "resident", "receiving_pension": True,
               "resident_pension_funeral_grant": True}
    _, checklist = walk("inner_mongolia", drawing)
    assert status(checklist, "resident_pension_funeral_grant") == "required"
    assert "resident_pension_deregistration_form" in material_ids(checklist)
    assert status(checklist, "pension_account_payout") is None
    assert status(checklist, "employee_pension_termination") is None

    state, not_drawing = walk("inner_mongolia", {**BASE, "pension_insurance": "resident", "receiving_pension": False,
                                                 "pension_account_payout": True})
    assert "resident_pension_funeral_grant" not in state.answers
    assert status(not_drawing, "resident_pension_funeral_grant") is None
    assert status(not_drawing, "pension_account_payout") == "required"


def test_unemployment_benefit_recipient_death_benefits():
    script = {**BASE, "receiving_unemployment_benefit": True, "unemployment_death_benefits": True}
    _, checklist = walk("inner_mongolia", script)
    assert status(checklist, "unemployment_death_benefits") == "required"
    assert matter(checklist, "unemployment_death_benefits")["department"] == "hrss"


def test_unsettled_medical_fees_block_deregistration_and_account():
    script = {**BASE, "medical_insurance": "employee", "medical_fees_settled": False, "medical_account": True}
    _, checklist = walk("inner_mongolia", script)
    assert status(checklist, "medical_insurance_deregistration") == "blocked"
    assert matter(checklist, "medical_insurance_deregistration")["mandatory"] is True
    assert status(checklist, "medical_account_withdrawal") == "blocked"
    assert "medical_fees_unsettled" in codes(checklist)
    assert "medical_account_withdrawal_form" not in material_ids(checklist)
    _, settled = walk("inner_mongolia", {**script, "medical_fees_settled": True})
    assert status(settled, "medical_insurance_deregistration") == "required"
    assert status(settled, "medical_account_withdrawal") == "required"
    assert "medical_account_withdrawal_form" in material_ids(settled)


def test_housing_fund_withdrawal_blocked_by_loan_or_freeze():
    script = {**BASE, "has_housing_fund": True, "housing_fund": True, "housing_fund_blocked": True}
    _, blocked = walk("inner_mongolia", script)
    assert status(blocked, "housing_fund_withdrawal") == "blocked"
    assert "housing_fund_blocked" in codes(blocked)
    _, ok = walk("inner_mongolia", {**script, "housing_fund_blocked": False})
    entry = matter(ok, "housing_fund_withdrawal")
    assert entry["status"] == "required" and entry["department"] == "housing_fund"
    assert {"heir_bank_card", "relationship_proof"} <= material_ids(ok)
    state, not_wanted = walk("inner_mongolia", {**script, "housing_fund": False})
    assert "housing_fund_blocked" not in state.answers
    assert status(not_wanted, "housing_fund_withdrawal") is None


def test_driving_licence_is_mandatory_when_held_and_may_be_lost():
    _, checklist = walk("inner_mongolia", {**BASE, "has_driving_licence": True})
    entry = matter(checklist, "driving_licence_cancellation")
    assert entry["status"] == "required" and entry["mandatory"] is True
    assert entry["department"] == "public_security"
    assert entry["materials"] == ["driving_licence"]
    assert any("遗失可不提交" in n for n in entry["notes"])
    _, none = walk("inner_mongolia", BASE)
    assert status(none, "driving_licence_cancellation") is None


def test_household_head_change_needs_members_agreement():
    script = {**BASE, "is_household_head": True, "household_head_change": True}
    _, checklist = walk("inner_mongolia", script)
    assert status(checklist, "household_head_change") == "required"
    assert "household_head_change_statement" in material_ids(checklist)
    state, not_head = walk("inner_mongolia", BASE)
    assert "household_head_change" not in state.answers
    assert status(not_head, "household_head_change") is None


def test_hukou_cancellation_last_with_id_card_surrender():
    _, checklist = walk("inner_mongolia", {**BASE, "has_driving_licence": True, "is_household_head": True,
                                           "household_head_change": True})
    assert checklist["matters"][-1]["id"] == "hukou_cancellation"
    hukou = matter(checklist, "hukou_cancellation")
    assert hukou["mandatory"] is True and hukou["in_person"] is True
    assert "service_window" in trip_places(checklist)
    assert any("派出所" in n for n in hukou["notes"])


SCRIPTS = [
    {},  # every question takes its first option
    BASE,
    {**BASE, "death_type": "abnormal", "disposition": "burial", "welfare": ["disability_living"],
     "pension_insurance": "resident", "receiving_pension": False, "pension_account_payout": False,
     "receiving_unemployment_benefit": True, "unemployment_death_benefits": False,
     "medical_insurance": "resident", "medical_fees_settled": True, "medical_account": False},
    {**BASE, "applicant_is_proxy": True, "proxy_principal_incapacitated": True, "relationship": "parent",
     "veteran_beneficiary": True, "veteran_survivor_pension": True, "pension_insurance": "enterprise",
     "receiving_pension": True, "retiree_death_benefits": True, "survivor_benefits": True,
     "medical_insurance": "employee", "medical_fees_settled": False, "medical_account": True,
     "has_housing_fund": True, "housing_fund": True, "housing_fund_blocked": False,
     "has_driving_licence": True, "is_household_head": True, "household_head_change": False},
    {**BASE, "pension_insurance": "institution", "receiving_pension": False, "survivor_benefits": False,
     "receiving_unemployment_benefit": False, "has_housing_fund": True, "housing_fund": False,
     "welfare": ["elderly_allowance", "orphan_allowance"], "low_income": True},
    {"died_abroad": True},
    {"died_abroad": False, "applicant_is_proxy": True, "proxy_principal_incapacitated": False},
]


def test_complete_walks_leave_nothing_undecided():
    for script in SCRIPTS:
        state, checklist = walk("inner_mongolia", script, default="first")
        assert checklist["undecided"] == [], script
        assert checklist["eligible"] in (True, False)
        assert state.progress.remaining == 0
        listed = {m["id"] for m in checklist["matters"]}
        for material in checklist["materials"]:
            assert set(material["for_matters"]) <= listed
        for entry in checklist["matters"]:
            assert "to_confirm" not in entry
            assert entry["mandatory"] is (entry["id"] not in OPTIONAL)
