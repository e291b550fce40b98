"""JavaScript's equality, comparison and ``in`` for JSON values, as json-logic-js applies them.

The mini-program evaluates the dialog's conditions with json-logic-js, the JsonLogic reference
implementation, so the server must read every operator the same way. The Python library we use
(panzi-json-logic) parts from it on awkward values: ``null == false`` and ``null == 0`` are true there,
``"" == 0`` false, ``true in [1]`` true, ``[null]`` reads as "null" instead of "", and its ``<`` compares a
string with null as text. ``OPERATIONS`` is the library's set with those operators replaced by the
ECMAScript algorithms (IsLooselyEqual, IsStrictlyEqual, IsLessThan) for the values JSON can hold.
``tests/test_jsonlogic_vectors.py`` checks every operator on such values against json-logic-js itself.
"""

from __future__ import annotations

import math
import re
from typing import Any

from json_logic.builtins import BUILTINS

# ECMAScript WhiteSpace and LineTerminator: what Number("  1 ") trims.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_DIGITS = {16: re.compile(r"[0-9a-fA-F]+"), 8: re.compile(r"[0-7]+"), 2: re.compile(r"[01]+")}


def js_type(value: Any) -> str:
    """The ECMAScript type of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def to_primitive(value: Any) -> Any:
    """Arrays read as their elements joined by commas (null as ""), objects as "[object Object]"."""
    if isinstance(value, list):
        return ",".join("" if item is None else to_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return value


def to_string(value: Any) -> str:
    """JavaScript's String(value)."""
    value = to_primitive(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return re.sub(r"e([+-])0*(\d)", r"e\1\2", repr(value))
    return value


def to_number(value: Any) -> float | int:
    """JavaScript's Number(value): null is 0, "" and blanks are 0, text that is no number literal is NaN."""
    value = to_primitive(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    text = value.strip(_JS_SPACE)
    if not text:
        return 0
    if _DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    base = _RADIX.get(text[:2])
    if base is not None and _DIGITS[base].fullmatch(text[2:]):
        return int(text[2:], base)
    return math.nan


def strict_equals(a: Any, b: Any) -> bool:
    """``===``: same type and value; true is not 1, two arrays are never the same one."""
    if js_type(a) != js_type(b):
        return False
    return a is b if isinstance(a, list | dict) else a == b


def loose_equals(a: Any, b: Any) -> bool:
    """``==`` (IsLooselyEqual): null equals only null; numbers, text and booleans compare as numbers;
    an array or object compares by its primitive with text or a number."""
    ta, tb = js_type(a), js_type(b)
    if ta == tb:
        return strict_equals(a, b)
    if "null" in (ta, tb):
        return False
    if ta == "boolean" or tb == "boolean":
        return loose_equals(to_number(a) if ta == "boolean" else a, to_number(b) if tb == "boolean" else b)
    if {ta, tb} == {"number", "string"}:
        return to_number(a) == to_number(b)
    if ta == "object" or tb == "object":
        return loose_equals(to_primitive(a), to_primitive(b))
    return False


def less_than(a: Any, b: Any) -> bool | None:
    """IsLessThan: text with text by UTF-16 code units, anything else as numbers; None (undefined) for NaN."""
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return pa.encode("utf-16-be") < pb.encode("utf-16-be")
    na, nb = to_number(pa), to_number(pb)
    if math.isnan(na) or math.isnan(nb):
        return None
    return na < nb


def _lt(a: Any, b: Any) -> bool:
    return less_than(a, b) is True


def _le(a: Any, b: Any) -> bool:
    return less_than(b, a) is False


def json_in(needle: Any, haystack: Any) -> bool:
    """``in``: ``indexOf`` of a non-empty string (the needle as text) or of an array (strict equality)."""
    if isinstance(haystack, list):
        return any(strict_equals(needle, item) for item in haystack)
    if isinstance(haystack, str) and haystack:
        return to_string(needle) in haystack
    return False


# json-logic-js's ``<`` and ``<=`` take a third value for "between". Rules give each operator all its
# arguments (a missing one is undefined in JavaScript and null here): ``arity_problems`` below.
OPERATIONS = {
    **BUILTINS,
    "==": lambda data=None, a=None, b=None, *_: loose_equals(a, b),
    "!=": lambda data=None, a=None, b=None, *_: not loose_equals(a, b),
    "===": lambda data=None, a=None, b=None, *_: strict_equals(a, b),
    "!==": lambda data=None, a=None, b=None, *_: not strict_equals(a, b),
    "<": lambda data=None, a=None, b=None, *c: _lt(a, b) and (not c or _lt(b, c[0])),
    "<=": lambda data=None, a=None, b=None, *c: _le(a, b) and (not c or _le(b, c[0])),
    ">": lambda data=None, a=None, b=None, *_: _lt(b, a),
    ">=": lambda data=None, a=None, b=None, *_: _le(b, a),
    "in": lambda data=None, a=None, b=None, *_: json_in(a, b),
}


# How many arguments each operator takes. JavaScript reads a missing one as undefined, which compares
# unlike null (`{"<": [-1]}` is false there and true here), so `flask dialogs check` refuses such a rule.
ARITY = {"==": (2, 2), "!=": (2, 2), "===": (2, 2), "!==": (2, 2), "in": (2, 2), ">": (2, 2), ">=": (2, 2),
         "<": (2, 3), "<=": (2, 3), "!": (1, 1), "!!": (1, 1), "all": (2, 2), "some": (2, 2), "none": (2, 2),
         "var": (1, 2), "and": (1, None), "or": (1, None), "if": (1, None)}


def arity_problems(rule: Any) -> list[str]:
    """Operators given too few or too many arguments, each once: what json-logic-js would read apart."""
    found: list[str] = []
    stack = [rule]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for op, args in node.items():
                given = len(args) if isinstance(args, list) else 1
                low, high = ARITY.get(op, (0, None))
                if given < low or (high is not None and given > high):
                    wanted = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
                    problem = f"operator {op!r} takes {wanted} argument(s), given {given}"
                    if problem not in found:
                        found.append(problem)
                stack.append(args)
    return found
