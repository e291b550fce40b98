"""Deadlines in Chinese working days (工作日), for the time limits the checklist promises.

Working days follow the State Council's yearly holiday notice (国务院办公厅关于某年部分节假日安排的通知):
weekends and public holidays are off, and some Saturdays/Sundays are adjusted working days (调休上班).
The ``chinese-calendar`` package carries those notices up to the year it was released for; for later
years, ``config/holidays.yaml`` can add them (and may correct a year the package knows: its entries win).
Until a year's notice is entered, its days are counted provisionally with the statutory public holidays
(元旦、春节、清明、劳动节、端午、中秋、国庆, 《全国年节及纪念日放假办法》) that the ``holidays`` package
computes for China: without the notice's adjusted working weekends and bridge days, so the resulting
``Deadline`` says so (``uncertain`` and a bilingual ``warning``). A year that package does not cover
either (after 2100) is counted by weekends only, also uncertain. Entering the notice changes due dates:
``flask deadlines recompute`` brings the open work items up to date.

Semantics (the usual 行政许可 convention, 《行政许可法》第四十二条、第八十二条):

* the day of receipt does not count: ``n`` working days end at the end of the n-th working day AFTER it,
  whatever the hour of receipt and even when received on a weekend or holiday;
* ``n = 0`` (当天办结) ends at the end of the day of receipt if that is a working day, else at the end of
  the next working day;
* "the end of a day" is 23:59:59 China time (the deadline's own date is the last day allowed, so it reads
  right when shown as a date); ``is_overdue`` is true strictly after that second;
* hour limits (e.g. the cremation certificate within 4 hours after the cremation) are plain clock hours,
  nights and holidays included.

All times are aware datetimes; results are in China time (UTC+8, no daylight saving since 1991, so a
fixed offset equals Asia/Shanghai for every date we handle and needs no tz database).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import chinese_calendar
import holidays
import yaml

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_HOLIDAYS_FILE = Path(__file__).resolve().parents[2] / "config" / "holidays.yaml"
END_OF_DAY = time(23, 59, 59)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """When something is due, and whether the holiday calendar behind that date is still unknown."""

    due: datetime
    uncertain: bool = False
    warning: str | None = None


@dataclass(frozen=True)
class YearOverride:
    """One year's entries from the holiday file: days off and adjusted working days."""

    holidays: frozenset[date]
    workdays: frozenset[date]


class WorkingCalendar:
    """Which days are working days: the override file first, then chinese-calendar, then the provisional
    statutory holidays, then weekends only."""

    def __init__(self, overrides: Mapping[int, YearOverride] | None = None) -> None:
        self._overrides: dict[int, YearOverride] = dict(overrides or {})

    def known(self, day: date) -> bool:
        """True when the package or the override file covers the day's year, so holidays are accounted for."""
        return day.year in self._overrides or _package_knows(day.year)

    def provisional(self, day: date) -> bool:
        """True when the day's year is not known but its statutory holidays are (the notice still to come)."""
        return not self.known(day) and _statutory_holidays(day.year) is not None

    def is_working_day(self, day: date) -> bool:
        """Override entries win; otherwise the package; otherwise the statutory holidays; else Monday to Friday."""
        override = self._overrides.get(day.year)
        if override is not None:
            if day in override.holidays:
                return False
            if day in override.workdays:
                return True
        if _package_knows(day.year):
            return bool(chinese_calendar.is_workday(day))
        if self.provisional(day) and day in (_statutory_holidays(day.year) or ()):
            return False
        return day.weekday() < 5

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """End of the n-th working day after the day of receipt (n = 0: end of the first working day from it)."""
        if n < 0:
            raise ValueError(f"working days must not be negative: {n}")
        day = _china_time(start).date()
        # The days whose status decided the result (receipt day only for n = 0): any in an unknown year
        # makes the deadline uncertain.
        seen = [day] if n == 0 else []
        if n == 0:
            while not self.is_working_day(day):
                day += _ONE_DAY
                seen.append(day)
        counted = 0
        while counted < n:
            day += _ONE_DAY
            seen.append(day)
            if self.is_working_day(day):
                counted += 1
        return self._deadline(datetime.combine(day, END_OF_DAY, CHINA_TZ), seen)

    def add_hours(self, start: datetime, hours: float) -> Deadline:
        """Clock hours: holidays and nights do not stop the clock, so the calendar never makes it uncertain."""
        if hours < 0:
            raise ValueError(f"hours must not be negative: {hours}")
        return Deadline(due=_china_time(start) + timedelta(hours=hours))

    def _deadline(self, due: datetime, days: Iterable[date]) -> Deadline:
        days = list(days)
        provisional = sorted({d.year for d in days if self.provisional(d)})
        unknown = sorted({d.year for d in days if not self.known(d) and not self.provisional(d)})
        warnings = [_warning(years, *how) for years, how in ((provisional, _PROVISIONAL), (unknown, _WEEKENDS)) if years]
        if not warnings:
            return Deadline(due=due)
        return Deadline(due=due, uncertain=True, warning=" ".join(warnings))


# How an uncertain year was counted: the statutory holidays (the notice's 调休 can still move the date),
# or, past what the holidays package covers, weekends only.
_PROVISIONAL = ("的国务院节假日安排尚未公布或未录入，期限暂按法定节假日推算（未含调休）",
                "The State Council's holiday notice for {} is not entered yet; this deadline is provisional,"
                " counted with the statutory public holidays (without the notice's adjusted working days),")
_WEEKENDS = ("的节假日安排尚未公布或未录入，期限暂按周末计算",
             "The public-holiday calendar for {} is not known yet; this deadline counts weekends only")


def _warning(years: list[int], zh_how: str, en_how: str) -> str:
    """Say which years' holiday notices are missing, so staff and families know the date may change."""
    zh = "、".join(f"{y}年" for y in years)
    en = ", ".join(str(y) for y in years)
    return f"{zh}{zh_how}，实际截止日期可能变化。 {en_how.format(en)} and the actual date may change."


@cache
def _statutory_holidays(year: int) -> frozenset[date] | None:
    """China's statutory public holidays as the ``holidays`` package computes them (its observed days
    included), or None for a year it does not cover."""
    days = holidays.China(years=year)
    return frozenset(days) or None


@cache
def _package_knows(year: int) -> bool:
    """chinese-calendar raises for years it has no notice for; ask its public API rather than its tables."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _china_time(moment: datetime) -> datetime:
    """Refuse naive datetimes: a deadline is a real instant, and the day boundary is China's."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("start must be an aware datetime (China time, UTC+8)")
    return moment.astimezone(CHINA_TZ)


def load_calendar(path: Path | None = None) -> WorkingCalendar:
    """The calendar with the holiday file applied; the default file may be absent (package only). Parsed once
    per version of the file (a submission asks for it per work item): an edited file is read again."""
    if path is None:
        if not DEFAULT_HOLIDAYS_FILE.exists():
            return WorkingCalendar()
        path = DEFAULT_HOLIDAYS_FILE
    stat = path.stat()
    return _parsed_calendar(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parsed_calendar(path: Path, mtime_ns: int, size: int) -> WorkingCalendar:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return WorkingCalendar(parse_overrides(raw))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def parse_overrides(raw: Any) -> dict[int, YearOverride]:
    """Validate the holiday file strictly: a typo here silently moves every deadline of that year."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError("expected a mapping of year -> {holidays: [...], workdays: [...]}")
    overrides: dict[int, YearOverride] = {}
    for year, entry in raw.items():
        if not isinstance(year, int) or isinstance(year, bool):
            raise ValueError(f"year keys must be integers, got {year!r}")
        if entry is None:  # a bare "2027:" placeholder: not known yet
            continue
        overrides[year] = _parse_year(year, entry)
    return overrides


def _parse_year(year: int, entry: Any) -> YearOverride:
    if not isinstance(entry, Mapping) or set(entry) - {"holidays", "workdays"}:
        raise ValueError(f"{year}: expected only 'holidays' and 'workdays' lists")
    holidays = _parse_dates(year, "holidays", entry.get("holidays"))
    workdays = _parse_dates(year, "workdays", entry.get("workdays"))
    both = holidays & workdays
    if both:
        raise ValueError(f"{year}: listed as both holiday and workday: {sorted(d.isoformat() for d in both)}")
    return YearOverride(holidays=holidays, workdays=workdays)


def _parse_dates(year: int, key: str, values: Any) -> frozenset[date]:
    if values is None:
        return frozenset()
    if not isinstance(values, list):
        raise ValueError(f"{year}.{key}: expected a list of dates")
    days = set()
    for value in values:
        day = _as_date(value)
        if day is None or day.year != year:
            raise ValueError(f"{year}.{key}: {value!r} is not a date in {year}")
        days.add(day)
    return frozenset(days)


def _as_date(value: Any) -> date | None:
    """YAML reads 2027-01-01 as a date already; accept quoted ISO strings too."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def deadline_for(time_limit: Mapping[str, Any] | None, start: datetime, calendar: WorkingCalendar) -> Deadline | None:
    """The deadline for a checklist time_limit ({"working_days": 2, ...} or {"hours": 4, ...}); None without a number.

    When both numbers are present, working days win (they are the administrative promise).
    """
    if not time_limit:
        return None
    working_days = time_limit.get("working_days")
    if isinstance(working_days, int) and not isinstance(working_days, bool):
        return calendar.add_working_days(start, working_days)
    hours = time_limit.get("hours")
    if isinstance(hours, int | float) and not isinstance(hours, bool):
        return calendar.add_hours(start, hours)
    return None


def is_overdue(due: datetime, now: datetime) -> bool:
    """Past the deadline: strictly after ``due`` (the deadline's own last second is still on time)."""
    return now > due


def is_due_soon(due: datetime, now: datetime, within: timedelta = timedelta(hours=24)) -> bool:
    """Not yet overdue but due within ``within``: what a supervisor should chase today."""
    return not is_overdue(due, now) and due - now <= within
