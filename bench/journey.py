"""A national peak hour on one machine: families' whole journeys against the app under gunicorn on
PostgreSQL and Redis, with the rq worker draining the outbox, replayed from separate load processes;
and, in the same run, a minimal Flask "hello" endpoint under the same gunicorn settings as the ceiling,
measured with `wrk` (Debian's), so the ceiling is the server's and not the load generator's.

Run: python bench/journey.py   (PostgreSQL running, `redis-server` and `wrk` installed, as .ci/run sets up)
Families arrive at a steady BENCH_RATE journeys per second (default 2.0, the goal) for BENCH_SECONDS
(default 30), each journey on its own thread, after a short warm-up that is not measured; then as fast as
it goes with BENCH_FAMILIES (default 8) families back to back, split over BENCH_LOAD_PROCESSES (default
2) processes, to find the ceiling. CPU per journey adds the gunicorn processes', the worker's and this
database's PostgreSQL backends' CPU time over the flat-out run.

Everything it uses is its own, made and removed by itself: a PostgreSQL database named
bench_journey_<random> (BENCH_PG_URL: the server, default the local one), a redis-server on a free port,
the upload and key folders. BENCH_PREFILL cases (default 0; bench/scale.py's filler) are put in the
database first, so the journeys run against a province's data rather than an empty one.

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
import shutil
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
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
LOAD_PROCESSES = int(os.environ.get("BENCH_LOAD_PROCESSES", "2"))
PREFILL = int(os.environ.get("BENCH_PREFILL", "0"))
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


def own_database() -> str:
    """A database of this run's own: its name cannot be anyone else's, and only it is dropped."""
    name = f"bench_journey_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_URL}/{name}"


def drop_database(url: str) -> None:
    admin = sa.create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def own_redis(folder: str) -> tuple[subprocess.Popen, str]:
    """A redis-server of this run's own on a free port: no one else's keys are flushed or counted."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--dir", folder], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return server, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def _ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_of(pids: list[int]) -> dict[int, int]:
    """Clock ticks per process of these processes and their children."""
    seen: dict[int, int] = {}
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen[pid] = _ticks(pid)
            todo += _children(pid)
    return seen


def backends(url: str) -> list[int]:
    """The PostgreSQL backends serving this run's database."""
    engine = sa.create_engine(f"{PG_URL}/postgres")
    with engine.connect() as conn:
        pids = [r[0] for r in conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                           {"d": url.rsplit("/", 1)[1]})]
    engine.dispose()
    return pids


def ticks_between(before: dict[int, int], after: dict[int, int]) -> int:
    return sum(t - before.get(pid, 0) for pid, t in after.items())


def wrk_rps(url: str, seconds: float) -> float | None:
    """Requests per second `wrk` gets from ``url`` (None without wrk: the ceiling is then not measured)."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{max(1, int(seconds))}s", url], capture_output=True, text=True,
                         check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


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


def in_processes(count: int, target, *args) -> dict:
    """``target`` in ``count`` load processes at once, their results merged: one Python process's threads
    are not the limit of the load."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=target, args=(*args, queue)) for _ in range(count)]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    merged: dict = {"elapsed": max(r["elapsed"] for r in results), "journeys": sum(r["journeys"] for r in results),
                    "times": defaultdict(list), "errors": defaultdict(int)}
    for r in results:
        for name, values in r["times"].items():
            merged["times"][name] += values
        for name, n in r["errors"].items():
            merged["errors"][name] += n
    return merged


def start_worker(env: dict) -> subprocess.Popen:
    """The rq worker, draining what the journeys queue (texts, department pushes), as in production."""
    return subprocess.Popen([sys.executable, "-m", "miniapp_api.worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    folder = tempfile.mkdtemp(prefix="bench-journey-")
    database = own_database()
    redis_server, redis_url = own_redis(folder)
    try:
        run(database, redis_url, folder)
    finally:
        stop(redis_server)
        drop_database(database)
        shutil.rmtree(folder, ignore_errors=True)


def run(database: str, redis_url: str, folder: str) -> None:
    config = {"DATABASE_URL": database, "REDIS_URL": redis_url, "SECRET_KEY": secrets.token_urlsafe(48),
              "UPLOAD_FOLDER": os.path.join(folder, "uploads"),
              "HOST_CHANNELS": {"bench": {"secret": HOST_SECRET}}, "STATUS_LOOKUP_LIMITS": "100000 per minute",
              # every family of the bench comes from 127.0.0.1: the per-address limits would refuse them
              "UPLOAD_LIMITS_PER_ADDRESS": "100000 per minute",
              "TESTING": False, "LOG_LEVEL": "WARNING", "NOTIFY_SMS_CONSOLE_ALLOWED": True,
              # The servers seal personal data at rest with these (miniapp_api/keys.py), as a deployment's would.
              "MASTER_KEYS": {"b1": base64.b64encode(os.urandom(32)).decode()},
              "BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode()}
    env = {**os.environ, "MINIAPP_CONFIG_JSON": json.dumps(config)}
    env.pop("MINIAPP_KEYRING_FILE", None)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    if PREFILL:
        sys.path.insert(0, str(ROOT))  # run as a script: bench/ is on the path, the repository root is not
        from bench.scale import prefill

        started = time.monotonic()
        prefill(database, PREFILL, config)
        print(f"prefilled {PREFILL} cases in {time.monotonic() - started:.0f} s")

    port, hello_port = free_port(), free_port()
    server = start_server("wsgi:app", port, env)
    worker = start_worker(env)
    try:
        paced = in_process(load, f"http://127.0.0.1:{port}/api/v1", SECONDS, FAMILIES, RATE)
        before = {**cpu_of([server.pid, worker.pid]), **cpu_of(backends(database))}
        per_process = max(1, FAMILIES // LOAD_PROCESSES)
        flat_out = in_processes(LOAD_PROCESSES, load, f"http://127.0.0.1:{port}/api/v1", min(SECONDS, 15),
                                per_process, 0.0)
        after = {**cpu_of([server.pid, worker.pid]), **cpu_of(backends(database))}
        ticks = ticks_between(before, after)
        backlog = drain(redis_url)
    finally:
        stop(worker)
        stop(server)
    hello = start_server("bench.hello:app", hello_port, env)
    try:
        hello_rps = wrk_rps(f"http://127.0.0.1:{hello_port}/hello", min(SECONDS, 10))
        if hello_rps is None:  # no wrk: the Python generator, in as many processes, as a lower bound
            hello_rps = in_process(hello_load, f"http://127.0.0.1:{hello_port}", min(SECONDS, 10), FAMILIES)
    finally:
        stop(hello)

    print(f"Paced: families arriving at {RATE} journeys/s for {SECONDS:.0f} s "
          f"(gunicorn 3 workers x 4 threads, PostgreSQL, Redis, the rq worker; load from a separate process on the "
          f"same 2 cores; photos {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG, {len(photo()) // 1024} kB"
          f"{f'; {PREFILL} cases already in the database' if PREFILL else ''})")
    worst = report(paced)
    print(f"\nFlat out: {per_process * LOAD_PROCESSES} families back to back in {LOAD_PROCESSES} load processes")
    report(flat_out)
    api_rps = sum(len(v) for v in flat_out["times"].values()) / flat_out["elapsed"]
    cpu_ms = ticks / os.sysconf("SC_CLK_TCK") * 1000 / max(1, flat_out["journeys"])
    print(f"\nceiling: API {api_rps:.1f} requests/s flat out; hello {hello_rps:.1f} requests/s with wrk "
          f"({api_rps / hello_rps:.2f} of it)")
    print(f"CPU per journey (gunicorn + worker + PostgreSQL backends, flat out): {cpu_ms:.0f} ms; "
          f"jobs still queued a minute after the load: {backlog}")
    errors = int(sum(paced["errors"].values()) + sum(flat_out["errors"].values()))
    print(json.dumps({"journeys_per_s": round(paced["journeys"] / paced["elapsed"], 3), "p99_ms": round(worst, 1),
                      "hello_rps": round(hello_rps, 1), "api_rps": round(api_rps, 1),
                      "max_journeys_per_s": round(flat_out["journeys"] / flat_out["elapsed"], 3),
                      "cpu_ms_per_journey": round(cpu_ms, 1), "backlog": backlog, "prefill_cases": PREFILL,
                      "errors": errors}))
    if errors:  # a call that failed is a bug, not a figure (timings are only reported: the machine is shared)
        sys.exit(1)


def drain(redis_url: str, wait: float = 60.0) -> int:
    """Jobs still queued once the worker had ``wait`` seconds after the load (0: it keeps up)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + wait
    while True:
        queued = sum(client.llen(key) for key in client.scan_iter("rq:queue:*"))
        if queued == 0 or time.monotonic() > deadline:
            return int(queued)
        time.sleep(0.5)


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
