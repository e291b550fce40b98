"""The rules: a region's facts become the checklist of the shared contract
(``../shared/CONTRACT.md`` beside the repository on the team's machines).

Every matter is decided with three values. A matter whose applicability is not known yet is
never silently dropped: it goes to ``undecided`` with the facts still needed (or, asked for and marked
``confirm_if_unknown``, it is listed with that to confirm), and a precondition that cannot be checked yet
is listed under the matter's ``to_confirm``. A material whose condition is not known yet is listed too,
under ``materials_to_confirm``, and marked ``conditional`` with the answer that would make it needed.
A reason is given only for a fact actually answered: a scope question never asked names nothing.
A matter with ``variants`` takes the name (and notes, materials, time limit) of the one the facts choose;
the region's ``implies`` add the facts that follow from those given (dialogs/README.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .conditions import Condition
from .dialogs import Check, Dialog, MaterialUse, Matter, Text, TripUse, Variant
from .vocabulary import load_vocabulary, parse_date


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


def _scope(dialog: Dialog, facts: Mapping[str, Any]) -> tuple[bool | None, list[Check], list[Check]]:
    """Eligible or not (None: not known yet), the checks to give as reasons, and those still unknown.

    Eligibility reads the facts as the rules do (a fact the region left unasked is null), but a reason is
    given only for a check the answers *given* fail, as ``engine.out_of_scope`` does: after one scope answer
    fails the other scope questions are not asked, and a family never asked must never read their reason."""
    results = [(check, check.when.evaluate(facts)) for check in dialog.eligibility]
    if any(ok is False for _, ok in results):
        answered = {k: v for k, v in facts.items() if v is not None}
        failed = [c for c, ok in results if ok is False and c.when.evaluate(answered) is False]
        return False, failed, []
    unknown = [c for c, ok in results if ok is None]
    return (None if unknown else True), [], unknown


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


def _uses(matter: Matter, facts: Mapping[str, Any], variant: Variant | None = None) -> tuple[MaterialUse, ...]:
    """The materials of the variant the facts choose, where it names its own; else the matter's."""
    variant = variant or variant_of(matter, facts)[0]
    return variant.materials if variant and variant.materials is not None else matter.materials


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
    eligible, failed_scope, unknown_scope = _scope(dialog, facts)
    reasons = [c.reason.zh for c in failed_scope] + [f"待确认：{c.reason.zh}" for c in unknown_scope]
    reasons_en = [c.reason.en for c in failed_scope] + [f"to be confirmed: {c.reason.en}" for c in unknown_scope]

    matters: list[dict[str, Any]] = []
    undecided: list[dict[str, Any]] = []
    warnings: list[dict[str, str]] = [_warning(c.code, c.reason) for c in failed_scope]

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
        confirm = [matter.confirm_if_unknown] if applies is None and matter.confirm_if_unknown else []
        if (applies is None and not confirm) or wanted is None:
            needs = set(matter.applies_if.missing(facts)) if applies is None and matter.applies_if else set()
            if wanted is None:
                needs.add("requested_matters")
            undecided.append({"id": matter.id, "name": matter.name.zh, "needs": sorted(needs)})
            continue
        failed = [p for p in matter.preconditions if p.when.evaluate(facts) is False]
        unsure = [p.reason for p in matter.preconditions if p.when.evaluate(facts) is None]
        status = "blocked" if failed else "required"
        matters.append(_entry(matter, dialog, facts, status, [p.reason for p in failed], confirm + unsure))
        for p in failed:
            warnings.append(_warning(p.code, p.reason))
    _add_order(dialog, matters)

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
           failed: list[Text], unsure: list[Text]) -> dict[str, Any]:
    variant, possible = variant_of(matter, facts)
    name = variant.name if variant else matter.name
    notes = variant.notes if variant and variant.notes is not None else matter.notes
    uses = _uses(matter, facts, variant)
    certain = _unique_ids(u.id for u in uses if _known(u.when, facts) is True)
    maybe = _unique_ids(u.id for u in uses if _known(u.when, facts) is None and u.id not in certain)
    entry: dict[str, Any] = {
        "id": matter.id,
        "name": name.zh,
        "name_en": name.en,
        "department": matter.department,
        "mandatory": matter.mandatory,
        "status": status,
        "in_person": matter.in_person,
        "preconditions": [p.reason.zh for p in matter.preconditions],
        "materials": certain,
        "notes": [n.zh for n in notes],
        "notes_en": [n.en for n in notes],
    }
    if matter.variants:
        entry["variant"] = variant.id if variant else None
    if maybe:
        entry["materials_to_confirm"] = maybe
    _add_month(entry, matter, facts)
    confirm = unsure + [c.text for c in matter.to_confirm if _known(c.when, facts) is True]
    if possible:
        confirm.append(Text("办理的是以下哪一项：" + "；".join(v.name.zh for v in possible),
                            "which of these it is: " + "; ".join(v.name.en for v in possible)))
    limit = _time_limit(matter, variant, dialog)
    if limit is not None:
        entry["time_limit"] = limit
    if failed:
        entry["reasons"] = [t.zh for t in failed]
        entry["reasons_en"] = [t.en for t in failed]
    if confirm:
        entry["to_confirm"] = [t.zh for t in confirm]
        entry["to_confirm_en"] = [t.en for t in confirm]
    return entry


def _unique_ids(ids) -> list[str]:
    return list(dict.fromkeys(ids))


def _add_order(dialog: Dialog, entries: list[dict[str, Any]]) -> None:
    """Each entry's ``after``: the matters going ahead in this case that the region says must be done first
    (``after: all`` = every other one), so the order is in the JSON and not only in the notes."""
    going = [e["id"] for e in entries if e["status"] == "required"]
    by_id = {m.id: m for m in dialog.matters}
    for entry in entries:
        first = by_id[entry["id"]].after
        entry["after"] = [i for i in going if i != entry["id"] and (first == ("all",) or i in first)]


_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")


def _add_month(entry: dict[str, Any], matter: Matter, facts: Mapping[str, Any]) -> None:
    """A matter that stops in the month after a date (Hunan 「于次月终止」): that month, as ``stops_month``
    ("2026-12") and in a note, once the date is known; until then only the seed's words."""
    rule = matter.stops_month
    day = parse_date(facts.get(rule.fact)) if rule is not None else None
    if day is None:
        return
    month = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    entry["stops_month"] = f"{month.year:04d}-{month.month:02d}"
    entry["notes"].append(rule.note.zh.format(month=f"{month.year}年{month.month}月"))
    entry["notes_en"].append(rule.note.en.format(month=f"{_MONTHS_EN[month.month - 1]} {month.year}"))


def _materials(dialog: Dialog, facts: Mapping[str, Any], entries: list[dict[str, Any]], vocab) -> list[dict]:
    """The one set of materials. One a matter needs only if an answer still to come says so is
    ``conditional``, with that answer as its ``condition``; needed for certain by any matter, it is not."""
    order: dict[str, list[str]] = {}
    certain: set[str] = set()
    conditions: dict[str, list[Text]] = {}
    by_id = {m.id: m for m in dialog.matters}
    for entry in entries:
        for material_id in (*entry["materials"], *entry.get("materials_to_confirm", ())):
            users = order.setdefault(material_id, [])
            if entry["id"] not in users:
                users.append(entry["id"])
        certain.update(entry["materials"])
        for use in _uses(by_id[entry["id"]], facts):
            if use.id in entry.get("materials_to_confirm", ()):
                texts = conditions.setdefault(use.id, [])
                text = _condition_text(dialog, use, facts)
                if text not in texts:
                    texts.append(text)
    out = []
    for material_id, users in order.items():
        info = dialog.materials[material_id]
        item = {
            "id": material_id,
            "name": info.name.zh,
            "name_en": info.name.en,
            "for_matters": users,
            "original": info.original,
            "upload": info.upload,
            "conditional": material_id not in certain,
        }
        if material_id not in certain:
            item["condition"] = "；".join(t.zh for t in conditions[material_id])
            item["condition_en"] = "; ".join(t.en for t in conditions[material_id])
        out.append(item)
    return out


def _condition_text(dialog: Dialog, use: MaterialUse, facts: Mapping[str, Any]) -> Text:
    """When a material is needed, in the words of the question still to answer: the answers that make its
    condition true (「如“提取的住房公积金拨付到哪个账户?”选“继承人银行卡”，需提供」)."""
    unknown = use.when.missing(facts)
    asking = [next((q for q in dialog.questions if q.fact == f), None) for f in unknown]
    if len(unknown) == 1 and asking[0] is not None and asking[0].type in ("single", "yes_no"):
        q = asking[0]
        yes = [o for o in q.options if use.when.evaluate({**facts, unknown[0]: o.value}) is True]
        if yes and len(yes) < len(q.options):
            return Text("如“{}”选“{}”，需提供".format(q.text.zh, "”或“".join(o.label.zh for o in yes)),
                        'Needed if the answer to "{}" is "{}"'.format(q.text.en, '" or "'.join(o.label.en for o in yes)))
    shown = [q for q in asking if q is not None]
    if shown:
        return Text("视“{}”的回答而定".format("”“".join(dict.fromkeys(q.text.zh for q in shown))),
                    'Depends on the answer to "{}"'.format('", "'.join(dict.fromkeys(q.text.en for q in shown))))
    return Text("视尚未确定的情况而定", "Depends on facts not known yet")


def _trips(dialog: Dialog, facts: Mapping[str, Any], entries: list[dict[str, Any]]) -> list[dict]:
    """Each place still to visit once, with the matters it serves and what to do there. A visit the
    whole service needs (the region's own ``trips``) serves every matter that goes ahead."""
    required = [e["id"] for e in entries]
    places: dict[str, tuple[list[str], list[Text]]] = {}

    def add(trip: TripUse, matter_ids: list[str]) -> None:
        users, notes = places.setdefault(trip.place, ([], []))
        users.extend(m for m in matter_ids if m not in users)
        notes.extend(n for n in trip.notes if n not in notes)

    for matter in dialog.matters:
        if matter.id in required:
            for trip in matter.trips:
                if _known(trip.when, facts) is True:
                    add(trip, [matter.id])
    for trip in dialog.trips if required else ():
        if _known(trip.when, facts) is True:
            add(trip, required)
    names = load_vocabulary().places
    return [{"place": place, "name": names[place]["name"], "name_en": names[place]["name_en"], "for_matters": users,
             "notes": [n.zh for n in notes], "notes_en": [n.en for n in notes]}
            for place, (users, notes) in places.items()]


def _unique(warnings: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for w in warnings:
        key = (w["code"], w["message"])
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out
