"""``flask dialogs check``: everything that can be wrong with a region file, with file and line.

Beyond the schema it checks ids and values against the vocabulary, that every fact a condition
reads is asked in that region, that questions depend only on earlier ones (no cycles), and, by
trying every value the region's questions can produce, that no question is never shown and no
matter can never apply.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .application_form import FORM_FACTS, FORM_RULE_FACTS
from .conditions import ALLOWED_OPERATORS, Condition, operators_used, referenced_facts
from .dialogs import Dialog, DialogFileError, Matter, build_dialog, read_region_file
from .js_semantics import arity_problems
from .vocabulary import DIALOGS_DIR, FactError, Vocabulary, load_vocabulary, validate_fact

MAX_COMBINATIONS = 20000


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def check_all(dialogs_dir: Path = DIALOGS_DIR) -> list[Problem]:
    """Check every region of the vocabulary; an empty list means all files are sound."""
    vocab = load_vocabulary(dialogs_dir)
    problems: list[Problem] = []
    for region in vocab.regions:
        problems.extend(check_file(dialogs_dir / f"{region}.yaml", vocab))
    return problems


def check_file(path: Path, vocab: Vocabulary | None = None) -> list[Problem]:
    vocab = vocab or load_vocabulary()
    name = os.path.relpath(path) if str(path).startswith(os.getcwd()) else str(path)
    if not path.exists():
        return [Problem(name, 1, "region file is missing")]
    try:
        raw, lines = read_region_file(path)
    except DialogFileError as exc:
        return [Problem(name, line, msg) for _, line, msg in exc.problems]
    dialog = build_dialog(raw, lines, path, vocab)
    return [Problem(name, line, msg) for line, msg in _problems(dialog, vocab)]


def _problems(dialog: Dialog, vocab: Vocabulary) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    specs = vocab.facts
    if dialog.region != dialog.path.stem:
        out.append((1, f"region {dialog.region!r} does not match the file name {dialog.path.stem!r}"))
    if dialog.region not in vocab.regions:
        out.append((1, f"unknown region {dialog.region!r}"))

    matter_ids = [m.id for m in dialog.matters]
    seen_q: set[str] = set()
    set_by: dict[str, list[int]] = {}  # fact -> indexes of questions that set it
    requestable: set[str] = set()
    for index, q in enumerate(dialog.questions):
        if q.id in seen_q:
            out.append((q.line, f"duplicate question id {q.id!r}"))
        seen_q.add(q.id)
        out.extend((q.line, msg) for msg in _question_problems(q, specs, matter_ids, vocab))
        for fact in q.sets_facts():
            set_by.setdefault(fact, []).append(index)
        requestable.update(q.requests)
        if q.fact == "requested_matters":
            requestable.update(o.value for o in q.options if not o.exclusive)
        for option in q.options:
            added = option.sets.get("requested_matters", [])
            requestable.update(added if isinstance(added, list) else [added])

    # Conditions: known operators and facts, values inside the contract, facts asked in this region (an
    # implication may read a fact the region does not ask: it is for facts that come from elsewhere).
    outside = {id(i.when) for i in dialog.implies}
    for line, where, cond in _conditions(dialog):
        asked = None if id(cond) in outside else set_by
        out.extend((line, f"{where}: {msg}") for msg in _condition_problems(cond, specs, asked))
    for implication in dialog.implies:
        for fact, value in implication.sets.items():
            if fact not in specs:
                out.append((implication.line, f"implies: sets unknown fact {fact!r}"))
                continue
            try:
                validate_fact(specs[fact], value)
            except FactError as exc:
                out.append((implication.line, f"implies: sets {exc.message_en}"))

    # Order and cycles: a question may only depend on facts set by earlier questions.
    depends: dict[int, set[int]] = {}
    list_facts = {name for name, spec in specs.items() if spec.type == "list"}
    for index, q in enumerate(dialog.questions):
        if q.show_if is None:
            continue
        needed = set()
        for fact in q.show_if.facts:
            for i in set_by.get(fact, []):
                # For a list fact, only the questions that can add a value the condition names count.
                adds = dialog.questions[i].list_values(list_facts).get(fact)
                if adds is None or adds & q.show_if.literals:
                    needed.add(i)
        depends[index] = needed
        later = sorted(i for i in needed if i >= index)
        for i in later:
            other = dialog.questions[i]
            kind = "itself" if i == index else f"the later question {other.id!r}"
            out.append((q.line, f"question {q.id!r} depends on a fact set by {kind}; move it after"))
    for cycle in _cycles(depends):
        names = " -> ".join(dialog.questions[i].id for i in cycle)
        out.append((dialog.questions[cycle[0]].line, f"cycle between questions: {names}"))

    # Reachability: questions never shown, matters that can never apply.
    domains = _reachable_values(dialog, specs)
    for q in dialog.questions:
        if q.show_if is not None and not _can_be_true(q.show_if, domains):
            out.append((q.line, f"question {q.id!r} can never be shown"))
    seen_m: set[str] = set()
    for m in dialog.matters:
        if m.id in seen_m:
            out.append((m.line, f"duplicate matter {m.id!r}"))
        seen_m.add(m.id)
        if m.id not in vocab.matters:
            out.append((m.line, f"unknown matter id {m.id!r}"))
        if m.department not in vocab.departments:
            out.append((m.line, f"unknown department {m.department!r}"))
        for use in m.materials:
            if use.id not in vocab.materials:
                out.append((m.line, f"unknown material id {use.id!r} in matter {m.id!r}"))
        for trip in m.trips:
            if trip.place not in vocab.places:
                out.append((m.line, f"unknown place {trip.place!r} in matter {m.id!r}"))
        for other in m.after:
            if other != "all" and other not in matter_ids:
                out.append((m.line, f"matter {m.id!r} comes after {other!r}, which is not a matter of this region"))
        out.extend((m.line, msg) for msg in _time_and_confirm_problems(m, specs, set_by, dialog))
        if not m.mandatory and m.id not in requestable:
            out.append((m.line, f"matter {m.id!r} is optional but no question lets the family request it"))
        elif m.applies_if is not None and not _can_be_true(m.applies_if, domains):
            out.append((m.line, f"matter {m.id!r} can never apply"))
        out.extend(_variant_problems(m, vocab, domains))
    for trip in dialog.trips:
        if trip.place not in vocab.places:
            out.append((nearest_trips_line(dialog), f"unknown place {trip.place!r} in trips"))
    for matter_id in sorted(requestable - set(matter_ids)):
        out.append((1, f"a question requests {matter_id!r}, which is not a matter of this region"))
    for payee in dialog.form["payees"]:
        if payee not in vocab.payees:
            out.append((nearest_form_line(dialog), f"unknown payee {payee!r} in form.payees"))
    for material_id in (dialog.raw.get("materials") or {}):
        if material_id not in vocab.materials:
            out.append((1, f"unknown material id {material_id!r} in materials"))
    out.extend(_form_fact_problems(dialog, vocab))
    out.extend(_unread_questions(dialog))
    if not out:  # the path search assumes a sound file
        out.extend(_path_problems(dialog))
    return sorted(set(out))


def _time_and_confirm_problems(m: Matter, specs, set_by: dict[str, list[int]], dialog: Dialog) -> list[str]:
    """``stops_month`` names a date fact the region asks and says the month with ``{month}``;
    ``confirm_if_unknown`` needs an ``applies_if`` to be unknown."""
    out = []
    if m.confirm_if_unknown is not None and m.applies_if is None:
        out.append(f"matter {m.id!r}: confirm_if_unknown without applies_if (nothing can be unknown)")
    rule = m.stops_month
    if rule is None:
        return out
    spec = specs.get(rule.fact)
    if spec is None or spec.type != "date":
        out.append(f"matter {m.id!r}: stops_month.month_after {rule.fact!r} is not a date fact")
    elif rule.fact not in set_by and rule.fact not in {f.fact for f in dialog.form_facts}:
        out.append(f"matter {m.id!r}: stops_month.month_after {rule.fact!r} is asked by no question or form field")
    for key, note in (("note", rule.note.zh), ("note_en", rule.note.en)):
        try:
            filled = note.format(month="")
        except (KeyError, IndexError, ValueError):
            filled = None
        if filled is None or "{month}" not in note:
            out.append(f"matter {m.id!r}: stops_month.{key} must name the month as {{month}} (and nothing else in braces)")
    return out


def _variant_problems(m: Matter, vocab: Vocabulary, domains: dict[str, list[Any]]) -> list[tuple[int, str]]:
    """A matter's variants: known ids, each one possible where the matter applies, and never two at once
    (the checklist would have to pick a name for the family at random). Tried over the values the region's
    questions can give, as for the matters themselves."""
    out: list[tuple[int, str]] = []
    specs = vocab.facts
    applies = m.applies_if.rule if m.applies_if is not None else True
    seen: set[str] = set()
    for v in m.variants:
        if v.id in seen:
            out.append((v.line, f"duplicate variant {v.id!r} in matter {m.id!r}"))
        seen.add(v.id)
        for use in v.materials or ():
            if use.id not in vocab.materials:
                out.append((v.line, f"unknown material id {use.id!r} in variant {v.id!r} of matter {m.id!r}"))
        if not _can_be_true(Condition({"and": [applies, v.when.rule]}, specs), domains):
            out.append((v.line, f"variant {v.id!r} of matter {m.id!r} can never hold where the matter applies"))
    for a, b in itertools.combinations(m.variants, 2):
        both = _example(Condition({"and": [applies, a.when.rule, b.when.rule]}, specs), domains)
        if both is not None and both is not TOO_MANY:
            shown = ", ".join(f"{f}={json.dumps(x, ensure_ascii=False)}" for f, x in both.items()) or "any facts"
            out.append((b.line, f"variants {a.id!r} and {b.id!r} of matter {m.id!r} can both hold, e.g. for {shown}"))
    return out


def _form_fact_problems(dialog: Dialog, vocab: Vocabulary) -> list[tuple[int, str]]:
    out = []
    for spec in dialog.form_facts:
        if spec.fact not in vocab.facts:
            out.append((spec.line, f"form.facts: unknown fact {spec.fact!r}"))
        if spec.question is not None:
            borrowed = dialog.question(spec.question)
            if borrowed is None or spec.fact not in borrowed.sets_facts():
                out.append((spec.line, f"form.facts: question {spec.question!r} does not ask {spec.fact!r}"))
        if spec.department is not None and spec.department not in vocab.departments:
            out.append((spec.line, f"form.facts: unknown department {spec.department!r}"))
        if spec.field is not None and spec.field.split(".")[0] not in ("deceased", "applicant"):
            out.append((spec.line, f"form.facts: field {spec.field!r} must be in deceased.* or applicant.*"))
    return out


def _unread_questions(dialog: Dialog) -> list[tuple[int, str]]:
    """Questions whose answer changes nothing: no rule, form rule or form field reads what they set, or
    only the conditions of optional matters the family has already declined by the time it is shown.
    Such a question costs a grieving family an answer for nothing: make it a form field for the
    department (``form.facts`` with ``department``) or ask it only where a rule reads it."""
    out: list[tuple[int, str]] = []
    scoped: dict[int, Matter] = {}  # id(condition) -> the optional matter it belongs to
    for m in dialog.matters:
        if not m.mandatory:
            for cond in (*(p.when for p in m.preconditions), *(u.when for u in m.materials),
                         *(t.when for t in m.trips), *(c.when for c in m.to_confirm),
                         *(v.when for v in m.variants),
                         *(u.when for v in m.variants for u in v.materials or ())):
                if cond is not None:
                    scoped[id(cond)] = m
    general: set[str] = {"requested_matters", *FORM_RULE_FACTS, *(f.fact for f in dialog.form_facts)}
    by_matter: dict[str, set[str]] = {}  # fact -> optional matters whose own conditions read it
    for _, _, cond in _conditions(dialog):
        owner = scoped.get(id(cond))
        for fact in cond.facts:
            if owner is None:
                general.add(fact)
            else:
                by_matter.setdefault(fact, set()).add(owner.id)
    domains = _reachable_values(dialog, load_vocabulary().facts)
    for index, q in enumerate(dialog.questions):
        facts = q.sets_facts()
        if facts & general:
            continue
        readers = sorted(set().union(*(by_matter.get(f, set()) for f in facts)))
        if not readers:
            out.append((q.line, f"question {q.id!r}: no rule, form rule or form field reads its answer "
                                f"({', '.join(sorted(facts))}); make it a form field for the department "
                                f"(form.facts with department) or drop it"))
            continue
        requested_later = any(m in later.list_values({"requested_matters"}).get("requested_matters", set())
                              for later in dialog.questions[index:] for m in readers)
        if requested_later:
            continue  # the family has not said yet whether it wants them
        declined = {"and": [q.show_if.rule if q.show_if else True,
                            *({"!": {"in": [m, {"var": "requested_matters"}]}} for m in readers)]}
        if _can_be_true(Condition(declined, load_vocabulary().facts), domains):
            out.append((q.line, f"question {q.id!r} is shown when the family did not ask for "
                                f"{', '.join(readers)}, the only matters that read its answer; add that to its show_if"))
    return out


def _path_problems(dialog: Dialog) -> list[tuple[int, str]]:
    """Every fact the form and the preconditions read is there on every path that needs it (paths.py)."""
    out: list[tuple[int, str]] = []
    declared = {spec.fact: spec for spec in dialog.form_facts}
    needed = [(fact, declared[fact].line if fact in declared else nearest_form_line(dialog))
              for fact in dict.fromkeys([*FORM_FACTS, *declared])
              if fact not in declared or declared[fact].field is None]
    missed: set[str] = set()
    try:
        for matter in dialog.matters:
            for check in matter.preconditions:
                found = paths.find_path(dialog, paths.Goal(matter, check=check))
                if found is not None:
                    out.append((check.line, f"precondition {check.code!r} of matter {matter.id!r} cannot be decided: "
                                            f"no question answers {', '.join(check.when.facts)} on the path "
                                            f"{paths.describe(found)}"))
            if matter.variants:
                found = paths.find_path(dialog, paths.Goal(matter, variant=True))
                if found is not None:
                    facts = sorted({f for v in matter.variants for f in v.when.facts})
                    out.append((matter.variants[0].line, f"which variant of matter {matter.id!r} applies cannot be "
                                                         f"decided from the answers ({', '.join(facts)}) on the path "
                                                         f"{paths.describe(found)}"))
            for fact, line in needed:
                if fact in missed:
                    continue  # one path per fact is enough to act on
                found = paths.find_path(dialog, paths.Goal(matter, fact=fact))
                if found is not None:
                    out.append((line, f"the form needs {fact!r}, but no question answers it when matter "
                                      f"{matter.id!r} goes ahead, on the path {paths.describe(found)}; ask it on "
                                      f"that path or give it a field in form.facts"))
                    missed.add(fact)
    except paths.TooManyPaths as exc:
        out.append((1, f"{exc}: split the questionnaire or raise paths.MAX_STATES"))
    return out


def _question_problems(q, specs, matter_ids: list[str], vocab: Vocabulary) -> list[str]:
    out = []
    spec = specs.get(q.fact) if q.fact else None
    if q.fact and spec is None:
        out.append(f"question {q.id!r} sets unknown fact {q.fact!r}")
    expected = {"yes_no": {"bool"}, "single": {"enum"}, "multiple": {"list"}, "date": {"date"}, "text": {"text"}}
    if spec is not None and spec.type not in expected[q.type]:
        out.append(f"question {q.id!r} is {q.type} but fact {q.fact!r} is {spec.type}")
    if q.type in ("single", "multiple", "yes_no") and not q.options:
        out.append(f"question {q.id!r} needs options")
    if q.type in ("date", "text") and q.options:
        out.append(f"question {q.id!r} ({q.type}) cannot have options")
    if q.requests and q.type != "yes_no":
        out.append(f"question {q.id!r}: only yes_no questions may request matters")
    for matter_id in q.requests:
        if matter_id not in vocab.matters:
            out.append(f"question {q.id!r} requests unknown matter {matter_id!r}")
    values = [o.value for o in q.options]
    if len(values) != len(set(map(repr, values))):
        out.append(f"question {q.id!r} has duplicate option values")
    for option in q.options:
        if q.type == "yes_no" and not isinstance(option.value, bool):
            out.append(f"question {q.id!r}: yes_no option values must be true or false")
        if q.type != "yes_no" and not isinstance(option.value, str):
            out.append(f"question {q.id!r}: option values must be strings")
        if option.exclusive and q.type != "multiple":
            out.append(f"question {q.id!r}: only multiple-choice options can be exclusive")
        if spec is not None and q.type in ("single", "multiple") and not option.exclusive:
            if option.value not in spec.values:
                out.append(f"question {q.id!r}: option value {option.value!r} is not a value of fact {q.fact!r}")
        for fact, value in option.sets.items():
            fact_spec = specs.get(fact)
            if fact_spec is None:
                out.append(f"question {q.id!r}: option sets unknown fact {fact!r}")
                continue
            try:
                validate_fact(fact_spec, value)
            except FactError as exc:
                out.append(f"question {q.id!r}: option sets {exc.message_en}")
    return out


def _conditions(dialog: Dialog):
    for q in dialog.questions:
        if q.show_if is not None:
            yield q.line, f"question {q.id!r} show_if", q.show_if
    for check in dialog.eligibility:
        yield check.line, "eligibility", check.when
    for implication in dialog.implies:
        yield implication.line, "implies", implication.when
    for m in dialog.matters:
        if m.applies_if is not None:
            yield m.line, f"matter {m.id!r} applies_if", m.applies_if
        for p in m.preconditions:
            yield p.line, f"matter {m.id!r} precondition", p.when
        for use in m.materials:
            if use.when is not None:
                yield m.line, f"matter {m.id!r} material {use.id!r}", use.when
        for v in m.variants:
            yield v.line, f"matter {m.id!r} variant {v.id!r} when", v.when
            for use in v.materials or ():
                if use.when is not None:
                    yield v.line, f"matter {m.id!r} variant {v.id!r} material {use.id!r}", use.when
        for trip in m.trips:
            if trip.when is not None:
                yield m.line, f"matter {m.id!r} trip {trip.place!r}", trip.when
        for note in m.to_confirm:
            if note.when is not None:
                yield m.line, f"matter {m.id!r} to_confirm", note.when
    for trip in dialog.trips:
        if trip.when is not None:
            yield nearest_trips_line(dialog), f"trip {trip.place!r}", trip.when
    for w in dialog.warnings:
        yield w.line, f"warning {w.code!r}", w.when
    for spec in dialog.form_facts:
        if spec.when is not None:
            yield spec.line, f"form.facts {spec.fact!r} when", spec.when


def _condition_problems(cond: Condition, specs, set_by: dict[str, list[int]] | None) -> list[str]:
    out = []
    bad_ops = operators_used(cond.rule) - ALLOWED_OPERATORS
    if bad_ops:
        out.append(f"operators not allowed: {', '.join(sorted(bad_ops))}")
    out.extend(arity_problems(cond.rule))  # the mini-program's json-logic-js must read the rule alike
    for fact in referenced_facts(cond.rule):
        if fact not in specs:
            out.append(f"unknown fact {fact!r}")
        elif set_by is not None and fact not in set_by:
            out.append(f"fact {fact!r} is never asked in this region")
    out.extend(_value_problems(cond.rule, specs))
    return out


def _value_problems(rule: Any, specs) -> list[str]:
    """Compare-with-literal values must be values the contract allows for that fact."""
    out: list[str] = []
    if isinstance(rule, list):
        for item in rule:
            out.extend(_value_problems(item, specs))
        return out
    if not isinstance(rule, dict):
        return out
    for op, args in rule.items():
        if op in ("==", "!=", "===", "!==") and isinstance(args, list) and len(args) == 2:
            for a, b in (args, args[::-1]):
                out.extend(_literal_check(a, [b], specs))
        if op == "in" and isinstance(args, list) and len(args) == 2:
            needle, hay = args
            if isinstance(hay, list):
                out.extend(_literal_check(needle, hay, specs))
            else:
                out.extend(_literal_check(hay, [needle], specs))
        out.extend(_value_problems(args, specs))
    return out


def _literal_check(var: Any, literals: list[Any], specs) -> list[str]:
    if not (isinstance(var, dict) and "var" in var and isinstance(var["var"], str)):
        return []
    spec = specs.get(var["var"])
    if spec is None:
        return []
    out = []
    for literal in literals:
        if spec.type in ("enum", "list") and isinstance(literal, str) and literal not in spec.values:
            out.append(f"{literal!r} is not a value of fact {spec.name!r}")
        if spec.type == "bool" and isinstance(literal, str):
            out.append(f"fact {spec.name!r} is true/false, not {literal!r}")
    return out


def _reachable_values(dialog: Dialog, specs) -> dict[str, list[Any]]:
    """For each fact, the values this region's questions can give it (plus None: not asked)."""
    values: dict[str, list[Any]] = {}

    def add(fact: str, value: Any) -> None:
        bucket = values.setdefault(fact, [None])
        for v in value if isinstance(value, list) else [value]:
            if v not in bucket:
                bucket.append(v)

    for q in dialog.questions:
        if q.fact and q.fact in specs:
            spec = specs[q.fact]
            if q.type == "yes_no":
                add(q.fact, [True, False])
            elif q.type in ("single", "multiple"):
                for o in q.options:
                    if not o.exclusive:
                        add(q.fact, o.value)
                values.setdefault(q.fact, [None])
            elif spec.type == "date":
                add(q.fact, "2000-01-01")
            else:
                add(q.fact, "text")
        if q.requests:
            add("requested_matters", list(q.requests))
        for o in q.options:
            for fact, value in o.sets.items():
                add(fact, value)
    for implication in dialog.implies:
        for fact, value in implication.sets.items():
            add(fact, value)
    return values


def _can_be_true(cond: Condition, domains: dict[str, list[Any]]) -> bool:
    return _example(cond, domains) is not None


TOO_MANY: dict[str, Any] = {}  # _example's answer when there are too many combinations to try (falsy: no example)


def _example(cond: Condition, domains: dict[str, list[Any]]) -> dict[str, Any] | None:
    """Facts the region's questions can give for which ``cond`` is true, None when there are none, or
    ``TOO_MANY`` (not None, so "it can", but empty, so never shown as an example) when too many to try."""
    facts = list(cond.facts)
    choices = []
    total = 1
    for fact in facts:
        raw = domains.get(fact, [None])
        if _is_list(fact):
            named = [v for v in raw if v is not None and v in cond.literals]
            options: list[Any] = [None] + [list(c) for n in range(len(named) + 1)
                                           for c in itertools.combinations(named, n)]
        else:
            options = raw
        total *= max(1, len(options))
        if total > MAX_COMBINATIONS:
            return TOO_MANY  # too many to try: assume it can
        choices.append(options)
    for combo in itertools.product(*choices):
        # None stands for "not asked here": rules read it as null (or an empty list).
        data = {f: ([] if v is None and _is_list(f) else v) for f, v in zip(facts, combo, strict=True)}
        if cond.evaluate(data) is True:
            return data
    return None


def _is_list(fact: str) -> bool:
    spec = load_vocabulary().facts.get(fact)
    return spec is not None and spec.type == "list"


def _cycles(depends: dict[int, set[int]]) -> list[list[int]]:
    """Cycles in the question dependency graph (each reported once, from its first question)."""
    found: list[list[int]] = []
    state: dict[int, int] = {}  # 1 visiting, 2 done
    stack: list[int] = []

    def visit(node: int) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(depends.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(depends):
        if node not in state:
            visit(node)
    return found


def nearest_form_line(dialog: Dialog) -> int:
    return _top_level_line(dialog, "form:")


def nearest_trips_line(dialog: Dialog) -> int:
    return _top_level_line(dialog, "trips:")


def _top_level_line(dialog: Dialog, key: str) -> int:
    for number, line in enumerate(dialog.path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(key):
            return number
    return 1
