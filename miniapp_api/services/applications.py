"""The one form and its submission: drafts saved as the family types; submitting freezes the
answers, checklist and form into a case with a tracking code and one work item per matter."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import blind_index
from ..domain import deadlines, engine, rules, tracking
from ..domain.application_form import (
    MONEY_DEPARTMENTS,
    asked_on_form,
    check_form,
    form_facts,
    needs_authorization,
    with_answers,
)
from ..domain.consent import carries_sensitive
from ..domain.dialogs import Dialog
from ..domain.privacy import form_changes
from ..domain.vocabulary import load_vocabulary
from ..encrypted import index_key
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant, Case, CaseSearchKey, QuestionnaireSession, WorkItem, utcnow
from . import consent, due_dates, notify, privacy, rules_versions, webhooks
from .questionnaires import commit_session, dialog_of

CHINA = dt.timezone(dt.timedelta(hours=8))

PREFILLED_FACTS = ("death_type", "death_date", "relationship", "applicant_is_proxy", "medical_insurance",
                   "pension_insurance", "receiving_pension", "welfare", "veteran_beneficiary")


def form_view(session: QuestionnaireSession) -> dict[str, Any]:
    """The draft, what the questionnaire already answered (never asked twice), and the region's terms."""
    dialog = dialog_of(session)
    state = engine.state(dialog, session.answers)
    checklist = rules.evaluate_checklist(dialog, state.rule_facts)
    required = [m for m in checklist["matters"] if m["status"] == "required"]
    return {
        "form": session.form_draft,
        "prefilled": {k: state.facts[k] for k in PREFILLED_FACTS if k in state.facts},
        "fields": form_fields(dialog, state.facts),
        "needs": {"proxy": state.facts.get("applicant_is_proxy") is True,
                  "proxy_authorization": state.facts.get("applicant_is_proxy") is True and needs_authorization(dialog),
                  "accounts": any(m["department"] in MONEY_DEPARTMENTS for m in required)},
        "not_submitted": rules.not_submitted(checklist),
        "commitment": dialog.form["commitment"],
        "commitment_en": dialog.form["commitment_en"],
        "payees": dialog.form["payees"],
        "problems": check_form(session.form_draft, state.facts, checklist, dialog) if state.complete else {},
    }


def form_fields(dialog: Dialog, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """The region's form facts this family's questionnaire did not answer: the form asks them, so a
    front end renders each one from here rather than from its own list."""
    departments = load_vocabulary().departments
    return [{"field": f.field, "fact": f.fact, "type": "choice" if f.options else "date" if f.fact.endswith("_date")
             else "text", "label": f.label.zh, "label_en": f.label.en, "required": True, "multiple": f.multiple,
             "options": [{"value": o.value, "label": o.label.zh, "label_en": o.label.en, "exclusive": o.exclusive}
                         for o in f.options],
             **(_for_department(f.department, departments[f.department]) if f.department in departments else {})}
            for f in asked_on_form(dialog, facts)]


def _for_department(department_id: str, department: dict[str, str]) -> dict[str, Any]:
    """A field only one department reads: said so, so the family knows why it is asked and that it changes
    nothing in their checklist."""
    return {"department": department_id,
            "note": f"此项仅供{department['name']}经办人员核对，不影响您的办事清单",
            "note_en": f"For the {department['name_en']} to check; it does not change your checklist"}


def save_draft(session: QuestionnaireSession, form: dict[str, Any]) -> dict[str, Any]:
    """Also the family's way to correct their draft (PIPL art. 46): a save that changes or empties what was
    given is audited (the fields, never the values) in the same commit."""
    case = _case_of(session)
    if case is not None:
        raise ApiError(409, "already_submitted", "申请已提交，表单不能再由您修改；如需更正，请联系“一件事一次办”受理窗口",
                       "already submitted: the form can no longer be changed here; to correct it, ask the one-stop "
                       "service window", {"tracking_code": [tracking.display(case.tracking_code)]})
    if carries_sensitive(form):  # names, ID, phone, account numbers: only after the separate consent
        consent.require(session)
    changes = form_changes(session.form_draft, form)
    if changes.corrects:
        privacy.record(session, "correct", changes.detail())
    session.form_draft = form  # as typed; the questionnaire's answers are laid over it when it is submitted
    commit_session(session, session.answers)
    return form_view(session)


def submit(session: QuestionnaireSession, applicant: Applicant, idempotency_key: str) -> tuple[Case, bool]:
    """Make the case (or return the one this key already made). Returns (case, created)."""
    existing = db.session.scalars(db.select(Case).filter_by(applicant_id=applicant.id,
                                                            idempotency_key=idempotency_key)).first()
    if existing is not None:
        return existing, False
    earlier = _case_of(session)
    if earlier is not None:
        if earlier.applicant_id == applicant.id and earlier.idempotency_key == idempotency_key:
            return earlier, False  # a twin of this very submission committed after the lookup above
        raise ApiError(409, "already_submitted", "这份申请已经提交过了", "this application was already submitted",
                       {"tracking_code": [tracking.display(earlier.tracking_code)]})
    if session.rules_rechecked_now:  # the family has not seen the checklist they would be submitting
        raise ApiError(409, "rules_changed", "办事规则刚刚更新，您的回答和清单已按新规则重新核对，请先查看后再提交",
                       "the rules were just updated and your answers and checklist re-checked under them; "
                       "have a look before you submit", {"rules_version": [session.rules_version]})
    dialog = dialog_of(session)
    rules_versions.remember(dialog, serving=False)  # its content stays readable for as long as the case exists
    state = engine.state(dialog, session.answers)
    if not state.complete:
        raise ApiError(409, "questionnaire_incomplete", "还有问题没有回答完", "answer every question first")
    checklist = rules.evaluate_checklist(dialog, state.rule_facts)
    if checklist["eligible"] is not True:
        raise ApiError(409, "not_eligible", "；".join(checklist["reasons"]) or "不符合联办条件",
                       "; ".join(checklist["reasons_en"]) or "not eligible for the joint service")
    required = [m for m in checklist["matters"] if m["status"] == "required"]
    if not required:
        raise ApiError(409, "nothing_to_submit", "没有可以办理的事项", "no matter can be handled")
    errors = check_form(session.form_draft, state.facts, checklist, dialog)
    if errors:
        raise ApiError(422, "form_invalid", "表单有需要修改的地方，请按提示逐项修改",
                       "the form has problems; fix each field listed", errors)
    # From here on the form's answers are facts like the questionnaire's: one value everywhere.
    facts = {**state.facts, **form_facts(session.form_draft, dialog, state.facts)}
    form = with_answers(session.form_draft, dialog, facts)
    now = utcnow()
    # The case's own deadline where the region sets one for the whole service (counted from now).
    checklist = {**checklist, "deadline": due_dates.case_deadline(checklist.get("time_limit"), now,
                                                                  deadlines.load_calendar())}
    for _ in range(5):  # a tracking-code collision (1 in 10^13) just draws again
        case = Case(tracking_code=tracking.new_code(), region=session.region, applicant_id=applicant.id,
                    questionnaire_id=session.id, idempotency_key=idempotency_key, answers=dict(session.answers),
                    facts=facts, checklist=checklist, form=form, rules_version=dialog.version,
                    commitment_accepted_at=now, submitted_at=now)
        case.work_items = [_work_item(m, now, session.region) for m in required]
        case.search_keys = search_keys(case)
        db.session.add(case)
        # Touching the questionnaire in the same commit bumps its version: an answer that checked "not
        # submitted" a moment ago then fails its own commit, and this one fails if an answer came first.
        session.updated_at = now
        session.rules_notice = None  # what changed before is what they now submit: nothing left to tell
        try:
            # Inside the guard: notify.add flushes the case, which is where a racing twin is caught.
            deliveries = webhooks.add_outbox(case)  # the department pushes go out only if the case exists
            note = notify.add(case, "case_submitted")
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            raise ApiError(409, "concurrent_update", "问答刚在另一台设备上被修改，请核对后再提交",
                           "the answers were changed on another device; check them and submit again") from None
        except IntegrityError as exc:
            db.session.rollback()
            current_app.logger.warning("submission conflict: %s", exc.orig)
            same_key = db.session.scalars(db.select(Case).filter_by(applicant_id=applicant.id,
                                                                    idempotency_key=idempotency_key)).first()
            if same_key is not None:
                return same_key, False  # the same submission raced itself
            if _case_of(session) is not None:
                raise ApiError(409, "already_submitted", "这份申请已经提交过了",
                               "this application was already submitted") from None
            continue
        webhooks.dispatch([d.id for d in deliveries])
        notify.dispatch([note.id])
        return case, True
    raise ApiError(503, "try_again", "请稍后再试", "please try again")  # pragma: no cover


def search_keys(case: Case) -> list[CaseSearchKey]:
    """The blind indexes staff find the case by (its names and ID tails; services/staff.search)."""
    return [CaseSearchKey(region=case.region, digest=d) for d in sorted(blind_index.form_digests(index_key(), case.form))]


def _work_item(matter: dict[str, Any], submitted: dt.datetime, region: str) -> WorkItem:
    """A department's part, due by the region's limit counted in Chinese working days (or hours); with the
    case's region, which the queues are read by (models.WorkItem)."""
    item = WorkItem(matter_id=matter["id"], matter_name=matter.get("name"), department=matter["department"],
                    status="submitted", missing=[], region=region)
    item.due_at, item.due_uncertain = due_dates.due(matter.get("time_limit"), submitted, deadlines.load_calendar())
    return item


def case_for(applicant: Applicant, code_text: str) -> Case:
    code = tracking.normalise(code_text)
    case = db.session.scalars(db.select(Case).filter_by(tracking_code=code)).first() if code else None
    if case is None or case.applicant_id != applicant.id:
        # Another applicant's case looks exactly like a missing one.
        raise ApiError(404, "case_not_found", "找不到该申请", "no such case")
    return case


def _case_of(session: QuestionnaireSession) -> Case | None:
    return db.session.scalars(db.select(Case).filter_by(questionnaire_id=session.id)).first()


def submitted_at_local(case: Case) -> str:
    return case.submitted_at.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")
