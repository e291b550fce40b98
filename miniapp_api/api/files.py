"""How stored pages and printed forms go out to a browser: one place for the headers of every download
route (family and staff, JSON API and pages)."""

from __future__ import annotations

from flask import Response


def file_response(content: bytes, mimetype: str, name: str) -> Response:
    """Private, never cached, never sniffed; a PDF is always an attachment. A PDF opened inline runs in
    the browser's viewer under our origin (with its scripts, links and forms, whatever the rebuild missed);
    downloaded, it is a file like any other. Photos stay inline: they are re-encoded JPEGs shown in ``<img>``."""
    pdf = mimetype == "application/pdf"
    disposition = "attachment" if pdf else "inline"
    filename = f"{name}.pdf" if pdf else f"{name}.jpg" if mimetype == "image/jpeg" else name
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })
