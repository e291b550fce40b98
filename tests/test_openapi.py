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
