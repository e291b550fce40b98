"""What happens next, for the done page: the trips still needed with the originals to bring to each, and the
messages the family will get (on the channel they use, and when).

Texts come in pairs (Chinese, English); the page picks one.
"""

from __future__ import annotations

from typing import Any

from ..domain import workflow
from ..domain.identity import mask_phone
from ..models import Applicant, Case
from . import notify, phones

Pair = tuple[str, str]


def trips(case: Case) -> list[dict[str, Any]]:
    """Each place still to visit (a matter it serves is not finished), with the originals those matters need."""
    finished = {w.matter_id for w in case.work_items if w.status in workflow.FINAL}
    originals = [m for m in case.checklist.get("materials", []) if m.get("original")]
    out = []
    for trip in case.checklist.get("trips", []):
        serving = [m for m in trip.get("for_matters", []) if m not in finished]
        if not serving:
            continue
        bring = [m for m in originals if set(m.get("for_matters", [])) & set(serving)]
        out.append({**trip, "for_matters": serving, "bring": bring})
    return out


def originals(case: Case) -> list[dict[str, Any]]:
    """Every original the checklist asks the family to show, for matters not finished yet."""
    finished = {w.matter_id for w in case.work_items if w.status in workflow.FINAL}
    return [m for m in case.checklist.get("materials", [])
            if m.get("original") and set(m.get("for_matters", [])) - finished]


def _how(case: Case, applicant: Applicant | None) -> Pair:
    """How the messages reach this family."""
    kind = notify.family_channel(applicant)
    if kind == "miniprogram":
        return ("微信服务通知（您在小程序里同意接收的）；没有同意的，发短信到您验证过的手机号",
                "WeChat service notices (those you agreed to in the mini-program), else a text to your verified phone")
    if kind == "host":
        return ("您办理时使用的App的消息", "messages in the app you applied with")
    phone = phones.recipient(case, applicant)
    if phone:
        masked = mask_phone(phone)
        return (f"短信，发到 {masked}", f"text messages to {masked}")
    return ("我们还没有您验证过的手机号，暂时发不了短信：请用查询码查询进度",
            "we have no verified phone number of yours to text: please check progress with the tracking code")


def notices(case: Case, applicant: Applicant | None, config: dict[str, Any]) -> dict[str, Any]:
    """The messages to expect, in the order they can come; quiet hours from NOTIFY_QUIET_HOURS."""
    start, end = config["NOTIFY_QUIET_HOURS"]
    kinds: list[Pair] = [
        ("需要补充材料：哪个部门发现缺材料，会一次列明缺什么、怎么补。收到后打开本页的“补充材料”。",
         "More documents needed: a department that finds something missing lists all of it at once. "
         "Then open 'Supply documents' on this page."),
        ("某件事办结：每办完一件事告诉您一次。", "A matter is done: you hear once for each matter finished."),
        ("未能办理：会写明原因，可以咨询窗口。", "A matter cannot be handled: the message says why; the window can help."),
        ("全部办结：所有事项都办完时告诉您，并请您评价这次服务。",
         "Everything is done: when every matter is finished, with a request to rate the service."),
    ]
    quiet: Pair = (f"晚上{start}点到早上{end}点不发短信，这段时间的消息会在早上{end}点以后发出。",
                   f"No texts are sent between {start}:00 and {end}:00; those wait until after {end}:00.")
    sms = notify.family_channel(applicant) in ("h5", "window")
    return {"how": _how(case, applicant), "kinds": kinds, "quiet": quiet if sms else None}


def for_case(case: Case, applicant: Applicant | None, config: dict[str, Any]) -> dict[str, Any]:
    return {"trips": trips(case), "originals": originals(case), "notices": notices(case, applicant, config)}
