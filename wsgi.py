"""Entry point for ``flask --app wsgi`` and ``gunicorn wsgi:app``."""

from miniapp_api import create_app

app = create_app()
