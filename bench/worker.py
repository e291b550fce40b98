"""The background worker keeping up: real webhook deliveries and notifications, through Redis and rq,
POSTed by `python -m miniapp_api.worker` processes to a loopback department system that answers 200.

Run: python bench/worker.py   (from the repository root; PostgreSQL and Redis running)

1. Flat out: BENCH_DELIVERIES (default 2000) webhook deliveries are queued at once, as submissions queue
   them; the figure is deliveries per second from the first hand-off to the last delivery, and the
   workers' CPU (user + system, every process of theirs) per job.
2. Paced: families submit at BENCH_RATE journeys/s (default 2, the national peak-hour goal) for
   BENCH_SECONDS (default 20; 600 for the ten-minute run), each submission writing and queueing
   ~8 webhooks and ~3 notifications (host-app messages, POSTed to the same peer). The backlog is
   what is still not delivered or sent one second after the last submission.

BENCH_WORKERS (default 2) worker processes run; the database is a fresh ``bench_worker_<random>`` on
the local PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432), dropped at the end;
Redis is BENCH_REDIS_URL (default db 13), flushed before and after.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from miniapp_api import create_app  # noqa: E402
from miniapp_api.extensions import db  # noqa: E402
from miniapp_api.models import Applicant, Case, Notification, QuestionnaireSession, WebhookDelivery, WorkItem  # noqa: E402
from miniapp_api.services import notify, webhooks  # noqa: E402

DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "2000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
RATE = float(os.environ.get("BENCH_RATE", "2.0"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WEBHOOKS_PER_JOURNEY, NOTIFICATIONS_PER_JOURNEY = 8, 3
HOST_SECRET = "bench-host-secret-of-at-least-32-bytes!"
TICK = os.sysconf("SC_CLK_TCK")


class Department:
    """A loopback department system (and host app): answers every POST with 200 and counts them."""

    def __init__(self) -> None:
        self.count = 0
        lock, department = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with lock:
                    department.count += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/inbox"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def settings(database_url: str, department: Department, uploads: str) -> dict:
    """The app's settings, for this process and the workers alike."""
    return {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "SECRET_KEY": secrets.token_urlsafe(48),
            "UPLOAD_FOLDER": uploads, "LOG_LEVEL": "WARNING", "DIALOGS_CHECK_ON_START": False,
            "DEPARTMENT_WEBHOOKS": {"hrss": {"url": department.url, "secret": "bench-webhook-secret"}},
            "HOST_CHANNELS": {"bench": {"secret": HOST_SECRET, "notify_url": department.url}},
            "NOTIFY_QUIET_HOURS": [0, 0], "NOTIFY_SMS_CONSOLE_ALLOWED": True,  # no SMS in this bench
            "MASTER_KEYS": {"b1": base64.b64encode(os.urandom(32)).decode()},
            "BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode()}


def a_case() -> WorkItem:
    """One submitted case with a work item, for the outbox rows to hang off (caller commits)."""
    applicant = Applicant(id=uuid.uuid4().hex, channel="host:bench", channel_user_id=uuid.uuid4().hex)
    questionnaire = QuestionnaireSession(id=uuid.uuid4().hex, region="hunan", resume_secret_hash="0" * 64)
    db.session.add_all([applicant, questionnaire])
    db.session.flush()  # the case refers to them by id
    now = dt.datetime.now(dt.UTC)
    case = Case(tracking_code=secrets.token_hex(6).upper(), region="hunan", applicant_id=applicant.id,
                questionnaire_id=questionnaire.id, idempotency_key=uuid.uuid4().hex, answers={}, facts={},
                checklist={}, form={}, commitment_accepted_at=now)
    item = WorkItem(matter_id="pension_account_payout", department="hrss")
    case.work_items.append(item)
    db.session.add(case)
    db.session.flush()
    return item


def outbox(item: WorkItem, url: str, hooks: int, notes: int) -> tuple[list[WebhookDelivery], list[Notification]]:
    """A submission's outbox rows: ``hooks`` webhook deliveries and ``notes`` host-app messages."""
    payload = {"event": "work_item.submitted", "tracking_code": item.case.tracking_code, "region": "hunan",
               "work_item": {"matter": item.matter_id, "department": "hrss", "status": "submitted"}}
    deliveries = [WebhookDelivery(work_item=item, department="hrss", url=url, payload=payload) for _ in range(hooks)]
    messages = [Notification(case_id=item.case_id, event="case_submitted", channel="host", recipient="bench:family-1",
                             payload={"text": "您的申请已受理"}, idempotency_key=uuid.uuid4().hex) for _ in range(notes)]
    db.session.add_all([*deliveries, *messages])
    return deliveries, messages


def submit(url: str, hooks: int, notes: int) -> None:
    """What a submission does to the outboxes: rows in one transaction, then handed to rq."""
    deliveries, messages = outbox(a_case(), url, hooks, notes)
    db.session.commit()
    webhooks.dispatch([d.id for d in deliveries])
    notify.dispatch([m.id for m in messages])
    db.session.remove()


def backlog() -> int:
    """Rows not yet delivered or sent."""
    hooks = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.status != "delivered"))
    notes = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.status != "sent"))
    db.session.remove()
    return int(hooks) + int(notes)


def cpu_seconds(group: int) -> float:
    """User + system CPU of every live process in the process group ``group`` (a worker and its scheduler),
    with that of the children they reaped (a forking worker's work horses)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # pgrp; utime, stime, cutime, cstime follow at 11 to 14
            total += sum(int(f) for f in fields[11:15])
    return total / TICK


def start_workers(env: dict) -> list[subprocess.Popen]:
    workers = [subprocess.Popen([sys.executable, "-m", "miniapp_api.worker"], cwd=ROOT, env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL) for _ in range(WORKERS)]
    connection = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + 60
    while len(list(connection.scan_iter(match="miniapp:worker-health:*"))) < WORKERS:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise RuntimeError("the workers did not start")
        time.sleep(0.1)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)


def wait_until_empty(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while backlog():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def flat_out(department: Department, workers: list[subprocess.Popen]) -> dict:
    """DELIVERIES webhooks queued at once: deliveries per second and CPU per job."""
    item = a_case()
    deliveries, _ = outbox(item, department.url, DELIVERIES, 0)
    db.session.commit()
    ids = [d.id for d in deliveries]
    db.session.remove()
    cpu_before, posts_before = sum(cpu_seconds(w.pid) for w in workers), department.count
    started = time.perf_counter()
    for start in range(0, len(ids), 8):  # in submissions' batches
        webhooks.dispatch(ids[start:start + 8])
    emptied = wait_until_empty(600)
    took = time.perf_counter() - started
    cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
    return {"seconds": took, "per_s": DELIVERIES / took, "cpu_ms_per_job": 1000 * cpu / DELIVERIES,
            "posts": department.count - posts_before, "emptied": emptied}


def paced(department: Department, workers: list[subprocess.Popen]) -> dict:
    """Submissions at RATE per second for SECONDS; the backlog one second after the last."""
    journeys = int(SECONDS * RATE)
    cpu_before, posts_before = sum(cpu_seconds(w.pid) for w in workers), department.count
    started, worst = time.monotonic(), 0
    for n in range(journeys):
        time.sleep(max(0.0, started + n / RATE - time.monotonic()))
        worst = max(worst, backlog()) if n % max(1, int(RATE)) == 0 else worst  # about once a second
        submit(department.url, WEBHOOKS_PER_JOURNEY, NOTIFICATIONS_PER_JOURNEY)
    time.sleep(max(0.0, started + journeys / RATE - time.monotonic()) + 1.0)
    left = backlog()
    jobs = journeys * (WEBHOOKS_PER_JOURNEY + NOTIFICATIONS_PER_JOURNEY)
    cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
    wait_until_empty(120)
    return {"journeys": journeys, "jobs": jobs, "backlog_after": left, "worst_backlog": worst,
            "cpu_ms_per_job": 1000 * cpu / jobs, "posts": department.count - posts_before}


def prepare(database: str) -> None:
    admin = sa.create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    admin.dispose()


def drop(database: str) -> None:
    admin = sa.create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def run(app: Flask, env: dict, department: Department) -> tuple[dict, dict]:
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        workers = start_workers(env)
        try:
            return flat_out(department, workers), paced(department, workers)
        finally:
            stop_workers(workers)
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    database = f"bench_worker_{secrets.token_hex(4)}"
    department = Department()
    uploads = tempfile.mkdtemp(prefix="bench-worker-")
    config = settings(f"{PG_URL}/{database}", department, uploads)
    env = {**os.environ, "MINIAPP_CONFIG_JSON": json.dumps(config)}
    connection = redis.Redis.from_url(REDIS_URL)
    prepare(database)
    try:
        connection.flushdb()
        fast, steady = run(create_app(config), env, department)
    finally:
        connection.flushdb()
        drop(database)
        department.close()
        os.rmdir(uploads)
    print(f"Flat out: {DELIVERIES} webhooks queued at once, {WORKERS} worker process(es) (rq SimpleWorker, "
          f"round robin), PostgreSQL, Redis, a loopback department answering 200, all on {os.cpu_count()} cores")
    print(f"  {fast['per_s']:.1f} deliveries/s ({fast['seconds']:.2f} s), {fast['cpu_ms_per_job']:.2f} ms worker CPU "
          f"per job, {fast['posts']} POSTs received")
    print(f"Paced: {RATE} journeys/s for {SECONDS:.0f} s ({steady['journeys']} journeys, {steady['jobs']} jobs: "
          f"{WEBHOOKS_PER_JOURNEY} webhooks + {NOTIFICATIONS_PER_JOURNEY} notifications each)")
    print(f"  backlog 1 s after the last journey: {steady['backlog_after']} (worst seen: {steady['worst_backlog']}), "
          f"{steady['cpu_ms_per_job']:.2f} ms worker CPU per job, {steady['posts']} POSTs received")
    print(json.dumps({"deliveries_per_s": round(fast["per_s"], 1), "cpu_ms_per_job": round(fast["cpu_ms_per_job"], 2),
                      "backlog_after": steady["backlog_after"], "paced_cpu_ms_per_job": round(steady["cpu_ms_per_job"], 2),
                      "workers": WORKERS}))
    lost = fast["posts"] != DELIVERIES or not fast["emptied"] or steady["posts"] != steady["jobs"]
    if lost:  # a delivery missing or sent twice is a bug, not a figure
        sys.exit(1)


if __name__ == "__main__":
    main()
