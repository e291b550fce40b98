"""Walk a region's questionnaire with scripted answers, as a family would, for the tests."""

from __future__ import annotations

from typing import Any

from miniapp_api.domain import engine, rules
from miniapp_api.domain.dialogs import load_dialog


def walk(region: str, script: dict[str, Any], default: str = "fail") -> tuple[engine.State, dict[str, Any]]:
    """Answer every question the engine asks from ``script`` (question id -> answer).

    A question missing from the script fails the test (default="fail") or takes its first option
    (default="first"). Returns the final state and the checklist.
    """
    dialog = load_dialog(region)
    answers: dict[str, Any] = {}
    for _ in range(200):
        current = engine.state(dialog, answers).current
        if current is None:
            break
        if current.id in script:
            value = script[current.id]
        elif default == "first":
            value = _first(current)
        else:
            raise AssertionError(f"{region}: the engine asked {current.id!r}, which the script does not answer")
        answers = engine.answer(dialog, answers, current.id, value)
    final = engine.state(dialog, answers)
    assert final.complete
    return final, rules.evaluate_checklist(dialog, final.rule_facts)


def _first(question) -> Any:
    if question.type == "date":
        return "2026-01-15"
    if question.type == "text":
        return "测试"
    value = question.options[0].value
    return [value] if question.type == "multiple" else value


def matter(checklist: dict[str, Any], matter_id: str) -> dict[str, Any] | None:
    """The checklist entry for a matter, or None when it is not listed."""
    return next((m for m in checklist["matters"] if m["id"] == matter_id), None)


def status(checklist: dict[str, Any], matter_id: str) -> str | None:
    entry = matter(checklist, matter_id)
    return None if entry is None else entry["status"]


def trip_places(checklist: dict[str, Any]) -> set[str]:
    return {t["place"] for t in checklist["trips"]}


def material_ids(checklist: dict[str, Any]) -> set[str]:
    return {m["id"] for m in checklist["materials"]}
