"""Test vectors for the region files' conditions: each condition with generated fact sets and what we
make of them, so another JsonLogic runtime (the mini-program's json-logic-js) can be checked against ours.

The mini-program evaluates ``show_if`` itself from ``GET /regions/<r>/dialog``. Plain JsonLogic and our
three-valued reading (conditions.py) agree whenever every fact a condition reads is in the data; they
part in one place only: a fact that is *absent* (not known yet) reads as null in plain JsonLogic, while
we try every value it could take (``Condition.domains``) and answer None when the results differ. A fact
that is present with the value null (a question the region did not ask) is known, and reads as null in
both. Each vector therefore carries the plain result and the three-valued one.

Fact sets: every combination of each fact's values, null and absent (sampled, deterministically, past
``MAX_PER_CONDITION``); a list fact takes the subsets of the values the condition names, plus one value
it does not name. Then probes: every operator a region file may use, on values where JavaScript and
Python part ways (``PROBE_VALUES``). ``flask dialogs vectors FILE`` writes them all as JSON.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random
from collections.abc import Iterator
from typing import Any

from .checker import _conditions  # every condition of a region file, where the checker finds them
from .conditions import ALLOWED_OPERATORS, Condition, apply
from .dialogs import Dialog
from .vocabulary import Vocabulary

MAX_PER_CONDITION = 256
ABSENT = object()  # the fact is left out of the data: not known yet


def export(dialogs: list[Dialog], vocab: Vocabulary) -> dict[str, Any]:
    """``conditions`` (region, line, where, rule, domains) and ``vectors`` (condition index, data, ``plain``,
    ``expected`` the three-valued result): every region file's conditions, then the operator probes."""
    out: dict[str, list[dict[str, Any]]] = {"conditions": [], "vectors": []}
    for dialog in dialogs:
        for line, where, cond in _conditions(dialog):
            _add(out, {"region": dialog.region, "line": line, "where": where, "rule": cond.rule,
                       "domains": cond.domains()},
                 [(data, cond.evaluate(data)) for data in fact_sets(cond, vocab)])
    for rule in _probe_rules():
        pairs = [{"a": a, "b": copy.deepcopy(b)} for a, b in itertools.product(PROBE_VALUES, repeat=2)]
        # Two arrays parsed from JSON are never one object: hence the copy. Both facts are known here.
        _add(out, {"region": None, "line": None, "where": f"probe {next(iter(rule))}", "rule": rule,
                   "domains": {"a": None, "b": None}}, [(data, apply(rule, data)) for data in pairs])
    return out


def _add(out: dict[str, list[dict[str, Any]]], condition: dict[str, Any],
         cases: list[tuple[dict[str, Any], bool | None]]) -> None:
    index = len(out["conditions"])
    out["conditions"].append(condition)
    out["vectors"] += [{"condition": index, "data": data, "plain": apply(condition["rule"], data), "expected": expected}
                       for data, expected in cases]


def fact_sets(cond: Condition, vocab: Vocabulary) -> Iterator[dict[str, Any]]:
    """Data for one condition: its facts' values, null and absent, in every combination or a fixed sample."""
    values = [_values(cond, name, vocab) for name in cond.facts]
    total = 1
    for v in values:
        total *= len(v)
    if total <= MAX_PER_CONDITION:
        combos: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]] = itertools.product(*values)
    else:  # the same sample on every run: seeded by the rule itself
        seed = int.from_bytes(hashlib.sha256(json.dumps(cond.rule, sort_keys=True).encode()).digest()[:8], "big")
        rng = random.Random(seed)
        combos = [tuple(rng.choice(v) for v in values) for _ in range(MAX_PER_CONDITION)]
    for combo in combos:
        yield {name: value for name, value in zip(cond.facts, combo, strict=True) if value is not ABSENT}


def _values(cond: Condition, name: str, vocab: Vocabulary) -> list[Any]:
    spec = vocab.facts.get(name)
    known = cond.domains().get(name) or []
    extra: list[Any] = [None]
    if spec is not None and spec.type == "list":
        extra += [[v] for v in spec.values if v not in cond.literals][:1]
    return [*known, *extra, ABSENT]


# JSON values where JavaScript's and Python's ideas of equality, order and truth part ways.
PROBE_VALUES: list[Any] = [None, True, False, 0, 1, 1.5, "", "0", "1", "a", "true", "null", [], [0], [1], ["a"],
                           ["a", "b"], [None], {}]


def _probe_rules() -> list[Any]:
    """Every operator a region file may use (``ALLOWED_OPERATORS``) on two facts: the guarantee then holds
    for the conditions a region file may have tomorrow, not only today's."""
    binary = sorted(ALLOWED_OPERATORS - {"var", "!", "!!", "if", "all", "some", "none"})
    rules: list[Any] = [{op: [{"var": "a"}, {"var": "b"}]} for op in binary]
    rules += [{op: [0, {"var": "a"}, {"var": "b"}]} for op in ("<", "<=")]  # "between"
    rules += [{"!": {"var": "a"}}, {"!!": {"var": "a"}}, {"if": [{"var": "a"}, {"var": "b"}, False]}]
    rules += [{op: [{"var": "a"}, {"==": [{"var": ""}, {"var": "b"}]}]} for op in ("all", "some", "none")]
    return rules
