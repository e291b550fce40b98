"""Searching a region's questionnaire for a path that misses something, bounded so it runs in seconds.

``flask dialogs check`` uses it to prove that whatever a path leads to can be finished: on every
path where a matter goes ahead, each fact the one form reads is answered (or the region file lets the
form ask it) and each of the matter's preconditions can be decided. Enumerating every answer is far
too many paths (Hunan alone has hundreds of thousands), so a question is branched on only where its
answer can change what happens next: the values a condition names, one representative of the rest,
and for a multiple choice the single choices, all of them, and the exclusive "none" (every subset
when it has three relevant choices or fewer).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import engine, rules
from .dialogs import Check, Dialog, Matter, Question

MAX_STATES = 200_000  # a region past this is reported rather than walked for minutes
TODAY = dt.date(2026, 12, 31)
EXAMPLE_DATE = "2026-01-15"
EXAMPLE_TEXT = "示例"


@dataclass(frozen=True)
class Goal:
    """A path to look for: ``matter`` goes ahead (eligible, applies, asked for) while ``fact`` is still
    unanswered, or while ``check`` (one of its preconditions) cannot be decided from the answers alone:
    its outcome would change with a fact this path never asked."""

    matter: Matter
    fact: str | None = None
    check: Check | None = None
    variant: bool = False  # the matter goes ahead while which of its variants it is cannot be decided

    def open(self, facts: Mapping[str, Any]) -> bool:
        """True while this walk can still miss the fact (answers are only added, so decided stays decided).
        ``facts``: the answers so far without the facts the region left unasked: do they decide it?"""
        if self.check is not None:
            return self.check.when.evaluate(facts) is None
        if self.variant:
            held, possible = rules.variant_of(self.matter, facts)
            return held is None and bool(possible)
        return self.fact not in facts

    def statuses(self) -> tuple[str, ...]:
        """The checklist statuses in which the goal counts: a blocked matter is handled under no variant."""
        return ("required",) if self.variant else ("required", "blocked")


def find_path(dialog: Dialog, goal: Goal, limit: int = MAX_STATES) -> list[tuple[str, Any]] | None:
    """The answers of one walk reaching ``goal``, or None when no walk does.

    Depth-first over the representative answers. A branch stops as soon as the goal is out of reach
    (the fact got answered or the check decided, the family is not eligible, the matter cannot apply or was not asked for).
    Two partial walks at the same question that agree on every fact a later question, the eligibility,
    the matter or the goal reads have the same future, so only the first is followed: that is what
    keeps Inner Mongolia's many independent "do you want …" questions from multiplying."""
    choices = _choices(dialog)
    after = _read_from(dialog, goal.matter)
    seen: set[tuple[Any, ...]] = set()
    stack: list[tuple[dict[str, Any], tuple[tuple[str, Any], ...]]] = [({}, ())]
    while stack:
        answers, steps = stack.pop()
        state = engine.state(dialog, answers)
        facts = rules.with_implied(dialog, state.rule_facts)
        if not goal.open(rules.with_implied(dialog, state.facts)) or not _reachable(dialog, goal.matter, facts):
            continue
        index = dialog.questions.index(state.current) if state.current else len(dialog.questions)
        read, literals = after[index]
        key = (index, tuple(sorted((f, _key(v, literals)) for f, v in facts.items() if f in read)))
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > limit:
            raise TooManyPaths(f"{dialog.region}: more than {limit} questionnaire states")
        if state.current is None:
            checklist = rules.evaluate_checklist(dialog, facts)
            if checklist["eligible"] is True and any(m["id"] == goal.matter.id for m in checklist["matters"]
                                                     if m["status"] in goal.statuses()):
                return list(steps)
            continue
        q = state.current
        for value in reversed(choices[q.id]):
            stack.append((engine.answer(dialog, answers, q.id, value, TODAY), (*steps, (q.id, value))))
    return None


def describe(steps: list[tuple[str, Any]]) -> str:
    return ", ".join(f"{qid}={_text(value)}" for qid, value in steps) or "(no question answered)"


class TooManyPaths(RuntimeError):
    pass


def _reachable(dialog: Dialog, matter: Matter, facts: dict[str, Any]) -> bool:
    """False once this partial walk can no longer make ``matter`` go ahead."""
    if any(check.when.evaluate(facts) is False for check in dialog.eligibility):
        return False
    if matter.applies_if is not None and matter.applies_if.evaluate(facts) is False:
        return False
    requested = facts.get("requested_matters")
    return matter.mandatory or requested is None or matter.id in requested


def _read_from(dialog: Dialog, matter: Matter) -> list[tuple[set[str], set[Any]]]:
    """For each question index, the facts (and literals) that the questions from there on, the
    eligibility and ``matter`` read: all a walk standing at that question still needs to remember."""
    fixed = [c.when for c in dialog.eligibility] + [c.when for c in matter.preconditions]
    fixed += [v.when for v in matter.variants] + [i.when for i in dialog.implies]
    if matter.applies_if is not None:
        fixed.append(matter.applies_if)
    read = {"requested_matters"}.union(*(c.facts for c in fixed))
    literals: set[Any] = {matter.id}.union(*(c.literals for c in fixed))
    out = [(set(read), set(literals))]
    for q in reversed(dialog.questions):
        if q.show_if is not None:
            read |= set(q.show_if.facts)
            literals |= set(q.show_if.literals)
        out.append((set(read), set(literals)))
    return out[::-1]


def _choices(dialog: Dialog) -> dict[str, list[Any]]:
    """For each question, the answers worth trying (see the module docstring)."""
    read = _facts_read(dialog)
    literals = _literals(dialog)
    return {q.id: _values(q, read, literals) for q in dialog.questions}


def _values(q: Question, read: set[str], literals: set[Any]) -> list[Any]:
    if q.type == "date":
        return [EXAMPLE_DATE]
    if q.type == "text":
        return [EXAMPLE_TEXT]
    if not (q.sets_facts() & read):
        first = q.options[0].value
        return [[first]] if q.type == "multiple" else [first]
    named = [o for o in q.options if o.sets or isinstance(o.value, bool) or o.value in literals]
    rest = [o for o in q.options if o not in named]
    if q.type != "multiple":
        return [o.value for o in (*named, *rest[:1])]
    plain = [o.value for o in named if not o.exclusive]
    alone = [[o.value] for o in q.options if o.exclusive]
    if not plain:
        plain = [o.value for o in rest[:1] if not o.exclusive]
    if len(plain) <= 3:
        subsets = [list(c) for n in range(1, len(plain) + 1) for c in itertools.combinations(plain, n)]
    else:
        subsets = [[v] for v in plain] + [plain]
    return subsets + alone


def _facts_read(dialog: Dialog) -> set[str]:
    """Facts that change which questions are shown, whether the family is eligible, or which matters go."""
    read = {"requested_matters"}
    for cond in _rule_conditions(dialog):
        read |= set(cond.facts)
    return read


def _literals(dialog: Dialog) -> set[Any]:
    out: set[Any] = set()
    for cond in _rule_conditions(dialog):
        out |= set(cond.literals)
    return out


def _rule_conditions(dialog: Dialog) -> Iterator[Any]:
    for q in dialog.questions:
        if q.show_if is not None:
            yield q.show_if
    for check in dialog.eligibility:
        yield check.when
    for implication in dialog.implies:
        yield implication.when
    for matter in dialog.matters:
        if matter.applies_if is not None:
            yield matter.applies_if
        for check in matter.preconditions:
            yield check.when
        for variant in matter.variants:
            yield variant.when


def _key(value: Any, literals: set[Any]) -> Any:
    """A list fact only by the values something still reads; anything else as it is."""
    return tuple(sorted(str(v) for v in value if v in literals)) if isinstance(value, list) else value


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)
