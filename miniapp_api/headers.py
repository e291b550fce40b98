"""Response headers the API and every page get (the pages' own, stricter set is web.SECURITY_HEADERS).

- ``Cache-Control: no-store`` on every /api/v1 response (errors too): nearly all carry a family's case, a
  clerk's queue or a token, and a phone, a shared tablet or a proxy must not keep them. Only the public
  regions, dialogs and the API description may be cached.
- ``X-Content-Type-Options: nosniff`` on every API response; the page headers (CSP, ``X-Frame-Options``) on
  the API's HTML too: the printable application and the docs page.
- ``Strict-Transport-Security`` whenever the request came over HTTPS, as the server or, with TRUSTED_PROXIES,
  the proxy's ``X-Forwarded-Proto`` says. Not over plain HTTP: browsers ignore it there (RFC 6797 §8.1), and
  an untrusted ``X-Forwarded-Proto`` is not believed. One year, without includeSubDomains (other services
  on the same domain are not ours to force onto HTTPS).

The ``Server`` header is gunicorn's own and cannot be dropped from here: nginx hides it (config/nginx.conf).
"""

from __future__ import annotations

from flask import Flask, request

HSTS = "max-age=31536000"
CACHEABLE = ("regions.list_regions", "regions.get_dialog", "openapi.openapi_json", "openapi.docs", "openapi.docs_init",
             "openapi.docs_asset")


def init_headers(app: Flask) -> None:
    from .web import SECURITY_HEADERS

    @app.after_request
    def _headers(response):
        if request.path.startswith("/api/"):
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            if request.endpoint not in CACHEABLE and "no-store" not in response.headers.get("Cache-Control", ""):
                response.headers["Cache-Control"] = "no-store"
            if response.mimetype == "text/html":
                for name, value in SECURITY_HEADERS.items():
                    if name != "Cache-Control":  # decided above
                        response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
