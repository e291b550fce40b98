"""Hunan: the 申请表's fields and the branches the seed (湘民发〔2022〕57号) describes."""

import random

from miniapp_api.domain import engine, rules
from miniapp_api.domain.dialogs import load_dialog
from tests.walk import material_ids, matter, status, trip_places, walk

BASE = {
    "relationship": "child",
    "death_date": "2026-01-10",
    "local_death": True,
    "local_hukou": True,
    "death_type": "normal",
    "welfare": ["none"],
    "requested": ["hukou_cancellation"],
}

HRSS = {
    "medical_insurance": "employee",
    "pension_insurance": "enterprise",
    "medical_account_overpaid": False,
}
WHO_AND_WHEN = {"relationship": "spouse", "death_date": "2026-01-10"}


def codes(checklist):
    return {w["code"] for w in checklist["warnings"]}


def test_the_family_is_asked_who_they_are_and_when_before_the_scope_checks():
    """Issue 14 item 9: open with who the family is and when the death was (申请表 与死亡人员关系, 亡故时间),
    then the scope 「为在湘死亡的本省户籍人员的近亲属及特定关系人提供」."""
    dialog = load_dialog("hunan")
    assert [q.id for q in dialog.questions[:4]] == ["relationship", "death_date", "local_death", "local_hukou"]
    assert dialog.question("relationship").text.zh == "您与死亡人员的关系是?"


def test_scope_death_outside_hunan_is_not_eligible_and_asks_nothing_more():
    state, checklist = walk("hunan", {**WHO_AND_WHEN, "local_death": False})
    assert list(state.answers) == ["relationship", "death_date", "local_death"]
    assert [c.code for c in state.out_of_scope] == ["not_local_death"]  # said why, the hukou never named
    assert checklist["eligible"] is False
    assert checklist["matters"] == [] and checklist["undecided"] == []
    assert "not_local_death" in codes(checklist)
    assert state.progress.remaining == 0


def test_scope_hukou_outside_hunan_is_not_eligible():
    state, checklist = walk("hunan", {**WHO_AND_WHEN, "local_death": True, "local_hukou": False})
    assert [c.code for c in state.out_of_scope] == ["not_local_hukou"]
    assert checklist["eligible"] is False
    assert "not_local_hukou" in codes(checklist)
    assert "welfare" not in state.answers


def test_only_requested_matters_are_listed_and_no_service_time_limit():
    state, checklist = walk("hunan", BASE)
    assert checklist["eligible"] is True
    assert [m["id"] for m in checklist["matters"]] == ["hukou_cancellation"]
    assert "time_limit" not in checklist
    # no follow-up question for matters that were not requested
    assert set(state.answers) == set(BASE)


def test_hukou_cancellation_two_working_days_and_hand_in_originals():
    _, checklist = walk("hunan", BASE)
    hukou = matter(checklist, "hukou_cancellation")
    assert hukou["department"] == "public_security"
    assert hukou["time_limit"]["working_days"] == 2
    assert {"deceased_id_card", "household_register", "death_certificate"} <= set(hukou["materials"])
    assert hukou["in_person"] is True
    assert "funeral_home" in trip_places(checklist)  # the offline window is at the funeral home (item 7)
    assert any("原件" in n for n in hukou["notes"])


def test_death_certificate_in_medical_institution_is_issued_online():
    script = {**BASE, "requested": ["death_certificate_normal"], "death_place": "medical_institution"}
    _, checklist = walk("hunan", script)
    cert = matter(checklist, "death_certificate_normal")
    assert cert["status"] == "required" and cert["department"] == "health"
    assert cert["in_person"] is False
    assert "certificate_by_medical_institution" in codes(checklist)
    assert "certificate_by_village_committee" not in codes(checklist)


def test_death_certificate_outside_medical_institution_started_by_village_committee():
    script = {**BASE, "requested": ["death_certificate_normal"], "death_place": "home_or_care_home"}
    _, checklist = walk("hunan", script)
    assert status(checklist, "death_certificate_normal") == "required"
    assert "certificate_by_village_committee" in codes(checklist)


def test_abnormal_death_certificate_offline_by_police():
    script = {**BASE, "death_type": "abnormal",
              "requested": ["death_certificate_normal", "death_certificate_abnormal"]}
    state, checklist = walk("hunan", script)
    assert "death_place" not in state.answers
    police = matter(checklist, "death_certificate_abnormal")
    assert police["status"] == "required"
    assert police["department"] == "public_security"
    assert police["in_person"] is True
    assert "police_station" in trip_places(checklist)
    # the medical certificate was asked for by mistake: shown as not applicable
    assert status(checklist, "death_certificate_normal") == "blocked"
    assert "death_certificate_normal_not_applicable" in codes(checklist)


def test_cremation_certificate_within_four_hours_at_the_funeral_home():
    _, checklist = walk("hunan", {**BASE, "requested": ["cremation_certificate"]})
    cremation = matter(checklist, "cremation_certificate")
    assert cremation["department"] == "funeral_home"
    assert cremation["time_limit"]["hours"] == 4
    assert "working_days" not in cremation["time_limit"]
    assert "funeral_home" in trip_places(checklist)
    assert "death_certificate" in cremation["materials"]


def test_driving_licence_issued_in_hunan_cancelled_in_30_working_days():
    script = {**BASE, "requested": ["driving_licence_cancellation"], "local_driving_licence": True}
    state, checklist = walk("hunan", script)
    licence = matter(checklist, "driving_licence_cancellation")
    assert licence["status"] == "required"
    assert licence["time_limit"]["working_days"] == 30
    assert licence["in_person"] is False
    assert "traffic_police" not in trip_places(checklist)
    assert state.facts["has_driving_licence"] is True


def test_driving_licence_from_another_province_is_not_covered():
    script = {**BASE, "requested": ["driving_licence_cancellation"], "local_driving_licence": False}
    _, checklist = walk("hunan", script)
    assert status(checklist, "driving_licence_cancellation") == "blocked"
    assert {"licence_not_local", "driving_licence_cancellation_not_applicable"} <= codes(checklist)


def test_medical_matters_time_limits_and_own_accounts_only():
    script = {**BASE, "requested": ["medical_account_withdrawal", "medical_insurance_deregistration"],
              "medical_insurance": "resident"}
    _, checklist = walk("hunan", script)
    account = matter(checklist, "medical_account_withdrawal")
    assert account["department"] == "medical_security"
    assert account["time_limit"]["working_days"] == 15
    assert matter(checklist, "medical_insurance_deregistration")["time_limit"]["working_days"] == 5
    assert {"social_security_card", "deceased_bank_card"} <= material_ids(checklist)
    assert "heir_bank_card" not in material_ids(checklist)


def test_not_medically_insured_makes_medical_matters_not_applicable():
    script = {**BASE, "requested": ["medical_account_withdrawal", "medical_insurance_deregistration"],
              "medical_insurance": "none"}
    _, checklist = walk("hunan", script)
    assert status(checklist, "medical_account_withdrawal") == "blocked"
    assert status(checklist, "medical_insurance_deregistration") == "blocked"
    assert "medical_account_withdrawal_not_applicable" in codes(checklist)


def test_housing_fund_same_day_unless_loan_or_frozen():
    script = {**BASE, "requested": ["housing_fund_withdrawal"], "housing_fund_blocked": False}
    _, checklist = walk("hunan", script)
    fund = matter(checklist, "housing_fund_withdrawal")
    assert fund["status"] == "required" and fund["department"] == "housing_fund"
    assert fund["time_limit"]["working_days"] == 0
    blocked = walk("hunan", {**script, "housing_fund_blocked": True})[1]
    assert status(blocked, "housing_fund_withdrawal") == "blocked"
    assert "housing_fund_blocked" in codes(blocked)
    assert "deceased_bank_card" not in material_ids(blocked)


def test_over_allocated_medical_account_blocks_pension_and_funeral_grant():
    script = {**BASE, **HRSS, "requested": ["pension_account_payout", "funeral_grant"],
              "medical_account_overpaid": True}
    _, checklist = walk("hunan", script)
    assert status(checklist, "pension_account_payout") == "blocked"
    assert status(checklist, "funeral_grant") == "blocked"
    assert [w["code"] for w in checklist["warnings"]].count("medical_account_overpaid") == 1
    refunded = walk("hunan", {**script, "medical_account_overpaid": False})[1]
    assert status(refunded, "pension_account_payout") == "required"
    assert status(refunded, "funeral_grant") == "required"
    assert matter(refunded, "pension_account_payout")["department"] == "hrss"


def test_no_medical_insurance_skips_the_over_allocation_question():
    script = {**BASE, **HRSS, "requested": ["funeral_grant"], "medical_insurance": "none"}
    state, checklist = walk("hunan", script)
    assert "medical_account_overpaid" not in state.answers
    assert state.facts["medical_account_overpaid"] is False
    assert status(checklist, "funeral_grant") == "required"


def test_no_pension_insurance_means_no_pension_payout():
    script = {**BASE, **HRSS, "requested": ["pension_account_payout", "funeral_grant"],
              "pension_insurance": "none"}
    _, checklist = walk("hunan", script)
    assert status(checklist, "pension_account_payout") == "blocked"
    assert "pension_account_payout_not_applicable" in codes(checklist)
    assert "no_pension_insurance" in codes(checklist)


def test_survivor_benefits_only_for_a_lineal_relative():
    script = {**BASE, **HRSS, "requested": ["survivor_benefits"], "relationship": "grandchild"}
    state, checklist = walk("hunan", script)
    assert "medical_account_overpaid" not in state.answers  # note 2 concerns only pension and funeral grant
    assert status(checklist, "survivor_benefits") == "required"
    sibling = walk("hunan", {**script, "relationship": "sibling"})[1]
    assert status(sibling, "survivor_benefits") == "blocked"
    assert "survivor_not_lineal" in codes(sibling)


def test_welfare_terminations_are_mandatory_and_stop_next_month():
    script = {**BASE, "welfare": ["subsistence_allowance", "extreme_poverty", "elderly_allowance", "disability_care"]}
    _, checklist = walk("hunan", script)
    for matter_id in ("subsistence_allowance_termination", "extreme_poverty_support_termination",
                      "elderly_allowance_termination", "disability_subsidies_termination"):
        entry = matter(checklist, matter_id)
        assert entry["status"] == "required" and entry["mandatory"] is True
        assert entry["department"] == "civil_affairs"
        assert "time_limit" not in entry
        assert any("次月终止" in n for n in entry["notes"])
    none = walk("hunan", BASE)[1]
    assert not any(m["id"].endswith("_termination") for m in none["matters"])


def test_disability_living_subsidy_alone_triggers_the_disability_termination():
    _, checklist = walk("hunan", {**BASE, "welfare": ["disability_living"]})
    assert status(checklist, "disability_subsidies_termination") == "required"
    assert status(checklist, "subsistence_allowance_termination") is None


def test_every_listed_material_belongs_to_a_listed_matter():
    dialog = load_dialog("hunan")
    every = [o.value for o in dialog.question("requested").options]
    script = {**BASE, **HRSS, "requested": every, "death_place": "other", "relationship": "spouse",
              "local_driving_licence": True, "housing_fund_blocked": False,
              "welfare": ["subsistence_allowance"]}
    _, checklist = walk("hunan", script)
    listed = {m["id"] for m in checklist["matters"] if m["status"] == "required"}
    for material in checklist["materials"]:
        assert set(material["for_matters"]) <= listed


def _complete_walks(dialog, scripts_per_run):
    """Walk the questionnaire with random answers to every shown question."""
    rng = random.Random(20221128)
    for _ in range(scripts_per_run):
        answers = {}
        while True:
            current = engine.state(dialog, answers).current
            if current is None:
                break
            if current.type == "date":
                value = "2025-12-31"
            elif current.type == "multiple":
                plain = [o.value for o in current.options if not o.exclusive]
                exclusive = [o.value for o in current.options if o.exclusive]
                if exclusive and rng.random() < 0.3:
                    value = exclusive[:1]
                else:
                    value = rng.sample(plain, rng.randint(1, len(plain)))
            else:
                # lean towards staying in scope so that the deeper branches are reached
                options = [o.value for o in current.options]
                value = True if current.id in ("local_death", "local_hukou") and rng.random() < 0.9 \
                    else rng.choice(options)
            answers = engine.answer(dialog, answers, current.id, value)
        yield answers


def test_complete_walks_never_leave_anything_undecided():
    dialog = load_dialog("hunan")
    seen_matters = set()
    for answers in _complete_walks(dialog, 400):
        final = engine.state(dialog, answers)
        assert final.complete and final.progress.remaining == 0
        checklist = rules.evaluate_checklist(dialog, final.rule_facts)
        assert checklist["undecided"] == [], answers
        assert checklist["eligible"] in (True, False), answers
        for entry in checklist["matters"]:
            assert "to_confirm" not in entry, (entry["id"], answers)
            seen_matters.add(entry["id"])
    assert seen_matters == {m.id for m in dialog.matters}

    # and a few fixed scripts covering the scope answers and the all-matters case
    every = [o.value for o in dialog.question("requested").options]
    scripts = [
        {**WHO_AND_WHEN, "local_death": False},
        {**WHO_AND_WHEN, "local_death": True, "local_hukou": False},
        {**BASE, "requested": every},
        {**BASE, "death_type": "abnormal", "requested": every, "medical_insurance": "none",
         "pension_insurance": "none"},
    ]
    for script in scripts:
        _, checklist = walk("hunan", script, default="first")
        assert checklist["undecided"] == []


def test_the_hukou_trip_goes_to_the_window_at_the_funeral_home():
    """Issue 14 item 7: 「各地在殡仪馆开设身后“一件事一次办”受理窗口，鼓励各地在政务服务中心和乡镇（街道）、村（社区）
    服务中心（站）“一件事一次办”窗口，统一受理群众办事服务申请。」 and 「申请办理死亡人员户口注销的，须向工作人员交回死亡
    人员身份证和户口页的原件。」: the originals are handed in at the funeral home's window; the other windows are offered."""
    _, checklist = walk("hunan", BASE)
    [trip] = checklist["trips"]
    assert trip["place"] == "funeral_home" and trip["for_matters"] == ["hukou_cancellation"]
    [note] = trip["notes"]
    assert "殡仪馆" in note and "原件" in note
    assert "政务服务中心" in note and "乡镇（街道）、村（社区）服务中心（站）" in note
    assert len(trip["notes_en"]) == 1
    assert "service_window" not in trip_places(checklist)


def test_hukou_and_cremation_share_one_visit_to_the_funeral_home():
    """「各地在殡仪馆开设身后“一件事一次办”受理窗口」 and 「殡仪馆受理当天联系死亡人员家属确保预约火化事宜」: one place, one
    trip, for both matters."""
    _, checklist = walk("hunan", {**BASE, "requested": ["hukou_cancellation", "cremation_certificate"]})
    [trip] = checklist["trips"]
    assert trip["place"] == "funeral_home"
    assert set(trip["for_matters"]) == {"hukou_cancellation", "cremation_certificate"}


def test_the_relationship_is_asked_on_every_path_and_never_again_on_the_form():
    """Issue 14 item 11: the 申请表 prints 「与死亡人员关系」 on every application (beside 「申请人姓名」「联系电话」), so
    the questionnaire asks it of every family, whatever the scope answers, and the form never asks it a second time."""
    from miniapp_api.domain.application_form import asked_on_form

    dialog = load_dialog("hunan")
    assert dialog.question("relationship").show_if is None
    scripts = list(_complete_walks(dialog, 150)) + [
        {"relationship": "other", "death_date": "2026-01-10", "local_death": False},
        {"relationship": "sibling", "death_date": "2026-01-10", "local_death": True, "local_hukou": False},
    ]
    for answers in scripts:
        final = engine.state(dialog, dict(answers))
        assert "relationship" in final.facts, answers
        assert "applicant.relationship" not in {f.field for f in asked_on_form(dialog, final.facts)}, answers


def test_the_death_certificate_says_only_how_it_is_issued_where_the_person_died():
    """Issue 14 item 1: 「在医疗机构死亡的，医疗机构应及时在线开具《居民死亡医学证明（推断）书》；在非医疗机构正常死亡的，
    由所在村（居）委会在联办平台发起事项」: the seed routes by the place of death, so the matter names the branch that
    applies and its notes no longer list both."""
    expected = {"medical_institution": ("medical_institution", "医疗机构在线开具", "村（居）委会"),
                "home_or_care_home": ("elsewhere", "村（居）委会", "医疗机构应及时在线开具"),
                "other": ("elsewhere", "村（居）委会", "医疗机构应及时在线开具")}
    for place, (variant, says, not_says) in expected.items():
        _, checklist = walk("hunan", {**BASE, "requested": ["death_certificate_normal"], "death_place": place})
        cert = matter(checklist, "death_certificate_normal")
        assert cert["variant"] == variant, place
        assert says in cert["name"] + " ".join(cert["notes"]), place
        assert not any(not_says in note for note in cert["notes"]), place
        assert len(cert["notes"]) == len(cert["notes_en"]) == 1
