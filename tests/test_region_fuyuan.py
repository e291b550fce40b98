"""Fuyuan: the scope of 服务内容 1–4, the 登记表's four tick boxes and the rules its notes state."""

import itertools

from miniapp_api.domain import engine, rules
from miniapp_api.domain.dialogs import load_dialog
from miniapp_api.domain.vocabulary import validate_facts
from tests.walk import material_ids, matter, status, trip_places, walk

SCOPE = {
    "death_type": "normal",
    "death_place": "medical_institution",
    "local_death": True,
    "death_date": "2026-01-10",
    "local_hukou": True,
    "local_insured": True,
    "local_cremation": True,
}
ALL_BOXES = ["cremation_certificate", "hukou_cancellation", "pension_account_payout", "medical_account_withdrawal"]
FULL = {
    **SCOPE,
    "requested_matters": ALL_BOXES,
    "body_at_funeral_home": True,
    "institution_staff": False,
    "recipient_relationship": "spouse",
    "medical_fees_settled": True,
}


def codes(checklist):
    return {w["code"] for w in checklist["warnings"]}


def test_eligible_case_gets_every_box_and_the_death_certificate_on_the_spot():
    _, checklist = walk("fuyuan", FULL)
    assert checklist["eligible"] is True
    assert checklist["undecided"] == []
    ids = [m["id"] for m in checklist["matters"]]
    assert ids == ["death_certificate_normal", "cremation_certificate", "hukou_cancellation",
                   "pension_account_payout", "funeral_grant", "survivor_benefits", "medical_account_withdrawal"]
    assert all(m["status"] == "required" for m in checklist["matters"])
    cert = matter(checklist, "death_certificate_normal")
    assert cert["department"] == "health" and cert["mandatory"] is True
    assert cert["time_limit"]["text"] == "现场签发"
    assert "time_limit" not in checklist  # Fuyuan sets no whole-service limit
    expected = {"death_certificate", "deceased_id_card", "household_register", "application_form"}
    assert expected <= material_ids(checklist)


def test_abnormal_death_is_outside_the_joint_service():
    state, checklist = walk("fuyuan", {**SCOPE, "death_type": "abnormal"})
    assert checklist["eligible"] is False
    assert checklist["matters"] == [] and checklist["undecided"] == []
    assert any("自然死亡" in r for r in checklist["reasons"])
    assert "fuyuan_joint_handling_conditions" in codes(checklist)
    assert "requested_matters" not in state.answers  # the boxes are not offered


def test_death_at_home_skips_the_local_hospital_question_and_is_out_of_scope():
    state, checklist = walk("fuyuan", {**SCOPE, "death_place": "home_or_care_home"})
    assert "local_death" not in state.answers
    assert checklist["eligible"] is False
    assert "fuyuan_not_local_medical_institution" in codes(checklist)
    assert "fuyuan_joint_handling_conditions" in codes(checklist)


def test_death_in_a_hospital_outside_fuyuan_is_out_of_scope():
    state, checklist = walk("fuyuan", {**SCOPE, "local_death": False})
    assert checklist["eligible"] is False
    assert "fuyuan_not_local_medical_institution" in codes(checklist)
    assert [c.reason.zh for c in state.out_of_scope] == [
        "联办仅适用于在抚远市医疗机构内死亡的逝者；各项身后事仍可按原有方式到各部门分别办理。"]
    assert "death_type" not in state.answers  # the rare exclusion comes last, and is not asked now


def test_after_one_scope_condition_fails_no_other_is_asked_and_the_family_is_told_why():
    """「同时符合下列条件的逝者，其家属（委托人）自主选择后可提出联办申请……1.在我市区医疗机[构]自然死亡；2.我市户籍；
    3.在我市参保；4.遗体在我市火化。」 One unmet condition is enough: issue 14 item 9, stop and say why, kindly."""
    state, checklist = walk("fuyuan", {"death_date": "2026-01-10", "local_hukou": False})
    assert list(state.answers) == ["death_date", "local_hukou"]
    assert checklist["eligible"] is False
    assert [c.code for c in state.out_of_scope] == ["fuyuan_not_local_hukou"]
    assert "按原有方式" in state.out_of_scope[0].reason.zh


def test_the_questions_open_with_the_date_and_the_cause_of_death_comes_last_gently():
    """Issue 14 item 9: not the cause of death first, and no 「自杀、他杀」 in its help."""
    dialog = load_dialog("fuyuan")
    ids = [q.id for q in dialog.questions]
    assert ids[0] == "death_date" and ids.index("death_type") == ids.index("requested_matters") - 1
    death_type = dialog.question("death_type")
    assert "自杀" not in death_type.help.zh and "他杀" not in death_type.help.zh
    assert "suicide" not in death_type.help.en and "homicide" not in death_type.help.en
    assert death_type.text.zh == "逝者是自然死亡（正常死亡）还是非正常死亡?"


def test_opting_out_leaves_only_the_death_certificate():
    state, checklist = walk("fuyuan", {**SCOPE, "requested_matters": ["none"]})
    assert [m["id"] for m in checklist["matters"]] == ["death_certificate_normal"]
    assert "fuyuan_no_joint_matters" in codes(checklist)
    assert checklist["undecided"] == []
    assert not {"body_at_funeral_home", "institution_staff", "medical_fees_settled"} & set(state.answers)


def test_cremation_box_with_body_already_at_funeral_home_needs_no_trip():
    _, checklist = walk("fuyuan", {**SCOPE, "requested_matters": ["cremation_certificate"],
                                   "body_at_funeral_home": True})
    cremation = matter(checklist, "cremation_certificate")
    assert cremation["status"] == "required" and cremation["department"] == "funeral_home"
    assert "即时" in cremation["time_limit"]["text"]
    assert "commitment_letter" in cremation["materials"]
    assert trip_places(checklist) == set()
    assert "fuyuan_body_pickup" not in codes(checklist)


def test_body_not_at_funeral_home_means_pickup_and_a_funeral_home_trip():
    _, checklist = walk("fuyuan", {**SCOPE, "requested_matters": ["cremation_certificate"],
                                   "body_at_funeral_home": False})
    assert trip_places(checklist) == {"funeral_home"}
    assert "fuyuan_body_pickup" in codes(checklist)


def test_hukou_cancellation_within_one_working_day_with_the_30_day_note():
    state, checklist = walk("fuyuan", {**SCOPE, "requested_matters": ["hukou_cancellation"]})
    hukou = matter(checklist, "hukou_cancellation")
    assert hukou["department"] == "public_security" and hukou["status"] == "required"
    assert hukou["time_limit"]["working_days"] == 1
    assert any("30日内" in n for n in hukou["notes"])
    assert hukou["in_person"] is False and trip_places(checklist) == set()
    assert "body_at_funeral_home" not in state.answers  # only asked for the cremation box


def test_combined_box_claims_pension_funeral_allowance_and_survivors_pension_together():
    script = {**SCOPE, "requested_matters": ["pension_account_payout"], "institution_staff": False,
              "recipient_relationship": "child", "medical_fees_settled": True}
    _, checklist = walk("fuyuan", script)
    for matter_id in ("pension_account_payout", "funeral_grant", "survivor_benefits"):
        assert status(checklist, matter_id) == "required"
        assert matter(checklist, matter_id)["department"] == "hrss"
    assert "heir_bank_card" in material_ids(checklist)
    assert status(checklist, "hukou_cancellation") is None


def test_institution_staff_claim_funeral_and_survivors_payment_the_original_way():
    script = {**SCOPE, "requested_matters": ["pension_account_payout"], "institution_staff": True,
              "medical_fees_settled": True}
    state, checklist = walk("fuyuan", script)
    assert "recipient_relationship" not in state.answers
    assert status(checklist, "pension_account_payout") == "required"
    # The box was ticked, so both stay visible as blocked, saying where to go instead.
    for matter_id in ("funeral_grant", "survivor_benefits"):
        assert status(checklist, matter_id) == "blocked"
        assert "原流程" in matter(checklist, matter_id)["reasons"][0]
    assert "fuyuan_institution_staff_original_process" in codes(checklist)
    assert checklist["undecided"] == []


def test_survivors_pension_recipient_must_be_a_lineal_relative():
    script = {**SCOPE, "requested_matters": ["pension_account_payout"], "institution_staff": False,
              "recipient_relationship": "sibling", "medical_fees_settled": True}
    _, checklist = walk("fuyuan", script)
    assert status(checklist, "survivor_benefits") == "blocked"
    assert "survivor_not_lineal" in codes(checklist)
    assert status(checklist, "funeral_grant") == "required"
    assert status(checklist, "pension_account_payout") == "required"


def test_grandchild_counts_as_lineal_relative():
    script = {**SCOPE, "requested_matters": ["pension_account_payout"], "institution_staff": False,
              "recipient_relationship": "grandchild", "medical_fees_settled": True}
    _, checklist = walk("fuyuan", script)
    assert status(checklist, "survivor_benefits") == "required"
    assert "survivor_not_lineal" not in codes(checklist)


def test_unfinished_medical_reimbursement_blocks_the_benefit_claims():
    script = {**SCOPE, "requested_matters": ["pension_account_payout", "medical_account_withdrawal"],
              "institution_staff": False, "recipient_relationship": "spouse", "medical_fees_settled": False}
    _, checklist = walk("fuyuan", script)
    for matter_id in ("pension_account_payout", "funeral_grant", "survivor_benefits"):
        assert status(checklist, matter_id) == "blocked"
    assert status(checklist, "medical_account_withdrawal") == "required"
    assert [w["code"] for w in checklist["warnings"]].count("medical_fees_unsettled") == 1
    assert "heir_bank_card" not in material_ids(checklist)  # only required matters bring materials


def test_medical_account_box_goes_to_medical_security_with_a_note():
    _, checklist = walk("fuyuan", {**SCOPE, "requested_matters": ["medical_account_withdrawal"]})
    medical = matter(checklist, "medical_account_withdrawal")
    assert medical["status"] == "required" and medical["department"] == "medical_security"
    assert any("未写明办理部门" in n for n in medical["notes"])


def test_no_driving_licence_or_housing_fund_in_fuyuan():
    dialog = load_dialog("fuyuan")
    ids = {m.id for m in dialog.matters}
    assert ids == {"death_certificate_normal", "cremation_certificate", "hukou_cancellation",
                   "pension_account_payout", "funeral_grant", "survivor_benefits", "medical_account_withdrawal"}
    assert dialog.time_limit is None


def _complete_walks(dialog, answers=None):
    """Every complete walk: each shown question answered with each of its options (any box combination)."""
    answers = answers or {}
    current = engine.state(dialog, answers).current
    if current is None:
        yield answers
        return
    if current.type == "date":
        values = ["2026-01-10"]
    elif current.type == "multiple":
        plain = [o.value for o in current.options if not o.exclusive]
        values = [list(c) for n in range(1, len(plain) + 1) for c in itertools.combinations(plain, n)]
        values += [[o.value] for o in current.options if o.exclusive]
    else:
        values = [o.value for o in current.options]
    for value in values:
        yield from _complete_walks(dialog, engine.answer(dialog, answers, current.id, value))


def test_no_complete_walk_leaves_anything_undecided():
    dialog = load_dialog("fuyuan")
    walks = 0
    for answers in _complete_walks(dialog):
        walks += 1
        final = engine.state(dialog, answers)
        checklist = rules.evaluate_checklist(dialog, final.rule_facts)
        assert checklist["undecided"] == [], answers
        assert checklist["eligible"] in (True, False), answers
        listed = {m["id"] for m in checklist["matters"]}
        for material in checklist["materials"]:
            assert set(material["for_matters"]) <= listed
    assert walks > 100


def test_scripted_walks_leave_nothing_undecided():
    scripts = [
        FULL,
        {**FULL, "body_at_funeral_home": False, "recipient_relationship": "other", "medical_fees_settled": False},
        {**FULL, "institution_staff": True},
        {**SCOPE, "requested_matters": ["none"]},
        {**SCOPE, "death_type": "abnormal", "death_place": "other"},
        {**SCOPE, "local_insured": False},
    ]
    for script in scripts:
        _, checklist = walk("fuyuan", script)
        assert checklist["undecided"] == [], script


# --- Issue 14 item 2: the one box becomes its matters by the rules; 机关事业单位人员 follows from the insurance --------

BOX = "亡故人养老保险、丧葬费、抚恤金申领"


def checklist_for(facts):
    """The rules alone, from facts as a department system or `flask checklist` gives them (no dialog)."""
    base = {**SCOPE, "relationship": "spouse", "medical_fees_settled": True,
            "requested_matters": ["pension_account_payout"]}
    return rules.evaluate_checklist(load_dialog("fuyuan"), validate_facts({**base, **facts}))


def test_the_box_label_is_the_seeds():
    """登记表 申请办理事项: 「(亡故人养老保险、丧葬费、抚恤金申领」."""
    options = {o.value: o for o in load_dialog("fuyuan").question("requested_matters").options}
    assert options["pension_account_payout"].label.zh == BOX
    assert options["pension_account_payout"].sets == {}  # the rules turn the box into its matters, not the dialog


def test_the_rules_turn_the_one_box_into_pension_funeral_allowance_and_survivors_pension():
    """「(亡故人养老保险、丧葬费、抚恤金申领」 is one box; 「社保部门核实逝者信息，办理社保金和抚恤金发放（停发）退补等业务」.
    Ticking it asks for all three matters whoever builds the facts."""
    checklist = checklist_for({"institution_staff": False})
    for matter_id in ("pension_account_payout", "funeral_grant", "survivor_benefits"):
        assert status(checklist, matter_id) == "required", matter_id
    assert checklist["undecided"] == []


def test_enterprise_or_resident_insurance_decides_it_is_not_the_original_procedure():
    """「注:若亡故人为机关事业单位人员领取丧葬抚恤金按照原流程办理」: a deceased in the enterprise employees' or the
    residents' pension was not 机关事业单位人员, so nothing more is needed to claim the 丧葬费 and 抚恤金 here."""
    for insurance in ("enterprise", "resident"):
        checklist = checklist_for({"pension_insurance": insurance, "receiving_pension": True})
        for matter_id in ("funeral_grant", "survivor_benefits"):
            entry = matter(checklist, matter_id)
            assert entry["status"] == "required", (insurance, entry)
            assert "to_confirm" not in entry, (insurance, entry)
        assert checklist["undecided"] == []
        assert "fuyuan_institution_staff_original_process" not in codes(checklist)


def test_institution_insurance_sends_the_funeral_and_survivors_payment_to_the_original_procedure():
    """「注:若亡故人为机关事业单位人员领取丧葬抚恤金按照原流程办理」: 机关事业养老保险 says so without another question."""
    checklist = checklist_for({"pension_insurance": "institution"})
    assert status(checklist, "pension_account_payout") == "required"
    for matter_id in ("funeral_grant", "survivor_benefits"):
        entry = matter(checklist, matter_id)
        assert entry["status"] == "blocked"
        assert any("原流程" in r for r in entry["reasons"])
        assert "to_confirm" not in entry  # the lineal-relative rule is moot once it goes the original way
    assert "fuyuan_institution_staff_original_process" in codes(checklist)


def test_with_neither_fact_known_the_original_procedure_is_to_confirm_not_assumed():
    """「注:若亡故人为机关事业单位人员领取丧葬抚恤金按照原流程办理」: unknown is never read as "no"."""
    checklist = checklist_for({})
    for matter_id in ("funeral_grant", "survivor_benefits"):
        entry = matter(checklist, matter_id)
        assert entry["status"] == "required"
        assert any("原流程" in t for t in entry["to_confirm"])
