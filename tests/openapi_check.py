"""Every /api/v1 response a test gets, checked against the OpenAPI document (the session app records each
mismatch, tests/conftest.py fails the test that caused it): a documented status, and a JSON body that matches
its typed schema. So the document's response schemas are proven by the whole suite, not only by schemathesis.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request
from jsonschema import Draft202012Validator

PREFIX = "/api/v1"


def _template(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule[len(PREFIX):])


class ResponseCheck:
    def __init__(self, app: Flask):
        self.app = app
        self.problems: list[str] = []
        self._document: dict[str, Any] | None = None
        self._validators: dict[str, Draft202012Validator] = {}

    def document(self) -> dict[str, Any]:
        if self._document is None:
            with self.app.test_request_context():
                from miniapp_api.api.openapi import spec

                self._document = spec()
        return self._document

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator({**self.document(), "$ref": pointer})
        return self._validators[pointer]

    def check(self, response) -> None:
        rule = request.url_rule
        if rule is None or not rule.rule.startswith(PREFIX + "/") or rule.endpoint.startswith("openapi."):
            return
        path, method = _template(rule.rule), request.method.lower()
        operation = self.document()["paths"].get(path, {}).get(method)
        if operation is None:
            return  # HEAD, OPTIONS
        where = f"{request.method} {request.path} → {response.status_code}"
        status = str(response.status_code)
        described = operation["responses"].get(status)
        if described is None:
            self.problems.append(f"{where}: status not in the document ({sorted(operation['responses'])})")
            return
        pointer = f"#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}/responses/{status}"
        if "$ref" in described:
            pointer = described["$ref"]
            described = self.document()["components"]["responses"][described["$ref"].rsplit("/", 1)[1]]
        content = described.get("content")
        if not content:
            if response.get_data():
                self.problems.append(f"{where}: a body where the document says none")
            return
        if response.mimetype not in content:
            self.problems.append(f"{where}: {response.mimetype} is not one of {sorted(content)}")
            return
        if response.mimetype != "application/json":
            return
        schema_pointer = f"{pointer}/content/application~1json/schema"
        body = json.loads(response.get_data())
        errors = sorted(self._validator(schema_pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
        for error in errors[:3]:
            self.problems.append(f"{where}: {'.'.join(map(str, error.absolute_path)) or '(body)'}: {error.message[:300]}")


def install(app: Flask) -> ResponseCheck:
    checker = ResponseCheck(app)

    @app.after_request
    def _check(response):
        try:
            checker.check(response)
        except Exception as exc:  # the check itself must never change what the test sees
            checker.problems.append(f"{request.method} {request.path}: the check failed: {exc!r}")
        return response

    return checker
