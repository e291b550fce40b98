"""How each operation of /api/v1 is described in the OpenAPI document, next to its view: its operationId, who may
call it, its request body and every error status it can answer. The success response is the view's own
``@bp.response(status, responses.X)`` (flask-smorest); the views return their JSON as before, the schema
describes it (api/responses.py).

    @bp.post("/questionnaires/<session_id>/answers")
    @bp.response(200, responses.QuestionnaireState)
    @operation("answerQuestion", "Answer or change an answer", QUESTIONNAIRE, body=Answer, errors=(404, 409))
    def answer(session_id): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema

# Security requirements (components.securitySchemes in api/openapi.py). A list is "any one of these".
PUBLIC: list[dict[str, list]] = []  # no credentials at all
APPLICANT = [{"bearerApplicant": []}]
STAFF = [{"bearerStaff": []}]
SIGNED = [{"departmentSignature": []}]
# An anonymous questionnaire is reached with its resume secret, one started signed in or claimed with its owner's token.
QUESTIONNAIRE = [{"resumeSecret": []}, {"bearerApplicant": []}]
ANONYMOUS_OR_APPLICANT = [{}, {"bearerApplicant": []}]  # anonymous starts are allowed
CLAIM = [{"bearerApplicant": [], "resumeSecret": []}]  # both at once

# Every error status an operation can answer; each is a components.responses entry (api/openapi.py).
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "malformed: not a JSON object (invalid_json), invalid characters in a parameter "
                        "(invalid_characters), JSON nested too deep, a missing header"),
    401: ("Unauthorized", "sign in first (sign_in_required), or the token is invalid or expired (token_invalid)"),
    403: ("Forbidden", "signed in, but this is not yours or not for your role"),
    404: ("NotFound", "no such resource, or not reachable with these credentials"),
    409: ("Conflict", "the state does not allow it now (already_submitted with the tracking code in fields, "
                      "questionnaire_incomplete, concurrent_update, …)"),
    413: ("PayloadTooLarge", "the body is larger than the server accepts"),
    422: ("Unprocessable", "a field is invalid (validation_error and the like): `fields` names each by its "
                          "dotted path"),
    429: ("TooManyRequests", "rate limited: wait `Retry-After` seconds"),
    502: ("BadGateway", "WeChat or the host app did not answer as expected: try again shortly"),
    503: ("Unavailable", "the database or Redis is unavailable, or every decode slot is busy (busy_try_again): "
                         "try again, after `Retry-After` seconds where given"),
    507: ("InsufficientStorage", "the file could not be stored (storage_full): try again later"),
}
# What every operation can answer: a bad parameter (a NUL in a path, say), and a backing service down.
ALWAYS = (400, 503)
JSON_BODY = (400, 413, 422)

BINARY = {"type": "string", "format": "binary"}
REQUEST_BODIES: dict[str, type[Schema]] = {}  # operationId → the marshmallow schema its JSON body is loaded with


def operation(operation_id: str, summary: str, security: list[dict[str, list]], *, body: Any = None,
              errors: Iterable[int] = (), parameters: list[dict[str, Any]] | None = None,
              success: dict[int, dict[str, Any]] | None = None, description: str | None = None) -> Callable:
    """The OpenAPI facts of one operation that its view cannot say itself. ``body``: a marshmallow schema (JSON)
    or a ready requestBody; ``success``: responses that are not one JSON schema (files, 204)."""
    codes = set(ALWAYS) | set(errors) | (set(JSON_BODY) if body is not None else set())
    doc: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "security": security,
        "responses": {str(code): ERROR_RESPONSES[code][0] for code in sorted(codes)},
    }
    if description:
        doc["description"] = description
    if isinstance(body, type) and issubclass(body, Schema):
        REQUEST_BODIES[operation_id] = body
    if body is not None:
        doc["requestBody"] = body if isinstance(body, dict) else {
            "required": True, "content": {"application/json": {"schema": body}}}
    if parameters:
        doc["parameters"] = parameters
    for code, response in (success or {}).items():
        doc["responses"][str(code)] = response
    return Blueprint.doc(**doc)


def header(name: str, description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def path(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "array", "items": BINARY, "description": "one part per page, each named 'file'"}}}}}}
NO_CONTENT = {"description": "done; no body"}
