"""The ceiling for bench/journey.py: a minimal Flask app under the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return {"hello": "world"}
