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
