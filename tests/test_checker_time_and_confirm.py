"""`flask dialogs check` on the keys of issue 14 items 8 and 12: a month computed from a date fact
(``stops_month``) and a matter listed with its condition to confirm (``confirm_if_unknown``)."""

from __future__ import annotations

import pytest

from tests.test_checker import copy_region, edit, line_of, problems

MONTH = 'stops_month: {month_after: death_date, note: "低保待遇自{month}起终止。"'


@pytest.fixture()
def hunan_file(tmp_path):
    return copy_region(tmp_path, "hunan")


def test_shipped_months_and_confirmations_are_sound(hunan_file):
    """湖南 办结 4 「…等待遇于次月终止」 and 办结 3 「注销本省核发的机动车驾驶证」 as shipped: nothing to report."""
    assert problems(hunan_file) == []


def test_a_month_after_a_fact_that_is_not_a_date(hunan_file):
    """「以《居民死亡医学证明（推断）书》的死亡日期为期」: the month counts from a date, never from another fact."""
    edit(hunan_file, MONTH, MONTH.replace("death_date", "death_type"))
    found = problems(hunan_file)
    line = line_of(hunan_file, "- id: subsistence_allowance_termination")
    assert any(f":{line}: matter 'subsistence_allowance_termination': stops_month.month_after 'death_type' is not "
               "a date fact" in p for p in found), found


def test_a_month_note_that_does_not_name_the_month(hunan_file):
    """「于次月终止」 made concrete must say the month: a note without ``{month}`` (or with other braces) is reported."""
    edit(hunan_file, MONTH, MONTH.replace("自{month}起", "自{next}起"))
    found = problems(hunan_file)
    assert any("'subsistence_allowance_termination': stops_month.note must name the month as {month}" in p
               for p in found), found


def test_confirm_if_unknown_needs_a_condition(hunan_file):
    """「注销本省核发的机动车驾驶证」: what is to confirm is the matter's condition; without ``applies_if`` nothing can
    be unknown, so the key is a mistake."""
    edit(hunan_file, '    applies_if: {"==": [{"var": "local_driving_licence"}, true]}\n', "")
    found = problems(hunan_file)
    assert any("'driving_licence_cancellation': confirm_if_unknown without applies_if" in p for p in found), found
