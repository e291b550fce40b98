"""The OpenAPI 3 description of /api/v1, built with apispec from the marshmallow schemas the
endpoints really parse with, plus one table of operations below. A test checks that every route
of the API appears here, so the description cannot drift from the code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, render_template_string

from ..domain import workflow
from ..routing import MAX_ROW_ID
from . import schemas
from .family import RatingBody, StatusLookup
from .staff import CallbackBody, StaffSignIn, Transition

bp = Blueprint("openapi", __name__)

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "message_en", "fields"],
    "properties": {"code": {"type": "string", "description": "machine-readable, e.g. validation_error"},
                   "message": {"type": "string", "description": "Chinese, for the family"},
                   "message_en": {"type": "string"},
                   "fields": {"type": "object", "description": "field path -> messages"}}}}}
OBJECT = {"type": "object", "additionalProperties": True}
BINARY = {"type": "string", "format": "binary"}

# (method, path, summary, request body schema or None, success status, security, extra parameters)
APPLICANT, SECRET, STAFF, HMAC = "bearerApplicant", "resumeSecret", "bearerStaff", "departmentSignature"
OPERATIONS: list[tuple[str, str, str, Any, int, list[str]]] = [
    ("get", "/regions", "The five regions", None, 200, []),
    ("get", "/regions/{region}/dialog", "A region's whole dialog (questions, options, conditions, matters)", None, 200, []),
    ("post", "/questionnaires", "Start a questionnaire (signed in or anonymous)", "StartQuestionnaire", 201, [APPLICANT]),
    ("get", "/questionnaires/{session_id}", "Current question, answers, facts, progress", None, 200, [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/answers", "Answer or change an answer (409 already_submitted once submitted)",
     "Answer", 200, [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/back", "Step back one question; every answer is kept (409 already_submitted "
     "once submitted)", None, 200, [SECRET, APPLICANT]),
    ("get", "/questionnaires/{session_id}/review", "The answers that apply, in order, in words, each with the goto "
     "request that changes it", None, 200, [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/goto", "Go to an answered question to change it; after the answer, straight "
     "back to the end (the review), by way of any question the change made appear", "GotoQuestion", 200,
     [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/claim", "Make an anonymous questionnaire mine", None, 200, [APPLICANT]),
    ("get", "/questionnaires/{session_id}/checklist", "The tailored checklist", None, 200, [SECRET, APPLICANT]),
    ("get", "/questionnaires/{session_id}/consent", "The separate consent's text (PIPL art. 29-30): purpose, departments "
     "and what each receives, retention; its version and whether it is given", None, 200, [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/consent", "Give consent to that version (before the form's personal details "
     "or uploads: 403 consent_required)", "GiveConsent", 200, [SECRET, APPLICANT]),
    ("get", "/questionnaires/{session_id}/form", "The one form: draft, pre-filled facts, problems", None, 200,
     [SECRET, APPLICANT]),
    ("put", "/questionnaires/{session_id}/form", "Save the draft form", "ApplicationForm", 200, [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/submit", "Submit (header Idempotency-Key)", None, 201, [APPLICANT]),
    ("get", "/questionnaires/{session_id}/materials", "Materials to upload, with pages and what is missing", None, 200,
     [SECRET, APPLICANT]),
    ("post", "/questionnaires/{session_id}/materials/{material_id}/pages", "Upload pages (multipart field 'file')",
     "upload", 201, [SECRET, APPLICANT]),
    ("get", "/questionnaires/{session_id}/pages/{page_id}", "A page (?size=thumb)", None, 200, [SECRET, APPLICANT]),
    ("put", "/questionnaires/{session_id}/pages/{page_id}", "Replace a page (multipart field 'file')", "upload", 200,
     [SECRET, APPLICANT]),
    ("delete", "/questionnaires/{session_id}/pages/{page_id}", "Delete a page", None, 204, [SECRET, APPLICANT]),
    ("post", "/auth/wechat", "Mini-program sign-in (wx.login code, optional getPhoneNumber code)", "WechatSignIn", 200, []),
    ("post", "/auth/host", "Host-app (湘易办-style) signed assertion", "HostSignIn", 200, []),
    ("post", "/auth/sms/code", "Send an SMS sign-in code", "SmsCodeRequest", 202, []),
    ("post", "/auth/sms/verify", "Sign in with the SMS code", "SmsVerify", 200, []),
    ("get", "/auth/sms/challenge", "A challenge to answer once a code request says otp_challenge_required", None, 200, []),
    ("get", "/me", "Who am I", None, 200, [APPLICANT]),
    ("post", "/me/phone/code", "Send a code to prove another number (the form's)", "SmsCodeRequest", 202, [APPLICANT]),
    ("post", "/me/phone/verify", "Prove the number with its code: official texts go only to proven numbers", "SmsVerify",
     200, [APPLICANT]),
    ("post", "/me/subscriptions", "Record WeChat subscribe-message consents", "SubscriptionConsents", 200, [APPLICANT]),
    ("get", "/cases/{code}", "My case (numbers masked)", None, 200, [APPLICANT]),
    ("get", "/cases/{code}/application.{fmt}", "The printable application (pdf or html)", None, 200, [APPLICANT]),
    ("post", "/cases/{code}/items/{item_id}/supplied", "The family supplied what was missing", None, 200, [APPLICANT]),
    ("post", "/cases/{code}/rating", "好差评, once per completed case", "RatingBody", 201, [APPLICANT]),
    ("post", "/status", "Public progress lookup (tracking code + phone's last four digits; rate limited)",
     "StatusLookup", 200, []),
    ("post", "/staff/auth", "Staff sign-in", "StaffSignIn", 200, []),
    ("post", "/staff/auth/sign-out", "Sign out: this token, the person's other tokens and console sessions end now "
     "(so do they on a new password or a disabled account)", None, 204, [STAFF]),
    ("get", "/staff/work-items", "My work queue (?status=)", None, 200, [STAFF]),
    ("get", "/staff/cases/{code}", "A case (reads are logged)", None, 200, [STAFF]),
    ("get", "/staff/cases/{code}/pages/{page_id}", "A document photo of the case (logged)", None, 200, [STAFF]),
    ("post", "/staff/work-items/{item_id}/transitions", "Move a work item", "Transition", 200, [STAFF]),
    ("get", "/staff/supervision", "Overdue and due-soon items", None, 200, [STAFF]),
    ("get", "/staff/ratings", "Ratings per department", None, 200, [STAFF]),
    ("get", "/staff/notifications/dead", "Undelivered notifications", None, 200, [STAFF]),
    ("post", "/staff/notifications/{note_id}/resend", "Re-send an undelivered notification", None, 200, [STAFF]),
    ("post", "/callbacks/{department}", "A department system reports a result", "CallbackBody", 200, [HMAC]),
]
# Headers and query strings the endpoints read besides the auth schemes; integer and enum path parameters.
PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("post", "/questionnaires/{session_id}/submit"): [
        {"name": "Idempotency-Key", "in": "header", "required": True, "description": "one key per submission; a retry "
         "with the same key gives back the same case (200)", "schema": {"type": "string", "minLength": 8, "maxLength": 64}}],
    ("get", "/questionnaires/{session_id}/pages/{page_id}"): [
        {"name": "size", "in": "query", "schema": {"type": "string", "enum": ["thumb"]}}],
    ("get", "/staff/cases/{code}/pages/{page_id}"): [
        {"name": "size", "in": "query", "schema": {"type": "string", "enum": ["thumb"]}}],
    ("get", "/staff/work-items"): [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(workflow.STATUSES)}}],
    ("post", "/callbacks/{department}"): [
        {"name": "X-Timestamp", "in": "header", "required": True, "description": "Unix seconds, within CALLBACK_MAX_SKEW",
         "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}}],
}
ROW_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
PATH_TYPES = {"page_id": ROW_ID, "item_id": ROW_ID, "note_id": ROW_ID,
              "fmt": {"type": "string", "enum": ["pdf", "html"]}}
def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


# Success bodies that are not JSON, and JSON ones described by a schema (the others: any object).
FILES = {"image/jpeg": {"schema": BINARY}, "application/pdf": {"schema": BINARY}}
CONTENT: dict[tuple[str, str], dict[str, Any] | None] = {
    ("get", "/questionnaires/{session_id}/pages/{page_id}"): FILES,
    ("get", "/staff/cases/{code}/pages/{page_id}"): FILES,
    ("get", "/cases/{code}/application.{fmt}"): {"application/pdf": {"schema": BINARY},
                                                 "text/html": {"schema": {"type": "string"}}},
    ("delete", "/questionnaires/{session_id}/pages/{page_id}"): None,
    ("post", "/staff/auth/sign-out"): None,
    ("get", "/questionnaires/{session_id}/review"): {"application/json": {"schema": {"$ref": "#/components/schemas/Review"}}},
    ("get", "/regions/{region}/dialog"): _json("DialogBody"),
    **{operation: _json("QuestionnaireState") for operation in (
        ("post", "/questionnaires"), ("get", "/questionnaires/{session_id}"), ("post", "/questionnaires/{session_id}/answers"),
        ("post", "/questionnaires/{session_id}/back"), ("post", "/questionnaires/{session_id}/goto"),
        ("post", "/questionnaires/{session_id}/claim"))},
    **{operation: _json("CaseBody") for operation in (
        ("get", "/cases/{code}"), ("post", "/questionnaires/{session_id}/submit"), ("get", "/staff/cases/{code}"))},
}
# Besides the main success status: a retried submission gives back the same case.
ALSO: dict[tuple[str, str], int] = {("post", "/questionnaires/{session_id}/submit"): 200}
SCHEMAS = {"StartQuestionnaire": schemas.StartQuestionnaire, "Answer": schemas.Answer, "GotoQuestion": schemas.GotoQuestion,
           "GiveConsent": schemas.GiveConsent,
           "Review": schemas.Review, "RulesChanged": schemas.RulesChanged, "DialogBody": schemas.DialogBody,
           "QuestionnaireState": schemas.QuestionnaireState, "CaseBody": schemas.CaseBody,
           "ApplicationForm": schemas.ApplicationForm, "WechatSignIn": schemas.WechatSignIn,
           "HostSignIn": schemas.HostSignIn, "SmsCodeRequest": schemas.SmsCodeRequest, "SmsVerify": schemas.SmsVerify,
           "RatingBody": RatingBody, "StatusLookup": StatusLookup, "StaffSignIn": StaffSignIn, "Transition": Transition,
           "CallbackBody": CallbackBody, "SubscriptionConsents": schemas.SubscriptionConsents}


def _answer_value_field(converter, field, **kwargs) -> dict:
    """Answers are true/false, a string, or a list of strings."""
    if isinstance(field, schemas.AnswerValue):
        return {"oneOf": [{"type": "boolean"}, {"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {}


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    doc = APISpec(title="公民身后“一件事一次办” API", version="1", openapi_version="3.0.3", plugins=[plugin],
                  info={"description": "One guided conversation, one application, one visit. Errors always have the "
                                       "shape of the Error schema with a 4xx status."},
                  servers=[{"url": "/api/v1"}])
    plugin.converter.add_attribute_function(_answer_value_field)
    doc.components.schema("Error", ERROR)
    for name, schema in SCHEMAS.items():
        doc.components.schema(name, schema=schema)
    doc.components.security_scheme(APPLICANT, {"type": "http", "scheme": "bearer", "description": "from /auth/*"})
    doc.components.security_scheme(STAFF, {"type": "http", "scheme": "bearer", "description": "from /staff/auth"})
    doc.components.security_scheme(SECRET, {"type": "apiKey", "in": "header", "name": "X-Resume-Secret"})
    doc.components.security_scheme(HMAC, {"type": "apiKey", "in": "header", "name": "X-Signature",
                                          "description": "hex HMAC-SHA256 of `X-Timestamp` + '.' + body"})
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, status, security in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [{"name": p, "in": "path", "required": True, "schema": PATH_TYPES.get(p, {"type": "string"})}
                           for p in _path_params(path)] + PARAMETERS.get((method, path), []),
            "responses": {str(status): _success((method, path)),
                          "4XX": {"description": "a clear error", "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/Error"}}}}},
        }
        if (method, path) in ALSO:
            operation["responses"][str(ALSO[method, path])] = operation["responses"][str(status)]
        if security:
            operation["security"] = [{name: []} for name in security]
        if body == "upload":
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "array", "items": BINARY}}}}}}
            operation["responses"]["503"] = {  # every decode slot of the process taken (services/uploads.py)
                "description": "busy_try_again: wait Retry-After seconds", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
        elif isinstance(body, str):
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{body}"}}}}
        elif body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        doc.path(path=path, operations=operations)
    return doc.to_dict()


def _success(operation: tuple[str, str]) -> dict[str, Any]:
    content = CONTENT.get(operation, {"application/json": {"schema": OBJECT}})
    return {"description": "success", **({"content": content} if content else {})}


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.replace(".", "/").split("/") if part.startswith("{") and part.endswith("}")]


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(spec())


DOCS = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ s.info.title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
code{background:#f2f2f2;padding:0 .3em}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}</style>
</head><body><h1>{{ s.info.title }}</h1><p>{{ s.info.description }}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI {{ s.openapi }}), base URL <code>/api/v1</code>.</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>auth</th></tr>
{% for path, ops in s.paths.items() %}{% for method, op in ops.items() %}
<tr><td>{{ method|upper }}</td><td><code>{{ path }}</code></td><td>{{ op.summary }}</td>
<td>{% for sec in op.get("security", []) %}{{ sec|list|first }} {% endfor %}</td></tr>{% endfor %}{% endfor %}
</table></body></html>"""


@bp.get("/docs")
def docs():
    return render_template_string(DOCS, s=spec())
