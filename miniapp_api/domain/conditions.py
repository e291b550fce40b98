"""Conditions in region files: JsonLogic (https://jsonlogic.com), evaluated with three values.

A condition such as ``{"==": [{"var": "death_type"}, "normal"]}`` is plain JSON data, so a region
file needs no parser of its own and no Python ``eval``. JsonLogic reads a missing fact as ``null``,
which would silently count an unanswered question as "no". We never let that happen: when a
condition refers to facts that are still unknown, it is tried with every value those facts could
take. If every try agrees, the answer is known; otherwise the condition is ``None`` (unknown).

The operators mean what they mean in json-logic-js, the reference implementation the mini-program runs
(``js_semantics.py``; checked in CI on every condition of every region file, ``tests/jsonlogic/``): the
Python library alone reads ``null == false`` as true, which made a question the region did not ask
count as answered "no".
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from json_logic import jsonLogic
from json_logic.builtins import to_bool

from .js_semantics import OPERATIONS
from .vocabulary import FactSpec

Facts = Mapping[str, Any]

# Above this many combinations of unknown values a condition is simply reported as unknown.
MAX_COMBINATIONS = 4096
# How many distinct inputs one condition remembers the result for.
CACHE_SIZE = 2048

ALLOWED_OPERATORS = frozenset(
    {"var", "==", "!=", "===", "!==", "!", "!!", "and", "or", "if", "in", "<", "<=", ">", ">=", "all", "some", "none"}
)


def apply(rule: Any, data: Facts) -> bool:
    """One plain JsonLogic evaluation, true or false as json-logic-js's ``truthy`` reads the result."""
    return to_bool(jsonLogic(rule, dict(data), OPERATIONS))


def referenced_facts(rule: Any) -> set[str]:
    """The fact names a rule reads with ``var``."""
    found: set[str] = set()
    for op, args in _operations(rule):
        if op == "var":
            name = args[0] if isinstance(args, list) else args
            if isinstance(name, str) and name:
                found.add(name.split(".")[0])
    return found


def operators_used(rule: Any) -> set[str]:
    return {op for op, _ in _operations(rule)}


def literal_strings(rule: Any) -> set[str]:
    """Every string literal in a rule (used to enumerate list facts sparingly)."""
    if isinstance(rule, str):
        return {rule}
    if isinstance(rule, list):
        return set().union(*(literal_strings(r) for r in rule)) if rule else set()
    if isinstance(rule, dict):
        return set().union(*(literal_strings(v) for v in rule.values())) if rule else set()
    return set()


def _operations(rule: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(rule, dict):
        for op, args in rule.items():
            yield op, args
            yield from _operations(args)
    elif isinstance(rule, list):
        for item in rule:
            yield from _operations(item)


class Condition:
    """A compiled JsonLogic rule that answers True, False or None (not known yet)."""

    __slots__ = ("rule", "facts", "literals", "_specs", "_cache")

    def __init__(self, rule: Any, specs: Mapping[str, FactSpec]):
        self.rule = rule
        self.facts = tuple(sorted(referenced_facts(rule)))
        self._specs = specs
        self.literals = frozenset(literal_strings(rule))
        self._cache: dict[tuple, bool | None] = {}

    def __repr__(self) -> str:
        return f"Condition({json.dumps(self.rule, ensure_ascii=False)})"

    def evaluate(self, facts: Facts) -> bool | None:
        key = tuple(_hashable(facts.get(name, _ABSENT)) for name in self.facts)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._evaluate(facts)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = result
        return result

    def clear_cache(self) -> None:
        self._cache.clear()

    def domains(self) -> dict[str, list[Any] | None]:
        """For each fact it reads, the values an unknown one is tried with (None: cannot be enumerated, so the
        condition stays unknown while that fact is); the dialog endpoint gives them to the mini-program."""
        return {name: self._domain(name) for name in self.facts}

    def missing(self, facts: Facts) -> list[str]:
        """The facts this condition reads that are not known yet."""
        return [name for name in self.facts if name not in facts]

    def _evaluate(self, facts: Facts) -> bool | None:
        unknown = self.missing(facts)
        if not unknown:
            return apply(self.rule, facts)
        domains = []
        total = 1
        for name in unknown:
            domain = self._domain(name)
            if domain is None:
                return None
            total *= len(domain)
            if total > MAX_COMBINATIONS:
                return None
            domains.append(domain)
        data = dict(facts)
        seen: bool | None = None
        for combo in itertools.product(*domains):
            data.update(zip(unknown, combo, strict=True))
            value = apply(self.rule, data)
            if seen is None:
                seen = value
            elif seen != value:
                return None
        return seen

    def _domain(self, name: str) -> list[Any] | None:
        spec = self._specs.get(name)
        if spec is None:
            return None
        if spec.type == "bool":
            return [True, False]
        if spec.type == "enum":
            return list(spec.values)
        if spec.type == "list":
            # Only membership of values the rule names can change its outcome.
            named = sorted(v for v in spec.values if v in self.literals)
            return [list(c) for n in range(len(named) + 1) for c in itertools.combinations(named, n)]
        return None  # dates and free text cannot be enumerated


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(sorted(map(str, value)))
    return value

