"""One error shape for the whole API: ``{"error": {"code", "message", "message_en", "fields"}}``."""

from __future__ import annotations

import traceback
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


def error_body(code: str, message: str, message_en: str, fields: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "message_en": message_en, "fields": fields or {}}}


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
