"""The rules: a region's facts become the checklist of CONTRACT.md.

Every matter is decided with three values. A matter whose applicability is not known yet is
never silently dropped: it goes to ``undecided`` with the facts still needed, and a precondition
that cannot be checked yet is listed under the matter's ``to_confirm``. A matter with ``variants`` takes
the name (and notes, materials, time limit) of the one the facts choose; the region's ``implies`` add the
facts that follow from those given (dialogs/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conditions import Condition
from .dialogs import Dialog, Matter, Text, Variant
from .vocabulary import load_vocabulary


def _known(condition: Condition | None, facts: Mapping[str, Any]) -> bool | None:
    return True if condition is None else condition.evaluate(facts)


def _requested(matter: Matter, facts: Mapping[str, Any]) -> bool | None:
    if matter.mandatory:
        return True
    requested = facts.get("requested_matters")
    return None if requested is None else matter.id in requested


def _warning(code: str, text: Text) -> dict[str, str]:
    return {"code": code, "message": text.zh, "message_en": text.en}


def _time_limit(matter: Matter, variant: Variant | None, dialog: Dialog) -> dict[str, Any] | None:
    """The variant's limit, else the matter's own, else the one the region sets for the whole service."""
    limit = (variant.time_limit if variant else None) or matter.time_limit or dialog.time_limit
    return None if limit is None else _time_limit_dict(limit)


def variant_of(matter: Matter, facts: Mapping[str, Any]) -> tuple[Variant | None, list[Variant]]:
    """The variant whose ``when`` holds, else None and those still possible (``when`` unknown).

    ``dialogs check`` proves at most one can hold. With none known to hold the family still gets the matter,
    under the name it asked for, and what decides the form it takes is listed to confirm: a matter that
    applies is never hidden because the office's name for it is not known yet."""
    possible = []
    for variant in matter.variants:
        held = variant.when.evaluate(facts)
        if held is True:
            return variant, []
        if held is None:
            possible.append(variant)
    return None, possible


def with_implied(dialog: Dialog, facts: Mapping[str, Any]) -> Mapping[str, Any]:
    """The facts and what the region's ``implies`` derives from them, in order. Only facts actually known imply
    anything (a null, a question the region did not ask, implies nothing), and only a fact not known is filled:
    an answer the family gave always wins."""
    if not dialog.implies:
        return facts
    out = dict(facts)
    for rule in dialog.implies:
        if rule.when.evaluate({k: v for k, v in out.items() if v is not None}) is True:
            out.update({k: v for k, v in rule.sets.items() if out.get(k) is None})
    return out


def evaluate_checklist(dialog: Dialog, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The tailored checklist for validated facts (see ``vocabulary.validate_facts``)."""
    vocab = load_vocabulary()
    facts = with_implied(dialog, facts)
    reasons: list[str] = []
    reasons_en: list[str] = []
    eligible: bool | None = True
    for check in dialog.eligibility:
        ok = check.when.evaluate(facts)
        if ok is False:
            eligible = False
            reasons.append(check.reason.zh)
            reasons_en.append(check.reason.en)
        elif ok is None and eligible is not False:
            eligible = None
    if eligible is None:
        for check in dialog.eligibility:
            if check.when.evaluate(facts) is None:
                reasons.append(f"待确认：{check.reason.zh}")
                reasons_en.append(f"to be confirmed: {check.reason.en}")

    matters: list[dict[str, Any]] = []
    undecided: list[dict[str, Any]] = []
    warnings: list[dict[str, str]] = []
    if eligible is False:
        for check in dialog.eligibility:
            if check.when.evaluate(facts) is False:
                warnings.append(_warning(check.code, check.reason))

    for matter in dialog.matters if eligible is not False else ():
        applies = _known(matter.applies_if, facts)
        wanted = _requested(matter, facts)
        if applies is False:
            if wanted is True and not matter.mandatory and matter.not_applicable is not None:
                matters.append(_entry(matter, dialog, facts, "blocked", [matter.not_applicable], []))
                warnings.append(_warning(f"{matter.id}_not_applicable", matter.not_applicable))
            continue
        if wanted is False:
            continue
        if applies is None or wanted is None:
            needs = set(matter.applies_if.missing(facts)) if applies is None and matter.applies_if else set()
            if wanted is None:
                needs.add("requested_matters")
            undecided.append({"id": matter.id, "name": matter.name.zh, "needs": sorted(needs)})
            continue
        failed = [p for p in matter.preconditions if p.when.evaluate(facts) is False]
        unsure = [p for p in matter.preconditions if p.when.evaluate(facts) is None]
        status = "blocked" if failed else "required"
        matters.append(_entry(matter, dialog, facts, status, [p.reason for p in failed], unsure))
        for p in failed:
            warnings.append(_warning(p.code, p.reason))

    for warning in dialog.warnings:
        if warning.when.evaluate(facts) is True:
            warnings.append(_warning(warning.code, warning.text))

    materials = _materials(dialog, facts, [m for m in matters if m["status"] == "required"], vocab)
    trips = _trips(dialog, facts, [m for m in matters if m["status"] == "required"])
    checklist: dict[str, Any] = {
        "region": dialog.region,
        "eligible": eligible,
        "reasons": reasons,
        "reasons_en": reasons_en,
        "matters": matters,
        "materials": materials,
        "trips": trips,
        "warnings": _unique(warnings),
        "undecided": undecided,
    }
    if dialog.time_limit:
        checklist["time_limit"] = _time_limit_dict(dialog.time_limit)
    return checklist


def _time_limit_dict(limit: dict[str, Any]) -> dict[str, Any]:
    out = {k: limit[k] for k in ("working_days", "hours") if k in limit}
    out.update(text=limit["text"], text_en=limit["text_en"])
    return out


def not_submitted(checklist: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Matters the family asked for that cannot go ahead, with why: the rest were submitted without them."""
    return [{"matter": m["id"], "name": m["name"], "name_en": m["name_en"], "department": m["department"],
             "reasons": m.get("reasons", []), "reasons_en": m.get("reasons_en", [])}
            for m in checklist["matters"] if m["status"] == "blocked"]


def _entry(matter: Matter, dialog: Dialog, facts: Mapping[str, Any], status: str,
           failed: list[Text], unsure: list) -> dict[str, Any]:
    variant, possible = variant_of(matter, facts)
    name = variant.name if variant else matter.name
    notes = variant.notes if variant and variant.notes is not None else matter.notes
    uses = variant.materials if variant and variant.materials is not None else matter.materials
    entry: dict[str, Any] = {
        "id": matter.id,
        "name": name.zh,
        "name_en": name.en,
        "department": matter.department,
        "mandatory": matter.mandatory,
        "status": status,
        "in_person": matter.in_person,
        "preconditions": [p.reason.zh for p in matter.preconditions],
        "materials": [u.id for u in uses if _known(u.when, facts) is True],
        "notes": [n.zh for n in notes],
        "notes_en": [n.en for n in notes],
    }
    if matter.variants:
        entry["variant"] = variant.id if variant else None
    limit = _time_limit(matter, variant, dialog)
    if limit is not None:
        entry["time_limit"] = limit
    if failed:
        entry["reasons"] = [t.zh for t in failed]
        entry["reasons_en"] = [t.en for t in failed]
    to_confirm = [p.reason for p in unsure]
    if possible:
        to_confirm.append(Text("办理的是以下哪一项：" + "；".join(v.name.zh for v in possible),
                               "which of these it is: " + "; ".join(v.name.en for v in possible)))
    if to_confirm:
        entry["to_confirm"] = [t.zh for t in to_confirm]
        entry["to_confirm_en"] = [t.en for t in to_confirm]
    return entry


def _materials(dialog: Dialog, facts: Mapping[str, Any], entries: list[dict[str, Any]], vocab) -> list[dict]:
    order: dict[str, list[str]] = {}
    for entry in entries:
        for material_id in entry["materials"]:
            users = order.setdefault(material_id, [])
            if entry["id"] not in users:
                users.append(entry["id"])
    out = []
    for material_id, users in order.items():
        info = dialog.materials[material_id]
        out.append({
            "id": material_id,
            "name": info.name.zh,
            "name_en": info.name.en,
            "for_matters": users,
            "original": info.original,
            "upload": info.upload,
        })
    return out


def _trips(dialog: Dialog, facts: Mapping[str, Any], entries: list[dict[str, Any]]) -> list[dict]:
    required = {e["id"] for e in entries}
    places: dict[str, list[str]] = {}
    for matter in dialog.matters:
        if matter.id not in required:
            continue
        for trip in matter.trips:
            if _known(trip.when, facts) is True:
                users = places.setdefault(trip.place, [])
                if matter.id not in users:
                    users.append(matter.id)
    names = load_vocabulary().places
    return [{"place": place, "name": names[place]["name"], "name_en": names[place]["name_en"], "for_matters": users}
            for place, users in places.items()]


def _unique(warnings: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for w in warnings:
        key = (w["code"], w["message"])
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out
