"""The OpenAPI description covers every /api/v1 route, with the error shape and auth schemes."""

import re

from openapi_spec_validator import validate


def api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("openapi."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_every_route_is_described(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    described = {(method, path) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    assert api_routes(app) == described
    validate(spec)  # a valid OpenAPI 3 document


def test_errors_and_auth_schemes_are_in_the_description(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert set(spec["components"]["securitySchemes"]) == {"bearerApplicant", "bearerStaff", "resumeSecret",
                                                          "departmentSignature"}
    answer = spec["paths"]["/questionnaires/{session_id}/answers"]["post"]
    assert answer["responses"]["422"] == {"$ref": "#/components/responses/Unprocessable"}
    unprocessable = spec["components"]["responses"]["Unprocessable"]
    assert unprocessable["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
    assert "question" in spec["components"]["schemas"]["Answer"]["properties"]
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/questionnaires/{session_id}/submit" in html


def operations(spec):
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items() if method != "parameters"]


def test_every_operation_has_a_readable_id_a_tag_and_a_summary(client):
    """Issue 15: "operationId and tags on every operation, readable names (startQuestionnaire, answerQuestion, …)"."""
    spec = client.get("/api/v1/openapi.json").get_json()
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)) == len(operations(spec)) >= 43
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    assert {"startQuestionnaire", "answerQuestion", "getChecklist", "submitApplication", "lookUpStatus"} <= set(ids)
    tags = {t["name"] for t in spec["tags"]}
    assert all(op["tags"] and set(op["tags"]) <= tags and op["summary"] for _, _, op in operations(spec))


def test_every_success_response_is_typed(client):
    """Issue 15: "every success response is {"type": "object", "additionalProperties": true}" no more: each names
    its schema (or is a file, or no content)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for path, method, op in operations(spec):
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            content = response.get("content")
            if status == "204":
                assert content is None
                continue
            assert content, (method, path, status)
            for media, body in content.items():
                if media == "application/json":
                    name = body["schema"]["$ref"].rsplit("/", 1)[1]
                    assert schemas[name]["properties"] and schemas[name]["required"], name
                else:
                    assert body["schema"]["type"] == "string", (method, path, media)


def test_every_error_status_has_the_error_schema_and_waits_say_how_long(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]
    for name, response in responses.items():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name
    assert set(responses["TooManyRequests"]["headers"]) == set(responses["Unavailable"]["headers"]) == {"Retry-After"}
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "message_en", "fields", "fields_en"}
    for path, method, op in operations(spec):
        errors = {s: r for s, r in op["responses"].items() if not s.startswith("2")}
        assert {"400", "503"} <= set(errors), (method, path)
        assert all(r["$ref"].startswith("#/components/responses/") for r in errors.values()), (method, path)
        if "requestBody" in op:
            assert {"413", "422"} <= set(errors), (method, path)
    assert "429" in spec["paths"]["/auth/sms/code"]["post"]["responses"]
    assert "503" in spec["paths"]["/questionnaires/{session_id}/materials/{material_id}/pages"]["post"]["responses"]


def test_security_says_who_may_call(client):
    """Issue 15: POST /questionnaires allows anonymous starts, /claim takes X-Resume-Secret, public endpoints
    say `security: []`."""
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {} in paths["/questionnaires"]["post"]["security"]
    assert paths["/questionnaires/{session_id}/claim"]["post"]["security"] == [{"bearerApplicant": [], "resumeSecret": []}]
    assert {"resumeSecret": []} in paths["/questionnaires/{session_id}/answers"]["post"]["security"]
    for path in ("/regions", "/regions/{region}/dialog", "/status", "/auth/sms/code", "/auth/sms/challenge",
                 "/auth/wechat", "/auth/host", "/staff/auth"):
        for op in paths[path].values():
            if isinstance(op, dict):
                assert op["security"] == [], path
    schemes = spec["components"]["securitySchemes"]
    for path, method, op in operations(spec):
        assert "security" in op, (method, path)
        assert all(name in schemes for requirement in op["security"] for name in requirement)
        if path.startswith("/staff/"):
            assert op["security"] in ([], [{"bearerStaff": []}]), path


def test_response_objects_are_open_for_keys_not_described_yet(client):
    """Other keys are being added to the checklist in parallel: a response object allows them."""
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("Checklist", "ChecklistMatter", "ChecklistMaterial", "Trip", "QuestionnaireState", "CurrentQuestion",
                 "Case", "FormView", "Error", "ErrorDetail"):
        assert schemas[name]["additionalProperties"] is True, name
    assert schemas["Answer"]["additionalProperties"] is False  # requests stay strict


def test_the_response_check_catches_a_response_that_drifts(app):
    """tests/openapi_check.py, which checks every response of the suite: a wrong type, a missing key, an
    undocumented status are each reported."""
    from flask import jsonify

    check = app.extensions["response_check"]
    before = list(check.problems)
    with app.test_request_context("/api/v1/regions"):
        check.check(jsonify({"regions": [{"id": "hunan", "name": 5}]}))
        check.check(jsonify({"areas": []}))
        wrong = jsonify({"regions": []})
        wrong.status_code = 418
        check.check(wrong)
    found, check.problems[:] = check.problems[len(before):], before
    assert len(found) >= 3, found
    assert any("name" in p and "5" in p for p in found) and any("'regions' is a required" in p for p in found)
    assert any("418" in p and "not in the document" in p for p in found)


def test_the_docs_page_is_served_from_our_origin(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assets = re.findall(r'(?:src|href)="(/api/v1/docs/[^"]+)"', html)
    assert len(assets) >= 3
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and response.content_length, asset
