"""Real data for the schemathesis run in .ci/run, so fuzzing reaches past sign-in and 404s: a family
(host-app sign-in) with one questionnaire walked to its checklist with a photo uploaded, one
submitted case, and a one-stop-window clerk in the same region. Prints the `export` lines .ci/run evaluates.

Run: python -m tests.fuzz.seed http://127.0.0.1:5077  (the server started with
MINIAPP_CONFIG_JSON holding HOST_CHANNELS {"fuzz": {"secret": $FUZZ_HOST_SECRET}}, same DATABASE_URL)
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid

import jwt
import pyotp
import requests

from bench.journey import HUNAN, form, photo


def family_token(api: str, secret: str) -> str:
    now = int(time.time())
    assertion = jwt.encode({"iss": "fuzz", "sub": uuid.uuid4().hex, "iat": now, "exp": now + 300,
                            "jti": uuid.uuid4().hex}, secret,
                           algorithm="HS256")
    response = requests.post(f"{api}/auth/host", json={"channel": "fuzz", "assertion": assertion}, timeout=10)
    response.raise_for_status()
    return response.json()["token"]


def walked_questionnaire(api: str, headers: dict) -> str:
    state = requests.post(f"{api}/questionnaires", json={"region": "hunan"}, headers=headers, timeout=10).json()
    while not state["complete"]:
        q = state["current"]
        value = HUNAN.get(q["id"], "2026-11-20" if q["type"] == "date" else q["options"][0]["value"])
        response = requests.post(f"{api}/questionnaires/{state['id']}/answers", json={"question": q["id"], "value": value},
                                 headers=headers, timeout=10)
        response.raise_for_status()
        state = response.json()
    consent = requests.get(f"{api}/questionnaires/{state['id']}/consent", headers=headers, timeout=10)
    consent.raise_for_status()
    requests.post(f"{api}/questionnaires/{state['id']}/consent", json={"version": consent.json()["version"]},
                  headers=headers, timeout=10).raise_for_status()
    return state["id"]


def main(base: str) -> None:
    api = base.rstrip("/") + "/api/v1"
    headers = {"Authorization": f"Bearer {family_token(api, os.environ['FUZZ_HOST_SECRET'])}"}
    submitted = walked_questionnaire(api, headers)
    requests.post(f"{api}/questionnaires/{submitted}/materials/applicant_id_card/pages", headers=headers, timeout=30,
                  files={"file": ("p.jpg", photo(), "image/jpeg")}).raise_for_status()
    requests.put(f"{api}/questionnaires/{submitted}/form", json=form(), headers=headers, timeout=10).raise_for_status()
    case = requests.post(f"{api}/questionnaires/{submitted}/submit", timeout=10,
                         headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    case.raise_for_status()
    open_session = walked_questionnaire(api, headers)
    page = requests.post(f"{api}/questionnaires/{open_session}/materials/applicant_id_card/pages", headers=headers,
                         timeout=30, files={"file": ("p.jpg", photo(), "image/jpeg")})
    page.raise_for_status()
    item = case.json()["work_items"][0]

    password = secrets.token_urlsafe(16)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "staff", "create", "fuzz-window", "--name", "窗口",
                    "--role", "window", "--region", "hunan", "--password", password],
                   check=True, capture_output=True, timeout=60)
    enrolled = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "staff", "totp", "fuzz-window"],
                              check=True, capture_output=True, text=True, timeout=60)  # the second factor (required)
    totp = pyotp.parse_uri(next(w for w in enrolled.stdout.split() if w.startswith("otpauth://")))
    clerk = requests.post(f"{api}/staff/auth", json={"username": "fuzz-window", "password": password,
                                                     "totp_code": totp.now()}, timeout=10)
    clerk.raise_for_status()
    print(f"export ST_FAMILY_TOKEN={headers['Authorization'].split()[1]}")
    print(f"export ST_STAFF_TOKEN={clerk.json()['token']}")
    print(f"export ST_SESSION_ID={open_session}")
    print(f"export ST_TRACKING_CODE={case.json()['tracking_code']}")
    print(f"export ST_PAGE_ID={page.json()['pages'][0]['id']}")
    print(f"export ST_ITEM_ID={item['id']}")
    print(f"export ST_DEPARTMENT={item['department']}")


if __name__ == "__main__":
    main(sys.argv[1])
