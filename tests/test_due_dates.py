"""Due dates of open work items when the holiday calendar changes (issue 14, item 15): 2027's provisional
statutory holidays, "uncertain" shown to the family, and ``flask deadlines recompute``."""

from __future__ import annotations

import datetime as dt

from miniapp_api.cli import deadlines_group
from miniapp_api.domain.deadlines import CHINA_TZ, load_calendar
from miniapp_api.extensions import db
from miniapp_api.models import AuditEvent, WorkItem
from miniapp_api.services import due_dates
from tests.test_h5_pages import Family
from tests.test_workflow import hunan_case, item_id  # noqa: F401 (fixture)

NEW_YEARS_EVE = dt.datetime(2026, 12, 31, 10, 0, tzinfo=CHINA_TZ)  # a Thursday; Friday 2027-01-01 is 元旦


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _submitted_on_new_years_eve(app, case: dict, weekends_only_due: dt.datetime) -> int:
    """Move the case's submission to 2026-12-31 and give its hukou item the date the weekends-only
    calendar promised (what cases submitted before this change carry)."""
    item = item_id(case, "hukou_cancellation")
    with app.app_context():
        row = db.session.get(WorkItem, item)
        row.case.submitted_at = NEW_YEARS_EVE.astimezone(dt.UTC)
        row.due_at, row.due_uncertain = weekends_only_due.astimezone(dt.UTC), True
        db.session.commit()
    return item


def test_recompute_moves_open_items_to_the_provisional_2027_calendar_and_tells_the_family(client, app, hunan_case):  # noqa: F811
    """Issue 14, item 15: "today deadlines after New Year count weekends only … recompute due dates of open
    work items when the holiday file changes (`flask deadlines recompute`)" and "show 'uncertain' to
    families too". Hunan's 户口注销 promises 2个工作日 (《湖南省…》 时限); from Thursday 2026-12-31 the
    weekends-only count ended on Monday 2027-01-04, but 元旦 (Friday) is a statutory holiday."""
    headers, case = hunan_case
    weekends_only = dt.datetime(2027, 1, 4, 23, 59, 59, tzinfo=CHINA_TZ)
    item = _submitted_on_new_years_eve(app, case, weekends_only)
    expected = load_calendar().add_working_days(NEW_YEARS_EVE, 2)
    assert expected.uncertain and expected.due.date() == dt.date(2027, 1, 5)  # Mon 4th is the first working day

    result = app.test_cli_runner().invoke(deadlines_group, ["recompute"])
    assert result.exit_code == 0, result.output
    assert "hukou_cancellation" in result.output and "(uncertain)" in result.output
    with app.app_context():
        row = db.session.get(WorkItem, item)
        assert _aware(row.due_at) == expected.due and row.due_uncertain
        event = db.session.scalars(db.select(AuditEvent).filter_by(work_item_id=item)).one()
        assert event.actor == due_dates.ACTOR and event.from_status == event.to_status == "submitted"

    family = client.get(f"/api/v1/cases/{case['tracking_code']}", headers=headers).get_json()
    hukou = next(w for w in family["work_items"] if w["id"] == item)
    assert hukou["due_uncertain"] is True
    status = client.post("/api/v1/status", json={"tracking_code": case["tracking_code"], "phone_tail": "8000"})
    assert any(m["due_uncertain"] for m in status.get_json()["matters"])
    page = Family(client, app).post("/h5/status", {"tracking_code": case["tracking_code"], "phone_tail": "8000"})
    assert page.status_code == 200 and "暂估" in page.get_data(as_text=True)

    again = app.test_cli_runner().invoke(deadlines_group, ["recompute"])
    assert again.exit_code == 0 and "0 open work item(s) changed" in again.output  # idempotent


def test_entering_the_notice_makes_open_items_certain_and_leaves_finished_ones(client, app, hunan_case, tmp_path):  # noqa: F811
    """When the State Council's notice is entered in config/holidays.yaml the year is known: open items get
    the notice's date, no longer uncertain; an item already done keeps the date it was worked against."""
    _, case = hunan_case
    item = _submitted_on_new_years_eve(app, case, dt.datetime(2027, 1, 4, 23, 59, 59, tzinfo=CHINA_TZ))
    done = item_id(case, "survivor_benefits")
    with app.app_context():
        finished = db.session.get(WorkItem, done)
        finished.status, finished.due_at, finished.due_uncertain = "done", dt.datetime(2027, 1, 4, tzinfo=dt.UTC), True
        db.session.commit()
    # A made-up notice for the test only (not 2027's real one): 1, 4 and 5 January off.
    notice = tmp_path / "holidays.yaml"
    notice.write_text("2027:\n  holidays: [2027-01-01, 2027-01-04, 2027-01-05]\n  workdays: []\n", encoding="utf-8")
    with app.app_context():
        changes = due_dates.recompute(load_calendar(notice))
        assert [c.item_id for c in changes] == [item]
        row = db.session.get(WorkItem, item)
        assert _aware(row.due_at) == dt.datetime(2027, 1, 7, 23, 59, 59, tzinfo=CHINA_TZ) and not row.due_uncertain
        finished = db.session.get(WorkItem, done)
        assert _aware(finished.due_at) == dt.datetime(2027, 1, 4, tzinfo=dt.UTC) and finished.due_uncertain
