"""`flask dialogs check`: each kind of mistake in a region file is reported with its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from miniapp_api import create_app
from miniapp_api.cli import dialogs_group
from miniapp_api.domain.checker import check_all, check_file
from miniapp_api.domain.vocabulary import DIALOGS_DIR, load_vocabulary


def test_shipped_dialogs_are_sound():
    assert [str(p) for p in check_all()] == []


def test_cli_check_passes_on_shipped_files():
    result = CliRunner().invoke(dialogs_group, ["check"])
    assert result.exit_code == 0, result.output
    assert "sound" in result.output


def copy_region(tmp_path: Path, region: str) -> Path:
    """A copy of a region file to break, and the vocabulary beside it."""
    shutil.copy(DIALOGS_DIR / "vocabulary.yaml", tmp_path / "vocabulary.yaml")
    target = tmp_path / f"{region}.yaml"
    shutil.copy(DIALOGS_DIR / f"{region}.yaml", target)
    return target


@pytest.fixture()
def region_file(tmp_path):
    return copy_region(tmp_path, "xinjiang")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(path: Path) -> list[str]:
    return [str(p) for p in check_file(path, load_vocabulary(path.parent))]


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_unknown_fact_in_a_condition(region_file):
    edit(region_file, '{"var": "funeral_home_registered"}, true]', '{"var": "funeral_home_registred"}, true]')
    found = problems(region_file)
    assert any("unknown fact 'funeral_home_registred'" in p for p in found), found
    assert any(f":{line_of(region_file, 'id: has_cremation_certificate')}:" in p for p in found), found


def test_unknown_matter_id(region_file):
    edit(region_file, "- id: housing_fund_withdrawal", "- id: housing_fund_withdrawl")
    found = problems(region_file)
    assert any("unknown matter id 'housing_fund_withdrawl'" in p for p in found), found
    assert any("requests 'housing_fund_withdrawal', which is not a matter" in p for p in found), found


def test_option_value_outside_the_contract(region_file):
    edit(region_file, "{value: missing, label: 失踪", "{value: vanished, label: 失踪")
    found = problems(region_file)
    assert any("option value 'vanished' is not a value of fact 'death_type'" in p for p in found), found


def test_condition_value_outside_the_contract(region_file):
    edit(region_file, '{"!=": [{"var": "death_type"}, "missing"]}', '{"!=": [{"var": "death_type"}, "lost"]}')
    assert any("'lost' is not a value of fact 'death_type'" in p for p in problems(region_file))


def test_question_that_can_never_be_shown(region_file):
    edit(region_file, 'show_if: {"==": [{"var": "medical_insurance"}, "employee"]}',
         'show_if: {"and": [{"==": [{"var": "medical_insurance"}, "employee"]}, '
         '{"==": [{"var": "medical_insurance"}, "resident"]}]}')
    found = problems(region_file)
    assert any("question 'medical_fees_settled' can never be shown" in p for p in found), found


def test_matter_that_can_never_apply(region_file):
    edit(region_file, 'applies_if: {"==": [{"var": "death_type"}, "normal"]}',
         'applies_if: {"==": [{"var": "disposition"}, "sea_burial"]}')
    found = problems(region_file)
    assert any("matter 'death_certificate_normal' can never apply" in p for p in found), found


def test_optional_matter_nobody_can_request(region_file):
    edit(region_file, "requests: [driving_licence_cancellation]", "requests: []")
    found = problems(region_file)
    assert any("'driving_licence_cancellation' is optional but no question" in p for p in found), found


def test_question_depending_on_a_later_one_and_cycles(region_file):
    edit(region_file, 'show_if: {"==": [{"var": "medical_insurance"}, "employee"]}',
         'show_if: {"==": [{"var": "has_housing_fund"}, true]}')
    found = problems(region_file)
    assert any("depends on a fact set by the later question 'has_housing_fund'" in p for p in found), found
    data = yaml.safe_load(region_file.read_text(encoding="utf-8"))
    by_id = {q["id"]: q for q in data["questions"]}
    by_id["relationship"]["show_if"] = {"==": [{"var": "death_type"}, "normal"]}
    by_id["death_type"]["show_if"] = {"==": [{"var": "relationship"}, "spouse"]}
    region_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert any("cycle between questions: relationship -> death_type -> relationship" in p
               for p in problems(region_file))


def test_schema_errors_name_the_line(region_file):
    edit(region_file, "    type: yes_no\n    fact: has_housing_fund", "    type: maybe\n    fact: has_housing_fund")
    found = problems(region_file)
    assert found and all("schema" in p for p in found)
    assert any(f":{line_of(region_file, 'type: maybe')}:" in p for p in found), found


def test_yaml_syntax_error_is_reported(region_file):
    region_file.write_text("region: xinjiang\nquestions: [\n", encoding="utf-8")
    found = problems(region_file)
    assert found and "YAML syntax" in found[0]


def test_broken_file_stops_the_app_from_starting(region_file):
    for region in ("inner_mongolia", "hunan", "fuyuan", "jining"):
        shutil.copy(DIALOGS_DIR / f"{region}.yaml", region_file.parent / f"{region}.yaml")
    edit(region_file, "- id: housing_fund_withdrawal", "- id: housing_fund_withdrawl")
    with pytest.raises(RuntimeError, match="housing_fund_withdrawl"):
        create_app({"TESTING": True, "DIALOGS_DIR": str(region_file.parent)})


@pytest.fixture()
def hunan_file(tmp_path):
    return copy_region(tmp_path, "hunan")


@pytest.fixture
def fuyuan_file(tmp_path):
    return copy_region(tmp_path, "fuyuan")


def test_a_form_fact_no_path_answers_is_reported_with_the_path(fuyuan_file):
    """Round 1's bug: a region asks the relationship only for survivors' payments, and the form had no field
    (Fuyuan asks it only of the payment's recipient)."""
    edit(fuyuan_file, "    - {fact: relationship, field: applicant.relationship,", "    - {fact: relationship,")
    found = problems(fuyuan_file)
    [problem] = [p for p in found if "the form needs 'relationship'" in p]
    assert f":{line_of(fuyuan_file, '- {fact: relationship,')}:" in problem
    assert "local_death=true" in problem and "requested_matters=[" in problem  # the path, answer by answer
    edit(fuyuan_file, "    - {fact: relationship,", "    - {fact: relationship, field: applicant.relationship,")
    assert problems(fuyuan_file) == []


def test_a_form_fact_missing_from_form_facts_is_reported_at_the_form(fuyuan_file):
    text = fuyuan_file.read_text(encoding="utf-8")
    start = text.index("    - {fact: relationship,")
    fuyuan_file.write_text(text[:start] + text[text.index("\n", start) + 1:], encoding="utf-8")
    found = problems(fuyuan_file)
    assert any(p.startswith(f"{fuyuan_file}:{line_of(fuyuan_file, 'form:')}: the form needs 'relationship'")
               for p in found), found


def test_a_question_nothing_reads_is_reported(hunan_file):
    """Issue 14 item 10: 「死亡人员是否企业职工」 was a question no rule, form rule or form field read."""
    edit(hunan_file, "  - id: medical_insurance\n", """  - id: enterprise_employee
    seed: 申请表 死亡人员是否企业职工
    show_if: *in_scope
    text: 逝者是否企业职工?
    text_en: Was the deceased an enterprise employee?
    type: yes_no
    fact: enterprise_employee

  - id: medical_insurance
""")
    edit(hunan_file, "    - fact: enterprise_employee\n", "    - fact: medical_account_overpaid\n")
    edit(hunan_file, "      field: deceased.enterprise_employee\n", "      field: deceased.medical_account_overpaid\n")
    found = [p for p in problems(hunan_file) if "reads its answer" in p]
    assert found == [f"{hunan_file}:{line_of(hunan_file, '- id: enterprise_employee')}: question 'enterprise_employee': "
                     "no rule, form rule or form field reads its answer (enterprise_employee); make it a form field "
                     "for the department (form.facts with department) or drop it"]


def test_a_question_asked_after_the_only_matter_reading_it_was_declined_is_reported(hunan_file):
    """Issue 14 item 10: a question asked after the family declined the only matters whose preconditions read it
    (Xinjiang's 「逝者生前的医疗费用是否已经结算?」 was one; since 备注 1 holds the mandatory deregistration too,
    Hunan's 注2 question shows the check: only the pension payout and the funeral grant read it)."""
    edit(hunan_file, """        - or:
            - {"in": ["pension_account_payout", {"var": "requested_matters"}]}
            - {"in": ["funeral_grant", {"var": "requested_matters"}]}
        - {"!=": [{"var": "medical_insurance"}, "none"]}""", """        - {"!=": [{"var": "medical_insurance"}, "none"]}""")
    found = [p for p in problems(hunan_file) if "did not ask for" in p]
    assert found == [f"{hunan_file}:{line_of(hunan_file, '- id: medical_account_overpaid')}: question "
                     "'medical_account_overpaid' is shown when the family did not ask for funeral_grant, "
                     "pension_account_payout, the only matters that read its answer; add that to its show_if"]


def test_a_department_field_names_a_known_department(hunan_file):
    edit(hunan_file, "      department: hrss\n      when: &hrss_matter", "      department: hr\n      when: &hrss_matter")
    assert any("form.facts: unknown department 'hr'" in p for p in problems(hunan_file))


def test_a_precondition_that_cannot_be_decided_on_a_path_is_reported(region_file):
    # Xinjiang asks medical_fees_settled only for employee insurance; a precondition reading it for everyone
    # is undecidable on the resident-insurance path.
    edit(region_file, '''          or:
            - {"!=": [{"var": "medical_insurance"}, "employee"]}
            - {"==": [{"var": "medical_fees_settled"}, true]}''',
         '''          "==": [{"var": "medical_fees_settled"}, true]''')
    found = [p for p in problems(region_file) if "cannot be decided" in p]
    assert len(found) == 1, found
    assert f":{line_of(region_file, 'code: medical_fees_unsettled')}:" in found[0]
    assert "medical_insurance=resident" in found[0] or "medical_insurance=none" in found[0]


def test_form_facts_name_a_known_fact_and_a_question_that_asks_it(hunan_file):
    edit(hunan_file, "question: relationship, label", "question: death_type, label")
    assert any("question 'death_type' does not ask 'relationship'" in p for p in problems(hunan_file))


def test_a_region_trip_names_a_known_place_and_reads_asked_facts(region_file):
    """Region-level ``trips`` (a visit the whole service needs, Xinjiang's 「到现场次数」「1次」) are checked like a matter's."""
    edit(region_file, "  - place: service_window\n",
         '  - place: town_hall\n    when: {"==": [{"var": "died_abroad"}, false]}\n')
    found = problems(region_file)
    line = line_of(region_file, "trips:")
    assert f"{region_file}:{line}: unknown place 'town_hall' in trips" in found, found
    assert f"{region_file}:{line}: trip 'town_hall': fact 'died_abroad' is never asked in this region" in found, found


def test_a_to_confirm_note_reads_only_facts_asked_in_the_region(region_file):
    edit(region_file, 'when: &declared_dead {"and": [{"==": [{"var": "death_type"}, "missing"]}, '
                      '{"==": [{"var": "court_declaration"}, "declared_dead"]}]}',
         'when: &declared_dead {"==": [{"var": "died_abroad"}, true]}')
    found = problems(region_file)
    assert any("matter 'medical_insurance_deregistration' to_confirm: fact 'died_abroad' is never asked" in p
               for p in found), found


# --- Matter variants and implied facts (issue 14 items 1 and 2) ----------------------------------------------------

@pytest.fixture
def jining_file(tmp_path):
    return copy_region(tmp_path, "jining")


INSTITUTION_IN_SERVICE = ('      - id: institution_in_service\n        when: {"and": [{"==": [{"var": "pension_insurance"}, '
                          '"institution"]}, {"==": [{"var": "receiving_pension"}, false]}]}')


def test_shipped_variants_are_checked_and_sound():
    """Jining's pension box and survivors' benefits carry variants; the shipped file passes every variant check."""
    from miniapp_api.domain.dialogs import load_dialog

    dialog = load_dialog("jining")
    assert {m.id: len(m.variants) for m in dialog.matters if m.variants} == {"pension_account_payout": 5,
                                                                            "survivor_benefits": 2}
    assert check_all() == []


def test_two_variants_that_can_hold_at_once_are_reported_with_an_example(jining_file):
    """表2 has one matter per 逝者参保类型 × 是否领取养老保险待遇: 「机关事业单位退休人员」 and 「机关事业单位在职人员」 cannot
    both be the deceased."""
    edit(jining_file, INSTITUTION_IN_SERVICE,
         '      - id: institution_in_service\n        when: {"==": [{"var": "pension_insurance"}, "institution"]}')
    found = [p for p in problems(jining_file) if "can both hold" in p]
    assert found == [f"{jining_file}:{line_of(jining_file, '- id: institution_in_service')}: variants "
                     "'institution_retired' and 'institution_in_service' of matter 'pension_account_payout' can both "
                     'hold, e.g. for pension_insurance="institution", receiving_pension=true']


def test_a_variant_that_can_never_hold_where_the_matter_applies_is_reported(jining_file):
    # A resident drawing benefits gets resident_pension_funeral_grant: the pension box does not apply there.
    edit(jining_file, '      - id: resident\n        when: {"and": [{"==": [{"var": "pension_insurance"}, "resident"]}, '
                      '{"==": [{"var": "receiving_pension"}, false]}]}',
         '      - id: resident\n        when: {"and": [{"==": [{"var": "pension_insurance"}, "resident"]}, '
         '{"==": [{"var": "receiving_pension"}, true]}, {"!=": [{"var": "death_type"}, "missing"]}]}')
    found = [p for p in problems(jining_file) if "can never hold" in p]
    assert found == [f"{jining_file}:{line_of(jining_file, '- id: resident')}: variant 'resident' of matter "
                     "'pension_account_payout' can never hold where the matter applies"]


def test_a_variant_naming_an_unknown_material_or_a_repeated_id_is_reported(jining_file):
    """表2's materials are the contract's: 「“公民身后一件事”一张表单」 is application_form."""
    edit(jining_file, INSTITUTION_IN_SERVICE, INSTITUTION_IN_SERVICE + "\n        materials: [application_from]")
    edit(jining_file, "      - id: institution_retired\n", "      - id: enterprise_retired\n")
    found = problems(jining_file)
    assert any("unknown material id 'application_from' in variant 'institution_in_service' of matter "
               "'pension_account_payout'" in p for p in found), found
    assert any("duplicate variant 'enterprise_retired' in matter 'pension_account_payout'" in p for p in found), found


def test_a_variant_condition_is_checked_like_any_other(jining_file):
    edit(jining_file, INSTITUTION_IN_SERVICE, INSTITUTION_IN_SERVICE.replace('"institution"]}, {"==', '"instituton"]}, {"=='))
    found = problems(jining_file)
    assert any("matter 'pension_account_payout' variant 'institution_in_service' when: 'instituton' is not a value of "
               "fact 'pension_insurance'" in p for p in found), found


def test_a_variant_needs_a_name_in_both_languages(jining_file):
    edit(jining_file, '        name_en: "Serving government or public-institution staff: pension personal account payout"\n', "")
    found = problems(jining_file)
    assert any("schema: 'name_en' is a required property" in p for p in found), found


def test_a_path_where_which_variant_applies_cannot_be_decided_is_reported(jining_file):
    """「是否领取养老保险待遇」 decides between 「企业离退休人员…」 and 「企业在职职工…」: a questionnaire that stops asking it
    for the enterprise employees' pension leaves the family with no name for what will be done."""
    edit(jining_file, '{"in": [{"var": "pension_insurance"}, ["resident", "enterprise", "institution"]]}',
         '{"in": [{"var": "pension_insurance"}, ["resident", "institution"]]}')
    found = [p for p in problems(jining_file) if "which variant" in p]
    assert len(found) == 2, found  # the pension box and the survivors' benefits
    assert any("of matter 'pension_account_payout' applies cannot be decided from the answers (pension_insurance, "
               "receiving_pension) on the path" in p and "pension_insurance=enterprise" in p for p in found), found


def test_an_implication_sets_known_facts_to_valid_values(fuyuan_file):
    edit(fuyuan_file, "sets: {institution_staff: true}", "sets: {institution_staf: true}")
    edit(fuyuan_file, "sets: {institution_staff: false}", "sets: {institution_staff: 'no'}")
    found = problems(fuyuan_file)
    assert any("implies: sets unknown fact 'institution_staf'" in p for p in found), found
    assert any(p.startswith(f"{fuyuan_file}:{line_of(fuyuan_file, 'institution_staff: ')}: implies: sets")
               and "institution_staff" in p for p in found), found


def test_an_implication_may_read_a_fact_the_region_does_not_ask_but_only_a_known_one(fuyuan_file):
    """Fuyuan asks no insurance type; its implication reads one a case's facts may bring. A typo is still caught."""
    assert problems(fuyuan_file) == []
    edit(fuyuan_file, '{"==": [{"var": "pension_insurance"}, "institution"]}',
         '{"==": [{"var": "pension_insurence"}, "institution"]}')
    assert any("implies: unknown fact 'pension_insurence'" in p for p in problems(fuyuan_file))
