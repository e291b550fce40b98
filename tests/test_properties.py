"""Property-based tests (hypothesis): whatever valid answers a family gives, in whatever order,
with changes and steps back, the questionnaire ends in a checklist, never an error."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miniapp_api.domain import engine, rules
from miniapp_api.domain.dialogs import Question, load_dialog
from miniapp_api.domain.vocabulary import load_vocabulary

REGIONS = load_vocabulary().regions


def valid_answer(question: Question):
    if question.type == "yes_no":
        return st.booleans()
    if question.type == "single":
        return st.sampled_from([o.value for o in question.options])
    if question.type == "multiple":
        exclusive = [o.value for o in question.options if o.exclusive]
        plain = [o.value for o in question.options if not o.exclusive]
        choices = [st.lists(st.sampled_from(plain), min_size=1, unique=True)] if plain else []
        choices += [st.just([v]) for v in exclusive]
        return st.one_of(choices)
    if question.type == "date":
        return st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date.today()).map(dt.date.isoformat)
    return st.text(alphabet="逝者张三李四 abc", min_size=1, max_size=20).filter(str.strip)


def check_checklist(checklist: dict) -> None:
    listed = {m["id"] for m in checklist["matters"]}
    required = {m["id"] for m in checklist["matters"] if m["status"] == "required"}
    for material in checklist["materials"]:
        assert material["for_matters"], material
        assert set(material["for_matters"]) <= required, material
    for trip in checklist["trips"]:
        assert set(trip["for_matters"]) <= required
    for entry in checklist["matters"]:
        assert entry["status"] in ("required", "blocked")
        assert set(entry["materials"]) <= {m["id"] for m in checklist["materials"]} or entry["status"] == "blocked"
    assert len(listed) == len(checklist["matters"])  # each matter once


@pytest.mark.parametrize("region", REGIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_valid_answers_end_in_a_checklist(region, data):
    dialog = load_dialog(region)
    answers: dict = {}
    for _ in range(300):
        state = engine.state(dialog, answers)
        # A partial checklist is always available too, and never lists unknown things as decided.
        check_checklist(rules.evaluate_checklist(dialog, state.rule_facts))
        if state.complete:
            break
        move = data.draw(st.sampled_from(["answer"] * 6 + ["change", "back"]), label="move")
        if move == "back":
            answers, _, _ = engine.back(dialog, answers)
            continue
        if move == "change" and answers:
            qid = data.draw(st.sampled_from(sorted(answers)), label="change")
            question = dialog.question(qid)
            if engine.derive(dialog, answers).visible[qid] is True:
                answers = engine.answer(dialog, answers, qid, data.draw(valid_answer(question)))
            continue
        question = state.current
        answers = engine.answer(dialog, answers, question.id, data.draw(valid_answer(question), label=question.id))
    final = engine.state(dialog, answers)
    assert final.complete
    checklist = rules.evaluate_checklist(dialog, final.rule_facts)
    check_checklist(checklist)
    assert checklist["undecided"] == [], checklist["undecided"]
    assert checklist["eligible"] in (True, False)
    assert final.progress.remaining == 0
