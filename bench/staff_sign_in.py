"""Whether the time of a refused staff sign-in tells which usernames exist: the median time of a wrong password
for an existing username, an unknown username and a disabled account, through the real app (SQLite in a
temporary folder, the in-process store; each attempt from its own address, so no throttle answers instead).
Figures are printed for people, then one JSON line; ``unknown_to_known`` near 1.0 is what we want (it was
about 0.02 when an unknown username skipped the password hash: 4 ms against 250 ms).

Run: python bench/staff_sign_in.py   (from the repository root)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from miniapp_api import create_app  # noqa: E402
from miniapp_api.services import staff  # noqa: E402

ROUNDS = 15


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-sign-in-"))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}", "REDIS_URL": None,
                      "SECRET_KEY": "bench", "UPLOAD_FOLDER": str(folder / "uploads"), "STAFF_REQUIRE_TOTP": False})
    with app.app_context():
        upgrade()
        staff.create("bench_clerk", "bench-password-1", "测试", "window", "hunan")
        staff.disable(staff.create("bench_gone", "bench-password-1", "测试", "window", "hunan"))
    client = app.test_client()
    times: dict[str, list[float]] = {"known": [], "unknown": [], "disabled": []}
    usernames = {"known": "bench_clerk", "unknown": "no_such_clerk", "disabled": "bench_gone"}
    client.post("/api/v1/staff/auth", json={"username": "warm_up", "password": "x"})  # the dummy hash is made once
    for i in range(ROUNDS):
        for kind, username in usernames.items():
            start = time.perf_counter()
            response = client.post("/api/v1/staff/auth", json={"username": username, "password": "wrong password"},
                                   environ_overrides={"REMOTE_ADDR": f"10.{i}.{len(kind)}.1"})
            times[kind].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 401, response.get_json()
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    for kind, value in medians.items():
        print(f"{kind:>9}: median {value:7.1f} ms over {ROUNDS}")
    ratio = medians["unknown"] / medians["known"]
    print(f"unknown / known: {ratio:.2f}")
    print(json.dumps({"bench": "staff_sign_in", "known_ms": round(medians["known"], 1),
                      "unknown_ms": round(medians["unknown"], 1), "disabled_ms": round(medians["disabled"], 1),
                      "unknown_to_known": round(ratio, 2)}))


if __name__ == "__main__":
    main()
