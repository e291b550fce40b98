"""Deadlines in Chinese working days: holidays, adjusted working weekends, unknown years, the override file.

Every expected date below was checked against chinese-calendar 1.11.0 and the State Council notices
(2025: 国庆/中秋 Oct 1-8 off, Sun Sep 28 and Sat Oct 11 working; 2026: 春节 Feb 15-23 off, Sat Feb 14
and Sat Feb 28 working).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from miniapp_api.domain.deadlines import (
    CHINA_TZ,
    DEFAULT_HOLIDAYS_FILE,
    Deadline,
    WorkingCalendar,
    deadline_for,
    is_due_soon,
    is_overdue,
    load_calendar,
)


def cn(text: str) -> datetime:
    """A China-time instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def end_of(day: str) -> datetime:
    return cn(f"{day} 23:59:59")


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return load_calendar()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- Known years ------------------------------------------------------------------------------------

def test_national_day_2025_is_skipped_and_adjusted_saturday_counts(cal):
    # Received Tue 2025-09-30: Oct 1-8 off; Thu Oct 9 (1), Fri Oct 10 (2), Sat Oct 11 adjusted working day (3).
    deadline = cal.add_working_days(cn("2025-09-30 10:00"), 3)
    assert deadline == Deadline(due=end_of("2025-10-11"), uncertain=False, warning=None)
    assert cal.add_working_days(cn("2025-09-30 10:00"), 1).due == end_of("2025-10-09")
    assert cal.add_working_days(cn("2025-09-30 10:00"), 5).due == end_of("2025-10-14")  # Sun Oct 12 is off


def test_adjusted_working_weekend_days_are_working_days(cal):
    assert date(2025, 10, 11).weekday() == 5 and cal.is_working_day(date(2025, 10, 11))
    assert date(2025, 9, 28).weekday() == 6 and cal.is_working_day(date(2025, 9, 28))  # a Sunday in 2025
    assert not cal.is_working_day(date(2025, 9, 27))
    # Received Fri 2025-09-26: Sat 27 off, Sun 28 adjusted working day is the 1st working day.
    assert cal.add_working_days(cn("2025-09-26 16:00"), 1).due == end_of("2025-09-28")
    assert cal.add_working_days(cn("2025-09-26 16:00"), 2).due == end_of("2025-09-29")


def test_spring_festival_2026(cal):
    # chinese-calendar 2026: Feb 15 (Sun) - Feb 23 (Mon) off; Sat Feb 14 and Sat Feb 28 working.
    assert [d for d in (date(2026, 2, 13) + timedelta(days=i) for i in range(17)) if not cal.is_working_day(d)] == [
        date(2026, 2, 15) + timedelta(days=i) for i in range(9)
    ] + [date(2026, 3, 1)]
    assert cal.is_working_day(date(2026, 2, 14)) and cal.is_working_day(date(2026, 2, 28))
    start = cn("2026-02-13 09:30")  # Friday
    assert cal.add_working_days(start, 1).due == end_of("2026-02-14")
    assert cal.add_working_days(start, 2).due == end_of("2026-02-24")
    assert cal.add_working_days(start, 5).due == end_of("2026-02-27")
    assert not cal.add_working_days(start, 5).uncertain


def test_plain_weekend_is_skipped(cal):
    assert cal.add_working_days(cn("2025-03-07 09:00"), 1).due == end_of("2025-03-10")  # Fri -> Mon
    assert cal.add_working_days(cn("2025-03-06 09:00"), 2).due == end_of("2025-03-10")  # Thu -> Mon
    assert cal.add_working_days(cn("2025-03-06 09:00"), 5).due == end_of("2025-03-13")


def test_day_of_receipt_does_not_count_whatever_the_hour(cal):
    assert cal.add_working_days(cn("2025-03-04 00:00"), 1).due == end_of("2025-03-05")
    assert cal.add_working_days(cn("2025-03-04 23:59"), 1).due == end_of("2025-03-05")
    # Received on a weekend: the first working day after it is day 1.
    assert cal.add_working_days(cn("2025-03-08 10:00"), 1).due == end_of("2025-03-10")


def test_zero_working_days(cal):
    assert cal.add_working_days(cn("2025-03-07 21:30"), 0).due == end_of("2025-03-07")  # Friday evening: same day
    assert cal.add_working_days(cn("2025-03-08 10:00"), 0).due == end_of("2025-03-10")  # Saturday: Monday
    assert cal.add_working_days(cn("2025-10-01 10:00"), 0).due == end_of("2025-10-09")  # National Day: after it
    assert cal.add_working_days(cn("2025-10-11 10:00"), 0).due == end_of("2025-10-11")  # adjusted Saturday


def test_start_in_another_zone_uses_the_china_day(cal):
    # 2025-03-07 17:00 UTC is Sat 2025-03-08 01:00 in China.
    start = datetime(2025, 3, 7, 17, 0, tzinfo=UTC)
    assert cal.add_working_days(start, 0).due == end_of("2025-03-10")
    assert cal.add_working_days(start, 1).due.utcoffset() == timedelta(hours=8)


def test_matches_chinese_calendar_find_workday_for_every_working_day_of_2025(cal):
    # find_workday(n, d) is the n-th working day after d when d is a working day: an independent check.
    for offset in range(365):
        day = date(2025, 1, 1) + timedelta(days=offset)
        if chinese_calendar.is_workday(day):
            for n in (0, 1, 2, 5, 15):
                expected = chinese_calendar.find_workday(n, day)
                assert cal.add_working_days(datetime(day.year, day.month, day.day, 12, tzinfo=CHINA_TZ), n).due.date() == expected


# --- Hours --------------------------------------------------------------------------------------------

def test_hours_are_clock_hours_across_midnight_and_holidays(cal):
    assert cal.add_hours(cn("2025-03-07 22:30"), 4) == Deadline(due=cn("2025-03-08 02:30"))
    assert cal.add_hours(cn("2025-09-30 23:00"), 4).due == cn("2025-10-01 03:00")  # into the holiday
    assert cal.add_hours(datetime(2025, 3, 7, 15, 0, tzinfo=UTC), 4).due == cn("2025-03-08 03:00")
    late = cal.add_hours(cn("2027-12-31 22:00"), 4)  # an unknown year does not matter for clock hours
    assert late.due == cn("2028-01-01 02:00") and not late.uncertain


# --- Unknown years and the override file -------------------------------------------------------------

def test_a_year_past_every_calendar_is_weekends_only_and_uncertain(cal):
    assert cal.known(date(2026, 12, 31)) and not cal.known(date(2101, 1, 1))
    assert not cal.provisional(date(2101, 3, 4))  # the holidays package stops at 2100
    deadline = cal.add_working_days(cn("2101-03-04 10:00"), 1)  # Friday
    assert deadline.due == end_of("2101-03-07")  # Monday
    assert deadline.uncertain
    assert "2101年" in deadline.warning and "2101" in deadline.warning.split("。", 1)[1]
    assert "not known" in deadline.warning


def test_2027_counts_the_statutory_holidays_provisionally():
    """Issue 14, item 15: chinese-calendar knows only to 2026 and config/holidays.yaml has no 2027, so
    deadlines after New Year counted weekends only. Until the State Council's notice is entered, the
    statutory holidays the ``holidays`` package computes for 2027 count, flagged uncertain. The expected
    days off are the package's own, not typed here."""
    import holidays

    cal = load_calendar()
    statutory = sorted(holidays.China(years=2027))
    assert statutory and not cal.known(statutory[0]) and cal.provisional(statutory[0])
    assert all(not cal.is_working_day(day) for day in statutory)
    new_year = date(2027, 1, 1)
    assert new_year in statutory and new_year.weekday() == 4  # a Friday: weekends-only counted it as working
    deadline = cal.add_working_days(cn("2026-12-31 10:00"), 1)  # Thursday: Fri Jan 1 is off, so Mon Jan 4
    assert deadline.due == end_of("2027-01-04")
    assert deadline.uncertain
    assert "2027年" in deadline.warning and "法定节假日" in deadline.warning and "provisional" in deadline.warning


def test_the_spring_festival_2027_moves_a_deadline_by_the_packages_days_off():
    import holidays

    cal = load_calendar()
    spring = sorted(d for d, name in holidays.China(years=2027).items() if "Spring Festival" in name)
    weekdays_off = [d for d in spring if d.weekday() < 5]
    assert weekdays_off  # the festival takes working days in 2027
    day, counted = spring[0] - timedelta(days=1), 0
    start = cn(f"{day.isoformat()} 10:00")
    while counted < 5:  # the expected date counted from the package's days off, weekends-only would be earlier
        day += timedelta(days=1)
        counted += day.weekday() < 5 and day not in spring
    deadline = cal.add_working_days(start, 5)
    assert deadline.due == end_of(day.isoformat()) and deadline.uncertain


def test_crossing_into_a_provisional_year_is_uncertain_but_staying_in_a_known_one_is_not(cal):
    assert cal.add_working_days(cn("2026-12-24 10:00"), 5) == Deadline(due=end_of("2026-12-31"))
    crossing = cal.add_working_days(cn("2026-12-30 10:00"), 3)
    assert crossing.due == end_of("2027-01-05")  # Dec 31, (Fri Jan 1 off), Mon Jan 4, Tue Jan 5
    assert crossing.uncertain and "2027" in crossing.warning


def test_override_adds_a_holiday_in_an_unknown_year(tmp_path):
    start = cn("2027-03-05 10:00")  # Friday
    assert load_calendar(write(tmp_path, "# nothing\n")).add_working_days(start, 1).due == end_of("2027-03-08")
    cal = load_calendar(write(tmp_path, "2027:\n  holidays: [2027-03-08]\n  workdays: []\n"))
    assert cal.known(date(2027, 6, 1)) and not cal.known(date(2028, 1, 1))
    assert not cal.provisional(date(2027, 6, 1))  # the notice entered: the package's guess no longer counts
    assert cal.add_working_days(start, 1) == Deadline(due=end_of("2027-03-09"), uncertain=False, warning=None)


def test_override_workday_on_a_weekend_in_an_unknown_year(tmp_path):
    cal = load_calendar(write(tmp_path, "2027:\n  holidays: ['2027-03-08']\n  workdays: ['2027-03-06']\n"))
    assert cal.add_working_days(cn("2027-03-05 10:00"), 1).due == end_of("2027-03-06")
    assert cal.add_working_days(cn("2027-03-05 10:00"), 2).due == end_of("2027-03-09")


def test_override_wins_over_the_package_for_a_known_year(tmp_path):
    cal = load_calendar(write(tmp_path, "2025:\n  holidays: [2025-03-10]\n  workdays: [2025-03-08]\n"))
    assert cal.add_working_days(cn("2025-03-07 10:00"), 1).due == end_of("2025-03-08")
    assert cal.add_working_days(cn("2025-03-07 10:00"), 2).due == end_of("2025-03-11")
    assert not cal.is_working_day(date(2025, 10, 1))  # the package still answers for the rest of 2025


def test_bare_year_placeholder_is_not_known(tmp_path):
    cal = load_calendar(write(tmp_path, "2027:\n"))
    assert not cal.known(date(2027, 1, 1))
    assert cal.add_working_days(cn("2027-03-05 10:00"), 1).uncertain


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027:\n  holidays: [2028-01-01]\n", "not a date in 2027"),
        ("2027:\n  holidays: [not-a-date]\n", "not a date in 2027"),
        ("2027:\n  holiday: [2027-01-01]\n", "expected only"),
        ("'2027':\n  holidays: [2027-01-01]\n", "integers"),
        ("2027:\n  holidays: [2027-01-01]\n  workdays: [2027-01-01]\n", "both holiday and workday"),
        ("2027:\n  holidays: 2027-01-01\n", "list of dates"),
        ("- 2027\n", "mapping"),
    ],
)
def test_bad_override_files_are_refused_with_the_path(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as excinfo:
        load_calendar(path)
    assert str(path) in str(excinfo.value)


def test_shipped_holiday_file_loads_and_claims_no_unpublished_year():
    assert DEFAULT_HOLIDAYS_FILE.exists()
    cal = load_calendar(DEFAULT_HOLIDAYS_FILE)
    assert cal.known(date(2026, 6, 1))
    assert not cal.known(date(2027, 6, 1))


# --- Checklist time limits and supervision -----------------------------------------------------------

def test_deadline_for_checklist_time_limits(cal):
    start = cn("2025-09-30 10:00")
    assert deadline_for({"working_days": 3, "text": "3个工作日内", "text_en": "within 3 working days"}, start, cal).due == end_of(
        "2025-10-11"
    )
    assert deadline_for({"working_days": 0, "text": "当天办结"}, start, cal).due == end_of("2025-09-30")
    assert deadline_for({"hours": 4, "text": "火化后4小时内开具"}, cn("2025-09-30 22:00"), cal).due == cn("2025-10-01 02:00")
    assert deadline_for({"text": "尽快办理"}, start, cal) is None
    assert deadline_for({}, start, cal) is None
    assert deadline_for(None, start, cal) is None
    assert deadline_for({"working_days": True, "text": "?"}, start, cal) is None


def test_naive_or_negative_inputs_are_refused(cal):
    with pytest.raises(ValueError, match="aware"):
        cal.add_working_days(datetime(2025, 3, 7, 10, 0), 1)
    with pytest.raises(ValueError, match="aware"):
        cal.add_hours(datetime(2025, 3, 7, 10, 0), 4)
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_days(cn("2025-03-07 10:00"), -1)
    with pytest.raises(ValueError, match="negative"):
        cal.add_hours(cn("2025-03-07 10:00"), -1)


def test_overdue_and_due_soon():
    due = end_of("2025-10-11")
    assert not is_overdue(due, due)
    assert is_overdue(due, cn("2025-10-12 00:00"))
    assert is_overdue(due, datetime(2025, 10, 11, 16, 0, 0, tzinfo=UTC))  # 2025-10-12 00:00 in China
    assert not is_overdue(due, cn("2025-10-11 12:00"))
    assert is_due_soon(due, cn("2025-10-11 12:00"))
    assert is_due_soon(due, cn("2025-10-10 23:59:59"))  # exactly 24 hours before
    assert not is_due_soon(due, cn("2025-10-10 23:59:58"))
    assert not is_due_soon(due, cn("2025-10-12 00:00"))  # overdue is not "due soon"
    assert is_due_soon(due, cn("2025-10-09 12:00"), within=timedelta(days=3))


def test_the_holiday_file_is_parsed_once_and_again_only_when_it_changes(tmp_path, monkeypatch):
    """Submitting a case computes a due date per work item: the file is read once, not per item (issue 17),
    and an edited file (then `flask deadlines recompute`) is read again."""
    import miniapp_api.domain.deadlines as deadlines_module

    path = tmp_path / "holidays.yaml"
    path.write_text("2031:\n  holidays: [2031-03-03]\n  workdays: []\n", encoding="utf-8")
    parses = []
    real = deadlines_module.parse_overrides
    monkeypatch.setattr(deadlines_module, "parse_overrides", lambda raw: parses.append(1) or real(raw))
    first = load_calendar(path)
    for _ in range(5):
        assert load_calendar(path) is first
    assert len(parses) == 1 and not first.is_working_day(date(2031, 3, 3))
    path.write_text("2031:\n  holidays: [2031-03-04]\n  workdays: []\n", encoding="utf-8")
    import os

    os.utime(path, ns=(1, 1))  # a changed file: another modification time
    again = load_calendar(path)
    assert len(parses) == 2 and again.is_working_day(date(2031, 3, 3)) and not again.is_working_day(date(2031, 3, 4))
