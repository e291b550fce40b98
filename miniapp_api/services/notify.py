"""Telling the family, without being asked: case received, something missing, a matter done or
refused, all done. Messages are written to an outbox in the same transaction as the change that
causes them, then sent by the worker (or inline with no Redis), retried, and kept when hopeless.

Channel: a WeChat subscribe message when the family consented to that template (one consent, one
message), else SMS to a number the applicant proved is theirs (services/phones.py: the form's number once
verified, else the sign-in's), else nothing but the outbox; host-app users get the host's signed webhook.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import requests
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from wechatpy.exceptions import WeChatClientException

from ..domain.identity import mask_name
from ..domain.tracking import display
from ..domain.vocabulary import load_vocabulary
from ..extensions import db
from ..models import Applicant, Case, Notification, NotificationAttempt, SubscriptionConsent, WorkItem, utcnow
from ..sms_providers import SmsError
from . import phones, queueing
from .webhooks import sign

EVENTS = ("case_submitted", "needs_supplement", "matter_done", "matter_rejected", "case_complete", "deadline_passed")
QUEUE = "notifications"
CHINA = dt.timezone(dt.timedelta(hours=8))
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "notify"
WECHAT_LIMITS = {"thing": 20, "character_string": 32, "phrase": 5, "number": 32, "time": 32, "date": 32}

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, undefined=StrictUndefined,
                   keep_trailing_newline=False)


SendFailed = queueing.RetryLater


# --- Rendering ------------------------------------------------------------------------------------

def render_text(event: str, channel: str, context: dict[str, Any]) -> str:
    return _env.get_template(f"{event}.{channel}.j2").render(**context).strip()


def render_sms(event: str, context: dict[str, Any], limit: int) -> str:
    """The SMS text; when a long list of what is missing would take it past ``limit``, the list is cut to its
    first names with 「等N项」 (the page the text points to lists them all)."""
    text = render_text(event, "sms", context)
    names = context.get("missing_names") or []
    for keep in range(len(names) - 1, 0, -1):
        if len(text) <= limit:
            break
        text = render_text(event, "sms", {**context, "missing": "、".join(names[:keep]) + f"等{len(names)}项"})
    return text


def render_wechat(event: str, context: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``key=value`` lines become subscribe-message data, each value cut to its field type's limit."""
    data = {}
    for line in render_text(event, "wechat", context).splitlines():
        key, _, value = line.partition("=")
        kind = key.rstrip("0123456789")
        limit = WECHAT_LIMITS.get(kind, 20)
        data[key] = {"value": value if len(value) <= limit else value[: limit - 1] + "…"}
    return data


def family_channel(applicant: Applicant | None) -> str:
    """Where the family works its case, from how the applicant signed in: ``miniprogram`` (WeChat), ``host`` (a
    host app such as 湘易办), ``window`` (the clerk made it at the one-stop window), else ``h5`` (the web pages,
    signed in by SMS code)."""
    channel = applicant.channel if applicant else ""
    if channel == "wechat":
        return "miniprogram"
    if channel.startswith("host:"):
        return "host"
    return "window" if channel == "window" else "h5"


def channel_hints(applicant: Applicant | None) -> dict[str, str]:
    """The words a message uses to send the family back to the channel they actually use: where to supply what is
    missing (``supply_where``) and where to read more (``details_where``)."""
    config, kind = current_app.config, family_channel(applicant)
    if kind == "miniprogram":
        return {"supply_where": "请在小程序中补充", "details_where": "详情请查看小程序或咨询窗口"}
    if kind == "host":
        host = applicant.channel.split(":", 1)[1] if applicant else ""
        app_name = config["HOST_CHANNELS"].get(host, {}).get("app_name") or "办事App"
        return {"supply_where": f"请在{app_name}中补充", "details_where": f"详情请查看{app_name}或咨询窗口"}
    if kind == "window":
        return {"supply_where": "请带上材料到窗口补充", "details_where": "详情请咨询窗口"}
    return _web_hints(config.get("H5_PUBLIC_URL") or "")


def _web_hints(url: str) -> dict[str, str]:
    """The H5 family's: the status page's address when the deployment says where its pages are."""
    url = url.rstrip("/")
    page = f"{url}/status" if url else "网页"
    return {"supply_where": f"请打开{page}补充", "details_where": f"详情请在{page}查询或咨询窗口"}


def context_for(case: Case, item: WorkItem | None = None, applicant: Applicant | None = None) -> dict[str, Any]:
    """Minimal personal data: a masked name, the tracking code, matter names; never ID numbers."""
    vocab = load_vocabulary()
    name = (case.form.get("deceased") or {}).get("name", "")
    places = [t["name"] for t in case.checklist.get("trips", [])]
    ctx: dict[str, Any] = {"code": display(case.tracking_code), "deceased": mask_name(name), "trips": "、".join(places),
                           **channel_hints(applicant)}
    if item is not None:
        matter = next((m for m in case.checklist["matters"] if m["id"] == item.matter_id), None)
        names = {m: vocab.materials[m]["name"] for m in vocab.materials}
        ctx.update(matter=(matter or {}).get("name", item.matter_id), reason=item.reason or "",
                   department=vocab.departments[item.department]["name"],
                   missing="、".join(names.get(m, m) for m in item.missing),
                   missing_names=[names.get(m, m) for m in item.missing])
    return ctx


# --- Writing to the outbox ---------------------------------------------------------------------------

def add(case: Case, event: str, item: WorkItem | None = None) -> Notification:
    """One message for this event to the case's applicant, on the channel they can receive (caller commits)."""
    config = current_app.config
    if case.id is None:
        db.session.flush()  # a new case: give it its id inside the same transaction
    applicant = db.session.get(Applicant, case.applicant_id)
    context = context_for(case, item, applicant)
    phone = phones.recipient(case, applicant)  # a proven number only, never one merely typed on the form
    template_id = config["NOTIFY_WECHAT_TEMPLATES"].get(event)
    host = applicant.channel.split(":", 1)[1] if applicant and applicant.channel.startswith("host:") else None
    if applicant and applicant.channel == "wechat" and template_id and _use_consent(applicant.id, event):
        channel, recipient = "wechat", applicant.channel_user_id
        payload = {"template_id": template_id, "data": render_wechat(event, context)}
    elif host and config["HOST_CHANNELS"].get(host, {}).get("notify_url"):
        channel, recipient = "host", f"{host}:{applicant.channel_user_id}"
        payload = {"text": render_text(event, "host", context)}
    elif phone:
        channel, recipient = "sms", phone
        payload = {"text": render_sms(event, context, config["NOTIFY_SMS_MAX_CHARS"]), "params": _params(context)}
    else:
        channel, recipient = "console", f"case:{case.id}"
        payload = {"text": render_sms(event, context, config["NOTIFY_SMS_MAX_CHARS"])}
    note = Notification(case_id=case.id, event=event, channel=channel, recipient=recipient, payload=payload,
                        idempotency_key=f"n-{secrets.token_hex(16)}", not_before=_not_before(channel, event, recipient))
    db.session.add(note)
    return note


def _params(context: dict[str, Any]) -> dict[str, Any]:
    """The provider template's variables: the context's texts (the list behind ``missing`` stays out)."""
    return {k: v for k, v in context.items() if k != "missing_names"}


def _use_consent(applicant_id: str, event: str) -> bool:
    consent = db.session.scalars(db.select(SubscriptionConsent).filter_by(applicant_id=applicant_id, event=event)).first()
    if consent is None or consent.remaining < 1:
        return False
    consent.remaining -= 1
    return True


def _not_before(channel: str, event: str, recipient: str) -> dt.datetime:
    """SMS waits out the quiet hours (unless urgent) and the per-phone hourly limit."""
    now = utcnow()
    if channel != "sms":
        return now
    config = current_app.config
    start, end = config["NOTIFY_QUIET_HOURS"]
    local = now.astimezone(CHINA)
    quiet = (local.hour >= start or local.hour < end) if start > end else (start <= local.hour < end)
    if quiet and event not in config["NOTIFY_URGENT_EVENTS"]:
        wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
        if wake <= local:
            wake += dt.timedelta(days=1)
        return wake.astimezone(dt.UTC)
    try:
        count = current_app.extensions["store"].incr(f"sms-hour:{recipient}", 3600)
    except redis.RedisError:  # the limit is a courtesy; never lose the message over it
        current_app.logger.warning("redis unavailable; per-phone SMS limit not checked")
        return now
    if count > config["NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR"]:
        return now + dt.timedelta(hours=1)
    return now


def record_consent(applicant: Applicant, events: list[str]) -> dict[str, int]:
    for event in events:
        consent = db.session.scalars(db.select(SubscriptionConsent).filter_by(applicant_id=applicant.id, event=event)).first()
        if consent is None:
            consent = SubscriptionConsent(applicant_id=applicant.id, event=event, remaining=0)
            db.session.add(consent)
        consent.remaining += 1
    db.session.commit()
    rows = db.session.scalars(db.select(SubscriptionConsent).filter_by(applicant_id=applicant.id)).all()
    return {r.event: r.remaining for r in rows}


# --- Sending --------------------------------------------------------------------------------------

def dispatch(ids: list[int]) -> None:
    """Queue on Redis; with no Redis (dev server) send inline now. Deferred ones wait for the sweep."""
    queueing.dispatch(QUEUE, "miniapp_api.jobs.send_notification", ids, current_app.config["NOTIFY_RETRY_INTERVALS"],
                      attempt)


def attempt(note_id: int) -> bool:
    """One try. True when sent (now or before) or deferred; raises SendFailed to be retried."""
    note = db.session.get(Notification, note_id)
    if note is None or note.status != "pending":
        return True
    not_before = note.not_before if note.not_before.tzinfo else note.not_before.replace(tzinfo=dt.UTC)
    if not_before > utcnow():
        return True  # quiet hours or rate limit: the sweep sends it later
    send = _sender(note)  # all the call needs, read now: between the claim and the call nothing can fail
    # Claim it first: if this process dies during the send, nobody sends it again blindly (providers
    # do not de-duplicate); the sweep hands such a message to staff instead.
    token = queueing.claim(note, "not_before")  # while sending, not_before is the claim time
    if token is None:
        return True  # another worker has it
    try:
        send()
        ok, detail, retryable = True, None, False
    except SmsError as exc:
        ok, detail, retryable = False, f"{exc.code}: {exc}", exc.retryable
    except WeChatClientException as exc:
        ok, detail, retryable = False, f"wechat {exc.errcode}", exc.errcode in (-1, 45009)
    except requests.RequestException as exc:
        ok, detail, retryable = False, type(exc).__name__, True
    except redis.RedisError as exc:  # the WeChat access token could not be read: the message never left
        ok, detail, retryable = False, f"redis {type(exc).__name__}", True
    hopeless = not retryable or token > len(current_app.config["NOTIFY_RETRY_INTERVALS"])
    status = "sent" if ok else "dead" if hopeless else "pending"  # dead: staff see it and can re-send
    queueing.settle(lambda: _record(note_id, token, ok, detail, status))  # sent is sent, database or not
    if status == "pending":
        raise SendFailed(detail)
    return ok


def _record(note_id: int, token: int, ok: bool, detail: str | None, status: str) -> None:
    db.session.add(NotificationAttempt(notification_id=note_id, ok=ok, detail=detail))
    outcome: dict[str, Any] = {"status": status, "last_error": detail}
    if ok:
        outcome["sent_at"] = utcnow()
    queueing.release(Notification, note_id, token, **outcome)


def _sender(note: Notification) -> Callable[[], object]:
    """The one call to the channel for this message, with everything it needs read beforehand."""
    config, payload, recipient = current_app.config, dict(note.payload), note.recipient
    event, key, note_id = note.event, note.idempotency_key, note.id
    if note.channel == "wechat":
        client, page = current_app.extensions["wechat"], config["NOTIFY_WECHAT_PAGE"]
        return lambda: client.wxa.send_subscribe_message(recipient, payload["template_id"], payload["data"], page=page)
    if note.channel == "sms":
        provider = current_app.extensions["sms"]
        template = config["NOTIFY_SMS_TEMPLATES"].get(event, event)
        params = {k: str(v) for k, v in payload.get("params", {}).items()}
        return lambda: provider.send(recipient, template, params or {"text": payload["text"]}, key)
    if note.channel == "host":
        host, _, user = recipient.partition(":")
        settings = config["HOST_CHANNELS"][host]
        body = json.dumps({"user": user, "text": payload["text"], "id": key}, ensure_ascii=False).encode()

        def post() -> None:
            stamp = str(int(time.time()))
            response = requests.post(settings["notify_url"], data=body, timeout=10, headers={
                "Content-Type": "application/json", "X-Timestamp": stamp,
                "X-Signature": sign(settings.get("secret", ""), stamp, body), "Idempotency-Key": key})
            response.raise_for_status()

        return post
    logger = current_app.logger
    return lambda: logger.info("notification %s (%s): %s", note_id, event, payload["text"])


def sweep(stuck_after: dt.timedelta = dt.timedelta(minutes=5), most: int = 1000) -> int:
    """Queue what is due; a message left "sending" by a dead worker goes to staff, never re-sent blindly. Both a
    batch at a time (queueing.SWEEP_BATCH), at most ``most`` batches each per run, reading only the rows due."""
    now = utcnow()
    for _ in range(most):
        lapsed = queueing.lapsed_claims(Notification, "not_before", stuck_after)
        for note in lapsed:
            note.status, note.last_error = "dead", "interrupted while sending; it may have been delivered"
        db.session.commit()
        if len(lapsed) < queueing.SWEEP_BATCH:
            break
    queued, after = 0, None
    for _ in range(most):
        batch = queueing.due_ids(Notification, "not_before", now, after)
        dispatch([i for _, i in batch])
        queued += len(batch)
        if len(batch) < queueing.SWEEP_BATCH:
            break
        after = batch[-1]
    return queued


def resend(note: Notification) -> Notification:
    note.status, note.attempts, note.not_before = "pending", 0, utcnow()
    db.session.commit()
    dispatch([note.id])
    return note


def check_templates() -> list[str]:
    """Problems with the templates: a missing SMS text, too long for SMS, a WeChat field over its limit."""
    from flask import current_app as app

    vocab = load_vocabulary()
    longest = lambda names: max(names, key=len)  # noqa: E731
    materials = sorted((m["name"] for m in vocab.materials.values()), key=len, reverse=True)[:3]
    sample = {"code": "7KQ2M-9XH4P", "deceased": "欧阳**", "trips": "、".join(p["name"] for p in vocab.places.values()),
              "matter": longest([m["name"] for m in vocab.matters.values()]), "missing": "、".join(materials),
              "missing_names": materials,
              "reason": "材料与系统记录不一致，请携带原件到窗口核对", "department": "住房公积金中心"}
    # The longest channel words: the web pages' (with this deployment's H5_PUBLIC_URL: run it with yours set).
    sample.update(_web_hints(app.config.get("H5_PUBLIC_URL") or ""))
    problems = []
    limit = app.config["NOTIFY_SMS_MAX_CHARS"]
    for event in EVENTS:
        for channel in ("sms", "wechat", "host"):
            path = TEMPLATES / f"{event}.{channel}.j2"
            if not path.exists():
                if channel == "sms":
                    problems.append(f"{path.name}: missing (SMS is every event's fallback)")
                continue
            try:
                text = (render_sms(event, sample, limit) if channel == "sms"
                        else render_text(event, channel, sample))
            except Exception as exc:  # an unknown variable is a template bug (and maybe personal data)
                problems.append(f"{path.name}: {exc}")
                continue
            if channel == "sms" and len(text) > limit:
                problems.append(f"{path.name}: {len(text)} characters with the longest values, limit {limit}")
            if channel == "wechat":
                empty = render_text(event, channel, {k: "" for k in sample})
                for line in empty.splitlines():
                    key, _, value = line.partition("=")
                    kind = key.rstrip("0123456789")
                    if kind not in WECHAT_LIMITS:
                        problems.append(f"{path.name}: unknown subscribe-message field type {key!r}")
                    elif len(value) > WECHAT_LIMITS[kind]:
                        problems.append(f"{path.name}: fixed text of {key} is over {WECHAT_LIMITS[kind]} characters")
    return problems
