"""Versioned rules: an open questionnaire started under one version of its region file, read again under
another, keeps only the answers that still mean what the family said, and the family is told what changed
for them. Plain Python, like the engine.

A version is ``Dialog.version`` (``dialogs.content_version``: a hash of the parsed content). A submitted case
is never re-read here: it keeps the checklist and the version it was submitted under.

An answer stands when its question is still there, of the same type, with the same options (values and
labels: an option added, removed or relabelled may change what the family would choose), and it still
validates. Rewording a question's text or help keeps its answers; a question that asks something else gets a
new id (dialogs/README.md). Then ``engine.drop_inapplicable`` drops the answers to questions no longer shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import engine, rules
from .dialogs import Dialog, Question

CHOICE_TYPES = ("single", "multiple", "yes_no")
LISTS = ("questions_removed", "answers_dropped", "questions_added", "matters_added", "matters_removed",
         "matters_changed")


@dataclass(frozen=True)
class Rechecked:
    """The answers and cursor under the new rules, and the notice for the family (None: nothing of theirs
    changed, so the new version is taken on silently)."""

    answers: engine.Answers
    cursor: engine.Cursor
    notice: dict[str, Any] | None


def same_question(before: Question | None, after: Question) -> bool:
    """Whether an answer given to ``before`` still answers ``after`` (unknown ``before``: only validation
    decides)."""
    if before is None:
        return True
    if before.type != after.type:
        return False
    if after.type not in CHOICE_TYPES:
        return True
    return _choices(before) == _choices(after)


def _choices(q: Question) -> set[tuple[Any, str, str, bool]]:
    return {(o.value, type(o.value).__name__, o.label.zh, o.exclusive) for o in q.options}


def recheck(old: Dialog | None, new: Dialog, answers: Mapping[str, Any], cursor: engine.Cursor,
            today: dt.date | None = None) -> Rechecked:
    """Re-read a questionnaire's answers under ``new``; ``old`` is the version it was on (None when that
    version's content is not known: then only what no longer validates is dropped)."""
    kept: engine.Answers = {}
    removed: list[dict[str, str]] = []
    changed: list[str] = []
    for question_id, value in answers.items():
        after = new.question(question_id)
        before = old.question(question_id) if old is not None else None
        if after is None:
            removed.append(_question_ref(before, question_id))
            continue
        if not same_question(before, after):
            changed.append(question_id)
            continue
        try:
            kept[question_id] = engine.validate_answer(after, value, today)
        except engine.AnswerError:
            changed.append(question_id)
    standing = engine.drop_inapplicable(new, kept)
    changed += [q for q in kept if q not in standing]  # no longer shown under the new rules
    dropped = [_question_ref(new.question(q), q) for q in answers if q in changed]
    moved = cursor if cursor.question is None or cursor.question in standing else engine.Cursor()
    after_checklist = rules.evaluate_checklist(new, engine.state(new, standing).rule_facts)
    if old is None:
        before_checklist = None
        added: list[dict[str, str]] = []
    else:
        before_checklist = rules.evaluate_checklist(old, engine.state(old, answers).rule_facts)
        added = _questions_added(old, new, standing)
    lists: dict[str, list[dict[str, Any]]] = {
        "questions_removed": removed,
        "answers_dropped": dropped,
        "questions_added": added,
        **_matter_changes(before_checklist, after_checklist),
    }
    checklist_changed = before_checklist is not None and _comparable(before_checklist) != _comparable(after_checklist)
    if not any(lists.values()) and not checklist_changed:
        return Rechecked(standing, moved, None)
    notice = {"from": old.version if old is not None else None, "to": new.version, **lists,
              "checklist_changed": checklist_changed or any(lists[k] for k in LISTS[3:])}
    return Rechecked(standing, moved, with_message(notice, new))


def _question_ref(q: Question | None, question_id: str) -> dict[str, str]:
    if q is None:
        return {"question": question_id, "text": question_id, "text_en": question_id}
    return {"question": q.id, "text": q.text.zh, "text_en": q.text.en}


def _questions_added(old: Dialog, new: Dialog, answers: Mapping[str, Any]) -> list[dict[str, str]]:
    """Questions the new rules have that the old did not, which this family may now be asked."""
    visible = engine.derive(new, answers).visible
    return [_question_ref(q, q.id) for q in new.questions
            if old.question(q.id) is None and q.id not in answers and visible[q.id] is not False]


def _matter_ref(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": entry["id"], "name": entry["name"], "name_en": entry.get("name_en", entry["name"]),
            "status": entry["status"]}


def _matter_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Matters listed now and not before, listed before and not now, and listed in both with another status
    (e.g. required before, blocked now)."""
    if before is None:
        return {"matters_added": [], "matters_removed": [], "matters_changed": []}
    old = {m["id"]: m for m in before["matters"]}
    new = {m["id"]: m for m in after["matters"]}
    return {
        "matters_added": [_matter_ref(m) for m in after["matters"] if m["id"] not in old],
        "matters_removed": [_matter_ref(m) for m in before["matters"] if m["id"] not in new],
        "matters_changed": [{**_matter_ref(m), "status_before": old[m["id"]]["status"]} for m in after["matters"]
                            if m["id"] in old and old[m["id"]]["status"] != m["status"]],
    }


def _comparable(checklist: Mapping[str, Any]) -> dict[str, Any]:
    return {k: checklist.get(k) for k in ("eligible", "matters", "materials", "trips", "warnings", "undecided")}


def merge(earlier: Mapping[str, Any] | None, later: dict[str, Any], dialog: Dialog) -> dict[str, Any]:
    """Two changes the family has not been shown yet become one notice: from the first version to the last."""
    if not earlier:
        return later
    out: dict[str, Any] = {"from": earlier.get("from"), "to": later["to"]}
    for key in LISTS:
        seen: dict[str, dict[str, Any]] = {}
        for item in [*earlier.get(key, []), *later.get(key, [])]:
            seen[item.get("question") or item.get("id")] = item
        out[key] = list(seen.values())
    added, removed = {m["id"] for m in out["matters_added"]}, {m["id"] for m in out["matters_removed"]}
    back_again = added & removed  # added by one change and removed by the other: nothing for the family
    out["matters_added"] = [m for m in out["matters_added"] if m["id"] not in back_again]
    out["matters_removed"] = [m for m in out["matters_removed"] if m["id"] not in back_again]
    out["checklist_changed"] = bool(earlier.get("checklist_changed") or later.get("checklist_changed"))
    return with_message(out, dialog)


def with_message(notice: dict[str, Any], dialog: Dialog) -> dict[str, Any]:
    """The notice with one kind sentence in each language, built from its lists."""
    zh = [f"您填写期间，{dialog.name.zh}的办事规则有了更新，我们已按新规则为您重新核对了回答和清单。"]
    en = [f"While you were answering, the rules of {dialog.name.en} were updated; we have checked your answers "
          "and your checklist against the new rules."]
    again = len(notice["answers_dropped"]) + len(notice["questions_added"])
    if notice["questions_removed"]:
        n = len(notice["questions_removed"])
        zh.append(f"有 {n} 个问题已不再需要回答，相应的回答已删去。")
        en.append(f"{n} question{'s' if n > 1 else ''} no longer need{'' if n > 1 else 's'} an answer; "
                  f"{'those answers were' if n > 1 else 'that answer was'} removed.")
    if again:
        zh.append(f"请再回答 {again} 个问题，其余回答都已为您保留。")
        en.append(f"Please answer {again} more question{'s' if again > 1 else ''}; your other answers are kept.")
    for key, words, words_en in (("matters_added", "清单中新增", "Now on your checklist"),
                                 ("matters_removed", "不再列入清单", "No longer on your checklist"),
                                 ("matters_changed", "办理情况有变化", "Changed")):
        if notice[key]:
            zh.append(f"{words}：{'、'.join(m['name'] for m in notice[key])}。")
            en.append(f"{words_en}: {', '.join(m['name_en'] for m in notice[key])}.")
    if len(zh) == 1:
        if notice.get("checklist_changed"):
            zh.append("清单中的说明有所更新，请再看一下清单。")
            en.append("Some explanations in your checklist were updated; please have another look.")
        else:
            zh.append("您的回答都已保留。")
            en.append("All your answers are kept.")
    zh.append("给您带来不便，敬请谅解。")
    en.append("We are sorry for the trouble.")
    return {**notice, "message": "".join(zh), "message_en": " ".join(en)}
