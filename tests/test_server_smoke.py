"""The README's two commands on a fresh database: migrate, start the dev server, and walk a
questionnaire over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_readme_commands_start_a_server_that_walks_to_a_checklist(tmp_path):
    """A development machine (FLASK_DEBUG=1, no SECRET_KEY): the key is made once in the instance folder."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(FLASK_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.sqlite'}",
               MINIAPP_CONFIG_JSON=json.dumps({"SECRET_KEY_FILE": str(tmp_path / "instance" / "secret_key")}))
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    # Its own process group: the debug reloader runs the server in a child process, stopped with it.
    server = subprocess.Popen([*flask, "run", "--port", str(port)], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(100):
            try:
                status, body = call(base, "GET", "/regions")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and len(body["regions"]) == 5
        status, state = call(base, "POST", "/questionnaires", {"region": "hunan"})
        assert status == 201
        headers = {"X-Resume-Secret": state.pop("resume_secret")}
        while not state["complete"]:
            q = state["current"]
            value = q["options"][0]["value"] if q["options"] else "2026-01-15"
            value = [value] if q["type"] == "multiple" else value
            status, state = call(base, "POST", f"/questionnaires/{state['id']}/answers",
                                 {"question": q["id"], "value": value}, headers)
            assert status == 200
        status, checklist = call(base, "GET", f"/questionnaires/{state['id']}/checklist", headers=headers)
        assert status == 200 and checklist["region"] == "hunan" and checklist["matters"]
        assert (tmp_path / "instance" / "secret_key").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
