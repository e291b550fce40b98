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
