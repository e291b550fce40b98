"""How domain objects look in JSON: one place, so every endpoint renders them alike."""

from __future__ import annotations

from typing import Any

from ..domain.dialogs import Dialog, Question
from ..domain.engine import State


def question(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "text": q.text.zh,
        "text_en": q.text.en,
        "options": [
            {"value": o.value, "label": o.label.zh, "label_en": o.label.en, "exclusive": o.exclusive}
            for o in q.options
        ],
    }
    if q.help is not None:
        out["help"] = q.help.zh
        out["help_en"] = q.help.en
    return out


def dialog(d: Dialog) -> dict[str, Any]:
    """The whole dialog, conditions included, so a mini-program can render it offline."""
    return {
        "region": d.region,
        "name": d.name.zh,
        "name_en": d.name.en,
        "source": d.source,
        "questions": [
            {**question(q), "fact": q.fact, "requests": list(q.requests),
             "show_if": q.show_if.rule if q.show_if else None,
             "sets": {str(o.value): o.sets for o in q.options if o.sets}}
            for q in d.questions
        ],
        "matters": [
            {"id": m.id, "name": m.name.zh, "name_en": m.name.en, "department": m.department,
             "mandatory": m.mandatory}
            for m in d.matters
        ],
    }


def state(session_id: str, s: State, previous: Any = None) -> dict[str, Any]:
    current = None
    if s.current is not None:
        current = question(s.current)
        if previous is not None:
            current["previous_value"] = previous
    return {
        "id": session_id,
        "region": s.region,
        "complete": s.complete,
        "current": current,
        "answers": s.answers,
        "facts": s.facts,
        "progress": {"answered": s.progress.answered, "remaining": s.progress.remaining,
                     "percent": s.progress.percent},
    }
