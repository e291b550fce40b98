"""Matter variants and implied facts in the rules: what a variant replaces, and what follows from facts already known."""

from __future__ import annotations

import shutil

from miniapp_api.domain import rules
from miniapp_api.domain.dialogs import load_dialog
from miniapp_api.domain.vocabulary import DIALOGS_DIR, validate_facts

ENTERPRISE_RETIRED = ('        name_en: "Enterprise retiree: pension personal account payout"\n')


def jining_with(tmp_path, old: str, new: str):
    """Jining's dialog from a copy with one edit (the shipped file stays as it is)."""
    shutil.copy(DIALOGS_DIR / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
    text = (DIALOGS_DIR / "jining.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "jining.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_dialog("jining", tmp_path)


def facts(**extra):
    return validate_facts({"relationship": "child", "death_date": "2026-01-10", "death_type": "normal",
                           "requested_matters": ["pension_account_payout"], **extra})


def entry(checklist, matter_id):
    return next(m for m in checklist["matters"] if m["id"] == matter_id)


def test_a_variant_replaces_the_materials_and_time_limit_it_gives_and_keeps_the_rest(tmp_path):
    dialog = jining_with(tmp_path, ENTERPRISE_RETIRED, ENTERPRISE_RETIRED
                         + "        materials: [application_form, social_security_card]\n"
                         + "        time_limit: {working_days: 1, text: 1个工作日内, text_en: within 1 working day}\n")
    checklist = rules.evaluate_checklist(dialog, facts(pension_insurance="enterprise", receiving_pension=True))
    retired = entry(checklist, "pension_account_payout")
    assert retired["variant"] == "enterprise_retired"
    assert retired["materials"] == ["application_form", "social_security_card"]
    assert retired["time_limit"]["working_days"] == 1
    assert "social_security_card" in [m["id"] for m in checklist["materials"]]  # the one set of materials follows
    checklist = rules.evaluate_checklist(dialog, facts(pension_insurance="enterprise", receiving_pension=False))
    serving = entry(checklist, "pension_account_payout")
    assert serving["variant"] == "enterprise_in_service"
    assert serving["materials"] == ["application_form"] and serving["time_limit"]["working_days"] == 3  # the matter's


def test_a_matter_none_of_whose_variants_holds_keeps_its_own_name_and_says_so():
    """「逝者参保类型」 未参保: no pension to route; the box stays as the family ticked it, blocked with why."""
    checklist = rules.evaluate_checklist(load_dialog("jining"), facts(pension_insurance="none"))
    payout = entry(checklist, "pension_account_payout")
    assert payout["status"] == "blocked" and payout["variant"] is None
    assert payout["name"] == "个人账户一次性待遇申领（养老保险）" and "to_confirm" not in payout


def test_a_matter_without_variants_has_no_variant_key():
    checklist = rules.evaluate_checklist(load_dialog("jining"), facts(requested_matters=["hukou_cancellation"]))
    assert "variant" not in entry(checklist, "hukou_cancellation")


def test_implied_facts_follow_only_from_known_facts_and_never_override_an_answer():
    """Fuyuan 登记表: 「注:若亡故人为机关事业单位人员领取丧葬抚恤金按照原流程办理」."""
    dialog = load_dialog("fuyuan")
    assert rules.with_implied(dialog, {"pension_insurance": "institution"})["institution_staff"] is True
    assert rules.with_implied(dialog, {"pension_insurance": "enterprise"})["institution_staff"] is False
    assert "institution_staff" not in rules.with_implied(dialog, {"pension_insurance": "none"})
    assert "institution_staff" not in rules.with_implied(dialog, {"pension_insurance": None})
    assert rules.with_implied(dialog, {"pension_insurance": "institution", "institution_staff": None})["institution_staff"]
    given = {"pension_insurance": "institution", "institution_staff": False}
    assert rules.with_implied(dialog, given) == given  # the family's answer wins
