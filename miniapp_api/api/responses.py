"""What the API answers, as marshmallow schemas: the OpenAPI document's response schemas (api/openapi.py) and
the shapes presenters.py and the services build. One class per JSON object; a test validates the responses the
whole suite gets against them (tests/conftest.py), so a presenter cannot drift from its schema unseen.

Every object is open (``unknown = INCLUDE`` → ``additionalProperties: true``): a key added to a presenter or to
the checklist is allowed before it is described here. To describe it, add the field to its class below (keys
that are always there ``required=True``, a value that can be null ``allow_none=True``).
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema
from marshmallow import fields as ma

from ..domain import need_to_know, workflow
from ..domain.vocabulary import load_vocabulary
from .schemas import AnswerValue

_VOCAB = load_vocabulary()
REGIONS = list(_VOCAB.regions)
DEPARTMENTS = list(_VOCAB.departments)
PLACES = list(_VOCAB.places)
QUESTION_TYPES = ["single", "multiple", "yes_no", "date", "text"]


class Open(Schema):
    """An object that may carry keys not described yet (see the module's docstring)."""

    class Meta:
        unknown = INCLUDE


def string(description: str | None = None, *, required: bool = True, nullable: bool = False, **metadata) -> ma.String:
    if description:
        metadata["description"] = description
    return ma.String(required=required, allow_none=nullable, metadata=metadata)


def enum(values: list[str], description: str | None = None, *, required: bool = True, nullable: bool = False) -> ma.String:
    return string(description, required=required, nullable=nullable, enum=[*values, *([None] if nullable else [])])


def strings(description: str | None = None, *, required: bool = True) -> ma.List:
    return ma.List(ma.String(), required=required, metadata={"description": description} if description else {})


def nested(schema, *, many: bool = False, required: bool = True, nullable: bool = False, description: str | None = None):
    meta = {"description": description} if description else {}
    if many:
        return ma.List(ma.Nested(schema), required=required, metadata=meta)
    return ma.Nested(schema, required=required, allow_none=nullable, metadata=meta)


def flag(description: str | None = None, *, required: bool = True, nullable: bool = False) -> ma.Boolean:
    return ma.Boolean(required=required, allow_none=nullable, metadata={"description": description} if description else {})


def integer(description: str | None = None, *, required: bool = True, nullable: bool = False) -> ma.Integer:
    return ma.Integer(required=required, allow_none=nullable, metadata={"description": description} if description else {})


def when(description: str, *, nullable: bool = True) -> ma.String:
    """A moment, ISO 8601 with its offset (models.iso)."""
    return string(description, nullable=nullable, format="date-time")


# --- errors -------------------------------------------------------------------------------------------------

class ErrorDetail(Open):
    """``fields``: dotted path (``deceased.name``, ``accounts.0.payee``) → messages in Chinese; ``fields_en``: the
    same paths → the same messages in English. Where an error carries a value instead of words (the tracking code
    of ``already_submitted``, the seconds of ``retry_after``) both hold it. ``_schema`` is the body as a whole."""

    code = string("machine-readable, e.g. validation_error, already_submitted, busy_try_again", example="validation_error")
    message = string("Chinese, for the family", example="提交的内容有误，请检查标出的项目")
    message_en = string("English", example="some fields are invalid")
    messages = ma.Dict(keys=ma.String(), values=ma.List(ma.String()), required=True, data_key="fields",
                       metadata={"description": "dotted path → messages (Chinese)",
                                   "example": {"deceased.name": ["应为文字（字符串）"]}})
    fields_en = ma.Dict(keys=ma.String(), values=ma.List(ma.String()), required=True,
                            metadata={"description": "dotted path → messages (English)",
                                      "example": {"deceased.name": ["Not a valid string."]}})


class Error(Open):
    """Every error of the API, whatever its status."""

    error = nested(ErrorDetail)


# --- regions and dialogs ------------------------------------------------------------------------------------

class Region(Open):
    id = enum(REGIONS)
    name = string(example="湖南省")
    name_en = string(example="Hunan Province")


class Regions(Open):
    regions = nested(Region, many=True)


class Option(Open):
    value = AnswerValue(required=True, metadata={"description": "what to send as the answer's value"})
    label = string()
    label_en = string()
    exclusive = flag("true for 「都不是」-style options that cannot be combined with another")


class Question(Open):
    id = string("question id, e.g. relationship")
    type = enum(QUESTION_TYPES, "yes_no: value true/false; single: one option's value; multiple: a list of "
                                "values; date: YYYY-MM-DD; text: a string")
    text = string()
    text_en = string()
    options = nested(Option, many=True, description="empty for a date or a text")
    help = string(required=False)
    help_en = string(required=False)


class CurrentQuestion(Question):
    previous_value = AnswerValue(required=False, metadata={
        "description": "the answer already given to this question (after back or goto), to show selected"})


class DialogQuestion(Question):
    fact = string("the fact the answer sets", nullable=True)
    requests = strings("matters the question asks about")
    show_if = ma.Raw(required=True, allow_none=True, metadata={"description": "JsonLogic rule, or null: always shown"})
    show_if_domains = ma.Raw(required=True, allow_none=True, metadata={
        "description": "what each unanswered fact is tried with (dialogs/README.md)"})
    sets = ma.Dict(keys=ma.String(), values=ma.Dict(), required=True, metadata={
        "description": "option value → the facts it sets besides `fact`"})


class DialogMatter(Open):
    id = string("matter id")
    name = string()
    name_en = string()
    department = enum(DEPARTMENTS)
    mandatory = flag()


RULES_VERSION = "the region file's version: a short hash of its parsed content (dialogs/README.md)"


class Dialog(Open):
    region = enum(REGIONS)
    rules_version = string(RULES_VERSION, example="3f2a9c0d1e4b")
    name = string()
    name_en = string()
    source = string("the policy document the dialog follows")
    questions = nested(DialogQuestion, many=True)
    matters = nested(DialogMatter, many=True)


# --- questionnaires -----------------------------------------------------------------------------------------

class Progress(Open):
    answered = integer()
    remaining = integer()
    percent = integer()


class OutOfScopeReason(Open):
    code = string()
    message = string()
    message_en = string()


class OutOfScope(Open):
    title = string()
    title_en = string()
    reasons = nested(OutOfScopeReason, many=True)


class RulesChangedQuestion(Open):
    question = string("question id")
    text = string()
    text_en = string()


class RulesChangedMatter(Open):
    id = string("matter id")
    name = string()
    name_en = string()
    status = enum(["required", "blocked"], "as listed now (matters_removed: as listed before)")
    status_before = enum(["required", "blocked"], "matters_changed only", required=False)


class RulesChanged(Open):
    """What a change of the region's rules changed for this family, said once (services/rules_versions.py)."""

    from_ = ma.String(required=True, allow_none=True, data_key="from",
                      metadata={"description": "the version the questionnaire was on (null: not recorded)"})
    to = string("the version it is on now")
    message = string("one kind sentence, in Chinese, to show")
    message_en = string()
    questions_removed = nested(RulesChangedQuestion, many=True,
                               description="answered questions the new rules no longer have (their answers removed)")
    answers_dropped = nested(RulesChangedQuestion, many=True,
                             description="answered questions asked again: their options changed, or they no longer apply")
    questions_added = nested(RulesChangedQuestion, many=True, description="new questions this family may now be asked")
    matters_added = nested(RulesChangedMatter, many=True, description="matters on the checklist now and not before")
    matters_removed = nested(RulesChangedMatter, many=True, description="matters on the checklist before and not now")
    matters_changed = nested(RulesChangedMatter, many=True, description="matters on both, with another status")
    checklist_changed = flag("anything in the checklist differs")


class ConsentStatus(Open):
    """Whether the family gave the separate consent (PIPL art. 29-30) the form and uploads need."""

    given = flag()
    version = string("the text version consented to", nullable=True)
    at = when("when it was given (ISO 8601)")
    current_version = string("the version of the text shown now")
    recorded_by_window = flag("recorded by a window clerk (代办)")


class ConsentRecipient(Open):
    department = enum(DEPARTMENTS)
    name = string()
    name_en = string()
    matters = strings("the matters it handles for this family")
    matters_en = strings()
    materials = strings("what it receives")
    materials_en = strings()


class ConsentText(Open):
    """The consent text as the mini-program shows it (services/consent.py)."""

    region = enum(REGIONS)
    version = string("send it back to POST …/consent")
    text = string("the whole text to show, in Chinese")
    text_en = string()
    purpose = string()
    purpose_en = string()
    recipients = nested(ConsentRecipient, many=True)
    retention = string()
    retention_en = string()
    status = nested(ConsentStatus)


class QuestionnaireState(Open):
    id = string("questionnaire id")
    region = enum(REGIONS)
    complete = flag("every shown question is answered, wherever the cursor is")
    current = nested(CurrentQuestion, nullable=True, description="the question on screen; null at the end (show the review)")
    step = integer()
    returns_to_review = flag("after a goto: true until the changed answer and any question it made appear are answered")
    answers = ma.Dict(keys=ma.String(), values=AnswerValue(), required=True,
                          metadata={"description": "question id → answer"})
    facts = ma.Dict(keys=ma.String(), values=ma.Raw(), required=True,
                        metadata={"description": "fact → value (the shared vocabulary's facts, dialogs/vocabulary.yaml)"})
    progress = nested(Progress)
    out_of_scope = nested(OutOfScope, nullable=True, description="null, or why a scope answer ended the questions early")
    rules_version = string(RULES_VERSION + "; null for questionnaires started before versions", nullable=True)
    rules_changed = nested(RulesChanged, nullable=True,
                           description="null, or what a change of the rules changed for this family (show it once)")
    consent = nested(ConsentStatus, description="the separate consent the form and uploads need")


class StartedQuestionnaire(QuestionnaireState):
    resume_secret = string("send as X-Resume-Secret to continue anonymously (another phone), or to claim")


# --- checklist ----------------------------------------------------------------------------------------------

class TimeLimit(Open):
    working_days = integer("0 = the same day", required=False)
    hours = ma.Float(required=False)
    text = string()
    text_en = string()


class ChecklistMatter(Open):
    id = string("matter id")
    name = string()
    name_en = string()
    department = enum(DEPARTMENTS)
    mandatory = flag()
    status = enum(["required", "blocked"], "blocked: asked for, but a condition fails (`reasons`)")
    in_person = flag()
    preconditions = strings()
    materials = strings("material ids")
    notes = strings()
    notes_en = strings()
    variant = string("which form of the matter the facts chose (matters with variants only; null: not known yet)",
                     required=False, nullable=True)
    after = strings("matters of this case to be done first", required=False)
    materials_to_confirm = strings("materials needed depending on an answer still to come", required=False)
    stops_month = string("YYYY-MM, for a benefit that stops in the month after a date", required=False)
    time_limit = nested(TimeLimit, required=False)
    reasons = strings(required=False)
    reasons_en = strings(required=False)
    to_confirm = strings(required=False)
    to_confirm_en = strings(required=False)


class ChecklistMaterial(Open):
    id = string("material id")
    name = string()
    name_en = string()
    for_matters = strings()
    original = flag()
    upload = flag("a photo is asked for (materials endpoints)")
    conditional = flag("needed only if an answer still to come says so (`condition`)", required=False)
    condition = string(required=False)
    condition_en = string(required=False)
    provided = flag("a page is uploaded (materials to upload only)", required=False)


class Trip(Open):
    place = enum(PLACES)
    name = string()
    name_en = string()
    for_matters = strings()
    notes = strings("what to do there (e.g. 原件核验)", required=False)
    notes_en = strings(required=False)


class Warning(Open):
    code = string()
    message = string()
    message_en = string()


class Undecided(Open):
    id = string("matter id")
    name = string()
    needs = strings("facts still unknown")


class Checklist(Open):
    region = enum(REGIONS)
    eligible = flag("null while a scope answer is still unknown", nullable=True)
    reasons = strings()
    reasons_en = strings()
    matters = nested(ChecklistMatter, many=True)
    materials = nested(ChecklistMaterial, many=True, description="the one set of materials")
    trips = nested(Trip, many=True, description="places still to visit in person")
    warnings = nested(Warning, many=True)
    undecided = nested(Undecided, many=True, description="matters that depend on answers not given yet")
    time_limit = nested(TimeLimit, required=False, description="the region's one limit for the whole service")
    materials_missing = strings("materials to upload with no page yet", required=False)


# --- uploads ------------------------------------------------------------------------------------------------

class Page(Open):
    id = integer()
    material = string("material id")
    kind = enum(["image", "document"])
    mimetype = enum(["image/jpeg", "application/pdf"])
    width = integer(nullable=True)
    height = integer(nullable=True)
    pages = integer("pages of a document; 1 for a photo")
    warnings = strings("e.g. blurred")
    status = enum(["ready"])


class Pages(Open):
    pages = nested(Page, many=True)


class MaterialPages(ChecklistMaterial):
    provided = flag("a page is uploaded")
    pages = nested(Page, many=True)


class Materials(Open):
    materials = nested(MaterialPages, many=True)
    missing = strings("material ids still without a page")


# --- the form -----------------------------------------------------------------------------------------------

class FormFieldOption(Open):
    value = AnswerValue(required=True)
    label = string()
    label_en = string()
    exclusive = flag()


class FormField(Open):
    field = string("dotted path in the form, e.g. deceased.employment_status")
    fact = string()
    type = enum(["choice", "date", "text"])
    label = string()
    label_en = string()
    required = flag()
    multiple = flag()
    options = nested(FormFieldOption, many=True)
    department = enum(DEPARTMENTS, "only this department reads it", required=False)
    note = string(required=False)
    note_en = string(required=False)


class FormNeeds(Open):
    proxy = flag("the applicant is a proxy: fill `proxy`")
    accounts = flag("money is paid: fill `accounts`")


class NotSubmitted(Open):
    matter = string()
    name = string()
    name_en = string()
    department = enum(DEPARTMENTS)
    reasons = strings()
    reasons_en = strings()


class FormView(Open):
    form = ma.Dict(required=True, metadata={"description": "the draft as saved (ApplicationForm)"})
    prefilled = ma.Dict(keys=ma.String(), values=ma.Raw(), required=True,
                            metadata={"description": "facts the questionnaire answered: never asked again"})
    form_fields = ma.List(ma.Nested(FormField), required=True, data_key="fields",
                          metadata={"description": "facts this path left to the form: render these"})
    needs = nested(FormNeeds)
    not_submitted = nested(NotSubmitted, many=True)
    commitment = string()
    commitment_en = string()
    payees = strings("the payee kinds this region pays into (accounts[].payee)")
    problems = ma.Dict(keys=ma.String(), values=ma.List(ma.String()), required=True, metadata={
        "description": "what submit would refuse, by dotted field path (empty until the questionnaire is "
                       "complete), in Chinese"})
    problems_en = ma.Dict(keys=ma.String(), values=ma.List(ma.String()), required=True, metadata={
        "description": "the same problems by the same paths, in English"})


# --- cases --------------------------------------------------------------------------------------------------

class CaseWorkItem(Open):
    id = integer()
    matter = string()
    department = enum(DEPARTMENTS)
    status = enum(list(workflow.STATUSES))
    missing = strings("what the department asked for (needs_supplement; kept while supplied)")
    reason = string(nullable=True)
    due_at = when("the department's due date; null without a time limit")
    due_uncertain = flag("the due date counts holidays not announced yet")


class SupplementRequest(Open):
    item = integer("the work item asking")
    matter = string()
    department = enum(DEPARTMENTS)
    note = string("the clerk's note to the family (may be empty)")
    materials = strings("material ids to photograph")
    other = strings("what else is missing, as the clerk typed it (no photo: bring or tell it)")
    asked_at = string("when it was asked (ISO 8601)")


class SupplementPage(Page):
    new = flag("sent for this request: may be removed until the family declares it supplied")


class SupplementMaterial(Open):
    id = string("material id")
    name = string()
    name_en = string()
    pages = nested(SupplementPage, many=True)
    new_pages = integer("pages sent since the case was submitted")


class Supplements(Open):
    requests = nested(SupplementRequest, many=True)
    materials = nested(SupplementMaterial, many=True)


class CaseChecklist(Open):
    matters = nested(ChecklistMatter, many=True)
    materials = nested(ChecklistMaterial, many=True)
    trips = nested(Trip, many=True)
    warnings = nested(Warning, many=True)
    deadline = ma.Dict(required=True, allow_none=True, metadata={"description": "null for cases submitted before it existed"})


class Case(Open):
    tracking_code = string(example="0AB9K-HJXSA")
    region = enum(REGIONS)
    submitted_at = when("", nullable=False)
    deceased = ma.Dict(required=True, metadata={"description": "the form's section (ID number masked)"})
    applicant = ma.Dict(required=True, metadata={"description": "the form's section (ID and phone masked)"})
    accounts = ma.List(ma.Dict(), required=True, metadata={"description": "account numbers masked"})
    work_items = nested(CaseWorkItem, many=True)
    complete = flag("every work item is done or rejected")
    not_submitted = nested(NotSubmitted, many=True)
    checklist = nested(CaseChecklist)
    rules_version = string("the rules version it was submitted under (null: before versions)", nullable=True)


class StaffWorkItem(CaseWorkItem):
    tracking_code = string()
    status_label = string()
    status_label_en = string()
    version = integer("send back as `version` to move it (optimistic locking)")


class StaffCase(Case):
    work_items = nested(StaffWorkItem, many=True)
    proxy = ma.Dict(required=True, allow_none=True,
                    metadata={"description": "the proxy and the power of attorney (null: none, or withheld)"})
    withheld = ma.List(ma.String(metadata={"enum": list(need_to_know.GROUPS)}), required=True,
                       metadata={"description": "the field groups this clerk's role is not shown "
                                                "(config/need_to_know.yaml)"})


class Rating(Open):
    score = integer()
    comment = string(nullable=True)


class StatusMatter(Open):
    matter = string()
    department = enum(DEPARTMENTS)
    status = enum(list(workflow.STATUSES))
    status_label = string()
    due_at = when("")
    due_uncertain = flag()


class PublicStatus(Open):
    tracking_code = string()
    region = enum(REGIONS)
    complete = flag()
    matters = nested(StatusMatter, many=True)


# --- sign-in ------------------------------------------------------------------------------------------------

class Token(Open):
    token = string("send as Authorization: Bearer <token>")
    token_type = enum(["Bearer"])
    expires_in = integer("seconds")


class StaffToken(Token):
    role = enum(["department", "window", "supervisor"])
    region = enum(REGIONS)
    department = enum(DEPARTMENTS, nullable=True)


class SentTo(Open):
    sent_to = string("the number, masked", example="138****8000")


class ChallengeDetail(Open):
    kind = string("none (nothing to do), pow (proof of work) or a configured captcha", example="pow")
    algorithm = string(required=False)
    token = string(required=False)
    difficulty = integer(required=False)
    expires_in = integer(required=False)
    answer = string("how to build the answer", required=False)


class Challenge(Open):
    challenge = nested(ChallengeDetail)


class Me(Open):
    id = string()
    channel = string("wechat, host, sms", example="wechat")
    phone = string("masked", nullable=True)
    verified_phones = strings("masked")


class VerifiedPhones(Open):
    verified_phones = strings("masked")


class Consents(Open):
    remaining = ma.Dict(keys=ma.String(), values=ma.Integer(), required=True,
                            metadata={"description": "event → messages still allowed"})


# --- staff --------------------------------------------------------------------------------------------------

NEXT_CURSOR = "send as `cursor` for the next page; null: this is the last"


class WorkQueue(Open):
    items = nested(StaffWorkItem, many=True)
    next_cursor = string(NEXT_CURSOR, nullable=True)


class SupervisionCursors(Open):
    overdue = string(NEXT_CURSOR + " of the overdue list", nullable=True)
    due_soon = string(NEXT_CURSOR + " of the due-soon list", nullable=True)


class Supervision(Open):
    overdue = nested(StaffWorkItem, many=True)
    due_soon = nested(StaffWorkItem, many=True)
    next_cursor = nested(SupervisionCursors)


class DepartmentRating(Open):
    department = enum(DEPARTMENTS)
    ratings = integer()
    average = ma.Float(required=True)


class Ratings(Open):
    region = enum(REGIONS)
    departments = nested(DepartmentRating, many=True)


class DeadNotification(Open):
    id = integer()
    event = string()
    channel = string()
    attempts = integer()
    last_error = string(nullable=True)
    created_at = when("")


class DeadNotifications(Open):
    notifications = nested(DeadNotification, many=True)
    next_cursor = string(NEXT_CURSOR, nullable=True)


class Resent(Open):
    id = integer()
    status = string()


class ReadBy(Open):
    id = integer()
    username = string()
    name = string()
    role = enum(["department", "window", "supervisor"])
    department = enum(DEPARTMENTS, nullable=True)


class StaffRead(Open):
    id = integer("send as `before` to list the reads older than this one")
    at = when("", nullable=False)
    purpose = enum(["handle", "search", "print", "photo"], "handle: opened to work it; search: a search result; "
                                                          "print: the application printed; photo: a document photo")
    purpose_label = string(example="办理")
    purpose_label_en = string()
    what = string("the case, application.pdf / application.html, page:<id>, search", example="case")
    shown = ma.List(ma.String(), required=True, allow_none=True,
                    metadata={"description": "the field groups shown (deceased, applicant, proxy, accounts, other) "
                                             "or photo:<material>; null for reads logged before this was recorded"})
    tracking_code = string()
    staff = nested(ReadBy)


class StaffReads(Open):
    reads = nested(StaffRead, many=True)
    next_before = integer("the `before` of the next (older) page; null: no more", nullable=True)
