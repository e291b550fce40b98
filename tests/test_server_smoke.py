"""The README's commands on a fresh database: migrate, start the dev server (debug mode), walk a
questionnaire over real HTTP on loopback, and sign in with the SMS code the server prints."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests import processes

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


def test_readme_commands_start_a_server_that_walks_to_a_checklist_and_signs_in(tmp_path):
    """A development machine (FLASK_DEBUG=1, no SECRET_KEY): the key is made once in the instance folder."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(FLASK_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'smoke.sqlite'}",
               MINIAPP_CONFIG_JSON=json.dumps({"SECRET_KEY_FILE": str(tmp_path / "instance" / "secret_key")}))
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    output = tmp_path / "server.log"
    with output.open("wb") as log, processes.serving([*flask, "run", "--port", str(port)], f"{base}/regions", cwd=ROOT,
                                                     env=env, stderr=log):
        status, body = call(base, "GET", "/regions")
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

        # The README's sign-in: the code is not sent but printed on the server's output, the number masked.
        status, sent = call(base, "POST", "/auth/sms/code", {"phone": "13800138000"})
        assert status == 202
        code = printed_code(output, "138****8000")
        status, signed_in = call(base, "POST", "/auth/sms/verify", {"phone": "13800138000", "code": code})
        assert status == 200
        status, me = call(base, "GET", "/me", headers={"Authorization": f"Bearer {signed_in['token']}"})
        assert status == 200 and me["channel"] == "sms"
    assert "13800138000" not in output.read_text()
    assert (tmp_path / "instance" / "secret_key").exists()


def printed_code(output, masked: str) -> str:
    """The code from the console SMS line, which the server may still be writing."""
    for _ in range(50):
        found = re.findall(rf"console SMS .* to {re.escape(masked)}, template otp: code=(\d{{6}})", output.read_text())
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no sign-in code on the server's output:\n{output.read_text()[-2000:]}")
