"""One error shape for the whole API: ``{"error": {"code", "message", "message_en", "fields", "fields_en"}}``.

``fields`` maps a dotted path (``deceased.name``, ``accounts.0.payee``) to its messages in Chinese, ``fields_en``
the same paths to the same messages in English: a front end that reads ``fields[path]`` as a list of strings
keeps working, and no message is "中文 / English" joined or English only (marshmallow's own words are translated
below). Where an error carries a value rather than words (the tracking code of ``already_submitted``, the
seconds of ``retry_after``), both lists hold the value.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from typing import Any

import redis
import sqlalchemy.exc
from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error a client can act on: a 4xx status, a machine-readable code and bilingual text."""

    def __init__(self, status: int, code: str, message: str, message_en: str,
                 fields: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message = message
        self.message_en = message_en
        self.fields = fields or {}
        self.headers = headers or {}  # e.g. Retry-After on a 429 or a 503 busy


def error_body(code: str, message: str, message_en: str, fields: Mapping[str, Any] | None = None) -> dict:
    """The error document; ``fields`` may be nested (marshmallow's messages) or flat, in any message style."""
    zh, en = bilingual_fields(fields or {})
    return {"error": {"code": code, "message": message, "message_en": message_en, "fields": zh, "fields_en": en}}


# marshmallow's own messages (English only), in Chinese; the English kept as marshmallow words it.
_MARSHMALLOW_ZH: list[tuple[re.Pattern[str], str]] = [(re.compile(f"^{pattern}$"), zh) for pattern, zh in [
    (r"Missing data for required field\.", "必填项，不能缺少"),
    (r"Field may not be null\.", "不能为空（null）"),
    (r"Unknown field\.", "不认识的字段，请删去"),
    (r"Invalid input type\.", "格式不对：应为 JSON 对象"),
    (r"Invalid type\.", "类型不对"),
    (r"Invalid value\.", "取值无效"),
    (r"Invalid input\.", "取值无效"),
    (r"Not a valid string\.", "应为文字（字符串）"),
    (r"Not a valid utf-8 string\.", "不是有效的 UTF-8 文字"),
    (r"Not a valid integer\.", "应为整数"),
    (r"Not a valid number\.", "应为数字"),
    (r"Number too large\.", "数字过大"),
    (r"Not a valid boolean\.", "应为 true 或 false"),
    (r"Not a valid list\.", "应为列表（数组）"),
    (r"Not a valid mapping type\.", "应为对象"),
    (r"Not a valid date\.", "不是有效的日期"),
    (r"Not a valid (?:datetime|time)\.", "不是有效的时间"),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", "不能是 NaN 或无穷大"),
    (r"Shorter than minimum length (?P<min>\d+)\.", "至少 {min} 个字符（或项）"),
    (r"Longer than maximum length (?P<max>\d+)\.", "最多 {max} 个字符（或项）"),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", "长度应在 {min} 到 {max} 之间"),
    (r"Length must be (?P<equal>\d+)\.", "长度应为 {equal}"),
    (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.", "应在 {min} 到 {max} 之间"),
    (r"Must be greater than or equal to (?P<min>\S+)\.", "应不小于 {min}"),
    (r"Must be less than or equal to (?P<max>\S+)\.", "应不大于 {max}"),
    (r"Must be one of: (?P<choices>.*)\.", "应为以下之一：{choices}"),
    (r"String does not match expected pattern\.", "格式不对"),
]]


def bilingual(message: Any) -> tuple[str, str]:
    """One message as (Chinese, English): a "中文 / English" string split, marshmallow's English translated, a
    value (a tracking code, a number of seconds) the same in both."""
    text = str(message)
    zh, sep, en = text.partition(" / ")
    if sep and zh and en:
        return zh, en
    for pattern, template in _MARSHMALLOW_ZH:
        if found := pattern.match(text):
            return template.format(**found.groupdict()), text
    return text, text


def bilingual_fields(messages: Mapping[str, Any]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Nested messages (``{"deceased": {"name": [...]}}``, ``{"accounts": {0: {...}}}``) flattened to dotted
    paths, each message split into the Chinese and the English list."""
    zh: dict[str, list[str]] = {}
    en: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
            return
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, Mapping):  # a list field's messages per index, or a nested schema's
                walk(item, path)
                continue
            pair = bilingual(item)
            zh.setdefault(path or "_schema", []).append(pair[0])
            en.setdefault(path or "_schema", []).append(pair[1])

    walk(messages, "")
    return zh, en


_HTTP_TEXTS = {
    400: ("bad_request", "请求格式不正确", "the request is malformed"),
    404: ("not_found", "找不到该地址", "no such resource"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    413: ("payload_too_large", "提交的内容过大", "the request body is too large"),
    415: ("unsupported_media_type", "请以 JSON 格式提交", "send the body as JSON"),
    429: ("too_many_requests", "操作过于频繁，请稍后再试", "too many requests, please wait"),
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.code, exc.message, exc.message_en, exc.fields)), exc.status, exc.headers

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        fields = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return jsonify(error_body("validation_error", "提交的内容有误，请检查标出的项目",
                                  "some fields are invalid", fields)), 422

    @app.errorhandler(redis.RedisError)
    def _redis_down(exc: redis.RedisError):
        app.logger.warning("redis unavailable: %s", type(exc).__name__)
        return jsonify(error_body("temporarily_unavailable", "服务暂时繁忙，请稍后再试",
                                  "a backing service is unavailable; try again shortly")), 503

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    def _database_down(exc: Exception):
        from .extensions import db

        db.session.rollback()  # nothing half-written: the transaction is abandoned whole
        app.logger.warning("database unavailable: %s", type(exc).__name__)
        return jsonify(error_body("database_unavailable", "服务暂时不可用，请稍后再试",
                                  "the database is unavailable; try again shortly")), 503

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        code, zh, en = _HTTP_TEXTS.get(status, ("http_error", "请求无法处理", exc.description or "error"))
        return jsonify(error_body(code, zh, en)), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # pragma: no cover - a bug; logged, never leaks details
        if isinstance(exc, sqlalchemy.exc.DBAPIError):
            app.logger.error("unhandled database error\n%s", _database_error_text(exc))
        else:
            app.logger.exception("unhandled error")
        return jsonify(error_body("internal_error", "服务暂时出现问题，请稍后再试",
                                  "internal error, please try again later")), 500


def _database_error_text(exc: sqlalchemy.exc.DBAPIError) -> str:
    """What a database error's log needs to be debugged, without the values it names: the traceback, the
    error class, the statement (its parameters are hidden: ``hide_parameters``), the SQLSTATE and the
    constraint. Not the driver's message, whose ``DETAIL`` line repeats a duplicate key's values (a phone)."""
    diag = getattr(exc.orig, "diag", None)
    first_line = str(exc.orig).splitlines()[0] if exc.orig is not None and str(exc.orig) else ""
    if diag is not None and getattr(diag, "message_primary", None):
        first_line = diag.message_primary  # never the detail or the hint
    return "".join([
        "Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__),
        f"{type(exc).__module__}.{type(exc).__name__} ({type(exc.orig).__name__}): {first_line}\n",
        f"SQLSTATE {getattr(exc.orig, 'sqlstate', None) or getattr(diag, 'sqlstate', None) or '-'}, "
        f"constraint {getattr(diag, 'constraint_name', None) or '-'}\n",
        f"[SQL: {exc.statement}]\n[SQL parameters hidden]",
    ])
