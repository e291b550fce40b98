"""Sending SMS. The embedded default, the console provider, sends nothing: it prints each message,
sign-in codes included, to the server's log (and keeps the last ones in memory for tests), which is
how a developer signs in on a dev server. So it is refused outside debug and testing mode (unless
NOTIFY_SMS_CONSOLE_ALLOWED says this is a dev machine): a production log never holds a code."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from .domain.identity import mask_phone

log = logging.getLogger(__name__)
PROVIDERS = ("console", "aliyun", "tencent")


class SmsProvider(Protocol):
    def send(self, phone: str, template: str, params: dict[str, str], idempotency_key: str) -> object: ...


class LogSmsProvider:
    """The console provider: a WARNING line (shown by any logging set-up) per message, phone masked."""

    def __init__(self, keep: int = 100):
        self.sent: deque[tuple[str, str, dict[str, str]]] = deque(maxlen=keep)

    def send(self, phone: str, template: str, params: dict[str, str], idempotency_key: str = "") -> None:
        self.sent.append((phone, template, dict(params)))
        text = params.get("text") or ", ".join(f"{key}={value}" for key, value in params.items())
        log.warning("console SMS (not sent; dev only) to %s, template %s: %s", mask_phone(phone), template, text)


def make_sms_provider(config: Mapping[str, Any], development: bool) -> SmsProvider:
    """The configured provider: Alibaba Cloud, Tencent Cloud, or the console, which only a
    `development` app (debug or testing) or NOTIFY_SMS_CONSOLE_ALLOWED may use."""
    from .sms_providers import AliyunSms, TencentSms

    name = config.get("NOTIFY_SMS_PROVIDER") or "console"
    if name not in PROVIDERS:
        raise RuntimeError(f"NOTIFY_SMS_PROVIDER is {name!r}; it must be one of {', '.join(PROVIDERS)}")
    settings = config.get("NOTIFY_SMS_SETTINGS") or {}
    if name == "aliyun":
        return AliyunSms(**settings)
    if name == "tencent":
        return TencentSms(**settings)
    if not (development or config.get("NOTIFY_SMS_CONSOLE_ALLOWED")):
        raise RuntimeError(
            "NOTIFY_SMS_PROVIDER is 'console' (the default), which prints sign-in codes to the log instead of sending "
            "them; a production app (neither debug nor testing) refuses it. Set NOTIFY_SMS_PROVIDER to 'aliyun' or "
            "'tencent' with NOTIFY_SMS_SETTINGS, or run with --debug (FLASK_DEBUG=1) on a developer's machine, or set "
            "NOTIFY_SMS_CONSOLE_ALLOWED = True on a dev or CI machine that runs without debug.")
    return LogSmsProvider()
