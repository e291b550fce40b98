"""SMS through Alibaba Cloud (Dysmsapi SendSms) and Tencent Cloud (SMS SendSms, API 3.0).

Plain `requests` over the documented signed HTTP APIs rather than the vendor SDKs: two small
signers are easier to audit than two SDK dependency trees, and the endpoint is a parameter so
tests talk to loopback peers that check the signatures (tests/peers/sms.py).

Neither provider de-duplicates: OutId (Aliyun) and SessionContext (Tencent) are only echoed
back in delivery receipts. The idempotency key is sent there so receipts can be matched; not
sending the same message twice is the caller's job (see `SmsError.retryable`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import requests

_MAINLAND = re.compile(r"(?:\+?86)?(1\d{10})")


class SmsError(Exception):
    """A send that failed. `retryable` says whether the same request may succeed later.

    code "network.timeout" is retryable but ambiguous: the provider may have sent the message.
    code "network.connect" means nothing reached the provider.
    """

    def __init__(self, code: str, message: str, retryable: bool, request_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable, self.request_id = code, message, retryable, request_id


@dataclass(frozen=True)
class SmsResult:
    provider: str
    message_id: str  # Aliyun BizId / Tencent SerialNo: what delivery receipts refer to


def mainland_number(phone: str) -> str:
    """The bare 11-digit number; anything else is refused before a request is made."""
    match = _MAINLAND.fullmatch(phone.strip())
    if not match:
        raise SmsError("invalid_phone", "not an 11-digit mainland mobile number", retryable=False)
    return match.group(1)


def _post(session: requests.Session, url: str, timeout: float, **kwargs) -> requests.Response:
    """POST, turning transport failures into retryable SmsErrors."""
    try:
        return session.post(url, timeout=timeout, **kwargs)
    except requests.ConnectTimeout as exc:  # before ConnectionError/Timeout: it is both
        raise SmsError("network.connect", type(exc).__name__, retryable=True) from exc
    except requests.Timeout as exc:
        raise SmsError("network.timeout", type(exc).__name__, retryable=True) from exc
    except requests.ConnectionError as exc:
        raise SmsError("network.connect", type(exc).__name__, retryable=True) from exc
    except requests.RequestException as exc:  # e.g. a broken body mid-answer; bad URLs are ValueErrors too
        raise SmsError("network.error", type(exc).__name__, retryable=not isinstance(exc, ValueError)) from exc


def _json(resp: requests.Response) -> dict:
    """The JSON body; a non-JSON answer is a gateway problem, retryable when 5xx."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SmsError(f"http.{resp.status_code}", "response is not a JSON object", retryable=resp.status_code >= 500)
    return body


# --- Alibaba Cloud: RPC style, signature V2 (HMAC-SHA1, SignatureVersion 1.0) ---------------------

def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun specifies: only A-Z a-z 0-9 - _ . ~ stay, space is %20."""
    return quote(value, safe="~")


def aliyun_rpc_signature(method: str, params: dict[str, str], access_key_secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", METHOD & %2F & enc(sorted enc(k)=enc(v) joined by &)))."""
    canonical = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


_ALIYUN_RETRYABLE = {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR",
                     "ServiceUnavailable", "InternalError", "SignatureNonceUsed"}


class AliyunSms:
    """Dysmsapi 2017-05-25 SendSms. Common parameters and the signature go in the query string, the
    message fields in a form body (as the official SDK does), so phone numbers and codes stay out of URLs."""

    provider = "aliyun"

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 endpoint: str = "https://dysmsapi.aliyuncs.com", timeout: float = 10):
        self.access_key_id, self._secret, self.sign_name = access_key_id, access_key_secret, sign_name
        self.endpoint, self.timeout = endpoint.rstrip("/"), timeout
        self._session = requests.Session()

    def send(self, phone: str, template_code: str, params: dict[str, str], idempotency_key: str) -> SmsResult:
        common = {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON", "Version": "2017-05-25",
            "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        template_param = json.dumps({k: str(v) for k, v in params.items()}, ensure_ascii=False, separators=(",", ":"))
        fields = {
            "PhoneNumbers": mainland_number(phone), "SignName": self.sign_name, "TemplateCode": template_code,
            "TemplateParam": template_param, "OutId": idempotency_key,
        }
        common["Signature"] = aliyun_rpc_signature("POST", common | fields, self._secret)
        query = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in common.items())
        body = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in fields.items())
        resp = _post(self._session, f"{self.endpoint}/?{query}", self.timeout, data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        answer = _json(resp)
        code, request_id = str(answer.get("Code", "")), answer.get("RequestId")
        if resp.status_code == 200 and code == "OK" and answer.get("BizId"):
            return SmsResult(self.provider, str(answer["BizId"]))
        # SignatureDoesNotMatch echoes the server's string to sign, which holds the phone and the params.
        message = str(answer.get("Message", "")).split("server string to sign is")[0].strip()[:200]
        retryable = resp.status_code >= 500 or code in _ALIYUN_RETRYABLE or code.startswith("Throttling")
        raise SmsError(code or f"http.{resp.status_code}", message, retryable, request_id)


# --- Tencent Cloud: API 3.0, signature v3 (TC3-HMAC-SHA256) ----------------------------------------

def tc3_authorization(secret_id: str, secret_key: str, service: str, timestamp: int,
                      signed: dict[str, str], payload: bytes) -> str:
    """The Authorization header for a POST to "/" with no query; `signed` maps lower-case header
    names to the values sent (the canonical form lower-cases and trims them)."""
    names = sorted(signed)
    canonical_headers = "".join(f"{name}:{signed[name].strip().lower()}\n" for name in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(payload).hexdigest()])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = f"TC3{secret_key}".encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


_TENCENT_RETRYABLE_PREFIXES = ("LimitExceeded", "RequestLimitExceeded", "InternalError")
# Not transient despite the prefix: these are malformed requests.
_TENCENT_PERMANENT = {"InternalError.SigVerificationFail", "InternalError.SigFieldMissing",
                      "InternalError.RestApiInterfaceNotExist"}


def _tencent_retryable(code: str) -> bool:
    return code.startswith(_TENCENT_RETRYABLE_PREFIXES) and code not in _TENCENT_PERMANENT


class TencentSms:
    """SMS 2021-01-11 SendSms, JSON body, TC3-HMAC-SHA256 over content-type, host and x-tc-action."""

    provider = "tencent"

    def __init__(self, secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str,
                 region: str = "ap-guangzhou", endpoint: str = "https://sms.tencentcloudapi.com", timeout: float = 10):
        self.secret_id, self._secret_key, self.sdk_app_id, self.sign_name = secret_id, secret_key, sdk_app_id, sign_name
        self.region, self.endpoint, self.timeout = region, endpoint.rstrip("/"), timeout
        self._host = urlsplit(self.endpoint).netloc
        self._session = requests.Session()

    def send(self, phone: str, template_id: str, params: dict[str, str] | list[str], idempotency_key: str) -> SmsResult:
        """Tencent templates are positional ({1}, {2}, ...): a list is sent as is; a dict is sent in
        numeric key order when its keys are "1", "2", ..., otherwise in insertion order."""
        if isinstance(params, dict):
            keys = sorted(params, key=int) if all(k.isdigit() for k in params) else list(params)
            values = [str(params[k]) for k in keys]
        else:
            values = [str(v) for v in params]
        payload = json.dumps({
            "PhoneNumberSet": [f"+86{mainland_number(phone)}"], "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name, "TemplateId": template_id, "TemplateParamSet": values,
            "SessionContext": idempotency_key,
        }, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        signed = {"content-type": "application/json; charset=utf-8", "host": self._host, "x-tc-action": "SendSms"}
        headers = {
            "Content-Type": signed["content-type"], "Host": self._host, "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11", "X-TC-Region": self.region, "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3_authorization(self.secret_id, self._secret_key, "sms", timestamp, signed, payload),
        }
        resp = _post(self._session, f"{self.endpoint}/", self.timeout, data=payload, headers=headers)
        answer = _json(resp).get("Response")
        if not isinstance(answer, dict):
            raise SmsError(f"http.{resp.status_code}", "no Response object", retryable=resp.status_code >= 500)
        request_id = answer.get("RequestId")
        error = answer.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            retryable = resp.status_code >= 500 or _tencent_retryable(code)
            raise SmsError(code, str(error.get("Message", ""))[:200], retryable, request_id)
        statuses = answer.get("SendStatusSet") or [{}]
        status = statuses[0] if isinstance(statuses[0], dict) else {}
        code = str(status.get("Code", ""))
        if resp.status_code == 200 and code == "Ok" and status.get("SerialNo"):
            return SmsResult(self.provider, str(status["SerialNo"]))
        retryable = resp.status_code >= 500 or _tencent_retryable(code)
        raise SmsError(code or f"http.{resp.status_code}", str(status.get("Message", ""))[:200], retryable, request_id)
