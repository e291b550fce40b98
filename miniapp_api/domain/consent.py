"""The family's separate consent (PIPL art. 29–30) before any sensitive information is given: the region's
own words (its file's ``consent:`` block: purpose, how long it is kept) and the departments that will receive
what, derived from the region's matters so the list never drifts from the checklist.

The consent's version is a hash of the rendered text: a family consented to exactly what they were shown, and
a changed text is a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dialogs import Dialog


@dataclass(frozen=True)
class Recipient:
    """One department and what it receives: the matters it handles and the materials they need."""

    department: str
    name: str
    name_en: str
    matters: tuple[tuple[str, str], ...]  # (zh, en)
    materials: tuple[tuple[str, str], ...]  # (zh, en)


@dataclass(frozen=True)
class ConsentText:
    region: str
    purpose: tuple[str, str]
    recipients: tuple[Recipient, ...]
    retention: tuple[str, str]
    text: str
    text_en: str
    version: str


def recipients(dialog: Dialog, departments: dict[str, dict[str, str]]) -> tuple[Recipient, ...]:
    """Every department of the region's matters, in the file's order, with its matters and their materials."""
    order: list[str] = []
    matters: dict[str, list[tuple[str, str]]] = {}
    materials: dict[str, list[tuple[str, str]]] = {}
    for matter in dialog.matters:
        if matter.department not in matters:
            order.append(matter.department)
            matters[matter.department], materials[matter.department] = [], []
        matters[matter.department].append((matter.name.zh, matter.name.en))
        for use in matter.materials:
            info = dialog.materials.get(use.id)
            name = (info.name.zh, info.name.en) if info else (use.id, use.id)
            if name not in materials[matter.department]:
                materials[matter.department].append(name)
    return tuple(Recipient(d, departments.get(d, {}).get("name", d), departments.get(d, {}).get("name_en", d),
                           tuple(matters[d]), tuple(materials[d])) for d in order)


def render(dialog: Dialog, departments: dict[str, dict[str, str]], days: Mapping[str, int]) -> ConsentText:
    """The whole text the family is shown, in Chinese and English, and its version. ``days``: the retention
    settings (``questionnaire_days``, ``photo_days``, ``notification_days``), so the text says what is done."""
    block: dict[str, Any] = dialog.raw["consent"]
    found = recipients(dialog, departments)
    lines_zh = [block["purpose"], "接收您信息的部门及所用信息："]
    lines_en = [block["purpose_en"], "The departments that receive your information, and what they receive:"]
    for r in found:
        lines_zh.append(f"· {r.name}：办理{'、'.join(m[0] for m in r.matters)}；"
                        f"使用{'、'.join(m[0] for m in r.materials) or '申请表'}")
        lines_en.append(f"· {r.name_en}: for {'; '.join(m[1] for m in r.matters)}; "
                        f"using {'; '.join(m[1] for m in r.materials) or 'the application form'}")
    retention = (block["retention"].format_map(days), block["retention_en"].format_map(days))
    lines_zh.append(retention[0])
    lines_en.append(retention[1])
    text, text_en = "\n".join(lines_zh), "\n".join(lines_en)
    digest = hashlib.sha256(json.dumps([dialog.region, text, text_en], ensure_ascii=False).encode()).hexdigest()
    return ConsentText(dialog.region, (block["purpose"], block["purpose_en"]), found,
                       retention, text, text_en, digest[:16])


def carries_sensitive(value: Any) -> bool:
    """Whether a form body holds anything typed in: names, ID, phone and account numbers, dates and free text
    are all text. Choices (booleans) and empty strings are not, so an empty draft needs no consent."""
    if isinstance(value, dict):
        return any(carries_sensitive(v) for v in value.values())
    if isinstance(value, list):
        return any(carries_sensitive(v) for v in value)
    return isinstance(value, str) and value.strip() != ""


def without_sensitive(value: Any) -> Any:
    """What is left of a form body once everything typed in is gone (a consent withdrawn): the choices, the
    same shape (``carries_sensitive`` of the result is false)."""
    if isinstance(value, dict):
        kept = {k: without_sensitive(v) for k, v in value.items() if not _typed(v)}
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(value, list):
        items = [without_sensitive(v) for v in value if not _typed(v)]
        return [v for v in items if v not in ({}, [])]
    return value


def _typed(value: Any) -> bool:
    return not isinstance(value, dict | list) and carries_sensitive(value)
