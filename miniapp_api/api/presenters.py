"""How domain objects look in JSON: one place, so every endpoint renders them alike."""

from __future__ import annotations

from typing import Any

from ..domain import need_to_know, rules
from ..domain.dialogs import Dialog, Question
from ..domain.engine import State
from ..domain.identity import mask_account, mask_id, mask_phone
from ..domain.navigation import ReviewItem
from ..domain.tracking import display
from ..domain.vocabulary import load_vocabulary
from ..models import iso


def question(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "text": q.text.zh,
        "text_en": q.text.en,
        "options": [
            {"value": o.value, "label": o.label.zh, "label_en": o.label.en, "exclusive": o.exclusive}
            for o in q.options
        ],
    }
    if q.help is not None:
        out["help"] = q.help.zh
        out["help_en"] = q.help.en
    return out


def dialog(d: Dialog) -> dict[str, Any]:
    """The whole dialog, conditions included, so a mini-program can render it offline."""
    return {
        "region": d.region,
        "rules_version": d.version,  # changes whenever the file's content does: a cached copy older than this is stale
        "name": d.name.zh,
        "name_en": d.name.en,
        "source": d.source,
        "questions": [
            {**question(q), "fact": q.fact, "requests": list(q.requests),
             "show_if": q.show_if.rule if q.show_if else None,
             # What an unanswered fact is tried with (dialogs/README.md, "Conditions in the mini-program").
             "show_if_domains": q.show_if.domains() if q.show_if else None,
             "sets": {str(o.value): o.sets for o in q.options if o.sets}}
            for q in d.questions
        ],
        "matters": [
            {"id": m.id, "name": m.name.zh, "name_en": m.name.en, "department": m.department,
             "mandatory": m.mandatory}
            for m in d.matters
        ],
    }


def state(session_id: str, s: State, rules_version: str | None = None,
          rules_changed: dict[str, Any] | None = None) -> dict[str, Any]:
    """``current`` is the question on screen (null at the end: show the review); ``previous_value`` its
    answer, when it has one, to show selected. ``rules_changed``: what a change of the region's rules changed
    for this family (domain/rules_versions.py), until their next answer, back or goto."""
    current = None
    if s.current is not None:
        current = question(s.current)
        if s.current.id in s.answers:
            current["previous_value"] = s.answers[s.current.id]
    return {
        "id": session_id,
        "region": s.region,
        "rules_version": rules_version,
        "rules_changed": rules_changed,
        "complete": s.complete,
        "current": current,
        "step": s.step,
        "returns_to_review": s.cursor.review,
        "answers": s.answers,
        "facts": s.facts,
        "progress": {"answered": s.progress.answered, "remaining": s.progress.remaining,
                     "percent": s.progress.percent},
        "out_of_scope": out_of_scope(s),
    }


def out_of_scope(s: State) -> dict[str, Any] | None:
    """Why the questions stopped early, kindly: the scope conditions the family's answers do not meet."""
    if not s.out_of_scope:
        return None
    return {"title": "很抱歉，这项“一件事一次办”联办服务不适用于您家的情况，后面的问题不用再回答了。",
            "title_en": "We are sorry: this one-stop joint service does not cover your family's situation, "
                        "so there are no more questions.",
            "reasons": [{"code": c.code, "message": c.reason.zh, "message_en": c.reason.en} for c in s.out_of_scope]}


def review(session_id: str, s: State, items: list[ReviewItem], goto_path: str | None) -> dict[str, Any]:
    """The answers in order, in words; each with the request that goes back to change it (none once submitted)."""
    return {
        "id": session_id,
        "region": s.region,
        "complete": s.complete,
        "items": [
            {"question": i.question.id, "text": i.question.text.zh, "text_en": i.question.text.en,
             "type": i.question.type, "value": i.value,
             "label": "、".join(o.label.zh for o in i.chosen) if i.chosen else str(i.value),
             "label_en": ", ".join(o.label.en for o in i.chosen) if i.chosen else str(i.value),
             "options": [{"value": o.value, "label": o.label.zh, "label_en": o.label.en} for o in i.chosen],
             "change": None if goto_path is None else {"method": "POST", "path": goto_path,
                                                       "body": {"question": i.question.id}}}
            for i in items
        ],
    }


def case(c, for_staff: bool = False) -> dict[str, Any]:
    """A submitted case as the family sees it: ID, bank and phone numbers masked."""
    form = c.form
    deceased = dict(form.get("deceased") or {})
    applicant = dict(form.get("applicant") or {})
    accounts = [dict(a) for a in form.get("accounts") or []]
    if not for_staff:
        for person in (deceased, applicant):
            if person.get("id_number"):
                person["id_number"] = mask_id(person["id_number"])
        if applicant.get("phone"):
            applicant["phone"] = mask_phone(applicant["phone"])
        for account in accounts:
            if account.get("account_number"):
                account["account_number"] = mask_account(account["account_number"])
    return {
        "tracking_code": display(c.tracking_code),
        "region": c.region,
        "rules_version": c.rules_version,  # the rules it was submitted under (null: before versions were recorded)
        "submitted_at": iso(c.submitted_at),
        "deceased": deceased,
        "applicant": applicant,
        "accounts": accounts,
        "work_items": [{"id": w.id, "matter": w.matter_id, "department": w.department, "status": w.status,
                        "missing": w.missing, "reason": w.reason,
                        "due_at": iso(w.due_at), "due_uncertain": w.due_uncertain} for w in c.work_items],
        "complete": all(w.status in ("done", "rejected") for w in c.work_items),
        "not_submitted": rules.not_submitted(c.checklist),
        "checklist": {**{k: c.checklist[k] for k in ("matters", "materials", "trips", "warnings")},
                      "deadline": c.checklist.get("deadline")},  # cases submitted before it existed: null
    }


def staff_case(c, need: need_to_know.Need) -> dict[str, Any]:
    """A case as a clerk sees it: full numbers, but only the field groups the table gives their role
    (config/need_to_know.yaml; ``withheld`` names the rest) and only their matters of the checklist."""
    body = case(c, for_staff=True)
    body.update(need_to_know.form_view(c.form, c.facts, need))
    body["checklist"] = need_to_know.checklist_view(body["checklist"], need)
    body["not_submitted"] = [m for m in body["not_submitted"] if need.sees_matter(m)]
    return body


RELATIONSHIP_LABELS = {"spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女、外孙子女",
                       "sibling": "兄弟姐妹", "other": "其他"}


def printable(c, d: Dialog, submitted_at: str, need: need_to_know.Need | None = None) -> dict[str, Any]:
    """The dict the printable application (templates/print/application.html) is rendered from; printed by a
    clerk (``need``), only the field groups the table gives their role (the rest print blank)."""
    vocab = load_vocabulary()
    view = case(c)
    view["applicant"]["relationship"] = c.facts.get("relationship")  # the questionnaire's or the form's
    view["applicant"]["relationship_label"] = RELATIONSHIP_LABELS.get(c.facts.get("relationship"), "")
    proxy = dict(c.form["proxy"]) if c.form.get("proxy") else None
    if proxy and proxy.get("id_number"):
        proxy["id_number"] = mask_id(proxy["id_number"])
    if proxy and proxy.get("phone"):
        proxy["phone"] = mask_phone(proxy["phone"])
    for account in view["accounts"]:
        account["payee_label"] = vocab.payees.get(account.get("payee"), {}).get("name", "")
    required = {w.matter_id for w in c.work_items}
    if need is not None:
        view["deceased"] = need_to_know.section_view("deceased", view["deceased"], need)
        view["applicant"] = need_to_know.section_view("applicant", view["applicant"], need)
        proxy = need_to_know.section_view("proxy", proxy, need) or None
        view["accounts"] = view["accounts"] if need.accounts else []
    return {
        "tracking_code": view["tracking_code"],
        "region": c.region,
        "region_name": d.name.zh,
        "submitted_at": submitted_at,
        "deceased": {**view["deceased"], "death_date": c.facts.get("death_date", view["deceased"].get("death_date"))}
        if need is None or need.sees("deceased") else view["deceased"],
        "applicant": view["applicant"],
        "proxy": proxy,
        "accounts": view["accounts"],
        "matters": [
            {"id": m["id"], "name": m["name"], "department": m["department"],
             "department_name": vocab.departments[m["department"]]["name"],
             "status": "submitted" if m["id"] in required else m["status"],
             "time_limit_text": (m.get("time_limit") or {}).get("text", "")}
            for m in c.checklist["matters"]
        ],
        "materials": [{"id": m["id"], "name": m["name"]} for m in c.checklist["materials"]],
        "commitment": {"text": d.form["commitment"], "accepted_at": iso(c.commitment_accepted_at)},
    }


def staff_read(read) -> dict[str, Any]:
    """One row of the log of staff reads (services/staff_reads.py): who, which case, why, what; no personal data."""
    from ..services.staff_reads import PURPOSES

    log, reader = read.log, read.reader
    label = PURPOSES.get(log.purpose, (log.purpose, log.purpose))
    return {"id": log.id, "at": iso(log.at), "purpose": log.purpose, "purpose_label": label[0],
            "purpose_label_en": label[1], "what": log.what, "shown": log.shown,
            "tracking_code": display(read.case.tracking_code),
            "staff": {"id": reader.id, "username": reader.username, "name": reader.name, "role": reader.role,
                      "department": reader.department}}


def work_item(w, tracking_code: str | None = None) -> dict[str, Any]:
    """A work item for staff; a list passes its case's ``tracking_code`` (loaded with it), so no case is read per row."""
    from ..domain.workflow import LABELS

    code = tracking_code if tracking_code is not None else w.case.tracking_code
    return {"id": w.id, "tracking_code": display(code), "matter": w.matter_id,
            "department": w.department, "status": w.status, "status_label": LABELS[w.status][0],
            "status_label_en": LABELS[w.status][1], "due_at": iso(w.due_at),
            "due_uncertain": w.due_uncertain, "missing": w.missing, "reason": w.reason, "version": w.version}
