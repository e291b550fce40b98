"""Health and readiness endpoints, and the request id on every response."""

from miniapp_api import create_app


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    body = client.get("/readyz").get_json()
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_is_503_when_redis_is_unreachable(app):
    from tests.test_server_smoke import free_port

    broken = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("error")
    with broken.app_context():
        from miniapp_api.extensions import db
        db.engine.dispose()


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc12345-trace"}).headers["X-Request-Id"] == "abc12345-trace"
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 16


def test_cors_only_for_configured_origins(app):
    from miniapp_api import create_app

    configured = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                             "CORS_ORIGINS": ["https://h5.example.gov.cn"]})
    c = configured.test_client()
    ok = c.get("/api/v1/regions", headers={"Origin": "https://h5.example.gov.cn"})
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://h5.example.gov.cn"
    other = c.get("/api/v1/regions", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = c.options("/api/v1/questionnaires", headers={"Origin": "https://evil.example.com",
                                                             "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    default = app.test_client().get("/api/v1/regions", headers={"Origin": "https://h5.example.gov.cn"})
    assert "Access-Control-Allow-Origin" not in default.headers  # none configured, none allowed
    with configured.app_context():
        from miniapp_api.extensions import db
        db.engine.dispose()


def test_every_setting_is_in_the_configuration_table():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    settings = set(re.findall(r"^([A-Z][A-Z0-9_]+)\s*[:=]", (root / "config" / "default.py").read_text(), re.M)) - {"ROOT"}
    table = (root / "config" / "README.md").read_text()
    assert [s for s in sorted(settings) if f"`{s}`" not in table] == []


def _lookups(c, forwarded_for: str, start: int, count: int) -> list[int]:
    return [c.post("/api/v1/status", json={"tracking_code": f"NOCASE{n:04d}", "phone_tail": "1234"},
                   headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code
            for n in range(start, start + count)]


def test_behind_one_proxy_rate_limits_count_each_familys_address(client, app):
    """TRUSTED_PROXIES=1 (nginx in front): the limit follows X-Forwarded-For's last hop, not the proxy."""
    from tests.conftest import REDIS_URL

    proxied = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "REDIS_URL": REDIS_URL, "TRUSTED_PROXIES": 1, "STATUS_LOOKUP_LIMITS": "2 per minute"})
    c = proxied.test_client()
    assert _lookups(c, "203.0.113.7", 0, 3)[-1] == 429
    assert _lookups(c, "203.0.113.8", 10, 1) == [404]  # another family behind the same proxy is not blocked
    assert _lookups(c, "198.51.100.1, 203.0.113.7", 20, 1) == [429]  # a forged first hop changes nothing
    with proxied.app_context():
        from miniapp_api.extensions import db
        db.engine.dispose()


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(client, app):
    app.config["STATUS_LOOKUP_LIMITS"] = "2 per minute"
    try:
        c = app.test_client()
        assert _lookups(c, "203.0.113.7", 0, 3)[-1] == 429
        assert _lookups(c, "203.0.113.8", 10, 1) == [429]  # same socket address: still limited
    finally:
        app.config["STATUS_LOOKUP_LIMITS"] = "10 per minute;60 per hour"
