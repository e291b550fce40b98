"""Issue 14 item 12: time made concrete in the checklist JSON. Hunan's 「次月终止」 is the month, from the date
of death; the order a region requires (`after`) is on each matter; the whole service's limit becomes the
case's deadline once it is submitted (counted from the submission, as the seeds count it)."""

from __future__ import annotations

import datetime as dt

import pytest

from miniapp_api.cli import deadlines_group
from miniapp_api.domain import deadlines, rules
from miniapp_api.domain.dialogs import load_dialog
from miniapp_api.domain.vocabulary import validate_facts
from miniapp_api.extensions import db
from miniapp_api.models import Case
from tests.test_applications import good_form, questionnaire, sign_in, submit
from tests.walk import matter, walk

HUNAN = {"relationship": "child", "death_date": "2026-11-15", "local_death": True, "local_hukou": True,
         "death_type": "normal", "requested": ["hukou_cancellation"]}
WELFARE = {"subsistence_allowance_termination": "低保待遇", "extreme_poverty_support_termination": "特困人员救助供养",
           "elderly_allowance_termination": "老年人福利补贴",
           "disability_subsidies_termination": "困难残疾人生活补贴和重度残疾人护理补贴"}
EVERY_WELFARE = ["subsistence_allowance", "extreme_poverty", "elderly_allowance", "disability_living"]


# --- 次月终止 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("death_date", "month", "month_zh"),
                         [("2026-11-15", "2026-12", "2026年12月"), ("2025-12-31", "2026-01", "2026年1月"),
                          ("2026-01-01", "2026-02", "2026年2月")])
def test_hunan_welfare_stops_in_the_month_after_the_death(death_date, month, month_zh):
    """湖南 办结 4: 「以《居民死亡医学证明（推断）书》的死亡日期为期，……其中低保、特困人员救助供养终止、老年人福利补贴、
    困难残疾人生活补贴和重度残疾人护理补贴等待遇于次月终止」: the checklist names that month."""
    _, checklist = walk("hunan", {**HUNAN, "death_date": death_date, "welfare": EVERY_WELFARE})
    for matter_id, benefit in WELFARE.items():
        entry = matter(checklist, matter_id)
        assert entry["stops_month"] == month, matter_id
        assert f"{benefit}自{month_zh}起终止。" in entry["notes"], entry["notes"]
        assert any("次月终止" in n for n in entry["notes"])  # the seed's own words stay
        assert len(entry["notes"]) == len(entry["notes_en"])
        assert any(dt.date.fromisoformat(f"{month}-01").strftime("%B %Y") in n for n in entry["notes_en"])


def test_hunan_welfare_month_is_not_guessed_without_the_date_of_death():
    """「以《居民死亡医学证明（推断）书》的死亡日期为期」: without the date of death there is no month to name, only
    the seed's 「次月终止」."""
    dialog = load_dialog("hunan")
    facts = validate_facts({"local_death": True, "local_hukou": True, "welfare": ["subsistence_allowance"],
                            "requested_matters": []})
    entry = matter(rules.evaluate_checklist(dialog, facts), "subsistence_allowance_termination")
    assert "stops_month" not in entry
    assert entry["notes"] == ["以《居民死亡医学证明（推断）书》的死亡日期为期，低保待遇于次月终止。"]


def test_matters_without_a_month_have_none():
    """Only the matters the seed says stop 「于次月」 get a month (办结 4 gives 户口注销 2个工作日 instead)."""
    _, checklist = walk("hunan", {**HUNAN, "welfare": ["none"]})
    assert "stops_month" not in matter(checklist, "hukou_cancellation")


# --- after -------------------------------------------------------------------------------------------------

IM = {"died_abroad": False, "applicant_is_proxy": False, "relationship": "spouse", "death_type": "normal",
      "death_date": "2026-01-10", "disposition": "cremation", "has_cremation_certificate": False,
      "welfare": ["none"], "veteran_beneficiary": False, "low_income": False, "pension_insurance": "none",
      "receiving_unemployment_benefit": False, "medical_insurance": "employee", "medical_fees_settled": True,
      "medical_account": True, "has_housing_fund": False, "has_driving_licence": False, "is_household_head": False}


def test_inner_mongolia_order_is_in_the_checklist():
    """内蒙古 办事指南 8: 「最后办结户口注销手续」; 申请表 备注 2: 「逝者结清生前医保费用结算后, 方可注销其医保参保关系、
    参保人员个人账户一次性支取(基本医疗保险)。」 Each matter says which listed matters come first."""
    _, checklist = walk("inner_mongolia", IM)
    ids = [m["id"] for m in checklist["matters"]]
    assert matter(checklist, "medical_account_withdrawal")["after"] == ["medical_insurance_deregistration"]
    assert matter(checklist, "hukou_cancellation")["after"] == [i for i in ids if i != "hukou_cancellation"]
    assert matter(checklist, "cremation_certificate")["after"] == []


def test_xinjiang_account_payout_after_deregistration():
    """新疆 备注 1: 「医疗费用审核结算拨付后，单位经办人员申请人员减少并做人员终止参保，由单位经办人或继承人（代理人）
    办理个人账户一次性支取」: the payout comes after 人员减少、终止参保."""
    dialog = load_dialog("xinjiang")
    facts = validate_facts({"relationship": "spouse", "death_date": "2026-01-10", "death_type": "normal",
                            "funeral_home_registered": True, "has_cremation_certificate": True,
                            "disposition": "cremation", "medical_insurance": "resident", "has_housing_fund": False,
                            "requested_matters": ["medical_account_withdrawal"]})
    checklist = rules.evaluate_checklist(dialog, facts)
    assert matter(checklist, "medical_account_withdrawal")["after"] == ["medical_insurance_deregistration"]
    assert matter(checklist, "medical_insurance_deregistration")["after"] == []


def test_after_names_only_matters_that_go_ahead():
    """「最后办结户口注销手续」: the hukou waits for the matters handled in this case, not for one that is blocked."""
    _, checklist = walk("inner_mongolia", {**IM, "medical_fees_settled": False})
    assert matter(checklist, "medical_insurance_deregistration")["status"] == "blocked"
    assert "medical_insurance_deregistration" not in matter(checklist, "hukou_cancellation")["after"]


# --- the case's deadline ------------------------------------------------------------------------------------

JINING = {"relationship": "spouse", "death_date": "2026-01-10", "death_type": "normal",
          "matters": ["hukou_cancellation"]}


def _jining_case(client, app, wechat_peer) -> tuple[dict, str, dict]:
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, region="jining", script=JINING)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    response = submit(client, headers, sid)
    assert response.status_code == 201, response.get_json()
    return headers, sid, response.get_json()


def test_jining_case_deadline_is_three_working_days_from_submission(client, app, wechat_peer):
    """济宁 受理: 「根据所选的联办事项不同，办理时限也不相同，一般不超过3个工作日。」 counted 「在接到有关申请后」: before
    submission the checklist gives the limit; the submitted case's checklist gives the date."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers, region="jining", script=JINING)
    before = client.get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
    assert before["time_limit"]["working_days"] == 3 and "deadline" not in before

    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    case = submit(client, headers, sid).get_json()
    with app.app_context():
        row = db.session.scalars(db.select(Case).filter_by(questionnaire_id=sid)).one()
        submitted = row.submitted_at if row.submitted_at.tzinfo else row.submitted_at.replace(tzinfo=dt.UTC)
        stored = row.checklist["deadline"]
    expected = deadlines.deadline_for({"working_days": 3}, submitted.astimezone(deadlines.CHINA_TZ),
                                      deadlines.load_calendar())
    assert stored["working_days"] == 3 and stored["counted_from"] == "submission"
    assert stored["date"] == expected.due.date().isoformat()
    assert dt.datetime.fromisoformat(stored["due_at"]) == expected.due
    assert stored["uncertain"] is expected.uncertain
    assert stored["text"] == "3个工作日以内" and stored["text_en"]

    after = client.get(f"/api/v1/questionnaires/{sid}/checklist", headers=headers).get_json()
    assert after["deadline"] == stored
    family = client.get(f"/api/v1/cases/{case['tracking_code']}", headers=headers).get_json()
    assert family["checklist"]["deadline"] == stored
    hukou = next(w for w in family["work_items"] if w["matter"] == "hukou_cancellation")
    assert dt.datetime.fromisoformat(hukou["due_at"]) == expected.due  # the matter inherits the service's limit


def test_a_region_without_a_whole_service_limit_has_no_case_deadline(client, app, wechat_peer):
    """湖南 二（四）办结 sets a limit per matter (「2个工作日内进行户口注销」), none for the whole service: the case
    has no deadline of its own, each work item keeps its due date."""
    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    case = submit(client, headers, sid).get_json()
    assert case["checklist"]["deadline"] is None
    assert next(w for w in case["work_items"] if w["matter"] == "hukou_cancellation")["due_at"] is not None


def test_recompute_moves_the_case_deadline_with_the_calendar(client, app, wechat_peer):
    """「一般不超过3个工作日」 after 2026-12-31: 元旦 2027 is a statutory holiday, so when the calendar changes the
    case's deadline moves with its work items' (flask deadlines recompute), provisional until the notice is in."""
    _, sid, _ = _jining_case(client, app, wechat_peer)
    new_years_eve = dt.datetime(2026, 12, 31, 10, 0, tzinfo=deadlines.CHINA_TZ)
    with app.app_context():
        row = db.session.scalars(db.select(Case).filter_by(questionnaire_id=sid)).one()
        row.submitted_at = new_years_eve.astimezone(dt.UTC)
        row.checklist = {**row.checklist, "deadline": {**row.checklist["deadline"], "date": "2027-01-05",
                                                       "due_at": "2027-01-05T15:59:59+00:00", "uncertain": True}}
        for item in row.work_items:
            item.due_at = dt.datetime(2027, 1, 5, 15, 59, 59, tzinfo=dt.UTC)
        db.session.commit()
    expected = deadlines.load_calendar().add_working_days(new_years_eve, 3)
    assert expected.due.date() == dt.date(2027, 1, 6)

    result = app.test_cli_runner().invoke(deadlines_group, ["recompute"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session.scalars(db.select(Case).filter_by(questionnaire_id=sid)).one().checklist["deadline"]
    assert stored["date"] == "2027-01-06" and stored["uncertain"] is expected.uncertain
    assert dt.datetime.fromisoformat(stored["due_at"]) == expected.due


def test_a_clerk_sees_the_order_only_among_their_own_matters():
    """「最后办结户口注销手续」 names every other matter of the case; a police clerk sees only the police's matters
    (最小必要), so the order they see names none of the welfare or medical ones."""
    from miniapp_api.domain import need_to_know

    _, checklist = walk("inner_mongolia", {**IM, "welfare": ["subsistence_allowance"]})
    assert "subsistence_allowance_termination" in matter(checklist, "hukou_cancellation")["after"]
    view = need_to_know.checklist_view(checklist, need_to_know.for_department(
        checklist, "public_security", need_to_know.Rule(frozenset(need_to_know.GROUPS), "own_matters")))
    hukou = matter(view, "hukou_cancellation")
    assert hukou["after"] == [m["id"] for m in view["matters"] if m["id"] != "hukou_cancellation"]
    assert all(m["department"] == "public_security" for m in view["matters"])
    assert need_to_know.checklist_view(checklist, need_to_know.EVERYTHING) == checklist
