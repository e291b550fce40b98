"""The questionnaire engine: from a region's dialog and the answers so far, the next question,
the progress and the facts. Plain Python, no Flask, so it can be tested and benchmarked alone.

Answers are kept as ``{question_id: value}``. A question whose display condition turns false
after an earlier answer changes loses its answer (it no longer applies); one whose condition is
merely unknown keeps it, so going back and forth never throws away what the family typed.

Where the family is (the question on screen) is a ``Cursor``, apart from the answers: moving it
(``navigation.py``) never changes an answer, and "complete" depends only on the answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dialogs import Check, Dialog, Question
from .vocabulary import load_vocabulary, parse_date

Answers = dict[str, Any]
TEXT_MAX_LENGTH = 200


class AnswerError(ValueError):
    """An answer that is not valid for its question; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str, message_en: str, question: str | None = None):
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.question = question


@dataclass(frozen=True)
class Derived:
    facts: dict[str, Any]
    visible: dict[str, bool | None]  # True shown, False not applicable, None not known yet
    settled: dict[str, Any]  # facts this region chose not to ask, as rules should read them


@dataclass(frozen=True)
class Progress:
    answered: int
    remaining: int  # likely still to come: shown or not yet decided

    @property
    def percent(self) -> int:
        total = self.answered + self.remaining
        return 100 if total == 0 else round(100 * self.answered / total)


@dataclass(frozen=True)
class Cursor:
    """The question on screen: ``question`` is an answered one (the family went back, or came to change
    it), or None for the first shown question still unanswered, or the end when there is none.
    ``review``: the family came from the review to change one answer, so after it they go straight back
    (by way of any question the change made appear) instead of through every later question."""

    question: str | None = None
    review: bool = False


@dataclass(frozen=True)
class State:
    region: str
    current: Question | None  # None: at the end (the review)
    answers: Answers
    facts: dict[str, Any]
    settled: dict[str, Any]
    progress: Progress
    complete: bool  # every shown question is answered, wherever the cursor is
    step: int  # the current question's number among the shown ones (1 for the first); 0 at the end
    cursor: Cursor = Cursor()
    out_of_scope: tuple[Check, ...] = ()  # scope checks the answers given fail: why no more is asked

    @property
    def rule_facts(self) -> dict[str, Any]:
        """What the rules evaluate: the facts, plus the not-asked ones as absent."""
        return {**self.settled, **self.facts}


def derive(dialog: Dialog, answers: Mapping[str, Any]) -> Derived:
    """Walk the questions in order and turn the applicable answers into facts.

    A fact whose every question is not shown is *settled*: the region decided not to ask it, so
    conditions read it as absent (null, or an empty list) instead of "not known yet".
    A list fact (``requested_matters``, ``welfare``...) may be built by several questions. While a
    shown question that could add value V to it is unanswered, a condition that names V sees the
    fact as unknown; at the end the fact is known only when every such question is answered.
    """
    specs = load_vocabulary().facts
    list_facts = {name for name, spec in specs.items() if spec.type == "list"}
    facts: dict[str, Any] = {}
    pending: dict[str, set[str]] = {}
    asked: set[str] = set()  # facts set by a question seen so far
    live: set[str] = set()  # ... by a question that is (or may be) shown
    visible: dict[str, bool | None] = {}

    def contribute(fact: str, value: Any) -> None:
        if fact in list_facts:
            items = facts.setdefault(fact, [])
            for v in value if isinstance(value, list) else [value]:
                if v not in items:
                    items.append(v)
        else:
            facts[fact] = value

    def settled() -> dict[str, Any]:
        return {f: ([] if f in list_facts else None) for f in asked - live if f not in facts}

    for q in dialog.questions:
        if q.show_if is None:
            shown: bool | None = True
        else:
            view = {**settled(), **facts}
            if pending:
                view = {k: v for k, v in view.items() if not (pending.get(k, set()) & q.show_if.literals)}
            shown = q.show_if.evaluate(view)
        visible[q.id] = shown
        sets = q.sets_facts()
        asked.update(sets)
        if shown is False:
            continue
        live.update(sets)
        adds = q.list_values(list_facts)
        if shown is None or q.id not in answers:
            for fact, values in adds.items():
                pending.setdefault(fact, set()).update(values)
            continue
        for fact in adds:
            facts.setdefault(fact, [])
        _apply(q, answers[q.id], contribute)
    for fact in pending:
        facts.pop(fact, None)
    return Derived(facts=facts, visible=visible, settled=settled())


def _apply(q: Question, value: Any, contribute) -> None:
    chosen = value if q.type == "multiple" else [value]
    if q.fact:
        if q.type == "multiple":
            contribute(q.fact, [v for v in value if not q.option(v).exclusive])
        else:
            contribute(q.fact, value)
    if q.requests and value is True:
        contribute("requested_matters", list(q.requests))
    for v in chosen:
        option = q.option(v)
        if option is not None:
            for fact, fact_value in option.sets.items():
                contribute(fact, fact_value)


def validate_answer(q: Question, value: Any, today: dt.date | None = None) -> Any:
    """Check an answer against its question's type and options; return it normalised."""
    if q.type == "yes_no":
        if not isinstance(value, bool):
            raise AnswerError("invalid_answer", "请选择“是”或“否”", "please answer yes (true) or no (false)", q.id)
        return value
    if q.type == "single":
        if not isinstance(value, str) or q.option(value) is None:
            raise AnswerError("invalid_choice", "请从给出的选项中选择一项", "please choose one of the options", q.id)
        return value
    if q.type == "multiple":
        if not isinstance(value, list) or not value or any(not isinstance(v, str) for v in value):
            raise AnswerError("invalid_choice", "请至少选择一项", "please choose at least one option", q.id)
        value = list(dict.fromkeys(value))
        if any(q.option(v) is None for v in value):
            raise AnswerError("invalid_choice", "所选项不在选项之中", "a choice is not one of the options", q.id)
        if len(value) > 1 and any(q.option(v).exclusive for v in value):
            raise AnswerError("exclusive_choice", "“都不是”不能与其他选项同时选择",
                              "'none of these' cannot be combined with other options", q.id)
        return value
    if q.type == "date":
        day = parse_date(value)
        if day is None:
            raise AnswerError("invalid_date", "请填写正确的日期，例如 2026-01-31",
                              "please give a date such as 2026-01-31", q.id)
        if day > (today or dt.date.today()):
            raise AnswerError("future_date", "日期不能晚于今天", "the date cannot be in the future", q.id)
        return day.isoformat()
    if not isinstance(value, str) or not value.strip():
        raise AnswerError("empty_answer", "请填写内容", "please write an answer", q.id)
    value = value.strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise AnswerError("too_long", f"内容不能超过 {TEXT_MAX_LENGTH} 字",
                          f"the answer cannot be longer than {TEXT_MAX_LENGTH} characters", q.id)
    return value


def next_question(dialog: Dialog, answers: Mapping[str, Any], derived: Derived | None = None) -> Question | None:
    derived = derived or derive(dialog, answers)
    for q in dialog.questions:
        if derived.visible[q.id] is True and q.id not in answers:
            return q
    return None


def at_cursor(dialog: Dialog, answers: Mapping[str, Any], derived: Derived, cursor: Cursor) -> Question | None:
    """The question on screen: the cursor's, if it is answered, shown and not past the first unanswered one."""
    first_open = next_question(dialog, answers, derived)
    q = dialog.question(cursor.question) if cursor.question else None
    if q is None or q.id not in answers or derived.visible[q.id] is not True:
        return first_open
    if first_open is not None and dialog.questions.index(q) > dialog.questions.index(first_open):
        return first_open
    return q


def state(dialog: Dialog, answers: Mapping[str, Any], cursor: Cursor | None = None) -> State:
    cursor = cursor or Cursor()
    derived = derive(dialog, answers)
    answered = sum(1 for q in dialog.questions if q.id in answers and derived.visible[q.id] is True)
    remaining = sum(1 for q in dialog.questions if q.id not in answers and derived.visible[q.id] is not False)
    current = at_cursor(dialog, answers, derived, cursor)
    step = 0
    if current is not None:
        before = dialog.questions[:dialog.questions.index(current)]
        step = 1 + sum(1 for q in before if derived.visible[q.id] is True)
    return State(
        region=dialog.region,
        current=current,
        answers={q.id: answers[q.id] for q in dialog.questions if q.id in answers},
        facts=derived.facts,
        settled=derived.settled,
        progress=Progress(answered=answered, remaining=remaining),
        complete=next_question(dialog, answers, derived) is None,
        step=step,
        cursor=cursor,
        out_of_scope=out_of_scope(dialog, derived.facts),
    )


def out_of_scope(dialog: Dialog, facts: Mapping[str, Any]) -> tuple[Check, ...]:
    """The scope checks that the answers actually given fail. Read without the facts the region left
    unasked, so a scope question never shown (the questions stop at the first failed one) is never
    named as a reason."""
    return tuple(c for c in dialog.eligibility if c.when.evaluate(facts) is False)


def answer(dialog: Dialog, answers: Mapping[str, Any], question_id: str, value: Any,
           today: dt.date | None = None) -> Answers:
    """Record (or change) one answer; return the new answers with those that no longer apply dropped."""
    q = dialog.question(question_id)
    if q is None:
        raise AnswerError("unknown_question", "没有这个问题", f"there is no question {question_id!r}", question_id)
    shown = derive(dialog, answers).visible[q.id]
    if shown is not True:
        raise AnswerError("question_not_available", "这个问题现在不需要回答",
                          "this question does not apply (yet) given the earlier answers", question_id)
    new = dict(answers)
    new[q.id] = validate_answer(q, value, today)
    return drop_inapplicable(dialog, new)


def drop_inapplicable(dialog: Dialog, answers: Answers) -> Answers:
    """Remove answers to questions that, given the other answers, can no longer be shown.

    One at a time, earliest first: a question is shown or not from the answers before it, so dropping
    the first hidden one may bring a later one back, whose answer is then kept.
    """
    while True:
        visible = derive(dialog, answers).visible
        gone = next((q.id for q in dialog.questions if q.id in answers and visible[q.id] is False), None)
        if gone is None:
            return {k: v for k, v in answers.items() if dialog.question(k) is not None}
        answers = {k: v for k, v in answers.items() if k != gone}
