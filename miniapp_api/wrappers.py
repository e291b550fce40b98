"""The app's request and response classes, and one check of every path parameter, query parameter and page form
field: what domain/text.py never accepts is refused at the door, whichever endpoint it was meant for.

JSON bodies (werkzeug's ``get_json`` calls ``request.json_module.loads``): at most MAX_JSON_BYTES, at most
MAX_JSON_DEPTH levels, counted before parsing (the parser recurses: a thousand levels were a RecursionError, a
500), and no key or string holding a lone surrogate or a control character (a 422 naming where, before any
schema or service sees it). Responses encode their text as UTF-8 with ``errors="replace"``, so text stored
before these rules (a lone surrogate in a name) shows as "?" instead of failing the whole page.
"""

from __future__ import annotations

import json
import re
from typing import Any

import flask
from flask import Flask, request
from marshmallow import ValidationError

from .domain import text
from .errors import ApiError

MAX_JSON_BYTES = 1024 * 1024  # the largest form is a few kilobytes; photos are multipart, not JSON
MAX_JSON_DEPTH = 32  # the deepest body of the API (the form's proxy authorization) has three levels

_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_PAIRS = re.compile(r"\[\]|\{\}")


def too_deep(document: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``: each pass removes the innermost pairs, in C."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", document))
    for _ in range(limit):
        brackets, removed = _PAIRS.subn("", brackets)
        if not brackets or not removed:
            return False  # all matched within the limit, or unbalanced: the parser says what is wrong
    return bool(brackets)


def _too_deep_error() -> ApiError:
    return ApiError(400, "json_too_deep", "提交的内容层次过多", f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")


def bad_strings(value: Any) -> Any:
    """marshmallow-shaped messages for every key or string in ``value`` that holds what text.NEVER matches."""
    if isinstance(value, str):
        return [text.problem(value, multiline=True)] if text.NEVER.search(value) else None
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if text.NEVER.search(key):
                out[key.encode("unicode_escape").decode("ascii")] = [text.problem(key, multiline=True)]
            elif (found := bad_strings(item)) is not None:
                out[key] = found
        return out or None
    if isinstance(value, list):
        return {i: found for i, item in enumerate(value) if (found := bad_strings(item)) is not None} or None
    return None


class CheckedJSON:
    """What a request parses its body with: size, depth and strings checked around the app's JSON provider."""

    def __init__(self, provider: Any):
        self.provider = provider

    def loads(self, data: str | bytes, **kwargs: Any) -> Any:
        if len(data) > MAX_JSON_BYTES:
            raise ApiError(413, "payload_too_large", "提交的内容过大", "the JSON body is too large")
        # Strict decoding: a UnicodeDecodeError is a ValueError, so get_json treats it as "not JSON".
        document = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
        if too_deep(document):
            raise _too_deep_error()
        try:
            value = self.provider.loads(document, **kwargs)
        except RecursionError:
            raise _too_deep_error() from None
        if (problems := bad_strings(value)) is not None:
            raise ValidationError(problems)
        return value


class Request(flask.Request):
    """Flask hands every request the app's JSON provider as ``json_module`` (flask/ctx.py); it is kept, wrapped."""

    _checked_json = CheckedJSON(json)

    @property  # type: ignore[override]
    def json_module(self) -> CheckedJSON:
        return self._checked_json

    @json_module.setter
    def json_module(self, provider: Any) -> None:
        self._checked_json = CheckedJSON(provider)


class Response(flask.Response):
    def set_data(self, value: bytes | str) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8", errors="replace")
        super().set_data(value)


PAGES = ("h5", "console")


def _check_parameters() -> None:
    """Path and query parameters everywhere, and the form fields the pages post: nothing text.NEVER matches."""
    bad: dict[str, list[str]] = {}
    params = [(k, v, False) for k, v in (request.view_args or {}).items() if isinstance(v, str)]
    params += [(k, v, True) for k, v in request.args.items(multi=True)]
    if request.blueprint in PAGES and request.method == "POST":
        params += [(k, v, True) for k, v in request.form.items(multi=True)]
    for name, value, multiline in params:
        why = text.problem(name, multiline=True) or text.problem(value, multiline=multiline)
        if why is not None:
            bad[name.encode("unicode_escape").decode("ascii")] = [why]
    if bad:
        raise ApiError(400, "invalid_characters", "填写的内容中有无法识别的字符（例如控制字符），请删除后重新填写",
                       "a parameter or field contains characters that are not accepted", bad)


def init_wrappers(app: Flask) -> None:
    app.request_class = Request
    app.response_class = Response
    app.before_request(_check_parameters)
