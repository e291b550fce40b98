"""Schemathesis hooks for the run in .ci/run (loaded by tests/fuzz/schemathesis.toml): what the attack round
sent and schemathesis would not.

Hypothesis never draws a lone UTF-16 surrogate for a JSON string (it cannot be written as UTF-8, though JSON can
carry it as ``\\ud800``), and schemathesis never nests a body a thousand deep. So, in turn for each operation,
one request in every few has a string of its generated JSON body replaced by hostile text, one is sent as
JSON nested 1,000 deep instead (as an array or an object), and one has a path parameter with a NUL byte. The
run's checks then hold the server to a documented 4xx for each (never a 5xx). Every phase's requests pass
through here (``before_call``); the counting makes a run repeatable for a given seed.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections import Counter
from typing import Any

import schemathesis

HOSTILE = ["张\ud800", "\udfff", "a\x00b", "\x07", "\x1b[31m", "\x85", "名\u202e字", "\ufeff", "\u200b"]
DEEP = [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000]
EVERY = 7  # of each operation's requests: one hostile string, one deep body, one hostile path parameter

_calls: Counter[str] = Counter()
_lock = threading.Lock()
_hostile = itertools.cycle(HOSTILE)


def _string_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _string_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_paths(v, (*path, i))]
    return []


def _replace(value: Any, path: tuple, new: str) -> Any:
    if not path:
        return new
    value = copy.copy(value)
    value[path[0]] = _replace(value[path[0]], path[1:], new)
    return value


@schemathesis.hook
def before_call(context, case, kwargs: dict[str, Any]) -> None:
    with _lock:
        turn = _calls[case.operation.label] % EVERY
        _calls[case.operation.label] += 1
        text = next(_hostile)
    json_body = case.media_type == "application/json" and isinstance(case.body, dict | list)
    # Hostile bodies go as the bytes sent (kwargs["data"] replaces the generated body), not into case.body:
    # schemathesis revalidates an edited case.body as UTF-8, which a lone surrogate is not. A failure report then
    # shows the generated body; the server's log has the request.
    if turn == 1 and json_body and (paths := _string_paths(case.body)):
        hostile = _replace(case.body, paths[_calls[case.operation.label] % len(paths)], text)
        kwargs["data"] = json.dumps(hostile).encode()  # the surrogate as the escape \ud800
    elif turn == 3 and json_body:
        kwargs["data"] = DEEP[_calls[case.operation.label] // EVERY % 2]
    elif turn == 5 and case.path_parameters:
        name = sorted(case.path_parameters)[0]
        case.path_parameters = {**case.path_parameters, name: f"{case.path_parameters[name]}\x00"}
