"""The family's question pages and the review, on the H5 blueprint (``h5.bp``).

Every question has its own address, ``/h5/q/<question id>``, and every answer is a POST to it followed by a
redirect (POST-redirect-GET), so the browser's Back and Forward buttons walk the questions. Showing a page
moves nothing; answering moves the questionnaire's cursor as the API's answer does. After the last question
comes the review (``/h5/review``): each answer with 「修改」, which leads to that question and, once it is
answered, straight back to the review (by way of any question the change made appear).
A submitted questionnaire shows its case instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from ..api import presenters
from ..api.schemas import Answer
from ..domain import engine
from ..errors import ApiError
from ..models import QuestionnaireSession
from ..services import questionnaires
from .h5 import _applicant, _complete_or_go, _err, _html_value, _journey, _lang, _local_date, _open_or_go, _t, bp


def _open_journey() -> QuestionnaireSession:
    qs = _journey(_applicant())
    _open_or_go(qs)
    return qs


def _to(state: engine.State):
    """The page of where the questionnaire now is: its current question, or the review at the end."""
    if state.current is None:
        return redirect(url_for("h5.review"))
    return redirect(url_for("h5.question_page", question_id=state.current.id))


@bp.get("/q")
def question():
    """Where the family left off (the home page's 「接着上次继续」)."""
    return _to(questionnaires.state(_open_journey()))


@bp.get("/q/<question_id>")
def question_page(question_id: str):
    qs = _open_journey()
    state = questionnaires.state_at(qs, question_id)
    if state.current is None or state.current.id != question_id:  # not (yet) a question to show
        return _to(questionnaires.state(qs))
    return _render(qs, state, state.answers.get(question_id))


def _render(qs: QuestionnaireSession, state: engine.State, chosen: Any = None, error: str | None = None,
            status: int = 200):
    if state.current is None:  # everything is answered (e.g. a stale page was posted)
        if error:
            flash(error, "error")
        return redirect(url_for("h5.review"))
    view = presenters.state(qs.id, state)
    values = chosen if isinstance(chosen, list) else ([] if chosen is None else [chosen])
    dialog = questionnaires.dialog_of(qs)
    progress = view["progress"]
    return render_template("h5/question.html", q=view["current"], progress=progress, step=view["step"],
                           total=progress["answered"] + progress["remaining"], error=error,
                           chosen={_html_value(v) for v in values}, text_value=_html_value(values[0]) if values else "",
                           region={"name": dialog.name.zh, "name_en": dialog.name.en},
                           today=dt.date.today().isoformat(), html_value=_html_value), status


def _answer_value(question, form) -> Any:
    """The answer as the API takes it: true/false, a string, or a list of strings."""
    if question is not None and question.type == "multiple":
        return form.getlist("value")
    raw = form.get("value", "")
    if question is not None and question.type == "yes_no":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


@bp.post("/q/<question_id>")
def answer(question_id: str):
    qs = _open_journey()
    shown = questionnaires.state_at(qs, question_id)  # this page's question, or the current one if it cannot be
    value = _answer_value(questionnaires.dialog_of(qs).question(question_id), request.form)
    mine = shown.current is not None and shown.current.id == question_id
    try:
        data = Answer().load({"question": question_id, "value": value})
        state = questionnaires.answer(qs, data["question"], data["value"])
    except ApiError as exc:
        return _render(qs, shown, value if mine else None, _err(exc), exc.status)
    except ValidationError:
        return _render(qs, shown, None, _t("请从给出的选项中选择，或填写内容。", "Please choose an option or write an answer."),
                       422)
    return _to(state)


@bp.post("/q/<question_id>/back")
def back(question_id: str):
    """The question before this page's one (the browser may have walked away from the stored cursor)."""
    qs = _open_journey()
    try:
        return _to(questionnaires.back(qs, question_id))
    except ApiError as exc:
        if exc.code == "nothing_to_go_back_to":
            return redirect(url_for("h5.question_page", question_id=question_id))
        raise


@bp.get("/review")
def review():
    qs = _open_journey()
    _complete_or_go(qs)
    dialog = questionnaires.dialog_of(qs)
    items = [{"question": i.question.id, "text": i.question.text.zh, "text_en": i.question.text.en,
              "answer": _words(i)} for i in questionnaires.review(qs)]
    return render_template("h5/review.html", items=items, region={"name": dialog.name.zh, "name_en": dialog.name.en},
                           out_of_scope=presenters.out_of_scope(questionnaires.state(qs)))


def _words(item) -> str:
    """An answer as the family would say it: the options' labels, or the date or text."""
    if item.chosen:
        return (", " if _lang() == "en" else "、").join(_t(o.label.zh, o.label.en) for o in item.chosen)
    if item.question.type == "date":
        return _local_date(item.value)
    return str(item.value)


@bp.post("/review/<question_id>")
def change(question_id: str):
    """「修改」: to that question; once it is answered, back to the review."""
    qs = _open_journey()
    try:
        state = questionnaires.goto(qs, question_id)
    except ApiError as exc:
        if exc.status == 409:
            raise
        flash(_err(exc), "error")
        return redirect(url_for("h5.review"))
    return _to(state)
