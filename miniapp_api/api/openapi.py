"""The OpenAPI 3.1 description of /api/v1, the whole contract a mini-program developer needs.

One source: flask-smorest registers every operation from the blueprints themselves (each view's
``@bp.response`` with its schema from api/responses.py, and ``@operation`` from api/operations.py: operationId,
security, request body, error statuses), on apispec with the marshmallow schemas the endpoints parse with. A
test checks that every route of the API appears here, and another validates the suite's responses against it.

The page ``/api/v1/docs`` renders it with Swagger UI, served from the flask-swagger-ui package (no CDN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template_string, send_from_directory
from flask_smorest import Api

from ..routing import MAX_ROW_ID, RowIdConverter
from . import responses, schemas
from .operations import ERROR_RESPONSES

PREFIX = "/api/v1"
bp = Blueprint("openapi", __name__)

DESCRIPTION = """One guided conversation, one application, one visit: the API of the mini-program and H5 pages of
公民身后“一件事一次办”, and of the staff back office.

**A family's journey.** `POST /questionnaires` (anonymous: keep `resume_secret` and send it as `X-Resume-Secret`;
or signed in) → `POST /questionnaires/{id}/answers` until `current` is null → `GET …/review` → `GET …/checklist`
→ sign in (`/auth/wechat`, `/auth/host`, `/auth/sms/*`) and `POST …/claim` → `GET`/`PUT …/form` → upload each
material's pages (`POST …/materials/{material}/pages`) → `POST …/submit` (header `Idempotency-Key`) → `GET
/cases/{code}`; anyone with the tracking code and the phone's last four digits: `POST /status`.

**Errors** always have the `Error` schema, whatever the status: `code` (machine-readable), `message` (Chinese),
`message_en` (English), `fields` and `fields_en` (dotted path → messages). A 429, and a 503 `busy_try_again`,
carry `Retry-After` (seconds).

**Objects are open**: a response may carry keys not described yet (`additionalProperties`); ignore what you do
not know."""

SECURITY_SCHEMES = {
    "bearerApplicant": {"type": "http", "scheme": "bearer",
                        "description": "the family's token, from /auth/wechat, /auth/host or /auth/sms/verify"},
    "bearerStaff": {"type": "http", "scheme": "bearer", "description": "a clerk's token, from /staff/auth"},
    "resumeSecret": {"type": "apiKey", "in": "header", "name": "X-Resume-Secret",
                     "description": "an anonymous questionnaire's `resume_secret` (from POST /questionnaires)"},
    "departmentSignature": {"type": "apiKey", "in": "header", "name": "X-Signature",
                            "description": "hex HMAC-SHA256 of `X-Timestamp` + '.' + body, with the department's secret"},
}
RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}
ERROR_EXAMPLES = {
    400: {"code": "invalid_json", "message": "请以 JSON 对象提交", "message_en": "the body must be a JSON object"},
    401: {"code": "sign_in_required", "message": "请先登录", "message_en": "sign in first"},
    403: {"code": "forbidden", "message": "无权访问", "message_en": "not yours"},
    404: {"code": "not_found", "message": "找不到该地址", "message_en": "no such resource"},
    409: {"code": "already_submitted", "message": "这份申请已经提交过了", "message_en": "this application was already submitted",
          "fields": {"tracking_code": ["0AB9K-HJXSA"]}, "fields_en": {"tracking_code": ["0AB9K-HJXSA"]}},
    413: {"code": "payload_too_large", "message": "提交的内容过大", "message_en": "the request body is too large"},
    422: {"code": "validation_error", "message": "提交的内容有误，请检查标出的项目", "message_en": "some fields are invalid",
          "fields": {"region": ["应为以下之一：xinjiang, inner_mongolia, hunan, fuyuan, jining"]},
          "fields_en": {"region": ["Must be one of: xinjiang, inner_mongolia, hunan, fuyuan, jining."]}},
    429: {"code": "too_many_requests", "message": "操作过于频繁，请稍后再试", "message_en": "too many requests, please wait"},
    502: {"code": "wechat_unavailable", "message": "微信服务暂时不可用，请稍后再试",
          "message_en": "WeChat did not answer as expected"},
    503: {"code": "busy_try_again", "message": "服务繁忙，请稍后再试", "message_en": "busy; try again in a few seconds"},
    507: {"code": "storage_full", "message": "暂时无法保存文件，请稍后再试",
          "message_en": "the file could not be stored; try later"},
}


class _Api(Api):
    DEFAULT_ERROR_RESPONSE_NAME = None  # every operation lists its own error statuses (api/operations.py)
    ERROR_SCHEMA = responses.Error  # components.schemas.Error: the app's one error shape (errors.py)


def _answer_value_field(converter, field, **kwargs) -> dict:
    """Answers are true/false, a string, or a list of strings."""
    if isinstance(field, schemas.AnswerValue):
        return {"oneOf": [{"type": "boolean"}, {"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {}


def init_api(app: Flask, blueprints: list) -> Api:
    """flask-smorest on this app: the API's blueprints registered with their documentation."""
    api = _Api(app, spec_kwargs={
        "title": "公民身后“一件事一次办” API", "version": "1", "openapi_version": "3.1.0",
        "info": {"description": DESCRIPTION}, "servers": [{"url": PREFIX}]})
    api.ma_plugin.converter.add_attribute_function(_answer_value_field)
    api.register_converter(RowIdConverter, lambda converter: {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID})
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for status, (name, description) in ERROR_RESPONSES.items():
        detail = {"fields": {}, "fields_en": {}, **ERROR_EXAMPLES[status]}
        response: dict[str, Any] = {"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}, "example": {"error": detail}}}}
        if status in (429, 503):
            response["headers"] = {"Retry-After": RETRY_AFTER}
        api.spec.components.response(name, response)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    app.extensions["api"] = api
    return api


def spec() -> dict[str, Any]:
    """The document, its paths relative to the server URL (``/api/v1``); built once per app."""
    cached = current_app.extensions.get("openapi_document")
    if cached is None:
        document = current_app.extensions["api"].spec.to_dict()
        document["paths"] = {path[len(PREFIX):] if path.startswith(PREFIX + "/") else path: item
                             for path, item in document["paths"].items()}
        if "PaginationMetadata" not in str(document["paths"]):  # flask-smorest's own, unused here
            document["components"]["schemas"].pop("PaginationMetadata", None)
        cached = current_app.extensions["openapi_document"] = document
    return cached


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(spec())


SWAGGER_UI = Path(__import__("flask_swagger_ui").__file__).resolve().parent / "dist"

DOCS = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title>
<link rel="stylesheet" href="{{ url_for('openapi.docs_asset', name='swagger-ui.css') }}">
<link rel="icon" href="{{ url_for('openapi.docs_asset', name='favicon-32x32.png') }}"></head>
<body><noscript><h1>{{ title }}</h1><p>The description: <a href="openapi.json">openapi.json</a>.</p>
<ul>{% for path, ops in paths.items() %}{% for method, op in ops.items() %}
<li><code>{{ method|upper }} {{ path }}</code> {{ op.summary }}</li>{% endfor %}{% endfor %}</ul></noscript>
<div id="swagger-ui" data-url="{{ url_for('openapi.openapi_json') }}"></div>
<script src="{{ url_for('openapi.docs_asset', name='swagger-ui-bundle.js') }}"></script>
<script src="{{ url_for('openapi.docs_init') }}"></script></body></html>"""

# The page's CSP allows scripts from this origin only: the start-up lives in a file, not inline.
DOCS_INIT = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: root.dataset.url, domNode: root, deepLinking: true, displayOperationId: true,
                               presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});
});
"""


@bp.get("/docs")
def docs():
    document = spec()
    return render_template_string(DOCS, title=document["info"]["title"], paths=document["paths"])


@bp.get("/docs/swagger-init.js")
def docs_init():
    return current_app.response_class(DOCS_INIT, mimetype="text/javascript")


@bp.get("/docs/assets/<name>")
def docs_asset(name: str):
    """Swagger UI's files, from the flask-swagger-ui package."""
    return send_from_directory(SWAGGER_UI, name, max_age=3600)
