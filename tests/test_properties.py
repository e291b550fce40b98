"""Property-based tests (hypothesis): whatever valid answers a family gives, in whatever order,
with changes and steps back, the questionnaire ends in a checklist, never an error; going back never
loses an answer, and changing one loses only those that no longer apply."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miniapp_api.domain import engine, navigation, rules
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
    cursor = engine.Cursor()
    for _ in range(300):
        state = engine.state(dialog, answers, cursor)
        # A partial checklist is always available too, and never lists unknown things as decided.
        check_checklist(rules.evaluate_checklist(dialog, state.rule_facts))
        if state.current is None:
            assert state.complete
            break
        move = data.draw(st.sampled_from(["answer"] * 6 + ["change", "goto", "back"]), label="move")
        if move == "back":
            cursor = navigation.back(dialog, answers, cursor) or cursor
            continue
        if move in ("change", "goto") and answers:
            qid = data.draw(st.sampled_from(sorted(answers)), label=move)
            if engine.derive(dialog, answers).visible[qid] is not True:
                continue
            if move == "goto":
                first_open = engine.next_question(dialog, answers)
                if first_open and dialog.questions.index(dialog.question(qid)) > dialog.questions.index(first_open):
                    with pytest.raises(engine.AnswerError, match="earlier questions"):  # never skips one
                        navigation.goto(dialog, answers, qid)
                    continue
                cursor = navigation.goto(dialog, answers, qid)
            else:  # answered directly, out of turn, as the API allows
                answers = engine.answer(dialog, answers, qid, data.draw(valid_answer(dialog.question(qid))))
                cursor = navigation.after_answer(dialog, answers, qid, cursor)
            continue
        question = state.current
        answers = engine.answer(dialog, answers, question.id, data.draw(valid_answer(question), label=question.id))
        cursor = navigation.after_answer(dialog, answers, question.id, cursor)
    final = engine.state(dialog, answers, cursor)
    assert final.complete
    checklist = rules.evaluate_checklist(dialog, final.rule_facts)
    check_checklist(checklist)
    assert checklist["undecided"] == [], checklist["undecided"]
    assert checklist["eligible"] in (True, False)
    assert final.progress.remaining == 0


def answer_on(dialog, answers: dict, cursor, data, change: str) -> tuple[dict, object]:
    """One answer, drawn for the question at the cursor, and where the cursor goes after it."""
    question = dialog.question(change)
    answers = engine.answer(dialog, answers, change, data.draw(valid_answer(question), label=change))
    return answers, navigation.after_answer(dialog, answers, change, cursor)


def shown_answered(dialog, answers) -> dict:
    visible = engine.derive(dialog, answers).visible
    return {qid: v for qid, v in answers.items() if visible[qid] is True}


@pytest.mark.parametrize("region", REGIONS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_back_keeps_answers_and_a_change_keeps_every_answer_that_still_applies(region, data):
    dialog, answers, cursor = load_dialog(region), {}, engine.Cursor()
    while (current := engine.state(dialog, answers, cursor).current) is not None:
        answers, cursor = answer_on(dialog, answers, cursor, data, current.id)
    # Back, any number of times: the cursor moves, the answers stay; complete does not depend on where it is.
    for _ in range(data.draw(st.integers(0, len(answers)), label="backs")):
        cursor = navigation.back(dialog, answers, cursor) or cursor
        state = engine.state(dialog, answers, cursor)
        assert state.answers == answers and state.complete
        assert state.current is not None and state.current.id in answers
    # Change one answer from the review: what still applies stays, only newly shown questions are asked.
    qid = data.draw(st.sampled_from(sorted(shown_answered(dialog, answers))), label="change")
    cursor = navigation.goto(dialog, answers, qid)
    assert engine.state(dialog, answers, cursor).current.id == qid
    before = dict(answers)
    answers, cursor = answer_on(dialog, answers, cursor, data, qid)
    visible = engine.derive(dialog, answers).visible
    for other, value in before.items():  # dropped exactly when its question is no longer shown
        if other != qid:
            assert (answers.get(other) == value) if visible[other] is not False else other not in answers, other
    kept = set(answers)
    asked = []
    while (current := engine.state(dialog, answers, cursor).current) is not None:
        assert current.id not in answers and current.id not in asked
        asked.append(current.id)
        answers, cursor = answer_on(dialog, answers, cursor, data, current.id)
    assert engine.state(dialog, answers, cursor).complete
    assert set(asked) == set(shown_answered(dialog, answers)) - kept  # only what appeared is asked
    assert [item.question.id for item in navigation.review(dialog, answers)] == [
        q.id for q in dialog.questions if q.id in shown_answered(dialog, answers)]
