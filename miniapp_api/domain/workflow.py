"""The life of one work item (one matter at one department), as plain rules.

    submitted -> accepted -> in_progress -> done
    any open state -> needs_supplement (the department names everything missing at once, 一次性告知)
    needs_supplement -> supplied (the family says it has supplied everything asked; back to the department,
                                  which goes on from supplied as it would from submitted)
    needs_supplement -> submitted (kept for callers from before ``supplied``: the same, unmarked)
    any open state -> rejected (with a reason)

A case is complete when every work item is done or rejected.
"""

from __future__ import annotations

from collections.abc import Iterable

OPEN = ("submitted", "accepted", "in_progress", "needs_supplement", "supplied")
FINAL = ("done", "rejected")
STATUSES = OPEN + FINAL
# What the department has to act on next: a new item, or one whose family has supplied what was asked.
AWAITING_DEPARTMENT = ("submitted", "supplied")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("accepted", "needs_supplement", "rejected"),
    "accepted": ("in_progress", "needs_supplement", "rejected", "done"),
    "in_progress": ("done", "needs_supplement", "rejected"),
    "needs_supplement": ("supplied", "submitted"),
    "supplied": ("accepted", "needs_supplement", "rejected"),
    "done": (),
    "rejected": (),
}

LABELS = {
    "submitted": ("已提交", "submitted"),
    "accepted": ("已受理", "accepted"),
    "in_progress": ("办理中", "in progress"),
    "needs_supplement": ("需补充材料", "needs more documents"),
    "supplied": ("材料已补齐", "documents supplied"),
    "done": ("已办结", "done"),
    "rejected": ("不予办理", "rejected"),
}


class TransitionError(ValueError):
    def __init__(self, code: str, message: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en


def check_transition(current: str, target: str, *, reason: str | None = None,
                     missing: Iterable[str] = (), waiting_for: Iterable[str] = ()) -> None:
    """Refuse an illegal move, a rejection without reason, a supplement request naming nothing,
    or finishing an item before the items it must follow are done."""
    if target not in STATUSES:
        raise TransitionError("unknown_status", "未知的办理状态", f"unknown status {target!r}")
    if target not in TRANSITIONS.get(current, ()):
        raise TransitionError("illegal_transition", f"不能从“{LABELS[current][0]}”改为“{LABELS[target][0]}”",
                              f"cannot go from {current} to {target}")
    if target == "rejected" and not (reason or "").strip():
        raise TransitionError("reason_required", "不予办理须说明理由", "a rejection needs a reason")
    if target == "needs_supplement" and not list(missing):
        raise TransitionError("missing_required", "请一次性列明需要补充的全部材料或信息",
                              "name every missing material or field at once")
    pending = list(waiting_for)
    if target in ("in_progress", "done") and pending:
        raise TransitionError("order_violation", "须先办结：" + "、".join(pending),
                              "these matters must be finished first: " + ", ".join(pending))


def case_complete(statuses: Iterable[str]) -> bool:
    statuses = list(statuses)
    return bool(statuses) and all(s in FINAL for s in statuses)
