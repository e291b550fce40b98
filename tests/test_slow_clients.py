"""Slow uploads: families on a weak mobile link send a photo a few kilobytes at a time.

gunicorn's gthread workers read the body on a worker thread, so a handful of slow uploads hold every
thread and all other requests wait (shown first, against gunicorn alone). The deployment puts nginx
in front (config/nginx.conf, the shipped file): it buffers each body before gunicorn sees it, so the
same slow uploads leave the API answering, they still arrive whole, and a client that stops sending
is dropped by nginx with nothing stored.

Needs Debian's nginx (.ci/run installs it and sets REQUIRE_NGINX=1, so CI cannot skip this).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.processes import serving
from tests.test_uploads import photo

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
THREADS = 4  # one gthread worker with 4 threads: 4 slow uploads fill it
HUNAN = {"local_death": True, "local_hukou": True, "death_type": "normal", "welfare": ["none"],
         "requested": ["hukou_cancellation", "death_certificate_normal"], "relationship": "child",
         "death_place": "medical_institution"}

if NGINX is None:
    if os.environ.get("REQUIRE_NGINX"):
        raise RuntimeError("REQUIRE_NGINX is set but nginx is not installed")
    pytest.skip("nginx is not installed (apt-get install nginx)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, headers=None, timeout: float = 10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """The app under gunicorn's gthread worker on a fresh SQLite file, as the README runs it."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'app.sqlite'}", "UPLOAD_FOLDER": str(tmp / "uploads"),
           "MINIAPP_CONFIG_JSON": json.dumps({"TRUSTED_PROXIES": 1, "NOTIFY_SMS_CONSOLE_ALLOWED": True,
                                              "SECRET_KEY": "slow-clients-test-secret-32-bytes+"})}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", str(THREADS),
               "--timeout", "60", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with serving(command, f"http://127.0.0.1:{port}/healthz", cwd=ROOT, env=env):
        yield port


@contextlib.contextmanager
def front_door(tmp: Path, upstream: int):
    """Debian's nginx with the shipped config/nginx.conf; only ports, paths and the body timeout changed.
    Yields its port."""
    port = free_port()
    site = (ROOT / "config" / "nginx.conf").read_text()
    for pattern, value in ((r"listen 8080;", f"listen 127.0.0.1:{port};"),
                           (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream};"),
                           (r"client_body_timeout 30s;", "client_body_timeout 2s;")):
        site, count = re.subn(pattern, value, site)
        assert count == 1, f"config/nginx.conf no longer has {pattern!r}"
    (tmp / "site.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""
    temp = " ".join(f"{kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"{user}\ndaemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} info;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{ access_log {tmp / 'access.log'}; {temp} include {tmp / 'site.conf'}; }}\n")
    # /_errors/ answers even with no app behind, so the front door's own readiness is checked there.
    with serving([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")], f"http://127.0.0.1:{port}/healthz",
                 expect_any_status=True):
        yield port


@pytest.fixture(scope="module")
def nginx(gunicorn, tmp_path_factory):
    with front_door(tmp_path_factory.mktemp("nginx"), gunicorn) as port:
        yield port

def ready_session(port: int) -> tuple[str, dict]:
    """A Hunan questionnaire walked to its checklist over HTTP (anonymous, with its resume secret)."""
    base = f"http://127.0.0.1:{port}/api/v1"
    _, state = call(base, "POST", "/questionnaires", {"region": "hunan"})
    headers = {"X-Resume-Secret": state.pop("resume_secret")}
    while not state["complete"]:
        q = state["current"]
        value = HUNAN.get(q["id"], "2026-11-20" if q["type"] == "date" else q["options"][0]["value"])
        value = [value] if q["type"] == "multiple" and not isinstance(value, list) else value
        _, state = call(base, "POST", f"/questionnaires/{state['id']}/answers", {"question": q["id"], "value": value},
                        headers)
    _, text = call(base, "GET", f"/questionnaires/{state['id']}/consent", headers=headers)
    call(base, "POST", f"/questionnaires/{state['id']}/consent", {"version": text["version"]}, headers)
    return state["id"], headers


class SlowUpload(threading.Thread):
    """A multipart photo upload sent in `chunks` pieces with `pause` seconds between them; `stop_after`
    pieces, if given, then silence (a client whose link died)."""

    def __init__(self, port: int, sid: str, headers: dict, image: bytes, chunks: int = 8, pause: float = 0.5,
                 stop_after: int | None = None):
        super().__init__(daemon=True)
        self.port, self.sid, self.headers, self.image = port, sid, headers, image
        self.chunks, self.pause, self.stop_after = chunks, pause, stop_after
        self.status: int | None = None
        self.body = b""

    def run(self) -> None:
        boundary = "----slowupload7d3a"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + self.image + f"\r\n--{boundary}--\r\n".encode()
        head = (f"POST /api/v1/questionnaires/{self.sid}/materials/applicant_id_card/pages HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{self.port}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()) + "\r\n").encode()
        size = -(-len(body) // self.chunks)
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            sock.sendall(head)
            for n in range(self.chunks):
                if self.stop_after is not None and n == self.stop_after:
                    break
                sock.sendall(body[n * size:(n + 1) * size])
                time.sleep(self.pause)
            reply = read_all(sock)
        if reply:
            self.status = int(reply.split(b" ", 2)[1])
            self.body = reply.split(b"\r\n\r\n", 1)[-1]


def read_all(sock: socket.socket) -> bytes:
    """The reply until the server closes (or resets) the connection."""
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except OSError:
        pass
    return reply


def regions_answer_within(port: int, timeout: float) -> bool:
    try:
        status, body = call(f"http://127.0.0.1:{port}/api/v1", "GET", "/regions", timeout=timeout)
    except OSError:  # timed out
        return False
    return status == 200 and len(body["regions"]) == 5


def pages(port: int, sid: str, headers: dict) -> int:
    _, listing = call(f"http://127.0.0.1:{port}/api/v1", "GET", f"/questionnaires/{sid}/materials", headers=headers)
    return sum(len(m["pages"]) for m in listing["materials"] if m["id"] == "applicant_id_card")


def test_slow_uploads_stall_gunicorn_alone(gunicorn):
    """The problem nginx is there for: as many slow uploads as threads, and nothing else is answered."""
    sid, headers = ready_session(gunicorn)
    image = photo(orientation=1, gps=False)
    slow = [SlowUpload(gunicorn, sid, headers, image, chunks=16, pause=0.5) for _ in range(THREADS)]
    for upload in slow:
        upload.start()
    time.sleep(1.0)
    assert not regions_answer_within(gunicorn, timeout=3)
    for upload in slow:
        upload.join(timeout=60)
    assert [u.status for u in slow] == [201] * THREADS


def test_behind_nginx_slow_uploads_leave_the_api_answering_and_arrive_whole(nginx, gunicorn):
    families = [ready_session(nginx) for _ in range(2)]  # 6 pages each, within the 10-page limit
    image = photo(orientation=1, gps=False)
    slow = [SlowUpload(nginx, *families[n % 2], image, chunks=16, pause=0.5) for n in range(3 * THREADS)]
    for upload in slow:
        upload.start()
    time.sleep(1.0)
    answered = [regions_answer_within(nginx, timeout=3) for _ in range(5)]
    still_sending = sum(u.is_alive() for u in slow)
    for upload in slow:
        upload.join(timeout=60)
    assert answered == [True] * 5
    assert still_sending == 3 * THREADS  # the API answered while every slow upload was still on the wire
    assert [u.status for u in slow] == [201] * (3 * THREADS)
    assert all(json.loads(u.body)["pages"][0]["status"] == "ready" for u in slow)
    assert [pages(nginx, sid, headers) for sid, headers in families] == [3 * THREADS // 2] * 2


def test_behind_nginx_a_client_that_stops_sending_is_dropped_with_nothing_stored(nginx):
    sid, headers = ready_session(nginx)
    dead = SlowUpload(nginx, sid, headers, photo(orientation=1, gps=False), chunks=8, pause=0.2, stop_after=3)
    dead.start()
    dead.join(timeout=30)
    assert dead.status in (408, None)  # nginx answers 408 or just closes after client_body_timeout
    assert not dead.is_alive()
    assert pages(nginx, sid, headers) == 0
    assert regions_answer_within(nginx, timeout=3)


def raw_reply(port: int, head: str) -> tuple[int, dict, dict]:
    """Send only a request head, read the whole reply: (status, headers, JSON body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        reply = read_all(sock)
    header, _, body = reply.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), fields, json.loads(body.decode())


def test_behind_nginx_an_oversized_body_gets_the_apis_error_shape_before_it_is_sent(nginx):
    status, headers, body = raw_reply(nginx, (
        "POST /api/v1/questionnaires/x/materials/applicant_id_card/pages HTTP/1.1\r\nHost: t\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {17 * 1024 * 1024}\r\nConnection: close\r\n\r\n"))
    assert status == 413 and headers["Content-Type"].startswith("application/json")
    assert body["error"]["code"] == "payload_too_large" and body["error"]["message"] == "提交的内容过大"


def test_nginx_with_the_app_down_answers_503_in_the_apis_error_shape(tmp_path):
    with front_door(tmp_path, upstream=free_port()) as port:
        status, headers, body = raw_reply(port, "GET /api/v1/regions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert status == 503 and headers["Content-Type"].startswith("application/json") and headers["Retry-After"] == "30"
    assert body["error"]["code"] == "temporarily_unavailable" and body["error"]["message_en"]


def test_the_front_door_names_no_server_software_or_version(nginx, gunicorn):
    """gunicorn always sends "Server: gunicorn" and has no setting to drop it (benoitc/gunicorn#825; patching
    gunicorn.SERVER from a config file is not supported); nginx hides it (proxy_hide_header Server) and names
    itself without a version (server_tokens off), on the app's answers and on its own error pages alike."""
    _, direct, _ = raw_reply(gunicorn, "GET /api/v1/regions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert direct["Server"] == "gunicorn"  # why the front door has to hide it
    for head in ("GET /api/v1/regions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                 "POST /api/v1/status HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {17 * 1024 * 1024}\r\nConnection: close\r\n\r\n"):
        _, headers, _ = raw_reply(nginx, head)
        assert headers["Server"] == "nginx", headers
        assert not any("gunicorn" in value.lower() for value in headers.values())
