"""Structured JSON logs, one object per line, each carrying the request id (from X-Request-Id or
a new one), which is echoed back in the response so a family's complaint can be traced."""

from __future__ import annotations

import json
import logging
import secrets
import time

from flask import Flask, g, has_request_context, request


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.created)),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["path"] = request.path
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_logging(app: Flask) -> None:
    if app.config.get("JSON_LOGS", True) and not app.testing:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        app.logger.handlers = [handler]
        app.logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        usable = 8 <= len(incoming) <= 64 and incoming.isascii() and incoming.isprintable()  # echoed as a header
        g.request_id = incoming if usable else secrets.token_hex(8)
        g.started = time.perf_counter()

    @app.after_request
    def _log(response):
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        took = (time.perf_counter() - getattr(g, "started", time.perf_counter())) * 1000
        app.logger.info("%s %s %s %.1fms", request.method, request.path, response.status_code, took)
        return response
