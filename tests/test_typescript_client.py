"""Issue 15: "a mini-program developer needs nothing but /api/v1/openapi.json". A TypeScript client generated from
the document of a running dev server (tests/clients/: openapi-typescript, openapi-fetch, pinned by its
package-lock.json) compiles with ``tsc --strict`` and walks a whole journey against that server; Redocly lints
the same document with no error.

Needs node and ``npm ci`` in tests/clients/ (.ci/run does both): without node the test is skipped, unless
``REQUIRE_NODE=1`` (set by CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.journey import photo
from tests import processes
from tests.node import node_for
from tests.test_server_smoke import free_port

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = Path(__file__).parent / "clients"
HOST_SECRET = "typescript-client-host-secret-of-32-bytes-or-more"


def _node() -> str:
    return node_for(CLIENTS, "openapi-typescript")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=CLIENTS, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def test_a_generated_typescript_client_compiles_strictly_and_walks_a_whole_journey(tmp_path):
    node = _node()
    env = {k: v for k, v in os.environ.items() if k not in ("MINIAPP_CONFIG_JSON",)}
    env.update(FLASK_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'client.sqlite'}", MINIAPP_CONFIG_JSON=json.dumps({
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"), "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "HOST_CHANNELS": {"tsclient": {"secret": HOST_SECRET}}}))
    env.pop("REDIS_URL", None)
    env["REDOCLY_TELEMETRY"] = "off"  # Redocly CLI: no usage data sent
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    image = tmp_path / "page.jpg"
    image.write_bytes(photo())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("wb") as log, processes.serving(
            [*flask, "run", "--port", str(port)], f"{base}/healthz", cwd=ROOT, env=env, stderr=log):
        generated = _run([node, "generate.mjs", f"{base}/api/v1/openapi.json", "api.d.ts"])
        assert generated.returncode == 0, generated.stderr
        compiled = _run([node, "node_modules/typescript/bin/tsc", "-p", "tsconfig.json"])
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr  # strict: no unknown, no any, no casts
        walked = _run([node, "build/journey.js", base, "tsclient", HOST_SECRET, str(image)])
        assert walked.returncode == 0, walked.stderr + (tmp_path / "server.log").read_text()[-3000:]
        linted = _run([node, "node_modules/@redocly/cli/bin/cli.js", "lint", f"{base}/api/v1/openapi.json",
                       "--format=json"])
    journey = json.loads(walked.stdout.strip().splitlines()[-1])
    assert journey["answered"] >= 5 and journey["changeable"] == journey["answered"]
    assert journey["matters"] and journey["pages"] >= 1 and journey["phone"] == "138****8000"
    assert len(journey["tracking_code"]) == 11 and journey["items"] and len(journey["progress"]) == len(journey["items"])
    report = json.loads(linted.stdout)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert linted.returncode == 0 and errors == [], json.dumps(errors, ensure_ascii=False)[:3000]
