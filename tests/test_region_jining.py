"""Jining: the one form's fields and boxes, the 服务指南 表2 materials and the flow chart's pension routing."""

import itertools

import pytest

from miniapp_api.domain import rules
from miniapp_api.domain.dialogs import load_dialog
from miniapp_api.domain.vocabulary import validate_facts
from tests.walk import material_ids, matter, status, trip_places, walk

BOXES = [
    "death_certificate_normal",
    "cremation_certificate",
    "pension_account_payout",
    "survivor_benefits",
    "medical_account_withdrawal",
    "housing_fund_withdrawal",
    "hukou_cancellation",
    "driving_licence_cancellation",
]

BASE = {
    "relationship": "child",
    "death_date": "2026-01-10",
    "death_type": "normal",
    "matters": ["death_certificate_normal", "cremation_certificate", "hukou_cancellation"],
}


def pension(insurance: str, drawing: bool | None, boxes=("pension_account_payout",)):
    script = {**BASE, "matters": list(boxes), "pension_insurance": insurance,
              "survivor_pension_insurance": insurance}
    if drawing is not None:
        script["receiving_pension"] = drawing
    return walk("jining", script)


def warning_codes(checklist):
    return {w["code"] for w in checklist["warnings"]}


def test_normal_death_certificate_cremation_and_hukou_with_three_day_limit():
    state, checklist = walk("jining", BASE)
    assert "pension_insurance" not in state.answers  # no pension box, no pension questions
    assert matter(checklist, "death_certificate_normal")["department"] == "health"
    assert matter(checklist, "death_certificate_normal")["materials"] == []
    assert status(checklist, "death_certificate_abnormal") is None
    cremation = matter(checklist, "cremation_certificate")
    assert cremation["status"] == "required" and cremation["department"] == "funeral_home"
    assert set(cremation["materials"]) == {"death_certificate", "deceased_id_card", "applicant_id_card"}
    hukou = matter(checklist, "hukou_cancellation")
    assert set(hukou["materials"]) == {"death_certificate", "household_register", "deceased_id_card",
                                       "applicant_id_card"}
    assert checklist["time_limit"]["working_days"] == 3
    assert all(m["time_limit"]["working_days"] == 3 for m in checklist["matters"])
    assert {t["place"] for t in checklist["trips"]} == {"funeral_home"}
    assert "bring_death_certificate" not in warning_codes(checklist)


def test_only_ticked_boxes_are_listed():
    _, checklist = walk("jining", {**BASE, "matters": ["hukou_cancellation"]})
    assert [m["id"] for m in checklist["matters"]] == ["hukou_cancellation"]
    assert trip_places(checklist) == set()
    assert "bring_death_certificate" in warning_codes(checklist)


def test_abnormal_death_adds_police_certificate_without_a_box():
    _, checklist = walk("jining", {**BASE, "death_type": "abnormal",
                                   "matters": ["cremation_certificate", "hukou_cancellation"]})
    entry = matter(checklist, "death_certificate_abnormal")
    assert entry["status"] == "required" and entry["mandatory"] is True
    assert entry["department"] == "public_security"
    assert entry["materials"] == [] and entry["in_person"] is False
    assert status(checklist, "death_certificate_normal") is None


def test_abnormal_death_cannot_get_the_health_certificate():
    _, checklist = walk("jining", {**BASE, "death_type": "abnormal"})
    assert status(checklist, "death_certificate_normal") == "blocked"
    assert "death_certificate_normal_not_applicable" in warning_codes(checklist)
    assert status(checklist, "death_certificate_abnormal") == "required"


def test_resident_drawing_gets_refund_and_funeral_grant():
    _, checklist = pension("resident", True)
    grant = matter(checklist, "resident_pension_funeral_grant")
    assert grant["status"] == "required" and grant["department"] == "hrss"
    assert grant["materials"] == ["application_form"]
    assert status(checklist, "pension_account_payout") is None
    assert status(checklist, "survivor_benefits") is None
    assert checklist["undecided"] == []


def test_resident_not_drawing_gets_account_refund_only():
    _, checklist = pension("resident", False)
    assert status(checklist, "pension_account_payout") == "required"
    assert matter(checklist, "pension_account_payout")["materials"] == ["application_form"]
    assert status(checklist, "resident_pension_funeral_grant") is None
    assert status(checklist, "survivor_benefits") is None


def test_enterprise_brings_survivor_benefits_whether_drawing_or_not():
    for drawing in (True, False):
        state, checklist = pension("enterprise", drawing)
        assert state.facts["requested_matters"] == ["pension_account_payout"]  # the rules add it, not the dialog
        assert status(checklist, "pension_account_payout") == "required"
        assert status(checklist, "survivor_benefits") == "required"
        assert matter(checklist, "survivor_benefits")["department"] == "hrss"
        assert status(checklist, "resident_pension_funeral_grant") is None
        assert material_ids(checklist) == {"application_form"}


def test_institution_gets_account_payout_only():
    for drawing in (True, False):
        _, checklist = pension("institution", drawing)
        assert status(checklist, "pension_account_payout") == "required"
        assert status(checklist, "survivor_benefits") is None
        assert status(checklist, "resident_pension_funeral_grant") is None


def test_survivor_box_blocked_unless_enterprise_insured():
    for insurance in ("resident", "institution", "none"):
        state, checklist = pension(insurance, False, boxes=("survivor_benefits",))
        assert state.facts["pension_insurance"] == insurance
        assert status(checklist, "survivor_benefits") == "blocked"
        assert "survivor_benefits_not_applicable" in warning_codes(checklist)
    _, checklist = pension("enterprise", True, boxes=("survivor_benefits",))
    assert status(checklist, "survivor_benefits") == "required"


def test_not_insured_blocks_pension_payout_and_skips_drawing_question():
    state, checklist = pension("none", None)
    assert "receiving_pension" not in state.answers
    assert status(checklist, "pension_account_payout") == "blocked"
    assert "pension_not_insured" in warning_codes(checklist)
    assert checklist["materials"] == []


def test_housing_fund_to_deceased_card_needs_social_security_card():
    _, checklist = walk("jining", {**BASE, "matters": ["housing_fund_withdrawal"], "fund_to_heir_account": False})
    entry = matter(checklist, "housing_fund_withdrawal")
    assert entry["department"] == "housing_fund"
    assert set(entry["materials"]) == {"death_certificate", "applicant_id_card", "application_form",
                                       "social_security_card"}


def test_housing_fund_to_heir_card_needs_notarised_certificate():
    _, checklist = walk("jining", {**BASE, "matters": ["housing_fund_withdrawal"], "fund_to_heir_account": True})
    ids = set(matter(checklist, "housing_fund_withdrawal")["materials"])
    assert {"heir_bank_card", "notarised_certificate"} <= ids
    assert "social_security_card" not in ids


def test_medical_account_accepts_the_shared_certificate():
    _, checklist = walk("jining", {**BASE, "matters": ["medical_account_withdrawal"]})
    entry = matter(checklist, "medical_account_withdrawal")
    assert entry["department"] == "medical_security"
    assert set(entry["materials"]) == {"death_certificate", "application_form"}
    assert any("死亡证明或火化证明" in n for n in entry["notes"])


def test_driving_licence_is_silent_processing():
    _, checklist = walk("jining", {**BASE, "matters": ["driving_licence_cancellation"]})
    entry = matter(checklist, "driving_licence_cancellation")
    assert entry["status"] == "required" and entry["department"] == "public_security"
    assert entry["materials"] == ["death_certificate"]
    assert entry["in_person"] is False
    assert checklist["trips"] == []


def test_declared_dead_is_to_confirm_with_the_judgment_not_blocked():
    """Issue 14 item 4. The seed lists 「（四）参保人员个人账户一次性支取（基本医疗保险）」「（五）个人账户一次性待遇申领
    （养老保险）」「（六）遗属待遇申领」「（八）驾驶证注销」 with no exclusion, and names the declared death only to
    include it: 「死亡、宣告死亡办理户口注销」, 「公积金部门根据共享材料办理死亡或被宣告死亡提取公积金」. So a declared
    death asks the pension questions and lists those matters as can be handled, each to confirm with the court
    judgment, which stands in for the death certificate; only what needs a body (certificate, cremation) is not."""
    script = {**BASE, "death_type": "missing", "matters": BOXES, "fund_to_heir_account": False,
              "pension_insurance": "enterprise", "receiving_pension": True}
    state, checklist = walk("jining", script)
    assert state.answers["pension_insurance"] == "enterprise"
    for blocked in ("death_certificate_normal", "cremation_certificate"):
        assert status(checklist, blocked) == "blocked", blocked
    for kept in ("pension_account_payout", "survivor_benefits", "medical_account_withdrawal",
                 "driving_licence_cancellation"):
        entry = matter(checklist, kept)
        assert entry["status"] == "required", kept
        assert "reasons" not in entry, kept
        assert any("宣告死亡的判决书" in t for t in entry["to_confirm"]), kept
        assert len(entry["to_confirm_en"]) == len(entry["to_confirm"])
        assert "death_certificate" not in entry["materials"], kept
    assert "other_documents" in matter(checklist, "driving_licence_cancellation")["materials"]
    assert status(checklist, "hukou_cancellation") == "required"
    assert status(checklist, "housing_fund_withdrawal") == "required"
    assert "to_confirm" not in matter(checklist, "hukou_cancellation")  # the seed names it: nothing to confirm
    assert "other_documents" in material_ids(checklist)
    assert "death_certificate" not in material_ids(checklist)
    assert "declared_dead" in warning_codes(checklist)
    assert checklist["trips"] == []


def test_declared_dead_resident_drawing_a_pension_gets_the_funeral_grant_to_confirm():
    """Issue 14 item 4: 「（五）个人账户一次性待遇申领（养老保险）」 is routed by 逝者参保类型 for a declared death too."""
    script = {**BASE, "death_type": "missing", "matters": ["pension_account_payout"],
              "pension_insurance": "resident", "receiving_pension": True}
    _, checklist = walk("jining", script)
    grant = matter(checklist, "resident_pension_funeral_grant")
    assert grant["status"] == "required"
    assert any("宣告死亡的判决书" in t for t in grant["to_confirm"])
    assert status(checklist, "pension_account_payout") is None


def test_a_normal_death_has_nothing_to_confirm_with_a_judgment():
    _, checklist = walk("jining", {**BASE, "matters": BOXES, "pension_insurance": "enterprise",
                                   "receiving_pension": False, "fund_to_heir_account": False})
    for entry in checklist["matters"]:
        assert "to_confirm" not in entry, entry["id"]


def test_other_relationship_is_reminded_who_may_apply():
    _, checklist = walk("jining", {**BASE, "relationship": "other"})
    assert "applicant_relationship" in warning_codes(checklist)


def _all_walks():
    """Every answer path through the questions that decide something (relationship, date fixed)."""
    from miniapp_api.domain import engine, rules
    from miniapp_api.domain.dialogs import load_dialog

    dialog = load_dialog("jining")
    fixed = {"relationship": "spouse", "death_date": "2026-01-10"}
    subsets = [list(c) for n in range(1, len(BOXES) + 1) for c in itertools.combinations(BOXES, n)]
    stack = [{}]
    while stack:
        answers = stack.pop()
        current = engine.state(dialog, answers).current
        if current is None:
            final = engine.state(dialog, answers)
            yield answers, final, rules.evaluate_checklist(dialog, final.rule_facts)
            continue
        if current.id in fixed:
            values = [fixed[current.id]]
        elif current.type == "multiple":
            values = subsets
        else:
            values = [o.value for o in current.options]
        for value in values:
            stack.append(engine.answer(dialog, answers, current.id, value))


def test_every_complete_walk_decides_every_matter():
    walks = 0
    for answers, final, checklist in _all_walks():
        walks += 1
        assert final.progress.remaining == 0, answers
        assert checklist["undecided"] == [], (answers, checklist["undecided"])
        required = {m["id"] for m in checklist["matters"] if m["status"] == "required"}
        for material in checklist["materials"]:
            assert set(material["for_matters"]) <= required, (answers, material)
        assert {t["place"] for t in checklist["trips"]} <= {"funeral_home"}
    assert walks > 1000


def test_scripted_walks_leave_nothing_undecided():
    scripts = [
        BASE,
        {**BASE, "matters": BOXES, "pension_insurance": "resident", "receiving_pension": True,
         "fund_to_heir_account": True},
        {**BASE, "death_type": "abnormal", "matters": ["survivor_benefits"], "survivor_pension_insurance": "none"},
        {**BASE, "death_type": "missing", "matters": ["pension_account_payout", "hukou_cancellation"],
         "pension_insurance": "none"},
        {**BASE, "matters": ["pension_account_payout", "survivor_benefits"], "pension_insurance": "institution",
         "receiving_pension": False},
    ]
    for script in scripts:
        _, checklist = walk("jining", script)
        assert checklist["undecided"] == [], script
        assert checklist["eligible"] is True


# --- Issue 14 items 1 and 2: the pension box resolved by the rules into the one matter that applies ---------------

PENSION_VARIANTS = [
    ("resident", False, "resident", "居民养老保险一次性待遇核定支付（个人账户返还）"),
    ("enterprise", True, "enterprise_retired", "企业离退休人员个人账户一次性待遇申领"),
    ("enterprise", False, "enterprise_in_service", "企业在职职工个人账户一次性待遇申领"),
    ("institution", True, "institution_retired", "机关事业单位退休人员养老保险个人账户一次性待遇申领"),
    ("institution", False, "institution_in_service", "机关事业单位在职人员养老保险个人账户一次性待遇申领"),
]


def checklist_for(facts):
    """The rules alone, from facts as a department system or `flask checklist` gives them (no dialog)."""
    base = {"relationship": "child", "death_date": "2026-01-10", "death_type": "normal"}
    return rules.evaluate_checklist(load_dialog("jining"), validate_facts({**base, **facts}))


@pytest.mark.parametrize(("insurance", "drawing", "variant", "name"), PENSION_VARIANTS, ids=[v[2] for v in PENSION_VARIANTS])
def test_the_pension_box_names_the_one_matter_that_applies(insurance, drawing, variant, name):
    """「人社部门根据逝者参保类型推送办理」: 表2 names the matters (「企业离退休人员遗属待遇及个人账户余额申领」,
    「机关事业单位退休人员」/「机关事业单位在职人员」…「一次性待遇申领」), the flow chart the actions
    (「办理个人账户返还」, 「办理企业离退休人员个人账户一次性待遇申领、遗属待遇申领」,
    「办理企业在职职工个人账户一次性待遇申领、遗属待遇申领」, 「办理机关事业单位工作人员养老保险个人账户一次性待遇申领」).
    The family sees the one for their 逝者参保类型 × 是否领取养老保险待遇, not every branch in a note."""
    _, checklist = pension(insurance, drawing)
    entry = matter(checklist, "pension_account_payout")
    assert entry["status"] == "required" and entry["department"] == "hrss"
    assert (entry["variant"], entry["name"]) == (variant, name)
    assert entry["name_en"] and entry["name_en"] != entry["name"]
    assert entry["materials"] == ["application_form"]  # 表2: 「“公民身后一件事”一张表单」 for all five
    assert entry["time_limit"]["working_days"] == 3
    assert "to_confirm" not in entry
    others = {n for _, _, v, n in PENSION_VARIANTS if v != variant}
    assert not any(other in note for note in entry["notes"] for other in others)
    assert not any("城乡居民" in note and "机关事业" in note for note in entry["notes"])  # no note lists every branch


def test_each_pension_variant_says_where_its_money_goes():
    """申请表 备注: 「企业和机关事业退休人员待遇默认划入逝者社保卡；居民养老保险一次性待遇核定支付及在职职工遗属待遇可选择
    逝者社保卡或继承人开户银行」 (one line in the seed)."""
    notes = {variant: " ".join(matter(pension(insurance, drawing)[1], "pension_account_payout")["notes"])
             for insurance, drawing, variant, _ in PENSION_VARIANTS}
    assert "可选择逝者社保卡或继承人开户银行" in notes["resident"]
    for retired in ("enterprise_retired", "institution_retired"):
        assert "默认划入逝者社保卡" in notes[retired]
    for serving in ("enterprise_in_service", "institution_in_service"):
        assert "默认划入逝者社保卡" not in notes[serving]


@pytest.mark.parametrize(("drawing", "variant", "name"), [
    (True, "enterprise_retired", "企业离退休人员遗属待遇申领"),
    (False, "enterprise_in_service", "企业在职职工遗属待遇申领"),
], ids=["retired", "in_service"])
def test_the_rules_bring_survivor_benefits_with_the_enterprise_pension_box(drawing, variant, name):
    """「城镇企业职工养老保险」…「办理企业离退休人员个人账户一次性待遇申领、遗属待遇申领」 / 「办理企业在职职工个人账户一次性
    待遇申领、遗属待遇申领」: the rules, not only the dialog, turn the pension box into both matters."""
    checklist = checklist_for({"requested_matters": ["pension_account_payout"], "pension_insurance": "enterprise",
                               "receiving_pension": drawing})
    survivors = matter(checklist, "survivor_benefits")
    assert survivors["status"] == "required" and survivors["department"] == "hrss"
    assert (survivors["variant"], survivors["name"]) == (variant, name)
    assert matter(checklist, "pension_account_payout")["variant"] == variant
    assert checklist["undecided"] == []


def test_the_survivor_box_alone_is_named_by_the_branch_too():
    """「企业在职职工遗属待遇及」…: the 遗属待遇申领 box of an enterprise employee who drew no pension."""
    _, checklist = pension("enterprise", False, boxes=("survivor_benefits",))
    entry = matter(checklist, "survivor_benefits")
    assert (entry["status"], entry["variant"], entry["name"]) == ("required", "enterprise_in_service", "企业在职职工遗属待遇申领")
    assert status(checklist, "pension_account_payout") is None


def test_the_resident_and_institution_pension_box_brings_no_survivor_benefits():
    """表2 names 遗属待遇 only in the 企业 rows (「企业离退休人员遗属待遇及个人账户余额申领」); the pension box
    alone does not ask for it, so it is neither listed nor blocked."""
    for insurance in ("resident", "institution"):
        checklist = checklist_for({"requested_matters": ["pension_account_payout"], "pension_insurance": insurance,
                                   "receiving_pension": False})
        assert status(checklist, "survivor_benefits") is None


def test_a_pension_box_whose_branch_is_not_known_yet_is_listed_with_what_to_confirm():
    """「是否领取养老保险待遇」 not known yet: the matter applies (城镇企业职工养老保险), only which form it takes is
    open, so the family sees the box it ticked and both possibilities to confirm, never a guessed name."""
    checklist = checklist_for({"requested_matters": ["pension_account_payout"], "pension_insurance": "enterprise"})
    for matter_id in ("pension_account_payout", "survivor_benefits"):
        entry = matter(checklist, matter_id)
        assert entry["status"] == "required" and entry["variant"] is None
        confirm = " ".join(entry["to_confirm"])
        assert "企业离退休人员" in confirm and "企业在职职工" in confirm
        assert len(entry["to_confirm_en"]) == len(entry["to_confirm"])
    assert matter(checklist, "pension_account_payout")["name"] == "个人账户一次性待遇申领（养老保险）"
    assert matter(checklist, "survivor_benefits")["name"] == "遗属待遇申领"


def test_every_complete_walk_names_each_pension_matter_it_handles():
    """No walk hands a family the generic pension or survivors' name for a matter that goes ahead."""
    for answers, _, checklist in _all_walks():
        for entry in checklist["matters"]:
            if entry["id"] in ("pension_account_payout", "survivor_benefits") and entry["status"] == "required":
                assert entry["variant"] is not None, (answers, entry)
                # nothing left to confirm about which form it takes (a declared death still confirms the judgment)
                assert not any(t.startswith("办理的是以下哪一项") for t in entry.get("to_confirm", [])), (answers, entry)
