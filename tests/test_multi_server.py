"""Stateless app processes: two servers (separate gunicorn processes, as on two machines) share only
the database, Redis and an S3 bucket, and a family's requests land on either one at random. Nothing
one server keeps is needed by the other: the SMS code sent by one is checked by the other, a photo
uploaded to one is shown by the other, a submission retried on the other gives back the same case,
and the status-lookup limit is counted across both.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pyotp
import pytest
import redis
import requests
from moto.server import ThreadedMotoServer
from PIL import Image

from tests.peers.sms import AliyunSmsPeer
from tests.processes import serving
from tests.test_applications import HUNAN, first_choice, good_form
from tests.test_server_smoke import free_port
from tests.test_uploads import photo

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_MULTI_REDIS_URL", "redis://127.0.0.1:6379/11")
S3_OPTIONS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/multi-server"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multi")
    s3_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port)
    moto.start()
    s3 = f"http://127.0.0.1:{s3_port}"
    boto3.client("s3", endpoint_url=s3, **S3_OPTIONS).create_bucket(Bucket="uploads")
    sms = AliyunSmsPeer()
    redis.Redis.from_url(REDIS_URL).flushdb()
    config = {"REDIS_URL": REDIS_URL, "SECRET_KEY": "shared-secret-of-both-servers-32-bytes+", "S3_BUCKET": "uploads",
              "S3_ENDPOINT_URL": s3, "S3_CLIENT_OPTIONS": S3_OPTIONS, "S3_SSE_KMS_KEY_ID": KMS_KEY,
              "STATUS_LOOKUP_LIMITS": "3 per minute",
              "UPLOAD_FOLDER": str(tmp / "never-used"), "NOTIFY_SMS_PROVIDER": "aliyun",
              "NOTIFY_SMS_SETTINGS": {"access_key_id": sms.access_key_id, "access_key_secret": sms.access_key_secret,
                                      "sign_name": "湘易办", "endpoint": sms.base, "timeout": 5}}
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'shared.sqlite'}", "MINIAPP_CONFIG_JSON": json.dumps(config)}
    env.pop("REDIS_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([*flask, "staff", "create", "window-1", "--name", "窗口", "--role", "window", "--region", "hunan",
                    "--password", "window-password-1"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    enrolled = subprocess.run([*flask, "staff", "totp", "window-1"], cwd=ROOT, env=env, check=True,  # second factor:
                              capture_output=True, text=True, timeout=60)  # required by default, as in production
    totp = pyotp.parse_uri(next(w for w in enrolled.stdout.split() if w.startswith("otpauth://")))
    ports = [free_port(), free_port()]
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", "2", "wsgi:app"]
    try:
        with serving([*command, "--bind", f"127.0.0.1:{ports[0]}"], f"http://127.0.0.1:{ports[0]}/healthz", cwd=ROOT,
                     env=env), \
             serving([*command, "--bind", f"127.0.0.1:{ports[1]}"], f"http://127.0.0.1:{ports[1]}/healthz", cwd=ROOT,
                     env=env):
            yield [f"http://127.0.0.1:{port}/api/v1" for port in ports], sms, tmp / "never-used", totp, s3
    finally:
        sms.stop()
        moto.stop()


def test_a_family_served_by_two_servers_in_turn_loses_nothing(two_servers):
    (a, b), sms, local_folder, totp, s3 = two_servers
    turn = iter([a, b] * 100)  # every call goes to the other server

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, next(turn) + path, timeout=30, **kwargs)

    phone = "139" + str(uuid.uuid4().int)[:8]
    assert call("POST", "/auth/sms/code", json={"phone": phone}).status_code == 202  # a
    code = [d.params["code"] for d in sms.deliveries if d.phone == phone][-1]
    signed_in = call("POST", "/auth/sms/verify", json={"phone": phone, "code": code})  # b
    assert signed_in.status_code == 200, signed_in.text
    h = {"Authorization": f"Bearer {signed_in.json()['token']}"}

    state = call("POST", "/questionnaires", json={"region": "hunan"}, headers=h).json()
    sid = state["id"]
    while not state["complete"]:
        q = state["current"]
        response = call("POST", f"/questionnaires/{sid}/answers", headers=h,
                        json={"question": q["id"], "value": HUNAN.get(q["id"], first_choice(q))})
        assert response.status_code == 200, response.text
        state = response.json()
    version = call("GET", f"/questionnaires/{sid}/consent", headers=h).json()["version"]
    assert call("POST", f"/questionnaires/{sid}/consent", json={"version": version}, headers=h).status_code == 200

    uploaded = call("POST", f"/questionnaires/{sid}/materials/applicant_id_card/pages", headers=h,
                    files={"file": ("p.jpg", photo(), "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    page = uploaded.json()["pages"][0]["id"]
    for server in (a, b):  # the photo is in the bucket, not on the disk of the server that took it
        shown = requests.get(f"{server}/questionnaires/{sid}/pages/{page}", headers=h, timeout=30)
        assert shown.status_code == 200 and Image.open(io.BytesIO(shown.content)).size == (1200, 1600)
    assert not local_folder.exists()
    bucket = boto3.client("s3", endpoint_url=s3, **S3_OPTIONS)
    objects = [o["Key"] for o in bucket.list_objects_v2(Bucket="uploads")["Contents"]]
    assert len(objects) == 2  # the photo and its thumbnail, each sealed by us and encrypted by the bucket's KMS key
    for key in objects:
        assert bucket.get_object(Bucket="uploads", Key=key)["Body"].read().startswith(b"MAE1")
        assert bucket.head_object(Bucket="uploads", Key=key)["SSEKMSKeyId"] == KMS_KEY

    assert call("PUT", f"/questionnaires/{sid}/form", json=good_form(), headers=h).status_code == 200
    key = {**h, "Idempotency-Key": uuid.uuid4().hex}
    first = requests.post(f"{a}/questionnaires/{sid}/submit", headers=key, timeout=30)
    retry = requests.post(f"{b}/questionnaires/{sid}/submit", headers=key, timeout=30)
    assert (first.status_code, retry.status_code) == (201, 200)
    tracking = first.json()["tracking_code"]
    assert retry.json()["tracking_code"] == tracking

    clerk = call("POST", "/staff/auth", json={"username": "window-1", "password": "window-password-1",
                                              "totp_code": totp.now()}).json()
    seen = call("GET", f"/staff/cases/{tracking}", headers={"Authorization": f"Bearer {clerk['token']}"})
    assert seen.status_code == 200 and seen.json()["tracking_code"] == tracking

    lookups = [call("POST", "/status", json={"tracking_code": tracking, "phone_tail": phone[-4:]}).status_code
               for _ in range(4)]
    assert lookups == [200, 200, 200, 429]  # "3 per minute" counted over both servers together
