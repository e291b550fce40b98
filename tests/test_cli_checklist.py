"""`flask --app wsgi checklist --region R --facts F.json`, exactly as CONTRACT.md says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(tmp_path: Path, region: str, facts) -> subprocess.CompletedProcess:
    path = tmp_path / "facts.json"
    path.write_text(facts if isinstance(facts, str) else json.dumps(facts), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "checklist", "--region", region, "--facts", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def test_prints_checklist_json_and_exits_0(tmp_path):
    facts = {"death_type": "normal", "relationship": "spouse", "funeral_home_registered": False,
             "has_cremation_certificate": False, "disposition": "cremation", "medical_insurance": "resident",
             "has_housing_fund": False, "requested_matters": ["driving_licence_cancellation"]}
    result = run(tmp_path, "xinjiang", facts)
    assert result.returncode == 0, result.stderr
    checklist = json.loads(result.stdout)
    assert checklist["region"] == "xinjiang"
    assert checklist["eligible"] is True
    ids = [m["id"] for m in checklist["matters"]]
    assert "driving_licence_cancellation" in ids and "cremation_certificate" in ids
    assert {"place": "traffic_police"}.items() <= checklist["trips"][-1].items() or any(
        t["place"] == "traffic_police" for t in checklist["trips"])
    for key in ("reasons", "materials", "warnings"):
        assert key in checklist


def test_unknown_facts_stay_unknown_not_no(tmp_path):
    result = run(tmp_path, "xinjiang", {"death_type": "normal"})
    assert result.returncode == 0, result.stderr
    checklist = json.loads(result.stdout)
    undecided = {u["id"] for u in checklist["undecided"]}
    assert {"cremation_certificate", "driving_licence_cancellation"} <= undecided


@pytest.mark.parametrize(
    ("region", "facts", "message"),
    [
        ("atlantis", {}, "unknown region"),
        ("hunan", {"favourite_colour": "red"}, "unknown fact"),
        ("hunan", {"death_type": "asleep"}, "death_type"),
        ("hunan", {"welfare": ["free_lunch"]}, "welfare"),
        ("hunan", {"has_housing_fund": "yes"}, "has_housing_fund"),
        ("hunan", {"death_date": "2999-01-01"}, "future"),
        ("hunan", "{not json", "not valid JSON"),
        ("hunan", "[1, 2]", "JSON object"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, region, facts, message):
    result = run(tmp_path, region, facts)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
