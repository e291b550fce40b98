"""Loopback HTTP servers that speak Alibaba Cloud Dysmsapi SendSms and Tencent Cloud SMS SendSms, for tests.

Each one recomputes the request signature from what it received, with its own copy of the secret and
a verifier written here from the providers' documentation (not imported from the client), and refuses
a bad one with the provider's error code. Accepted messages are recorded as `deliveries`.

Idempotency: the real services do NOT de-duplicate on OutId / SessionContext (they only echo it in
receipts), so by default a second send with the same key is delivered again, like the real thing, and
counted in `duplicates`; a test proves "exactly one delivery" with `len(peer.deliveries_for(key)) == 1`
and `peer.duplicates == 0`. Set `dedupe = True` to have the peer swallow repeats (answering with the
first message id) when a test wants that behaviour instead.

Knobs: `fail_next = n` answers the next n signed requests with a retryable failure (`fail_with` =
"throttle": the provider's flow-control code, or "http500"); `permanent_error = "code"` answers every
request with that non-retryable code; `templates = {template: names or count}` checks the params;
`delay` seconds are slept after a message is accepted and before answering (a client timeout then
leaves a delivered message behind, as in real life).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Delivery:
    phone: str  # as the provider received it: bare for Aliyun, +86... for Tencent
    sign_name: str
    template: str
    params: Any  # dict (Aliyun TemplateParam) or list (Tencent TemplateParamSet)
    key: str  # OutId / SessionContext
    message_id: str  # BizId / SerialNo


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client that timed out and hung up
        pass


class _SmsPeer:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.duplicates = 0
        self.received = 0  # every HTTP request, valid or not
        self.fail_next = 0
        self.fail_with = "throttle"
        self.permanent_error: str | None = None
        self.dedupe = False
        self.delay = 0.0
        self.templates: dict[str, Any] = {}
        self._first_id: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = _Quiet(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def deliveries_for(self, key: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.key == key]

    def _take_failure(self) -> str | None:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_with
        return None

    def _deliver(self, phone: str, sign_name: str, template: str, params: Any, key: str, new_id: str) -> str:
        with self._lock:
            if key and key in self._first_id:
                self.duplicates += 1
                if self.dedupe:
                    return self._first_id[key]
            self.deliveries.append(Delivery(phone, sign_name, template, params, key, new_id))
            self._first_id.setdefault(key, new_id)
            return new_id

    def _answer(self, method: str, path: str, headers, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def _handler(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with peer._lock:
                    peer.received += 1
                status, answer = peer._answer(method, self.path, self.headers, body)
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler


# --- Alibaba Cloud RPC, signature V2 ------------------------------------------------------------------

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _rfc3986(text: str) -> str:
    return "".join(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in text.encode("utf-8"))


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    """StringToSign = HTTPMethod&percentEncode("/")&percentEncode(CanonicalizedQueryString)."""
    pairs = [_rfc3986(name) + "=" + _rfc3986(params[name]) for name in sorted(params)]
    return method + "&" + _rfc3986("/") + "&" + _rfc3986("&".join(pairs))


def aliyun_expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    mac = hmac.new((secret + "&").encode("utf-8"), aliyun_string_to_sign(method, params).encode("utf-8"), "sha1")
    return base64.b64encode(mac.digest()).decode("ascii")


class AliyunSmsPeer(_SmsPeer):
    def __init__(self, access_key_id: str = "LTAI-test-key", access_key_secret: str = "aliyun-test-secret") -> None:
        self.access_key_id, self.access_key_secret = access_key_id, access_key_secret
        self._nonces: set[str] = set()
        self._ids = 0
        super().__init__()

    @staticmethod
    def _error(status: int, code: str, message: str) -> tuple[int, dict]:
        return status, {"RequestId": str(uuid.uuid4()).upper(), "HostId": "dysmsapi.aliyuncs.com",
                        "Code": code, "Message": message}

    def _answer(self, method: str, path: str, headers, body: bytes) -> tuple[int, Any]:
        pairs = parse_qsl(urlsplit(path).query, keep_blank_values=True)
        if method == "POST" and body:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            return self._error(400, "InvalidParameter", "A parameter is given twice.")
        required = ("AccessKeyId", "Action", "Version", "Signature", "SignatureMethod", "SignatureVersion",
                    "SignatureNonce", "Timestamp")
        for name in required:
            if not params.get(name):
                return self._error(400, "MissingParameter", f'The input parameter "{name}" that is mandatory is not supplied.')
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return self._error(400, "InvalidParameter", "Unsupported SignatureMethod or SignatureVersion.")
        if params["AccessKeyId"] != self.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        try:
            sent = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "Specified time stamp is not in the ISO8601 UTC format.")
        if abs(time.time() - sent) > 15 * 60:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        signature = params.pop("Signature")
        if not hmac.compare_digest(signature, aliyun_expected_signature(method, params, self.access_key_secret)):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. "
                               "server string to sign is:" + aliyun_string_to_sign(method, params))
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(params["SignatureNonce"])
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25":
            return self._error(400, "InvalidParameter", "The specified Action or Version is not valid.")

        failure = self._take_failure()
        if failure == "http500":
            return self._error(500, "InternalError", "The request processing has failed due to some unknown error.")
        if failure:
            return self._error(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        if self.permanent_error:
            return self._error(200, self.permanent_error, "permanent error (test)")

        phone = params.get("PhoneNumbers", "")
        if not re.fullmatch(r"1\d{10}", phone):
            return self._error(200, "isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number")
        if not params.get("SignName") or not params.get("TemplateCode"):
            return self._error(400, "MissingParameter", "SignName and TemplateCode are mandatory.")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return self._error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        wanted = self.templates.get(params["TemplateCode"])
        if wanted is not None and set(wanted) - set(values):
            return self._error(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")

        with self._lock:
            self._ids += 1
            new_id = f"900619746936498{self._ids}^0"
        biz_id = self._deliver(phone, params["SignName"], params["TemplateCode"], values, params.get("OutId", ""), new_id)
        time.sleep(self.delay)
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4()).upper()}


# --- Tencent Cloud API 3.0, TC3-HMAC-SHA256 -------------------------------------------------------------

_AUTH = re.compile(r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
                   r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})")


def tc3_expected_signature(secret_key: str, date: str, service: str, timestamp: str, method: str,
                           canonical_headers: str, signed_headers: str, payload: bytes) -> str:
    def h(data: str | bytes) -> str:
        return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    canonical = f"{method}\n/\n\n{canonical_headers}\n{signed_headers}\n{h(payload)}"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{h(canonical)}"
    signing_key = mac(mac(mac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(signing_key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class TencentSmsPeer(_SmsPeer):
    def __init__(self, secret_id: str = "AKID-test-id", secret_key: str = "tencent-test-key",
                 sdk_app_id: str = "1400000001") -> None:
        self.secret_id, self.secret_key, self.sdk_app_id = secret_id, secret_key, sdk_app_id
        self.fail_code = "LimitExceeded.PhoneNumberThirtySecondLimit"
        self._serial = 0
        super().__init__()

    @staticmethod
    def _error(code: str, message: str) -> tuple[int, dict]:
        return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}

    def _answer(self, method: str, path: str, headers, body: bytes) -> tuple[int, Any]:
        if method != "POST":
            return self._error("InvalidParameter", "only POST application/json is served here")
        auth = _AUTH.fullmatch(headers.get("Authorization", ""))
        if not auth:
            return self._error("AuthFailure.InvalidAuthorization", "Authorization header is not a TC3 one.")
        signed_names = auth["signed"].split(";")
        if "content-type" not in signed_names or "host" not in signed_names or signed_names != sorted(signed_names):
            return self._error("AuthFailure.InvalidAuthorization", "SignedHeaders must list content-type and host, sorted.")
        if auth["id"] != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = headers.get("X-TC-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return self._error("AuthFailure.SignatureExpire", "Signature expired: X-TC-Timestamp is off by more than 5 minutes.")
        day = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
        if auth["date"] != day or auth["service"] != "sms":
            return self._error("AuthFailure.SignatureFailure", "Credential scope does not match the timestamp or the service.")
        canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in signed_names)
        expected = tc3_expected_signature(self.secret_key, day, "sms", timestamp, method,
                                          canonical_headers, auth["signed"], body)
        if not hmac.compare_digest(auth["sig"], expected):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        if headers.get("X-TC-Action") != "SendSms":
            return self._error("InvalidAction", "The action is not supported.")
        if headers.get("X-TC-Version") != "2021-01-11":
            return self._error("NoSuchVersion", "The API version does not exist.")
        if not headers.get("X-TC-Region"):
            return self._error("MissingParameter", "X-TC-Region is required.")
        try:
            req = json.loads(body)
        except ValueError:
            return self._error("FailedOperation.FailResolvePacket", "could not parse the request body")

        failure = self._take_failure()
        if failure == "http500":
            return 500, "Internal Server Error"
        if self.permanent_error:
            return self._error(self.permanent_error, "permanent error (test)")
        if req.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
        phones, values = req.get("PhoneNumberSet"), req.get("TemplateParamSet", [])
        if not isinstance(phones, list) or len(phones) != 1 or not req.get("TemplateId") or not req.get("SignName"):
            return self._error("MissingParameter", "PhoneNumberSet (one number here), TemplateId and SignName are required.")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return self._error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet must be strings.")
        wanted = self.templates.get(req["TemplateId"])
        if wanted is not None and len(values) != (wanted if isinstance(wanted, int) else len(wanted)):
            return self._error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "parameter count mismatch")

        phone, context = phones[0], req.get("SessionContext", "")
        status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": context, "IsoCode": "CN"}
        if failure:  # frequency limits are reported per number, inside an otherwise successful answer
            status |= {"Code": self.fail_code, "Message": "the number hit the 30-second frequency limit"}
        elif not re.fullmatch(r"\+861\d{10}", phone):
            status |= {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "incorrect number format", "IsoCode": ""}
        else:
            with self._lock:
                self._serial += 1
                new_id = f"2645:{104000000000000 + self._serial}"
            serial = self._deliver(phone, req["SignName"], req["TemplateId"], values, context, new_id)
            status |= {"SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}
            time.sleep(self.delay)
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": str(uuid.uuid4())}}
