"""Sending SMS. The embedded default writes the message to the log (and keeps the last ones in
memory, which is how a developer reads the code on a dev server); real providers plug in here."""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)


class SmsProvider(Protocol):
    def send(self, phone: str, template: str, params: dict[str, str], idempotency_key: str) -> object: ...


class LogSmsProvider:
    def __init__(self, keep: int = 100):
        self.sent: deque[tuple[str, str, dict[str, str]]] = deque(maxlen=keep)

    def send(self, phone: str, template: str, params: dict[str, str], idempotency_key: str = "") -> None:
        self.sent.append((phone, template, dict(params)))
        log.info("sms %s to %s****%s", template, phone[:3], phone[-4:])


def make_sms_provider(config) -> SmsProvider:
    """The configured provider: Alibaba Cloud, Tencent Cloud, or the console (log) default."""
    from .sms_providers import AliyunSms, TencentSms

    settings = config.get("NOTIFY_SMS_SETTINGS") or {}
    if config.get("NOTIFY_SMS_PROVIDER") == "aliyun":
        return AliyunSms(**settings)
    if config.get("NOTIFY_SMS_PROVIDER") == "tencent":
        return TencentSms(**settings)
    return LogSmsProvider()
