"""Moving through a questionnaire without losing answers: back, forward after an answer, a jump to change
one answer from the review, and the review itself. Plain Python, like the engine it moves over.

Only the cursor moves here; answers change only through ``engine.answer``, which drops just those that no
longer apply. A question is shown or not from the answers before it, so every shown question before the
cursor is answered and the family never skips one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dialogs import Dialog, Option, Question
from .engine import AnswerError, Cursor, at_cursor, derive, next_question


@dataclass(frozen=True)
class ReviewItem:
    """One answer as the family gave it: the question, the value, and the options it picked (none for a
    date or a text)."""

    question: Question
    value: Any
    chosen: tuple[Option, ...]


def back(dialog: Dialog, answers: Mapping[str, Any], cursor: Cursor) -> Cursor | None:
    """The cursor on the shown question before the current one (its answer stays, to be shown selected);
    None when the current question is the first."""
    derived = derive(dialog, answers)
    current = at_cursor(dialog, answers, derived, cursor)
    limit = len(dialog.questions) if current is None else dialog.questions.index(current)
    for q in reversed(dialog.questions[:limit]):
        if q.id in answers and derived.visible[q.id] is True:
            return Cursor(q.id)
    return None


def after_answer(dialog: Dialog, answers: Mapping[str, Any], question_id: str, cursor: Cursor) -> Cursor:
    """Where an answer to ``question_id`` (already in ``answers``) leads.

    Walking: to the next shown question, its earlier answer kept to confirm or change. From the review: to
    the first question the change made appear, or, when there is none, back to the end (the review).
    """
    derived = derive(dialog, answers)
    first_open = next_question(dialog, answers, derived)
    if cursor.review:
        return Cursor(review=first_open is not None)
    index = dialog.questions.index(dialog.question(question_id))
    limit = len(dialog.questions) if first_open is None else dialog.questions.index(first_open)
    for q in dialog.questions[index + 1:limit]:
        if derived.visible[q.id] is True:
            return Cursor(q.id)
    return Cursor()


def goto(dialog: Dialog, answers: Mapping[str, Any], question_id: str) -> Cursor:
    """The cursor on an answered question (or the next one to answer), to change it and come back."""
    q = dialog.question(question_id)
    if q is None:
        raise AnswerError("unknown_question", "没有这个问题", f"there is no question {question_id!r}", question_id)
    derived = derive(dialog, answers)
    if derived.visible[q.id] is not True:
        raise AnswerError("question_not_available", "这个问题现在不需要回答",
                          "this question does not apply (yet) given the earlier answers", question_id)
    first_open = next_question(dialog, answers, derived)
    if q is first_open:
        return Cursor(review=True)
    if first_open is not None and dialog.questions.index(q) > dialog.questions.index(first_open):
        raise AnswerError("question_not_available", "请先回答前面的问题", "answer the earlier questions first",
                          question_id)
    return Cursor(q.id, review=True)


def review(dialog: Dialog, answers: Mapping[str, Any]) -> list[ReviewItem]:
    """The answers that still apply, in the order the questions are asked."""
    visible = derive(dialog, answers).visible
    items = []
    for q in dialog.questions:
        if q.id in answers and visible[q.id] is True:
            value = answers[q.id]
            values = value if q.type == "multiple" else [value]
            chosen = tuple(o for v in values if (o := q.option(v)) is not None) if q.options else ()
            items.append(ReviewItem(q, value, chosen))
    return items
