"""Server-rendered pages: the one-stop window console (/console) and the family's H5 pages (/h5).

They call the same services as the JSON API; templates only show what the services return.
Every form carries a CSRF token (Flask-WTF); every page gets strict security headers.
"""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(), microphone=()",
    "Cache-Control": "no-store",
}


def init_web(app: Flask) -> None:
    from ..api import applications, auth, family, health, openapi, questionnaires, regions, staff, uploads
    from . import console, h5, h5_questions  # noqa: F401 (h5_questions adds the question pages to h5.bp)

    # Flask's own defaults (SameSite None, Secure False) are already in the config, so set, not setdefault.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if not app.config.get("SESSION_COOKIE_SECURE") and not app.debug and not app.testing:
        app.config["SESSION_COOKIE_SECURE"] = True
    csrf.init_app(app)
    for bp in (regions.bp, questionnaires.bp, auth.bp, applications.bp, uploads.bp, family.bp, staff.bp, health.bp,
               openapi.bp):
        csrf.exempt(bp)  # the JSON API uses bearer tokens and resume secrets, not cookies
    app.register_blueprint(console.bp, url_prefix="/console")
    app.register_blueprint(h5.bp, url_prefix="/h5")

    @app.after_request
    def _security_headers(response):
        if request.blueprint in ("console", "h5"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
