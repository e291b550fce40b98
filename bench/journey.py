"""A national peak hour on one machine: families' whole journeys against the app under gunicorn
on PostgreSQL and Redis, replayed from a separate load process; and, in the same run, a minimal
Flask "hello" endpoint under the same gunicorn settings as the ceiling.

Run: python bench/journey.py   (PostgreSQL and Redis running, as .ci/run starts them)
Families arrive at a steady BENCH_RATE journeys per second (default 2.0, the goal) for BENCH_SECONDS
(default 30), each journey on its own thread, after a short warm-up that is not measured; then the
same is done as fast as it goes with BENCH_FAMILIES (default 8) families back to back, to find the
ceiling. BENCH_DATABASE_URL defaults to a `bench_journey` database on the local PostgreSQL.

China records about 30,000 deaths a day; a peak hour at three times the average is ~1 journey/s
for the whole country, so the goal is >= 2 journeys/s with every API call's p99 under 300 ms.
"""

from __future__ import annotations

import base64
import io
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import jwt
import requests
import sqlalchemy as sa
from PIL import Image, ImageDraw
from stdnum import luhn
from stdnum.cn import ric

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
RATE = float(os.environ.get("BENCH_RATE", "2.0"))
FAMILIES = int(os.environ.get("BENCH_FAMILIES", "8"))
# The photos' size: 1600x1200 is about what a mini-program's compressed camera picture is; set
# BENCH_PHOTO=4032x3024 for a phone's original (the H5 page's camera upload).
PHOTO_SIZE = tuple(int(n) for n in os.environ.get("BENCH_PHOTO", "1600x1200").split("x"))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_journey")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
HOST_SECRET = "bench-host-secret-of-at-least-32-bytes!"
PHONE = "13800138000"  # the host app vouches for it (a signed `phone` claim): status lookups match proven numbers only
GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "3", "--worker-class", "gthread", "--threads", "4",
            "--timeout", "60", "--log-level", "warning"]
HUNAN = {"local_death": True, "local_hukou": True, "death_type": "normal", "welfare": ["none"],
         "requested": ["hukou_cancellation", "pension_account_payout", "survivor_benefits", "death_certificate_normal"],
         "relationship": "child", "enterprise_employee": True, "employment_status": "retired",
         "medical_insurance": "employee", "pension_insurance": "enterprise", "other_insurance": ["none"],
         "medical_account_overpaid": False, "death_place": "medical_institution"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_id(birth: str, seq: str) -> str:
    body = "110105" + birth + seq
    return body + ric.calc_check_digit(body + "0")


def photo(size: tuple[int, ...] = PHOTO_SIZE) -> bytes:
    width, height = size
    image = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for row in range(40, height - 40, 36):
        for col in range(40, width - 200, 90):
            draw.rectangle([col, row, col + 60, row + 14], fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def form() -> dict:
    card = "62220200000000012"
    return {"deceased": {"name": "张三丰", "gender": "male", "id_number": make_id("19400101", "001"), "ethnicity": "汉族",
                         # Hunan's fields only 人社 reads (form.facts with department): asked for its matters
                         "enterprise_employee": True, "employment_status": "retired", "other_insurance": ["none"]},
            "applicant": {"name": "张小梅", "id_number": make_id("19700505", "002"), "phone": PHONE,
                          "address": "长沙市芙蓉区某路1号"},
            "accounts": [{"payee": "deceased_social_security_card", "bank_name": "中国工商银行", "holder_name": "张三丰",
                          "account_number": card + luhn.calc_check_digit(card)}],
            "commitment_accepted": True}


def prepare_database() -> None:
    admin = sa.create_engine(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = DATABASE_URL.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def start_server(app: str, port: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen([*GUNICORN, "--bind", f"127.0.0.1:{port}", app], cwd=ROOT, env=env)
    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz" if app == "wsgi:app" else f"http://127.0.0.1:{port}/hello",
                         timeout=1)
            return server
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


class Recorder:
    def __init__(self):
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def call(self, http: requests.Session, name: str, method: str, url: str, expect: int, **kwargs) -> requests.Response:
        start = time.perf_counter()
        response = http.request(method, url, timeout=30, **kwargs)
        took = (time.perf_counter() - start) * 1000
        with self.lock:
            self.times[name].append(took)
            if response.status_code != expect:
                self.errors[name] += 1
        return response


def journey(base: str, rec: Recorder, image: bytes) -> bool:
    http = requests.Session()
    now = int(time.time())
    assertion = jwt.encode({"iss": "bench", "sub": uuid.uuid4().hex, "iat": now, "exp": now + 300,
                            "jti": uuid.uuid4().hex, "phone": PHONE}, HOST_SECRET,
                           algorithm="HS256")
    token = rec.call(http, "auth/host", "POST", f"{base}/auth/host", 200,
                     json={"channel": "bench", "assertion": assertion}).json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    state = rec.call(http, "questionnaires", "POST", f"{base}/questionnaires", 201, json={"region": "hunan"},
                     headers=h).json()
    sid = state["id"]
    while not state["complete"]:
        q = state["current"]
        value = HUNAN.get(q["id"], "2026-11-20" if q["type"] == "date" else q["options"][0]["value"])
        state = rec.call(http, "answers", "POST", f"{base}/questionnaires/{sid}/answers", 200,
                         json={"question": q["id"], "value": value}, headers=h).json()
    rec.call(http, "checklist", "GET", f"{base}/questionnaires/{sid}/checklist", 200, headers=h)
    version = rec.call(http, "consent", "GET", f"{base}/questionnaires/{sid}/consent", 200, headers=h).json()["version"]
    rec.call(http, "consent", "POST", f"{base}/questionnaires/{sid}/consent", 200, json={"version": version}, headers=h)
    for material in ("applicant_id_card", "deceased_id_card", "household_register"):
        rec.call(http, "upload", "POST", f"{base}/questionnaires/{sid}/materials/{material}/pages", 201,
                 files={"file": ("p.jpg", image, "image/jpeg")}, headers=h)
    rec.call(http, "form", "PUT", f"{base}/questionnaires/{sid}/form", 200, json=form(), headers=h)
    case = rec.call(http, "submit", "POST", f"{base}/questionnaires/{sid}/submit", 201,
                    headers={**h, "Idempotency-Key": uuid.uuid4().hex}).json()
    for _ in range(2):
        rec.call(http, "status", "POST", f"{base}/status", 200,
                 json={"tracking_code": case["tracking_code"], "phone_tail": "8000"})
    return True


def load(base: str, seconds: float, families: int, rate: float, out: multiprocessing.Queue) -> None:
    """The separate load process. rate > 0: families arrive every 1/rate seconds (open loop, the
    latencies a family sees at that load); rate == 0: `families` back to back as fast as possible."""
    image = photo()
    for _ in range(3):  # warm-up: every worker loads its dialogs and caches
        journey(base, Recorder(), image)
    rec, done = Recorder(), []

    def one():
        try:
            journey(base, rec, image)
            done.append(1)
        except Exception as exc:  # a broken journey counts, it does not stop the run
            with rec.lock:
                rec.errors[f"journey:{type(exc).__name__}"] += 1

    started = time.monotonic()
    threads = []
    if rate > 0:
        for n in range(int(seconds * rate)):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            thread = threading.Thread(target=one)
            thread.start()
            threads.append(thread)
    else:
        stop = started + seconds

        def family():
            while time.monotonic() < stop:
                one()

        threads = [threading.Thread(target=family) for _ in range(families)]
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join()
    out.put({"elapsed": time.monotonic() - started, "journeys": len(done), "times": dict(rec.times),
             "errors": dict(rec.errors)})


def hello_load(base: str, seconds: float, clients: int, out: multiprocessing.Queue) -> None:
    count, lock, stop = [0], threading.Lock(), time.monotonic() + seconds

    def client():
        http = requests.Session()
        while time.monotonic() < stop:
            http.get(f"{base}/hello", timeout=10)
            with lock:
                count[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(count[0] / (time.monotonic() - started))


def in_process(target, *args):
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    prepare_database()
    uploads = tempfile.mkdtemp(prefix="bench-uploads-")
    config = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "SECRET_KEY": secrets.token_urlsafe(48),
              "UPLOAD_FOLDER": uploads,
              "HOST_CHANNELS": {"bench": {"secret": HOST_SECRET}}, "STATUS_LOOKUP_LIMITS": "100000 per minute",
              # every family of the bench comes from 127.0.0.1: the per-address limits would refuse them
              "UPLOAD_LIMITS_PER_ADDRESS": "100000 per minute",
              "TESTING": False, "LOG_LEVEL": "WARNING", "NOTIFY_SMS_CONSOLE_ALLOWED": True}
    # The servers seal personal data at rest with these (miniapp_api/keys.py), as a deployment's settings would.
    config.update(MASTER_KEYS={"b1": base64.b64encode(os.urandom(32)).decode()},
                  BLIND_INDEX_KEY=base64.b64encode(os.urandom(32)).decode())
    env = {**os.environ, "MINIAPP_CONFIG_JSON": json.dumps(config)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    import redis
    redis.Redis.from_url(REDIS_URL).flushdb()

    port, hello_port = free_port(), free_port()
    server = start_server("wsgi:app", port, env)
    try:
        paced = in_process(load, f"http://127.0.0.1:{port}/api/v1", SECONDS, FAMILIES, RATE)
        flat_out = in_process(load, f"http://127.0.0.1:{port}/api/v1", min(SECONDS, 15), FAMILIES, 0.0)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    hello = start_server("bench.hello:app", hello_port, env)
    try:
        hello_rps = in_process(hello_load, f"http://127.0.0.1:{hello_port}", min(SECONDS, 10), FAMILIES)
    finally:
        hello.send_signal(signal.SIGTERM)
        hello.wait(timeout=30)

    print(f"Paced: families arriving at {RATE} journeys/s for {SECONDS:.0f} s "
          f"(gunicorn 3 workers x 4 threads, PostgreSQL, Redis; load from a separate process on the same 2 cores; "
          f"photos {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG, {len(photo()) // 1024} kB)")
    worst = report(paced)
    print(f"\nFlat out: {FAMILIES} families back to back")
    report(flat_out)
    api_rps = sum(len(v) for v in flat_out["times"].values()) / flat_out["elapsed"]
    print(f"\nceiling: API {api_rps:.1f} requests/s flat out; hello {hello_rps:.1f} requests/s "
          f"({api_rps / hello_rps:.2f} of it)")
    errors = int(sum(paced["errors"].values()) + sum(flat_out["errors"].values()))
    print(json.dumps({"journeys_per_s": round(paced["journeys"] / paced["elapsed"], 3), "p99_ms": round(worst, 1),
                      "hello_rps": round(hello_rps, 1), "api_rps": round(api_rps, 1),
                      "max_journeys_per_s": round(flat_out["journeys"] / flat_out["elapsed"], 3), "errors": errors}))
    if errors:  # a call that failed is a bug, not a figure (timings are only reported: the machine is shared)
        sys.exit(1)


def report(result: dict) -> float:
    """Print per-endpoint figures; return the worst p99."""
    print(f"{result['journeys']} journeys in {result['elapsed']:.1f} s = {result['journeys'] / result['elapsed']:.2f}/s")
    print(f"{'endpoint':14s} {'calls':>6s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>6s}")
    worst = 0.0
    for name, values in sorted(result["times"].items()):
        p99 = percentile(values, 99)
        worst = max(worst, p99)
        print(f"{name:14s} {len(values):6d} {statistics.median(values):8.1f} {p99:8.1f} {result['errors'].get(name, 0):6d}")
    broken = {k: v for k, v in result["errors"].items() if k.startswith("journey:")}
    if broken:
        print("broken journeys:", broken)
    return worst


if __name__ == "__main__":
    main()
