"""The family's H5 self-service pages (/h5): the whole journey on a phone browser, without JavaScript.

choose region -> one question per screen, then the review (both in h5_questions.py) -> checklist -> photos of the
materials -> SMS sign-in -> the one form -> submit -> tracking code with its QR -> public status lookup; and from
every page of a journey, 「我的个人信息」: download it all, withdraw the consent, delete the application.

Server-rendered from ``templates/h5/`` over the same services as the JSON API; this module only turns HTML
form posts into the values those services take and picks what to show. The journey is kept on the server
(``h5_session.py``; the cookie carries only its random id): the questionnaire's id and resume secret, and after
SMS sign-in our own expiring bearer token (``auth.issue_token``), so an expired sign-in is noticed exactly as
the API notices it. 「退出」 (POST /h5/signout) ends it.
Every POST form carries a CSRF token (Flask-WTF); errors are friendly pages, never a stack trace.
"""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from marshmallow import ValidationError, fields
from werkzeug.exceptions import HTTPException, NotFound

from ..api import presenters
from ..api.family import StatusLookup, status_limit_per_address, status_limit_per_code
from ..api.files import file_response
from ..api.questionnaires import archive_response
from ..api.schemas import ApplicationForm, SmsCodeRequest, SmsVerify, StartQuestionnaire
from ..api.uploads import upload_limits
from ..domain import tracking
from ..domain.identity import mask_phone
from ..domain.vocabulary import load_vocabulary
from ..domain.workflow import LABELS as STATUS_LABELS
from ..errors import ApiError
from ..models import Applicant, QuestionnaireSession
from ..services import applications, auth, consent, family, next_steps, privacy, questionnaires, supplements, uploads
from . import h5_session
from .h5_session import journey

bp = Blueprint("h5", __name__)

CHINA = dt.timezone(dt.timedelta(hours=8))
JOURNEY_KEYS = ("h5_q", "h5_s", "h5_case")
LOST_JOURNEY = ("session_not_found", "invalid_resume_secret", "claim_required")
MAX_ACCOUNTS = 5  # as ApplicationForm allows

# Labels for the facts the form shows read-only (applications.PREFILLED_FACTS).
FACT_LABELS = {
    "death_type": ("死亡类型", "Type of death"),
    "death_date": ("死亡日期", "Date of death"),
    "relationship": ("您与逝者的关系", "Your relationship to the deceased"),
    "applicant_is_proxy": ("是否受委托代办", "Applying on someone's behalf"),
    "medical_insurance": ("医疗保险", "Medical insurance"),
    "pension_insurance": ("养老保险", "Pension insurance"),
    "receiving_pension": ("是否在领养老金", "Receiving a pension"),
    "welfare": ("享受的福利补贴", "Welfare received"),
    "veteran_beneficiary": ("是否为优抚对象", "Veteran beneficiary"),
}

# Friendly texts for HTTP errors on these pages (the API answers the same statuses in JSON).
HTTP_TEXTS = {
    400: ("请求有误，请返回上一页重新操作。", "Something was wrong with the request. Please go back and try again."),
    404: ("找不到这个页面。", "This page could not be found."),
    405: ("请通过页面上的按钮操作。", "Please use the buttons on the page."),
    413: ("照片太大了。请一次只选一两张再上传。", "The photos are too large. Please upload one or two at a time."),
    429: ("操作太频繁了，请过一分钟再试。", "Too many tries. Please wait a minute and try again."),
}


# --- language, session, helpers ----------------------------------------------------------------------

def _lang() -> str:
    return "en" if session.get("h5_lang") == "en" else "zh"


def _t(zh: str, en: str) -> str:
    return en if _lang() == "en" else zh


def _msg(text: str | None) -> str:
    """A "中文 / English" message (check_form's style) in the page's language."""
    if not text:
        return ""
    zh, sep, en = str(text).partition(" / ")
    return (en or zh) if _lang() == "en" and sep else zh


def _err(exc: ApiError) -> str:
    return _t(exc.message, exc.message_en)


@bp.record_once
def _session_lifetime(state) -> None:
    """Only H5 sessions are permanent; their cookie lasts as long as the journey on the server."""
    state.app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=state.app.config["H5_SESSION_LIFETIME"])


@bp.after_request
def _keep_journey(response: Response) -> Response:
    h5_session.save()
    return response


@bp.before_request
def _choose_language():
    lang = request.args.get("lang")
    if lang in ("zh", "en"):
        session["h5_lang"] = lang


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    def tx(obj: Any, key: str) -> str:
        """obj[key] in Chinese, obj[key_en] in English when there is one."""
        value = obj.get(key) if isinstance(obj, dict) else None
        if _lang() == "en" and isinstance(obj, dict) and obj.get(f"{key}_en"):
            return obj[f"{key}_en"]
        return "" if value is None else value

    return {"lang": _lang(), "t": _t, "tx": tx, "msg": _msg, "lang_url": _lang_url(),
            "has_journey": bool(journey().get("h5_q")), "signed_in": bool(journey().get("h5_token"))}


def _lang_url() -> str:
    """The same page in the other language (a GET page; after a POST, the page's GET view or home)."""
    other = "zh" if _lang() == "en" else "en"
    path = request.path
    if request.method != "GET":
        try:
            endpoint, _ = current_app.url_map.bind_to_environ(request.environ).match(path, method="GET")
        except HTTPException:
            endpoint = None
        if endpoint in (None, "h5.not_found"):
            return url_for("h5.home", lang=other)
        return f"{request.script_root}{path}?lang={other}"
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = other
    return f"{request.script_root}{path}?{urlencode(args)}"


def _go(endpoint: str, **values) -> None:
    """Stop here and send the browser to another page."""
    abort(redirect(url_for(endpoint, **values)))


def _applicant(required: bool = False) -> Applicant | None:
    token = journey().get("h5_token")
    if token:
        try:
            return auth.applicant_from_token(token)
        except ApiError as exc:
            journey().pop("h5_token", None)
            if required:
                flash(_err(exc), "info")
    if required:
        if not token:
            flash(_t("为了保护您的信息，填写申请表前请先用手机号登录。",
                     "To protect your information, please sign in with your phone before the form."), "info")
        _go("h5.signin")
    return None


def _forget_journey() -> None:
    for key in JOURNEY_KEYS:
        journey().pop(key, None)


def _journey_lost(exc: ApiError) -> None:
    """The questionnaire in the cookie cannot be reached any more: say so and start again, or sign in again."""
    if exc.code in LOST_JOURNEY:
        _forget_journey()
        flash(_t("没有找到您之前的问答，请重新选择地区开始。", "Your earlier answers could not be found; please start again."),
              "info")
        _go("h5.home")
    if exc.code == "not_your_questionnaire":
        journey().pop("h5_token", None)
        flash(_t("这份问答是用另一个手机号登录时填写的，请用那个手机号登录。",
                 "These answers belong to another phone number; please sign in with that number."), "info")
        _go("h5.signin")
    raise exc


def _journey(applicant: Applicant | None = None) -> QuestionnaireSession:
    qid = journey().get("h5_q")
    if not qid:
        flash(_t("请先选择逝者户籍或去世所在的地区。", "Please choose the region first."), "info")
        _go("h5.home")
    try:
        return _told_of_changes(questionnaires.load(qid, journey().get("h5_s"), applicant))
    except ApiError as exc:
        _journey_lost(exc)
        raise  # pragma: no cover (_journey_lost always raises)


def _told_of_changes(qs: QuestionnaireSession) -> QuestionnaireSession:
    """What a change of the region's rules changed for this family, said once, on the next page shown."""
    notice = qs.rules_notice
    if notice:
        flash(_t(notice["message"], notice["message_en"]), "rules")
        questionnaires.notice_shown(qs)
    return qs


def _claimed_journey(applicant: Applicant) -> QuestionnaireSession:
    """The questionnaire, made the signed-in applicant's (the form and submission need its owner)."""
    qid = journey().get("h5_q")
    if not qid:
        flash(_t("请先选择地区并回答问题。", "Please choose the region and answer the questions first."), "info")
        _go("h5.home")
    try:
        return _told_of_changes(questionnaires.claim(qid, journey().get("h5_s"), applicant))
    except ApiError as exc:
        _journey_lost(exc)
        raise  # pragma: no cover


def _open_or_go(qs: QuestionnaireSession) -> None:
    """A submitted questionnaire shows its case (the tracking page), never a question to change."""
    case = questionnaires.submitted_case(qs)
    if case is not None:
        code = tracking.display(case.tracking_code)
        journey()["h5_case"] = code
        _go("h5.done", code=code)


def _complete_or_go(qs: QuestionnaireSession) -> None:
    if not questionnaires.state(qs).complete:
        flash(_t("还有问题没有回答完，请先回答。", "Some questions are still unanswered."), "info")
        _go("h5.question")


def _local_date(value: Any) -> str:
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA)
    return f"{moment.year}年{moment.month}月{moment.day}日" if _lang() == "zh" else moment.date().isoformat()


def _html_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# --- errors: friendly pages, never a stack trace ----------------------------------------------------

def _error_page(status: int, message: str, back: str | None = None):
    return render_template("h5/error.html", message=message, status=status, back=back), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _error_page(exc.status, _err(exc))


@bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError):
    return _error_page(422, _t("填写的内容有误，请返回检查。", "Some of what you entered is not valid; please check."))


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return _error_page(400, _t("页面停留时间太长或已失效，请返回重新打开这一页后再提交。",
                               "This page has expired. Please go back, reload the page and try again."))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    zh, en = HTTP_TEXTS.get(status, ("请求无法处理，请返回重试。", "The request could not be handled; please try again."))
    return _error_page(status, _t(zh, en))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    current_app.logger.exception("h5 page failed")
    return _error_page(500, _t("服务暂时出现问题，请稍后再试。如需帮助请拨打12345。",
                               "Something went wrong on our side. Please try again later, or call 12345."))


# --- 1. choose the region -----------------------------------------------------------------------------

@bp.get("/")
def home():
    regions = [questionnaires.dialog_for(r) for r in load_vocabulary().regions]
    return render_template("h5/home.html", regions=[{"id": d.region, "name": d.name.zh, "name_en": d.name.en}
                                                    for d in regions])


@bp.post("/start")
def start():
    try:
        data = StartQuestionnaire().load({"region": request.form.get("region", "")})
    except ValidationError:
        flash(_t("请从列表中选择一个地区。", "Please choose one of the regions."), "error")
        return redirect(url_for(".home"))
    _forget_journey()
    qs, secret = questionnaires.start(data["region"], _applicant())
    journey()["h5_q"], journey()["h5_s"] = qs.id, secret
    return redirect(url_for(".question"))


@bp.post("/signout")
def signout():
    """Sign out on this phone (a shared one, a relative's): the server forgets the journey, and the cookie, even
    one copied before, opens nothing. A submitted case stays with the account: signing in again opens it."""
    h5_session.end()
    flash(_t("已退出。本机不再保存您的登录和填写记录。", "Signed out. This phone no longer keeps your sign-in or answers."), "ok")
    return redirect(url_for(".home"))


@bp.post("/restart")
def restart():
    """Start again, after a confirmation (one stray tap must not lose the answers)."""
    if request.form.get("confirm") != "yes":
        return render_template("h5/restart.html")
    _forget_journey()
    flash(_t("已清除，请重新选择地区。", "Cleared. Please choose the region again."), "ok")
    return redirect(url_for(".home"))


# --- 2. one question per screen, and the review: h5_questions.py ---------------------------------------------

# --- 3. the checklist -------------------------------------------------------------------------------------

@bp.get("/checklist")
def checklist():
    qs = _journey(_applicant())
    _complete_or_go(qs)
    data = uploads.annotate(questionnaires.checklist(qs), qs)
    required = [m for m in data["matters"] if m["status"] == "required"]
    case = questionnaires.submitted_case(qs)
    return render_template("h5/checklist.html", c=data, can_apply=data["eligible"] is True and bool(required),
                           matters={m["id"]: m for m in data["matters"]}, departments=load_vocabulary().departments,
                           case_code=tracking.display(case.tracking_code) if case else journey().get("h5_case"),
                           requested=supplements.requested_materials(case) if case else [])


# --- 3b. the separate consent (PIPL art. 29-30), before any photo or the form --------------------------------

def _consented_or_go(qs: QuestionnaireSession, material_id: str | None = None) -> None:
    """No photo and no personal detail before the family has read and consented to the region's text."""
    if not consent.given(qs):
        _go("h5.consent_page", **({"material": material_id} if material_id else {}))


@bp.get("/consent")
def consent_page():
    qs = _journey(_applicant())
    _open_or_go(qs)
    return render_template("h5/consent.html", c=consent.body(qs), material=request.args.get("material", "")[:64])


@bp.post("/consent")
def give_consent():
    qs = _journey(_applicant())
    _open_or_go(qs)
    material_id = request.form.get("material", "")[:64]
    if request.form.get("agree") != "yes":
        return render_template("h5/consent.html", c=consent.body(qs), material=material_id,
                               error=_t("请勾选“我已阅读并同意”后再继续。", "Tick \"I have read and agree\" to go on.")), 422
    consent.give(qs, request.form.get("version", ""))
    flash(_t("已记录您的同意。", "Your consent is recorded."), "ok")
    if material_id:
        return redirect(url_for(".material", material_id=material_id))
    return redirect(url_for(".form"))


# --- 4. photos of the materials ---------------------------------------------------------------------------

def _material(qs: QuestionnaireSession, material_id: str) -> dict[str, Any]:
    uploads.expected_material(qs, material_id)  # 404 with a plain message if this checklist does not need it
    return next(m for m in uploads.material_status(qs) if m["id"] == material_id)


def _render_material(qs: QuestionnaireSession, material_id: str, error: str | None = None):
    """Before submission: photos to add and remove. After it the material is frozen (no buttons), with the way to
    the 补充材料 page when a department asks for it."""
    case = questionnaires.submitted_case(qs)
    code = tracking.display(case.tracking_code) if case else None
    requested = bool(case) and material_id in supplements.requested_materials(case)
    return render_template("h5/material.html", m=_material(qs, material_id), error=error, case_code=code,
                           requested=requested)


@bp.get("/materials/<material_id>")
def material(material_id: str):
    qs = _journey(_applicant())
    _consented_or_go(qs, material_id)
    return _render_material(qs, material_id)


@bp.post("/materials/<material_id>")
@upload_limits(lambda: session.get("h5_q"))  # the API's limits, counted together with it
def upload(material_id: str):
    qs = _journey(_applicant())
    _consented_or_go(qs, material_id)
    files = [part.read() for part in request.files.getlist("file") if part.filename]
    try:
        pages = uploads.add_pages(qs, material_id, files)
    except ApiError as exc:
        if exc.code == "material_not_expected":
            raise
        return _render_material(qs, material_id, _err(exc)), exc.status, exc.headers
    warned = [w for p in pages for w in p.warnings]
    flash(_t(f"已上传 {len(pages)} 张。", f"{len(pages)} page(s) uploaded."), "ok")
    if warned:
        flash(_t("有照片可能不够清楚，工作人员看不清时会请您补拍。",
                 "A photo may be unclear; staff will ask again if they cannot read it."), "info")
    return redirect(url_for(".material", material_id=material_id))


@bp.post("/pages/<int:page_id>/delete")
def delete_page(page_id: int):
    qs = _journey(_applicant())
    material_id = uploads.get_page(qs, page_id).material_id
    uploads.delete_page(qs, page_id)
    flash(_t("已删除这张照片。", "The photo was removed."), "ok")
    return redirect(url_for(".material", material_id=material_id))


@bp.get("/pages/<int:page_id>")
def page_image(page_id: int):
    """A stored page (``?size=thumb`` for the thumbnail), only for the questionnaire in this browser's session."""
    qs = _journey(_applicant())
    content, mimetype = uploads.read(uploads.get_page(qs, page_id), thumbnail=request.args.get("size") == "thumb")
    return file_response(content, mimetype, f"page-{page_id}")


# --- 5. sign in by SMS code ---------------------------------------------------------------------------------

@bp.get("/signin")
def signin():
    if request.args.get("change"):
        journey().pop("h5_phone", None)
    if _applicant():
        return redirect(url_for(".form") if journey().get("h5_q") else url_for(".home"))
    return _render_signin()


def _render_signin(error: str | None = None, status: int = 200, phone: str = "", challenge: dict | None = None,
                   headers: dict[str, str] | None = None):
    sent_to = journey().get("h5_phone")
    return render_template("h5/signin.html", sent_to=mask_phone(sent_to) if sent_to else None, error=error,
                           phone=phone, challenge=challenge), status, headers or {}


@bp.post("/signin/code")
def signin_code():
    """Send the code; past a few from this address, first the challenge (static/h5/challenge.js answers the
    built-in proof of work and posts again); a cap reached is the wait, in words and as Retry-After."""
    raw = request.form.get("phone", "").strip() or journey().get("h5_phone", "")
    try:
        data = SmsCodeRequest().load({"phone": raw})
        phone = auth.request_sms_code(data["phone"], address=get_remote_address(),
                                      challenge=request.form.get("challenge", "").strip()[:2000] or None)
    except ValidationError:
        return _render_signin(_t("请填写11位手机号码。", "Please enter your 11-digit mobile number."), 422, raw[:20])
    except ApiError as exc:
        if exc.code == "otp_resend_too_soon" and journey().get("h5_phone"):
            flash(_err(exc), "info")
            return redirect(url_for(".signin"))
        challenge = (current_app.extensions["sms_challenge"].issue()
                     if exc.code in ("otp_challenge_required", "otp_challenge_failed") else None)
        return _render_signin(_err(exc), exc.status, raw[:20], challenge, exc.headers)
    journey()["h5_phone"] = phone
    flash(_t(f"验证码已发送到 {mask_phone(phone)}，请查看短信。", f"A code was sent to {mask_phone(phone)}."), "ok")
    return redirect(url_for(".signin"))


@bp.post("/signin/verify")
def signin_verify():
    phone = journey().get("h5_phone")
    if not phone:
        return redirect(url_for(".signin"))
    try:
        data = SmsVerify().load({"phone": phone, "code": request.form.get("code", "").strip()})
        applicant = auth.verify_sms_code(data["phone"], data["code"])
    except ValidationError:
        return _render_signin(_t("请输入短信里的6位数字验证码。", "Please enter the 6-digit code from the text message."), 422)
    except ApiError as exc:
        if exc.code in ("otp_expired", "otp_too_many_attempts"):
            journey().pop("h5_phone", None)
        return _render_signin(_err(exc), exc.status)
    journey().pop("h5_phone", None)
    h5_session.renew()  # signed in: a new session id (one planted before is worth nothing now)
    journey()["h5_token"] = auth.issue_token(applicant)["token"]
    after = journey().pop("h5_next", None)  # a page of ours that sent the family here (the 补充材料 page)
    if after:
        return redirect(after)
    if journey().get("h5_q"):
        _claimed_journey(applicant)
        return redirect(url_for(".form"))
    return redirect(url_for(".home"))


# --- 6. the one form, and submitting it ----------------------------------------------------------------------

@cache
def _form_paths() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Every field path of ApplicationForm (``accounts.#.bank_name``), which of them are yes/no boxes and
    which are lists (several ticked boxes of one name)."""
    paths: set[str] = set()
    booleans: set[str] = set()
    lists: set[str] = set()

    def walk(schema, prefix: str) -> None:
        for name, field in schema.fields.items():
            if isinstance(field, fields.Nested):
                walk(field.schema, f"{prefix}{name}.")
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                walk(field.inner.schema, f"{prefix}{name}.#.")
            else:
                paths.add(prefix + name)
                if isinstance(field, fields.Boolean):
                    booleans.add(prefix + name)
                if isinstance(field, fields.List):
                    lists.add(prefix + name)

    walk(ApplicationForm(), "")
    return frozenset(paths), frozenset(booleans), frozenset(lists)


def _posted_form() -> dict[str, Any]:
    """The HTML form's flat ``section.field`` names as the nested body ApplicationForm loads.

    Unknown names are ignored; empty text is "not given"; a ticked box is true (unticked: not given,
    except the commitment, which is then explicitly not accepted); wholly empty accounts are dropped.
    """
    paths, booleans, lists = _form_paths()
    out: dict[str, Any] = {"deceased": {}, "applicant": {}}
    accounts: dict[int, dict[str, Any]] = {}
    for key in request.form:
        parts = key.split(".")
        index = None
        if len(parts) >= 3 and parts[0] == "accounts" and parts[1].isdigit():
            index, parts[1] = int(parts[1]), "#"
        pattern = ".".join(parts)
        if pattern not in paths or (index is not None and index >= MAX_ACCOUNTS):
            continue
        raw = request.form.get(key, "")
        if pattern in booleans:
            if not raw:
                continue
            value: Any = True
        elif pattern in lists:
            value = [v.strip()[:30] for v in request.form.getlist(key)[:10] if v.strip()] or None
        else:
            value = raw.strip()[:300] or None  # longer than any field allows: refused by the schema anyway
        node = accounts.setdefault(index, {}) if index is not None else out
        names = parts[2:] if index is not None else parts
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = value
    out["accounts"] = [a for _, a in sorted(accounts.items()) if any(v is not None for v in a.values())]
    proxy = out.get("proxy")
    if proxy is not None:
        authorization = proxy.get("authorization") or {}
        if not any(v is not None for v in authorization.values()):
            proxy.pop("authorization", None)
        if not any(v is not None for v in proxy.values()):
            out.pop("proxy")
    out["commitment_accepted"] = out.get("commitment_accepted") is True
    return out


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"deceased.name": [...]}``, in plain words."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    else:  # the field's own "中文 / English" words where it has them (invisible characters in a name, say)
        own = [m for m in messages if isinstance(m, str) and " / " in m] if isinstance(messages, list) else []
        out[prefix.rstrip(".") or "_schema"] = own or ["这一项的格式不对或太长，请检查 / this entry is too long or not valid"]
    return out


def _fact_label(dialog, fact: str, value: Any) -> str:
    """A prefilled fact in the words of the question that asked it."""
    if isinstance(value, list):
        return "、".join(_fact_label(dialog, fact, v) for v in value) if value else _t("无", "none")
    for q in dialog.questions:
        if q.fact == fact:
            option = q.option(value)
            if option is not None:
                return _t(option.label.zh, option.label.en)
    if isinstance(value, bool):
        return _t("是", "yes") if value else _t("否", "no")
    if fact == "relationship" and value in presenters.RELATIONSHIP_LABELS and _lang() == "zh":
        return presenters.RELATIONSHIP_LABELS[value]
    if fact.endswith("_date"):
        return _local_date(value)
    return str(value)


def _value_of(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _asked_fields(specs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The form facts this family still has to give (``form_view``'s ``fields``), by form section."""
    out: dict[str, list[dict[str, Any]]] = {"deceased": [], "applicant": []}
    for spec in specs:
        out.setdefault(spec["field"].split(".")[0], []).append(spec)
    return out


def _render_form(qs: QuestionnaireSession, view: dict[str, Any], data: dict[str, Any],
                 problems: dict[str, list[str]], status: int = 200, add_account: bool = False):
    dialog = questionnaires.dialog_of(qs)
    prefilled = view["prefilled"]
    accounts = list(data.get("accounts") or [])
    if not accounts or (add_account and len(accounts) < MAX_ACCOUNTS):
        accounts.append({})
    payees = load_vocabulary().payees
    return render_template(
        "h5/form.html", data=data, problems=problems, accounts=accounts, max_accounts=MAX_ACCOUNTS,
        prefilled=[{"key": k, "label": _t(*FACT_LABELS.get(k, (k, k))), "value": _fact_label(dialog, k, v)}
                   for k, v in prefilled.items()],
        asked=_asked_fields(view["fields"]), needs_proxy=view["needs"]["proxy"],
        needs_proxy_authorization=view["needs"]["proxy_authorization"], not_submitted=view["not_submitted"],
        needs_accounts=view["needs"]["accounts"] or bool(data.get("accounts")),
        show_self_support="applicant.self_supporting" in problems or _value_of(data, "applicant.self_supporting"),
        payees=[{"id": p, "name": payees[p]["name"], "name_en": payees[p]["name_en"]} for p in view["payees"]],
        commitment=_t(view["commitment"], view["commitment_en"]), value_of=_value_of,
        idempotency_key=secrets.token_urlsafe(18), case_code=journey().get("h5_case"), today=dt.date.today().isoformat()), status


@bp.get("/form")
def form():
    applicant = _applicant(required=True)
    qs = _claimed_journey(applicant)
    _complete_or_go(qs)
    if journey().get("h5_case"):
        flash(_t("这份申请已经提交，不能再修改。", "This application was submitted and can no longer be changed."), "info")
        return redirect(url_for(".done", code=journey()["h5_case"]))
    _consented_or_go(qs)
    view = applications.form_view(qs)
    data = view["form"] or {"applicant": {"phone": applicant.phone}}
    # A fresh form is not covered in red: problems are shown once the family has saved or tried to submit.
    return _render_form(qs, view, data, view["problems"] if view["form"] else {}, add_account=bool(request.args.get("add")))


@bp.post("/form")
def save_form():
    applicant = _applicant(required=True)
    qs = _claimed_journey(applicant)
    _consented_or_go(qs)
    data = _posted_form()
    try:
        body = ApplicationForm().load(data)
    except ValidationError as exc:
        return _render_form(qs, applications.form_view(qs), data, _flatten(exc.messages), 422)
    applications.save_draft(qs, body)
    if request.form.get("action") == "add_account":
        return redirect(url_for(".form", add=1, _anchor="accounts"))
    flash(_t("已保存。下次打开可以接着填。", "Saved. You can continue later."), "ok")
    return redirect(url_for(".form"))


@bp.post("/submit")
def submit():
    """Save what is on the page, then submit once: the page's idempotency key makes a double tap one case."""
    applicant = _applicant(required=True)
    qs = _claimed_journey(applicant)
    if not journey().get("h5_case"):  # a repeated tap after the case: found below
        _consented_or_go(qs)
    data = _posted_form()
    try:
        body = ApplicationForm().load(data)
    except ValidationError as exc:
        return _render_form(qs, applications.form_view(qs), data, _flatten(exc.messages), 422)
    key = request.form.get("idempotency_key", "").strip()
    if not 8 <= len(key) <= 64:
        flash(_t("页面已过期，请再点一次“提交申请”。", "The page expired; please press Submit again."), "error")
        return redirect(url_for(".form"))
    for attempt in (1, 2):
        try:
            applications.save_draft(qs, body)
            break
        except ApiError as exc:
            if exc.code == "already_submitted":  # a repeated tap: the case of this key is found below
                break
            if exc.code != "concurrent_update" or attempt == 2:  # the other tap saved the same page just now
                raise
    try:
        case, _ = applications.submit(qs, applicant, key)  # the service resolves two racing taps to one case
    except ApiError as exc:
        flash(_err(exc), "error")
        earlier = (exc.fields.get("tracking_code") or [None])[0] if exc.code == "already_submitted" else None
        if earlier:
            return redirect(url_for(".done", code=earlier))
        return redirect(url_for(".form", _anchor="problems"))
    code = tracking.display(case.tracking_code)
    journey()["h5_case"] = code
    return redirect(url_for(".done", code=code))


def _matter_names(case) -> dict[str, tuple[str, str]]:
    """Each matter in the region's own wording (the checklist's, of the rules the case was submitted under),
    else the shared vocabulary's."""
    names = {k: (v["name"], v["name_en"]) for k, v in load_vocabulary().matters.items()}
    try:
        names.update({m.id: (m.name.zh, m.name.en) for m in questionnaires.dialog_of_case(case).matters})
    except ApiError:
        pass
    names.update({m["id"]: (m["name"], m.get("name_en") or m["name"]) for m in case.checklist.get("matters", [])})
    return names


# --- 7. the tracking code ----------------------------------------------------------------------------------------

@bp.get("/done/<code>")
def done(code: str):
    from .. import printing  # ReportLab is only loaded when needed

    applicant = _applicant(required=True)
    case = applications.case_for(applicant, code)
    view = presenters.case(case)
    names = _matter_names(case)
    items = [{**w, "name": _t(*names.get(w["matter"], (w["matter"], w["matter"]))),
              "status_label": _t(*STATUS_LABELS[w["status"]]), "due": _local_date(w["due_at"])}
             for w in view["work_items"]]
    return render_template("h5/done.html", code=view["tracking_code"], items=items, not_submitted=view["not_submitted"],
                           departments=load_vocabulary().departments, asked=_asked(case),
                           next_steps=next_steps.for_case(case, applicant, current_app.config),
                           qr=Markup(printing.qr_svg(view["tracking_code"])))  # segno's SVG: path data only


def _asked(case) -> list[dict[str, Any]]:
    """What the departments ask the family for, in the page's language: each request's matter, department, the
    clerk's note, the materials to photograph and anything else typed."""
    view, names = supplements.view(case), _matter_names(case)
    departments, materials = load_vocabulary().departments, supplements.material_names(case)
    return [{**r, "name": _t(*names.get(r["matter"], (r["matter"], r["matter"]))),
             "department_name": _t(departments[r["department"]]["name"], departments[r["department"]]["name_en"]),
             "material_names": [_t(*materials[m]) for m in r["materials"]]} for r in view["requests"]]


# --- 7a. 补充材料 (一次性告知): photos of exactly what a department asked for, then 「我已补齐」 --------------------

def _supplement_case(code: str) -> tuple[Applicant, Any]:
    if not journey().get("h5_token"):  # from a text or the status page on another phone: back here after sign-in
        journey()["h5_next"] = url_for(".supplement", code=tracking.display(tracking.normalise(code) or "")[:20])
    applicant = _applicant(required=True)
    return applicant, applications.case_for(applicant, code)


def _render_supplement(case, error: str | None = None, status: int = 200):
    view = supplements.view(case)
    for m in view["materials"]:
        m["label"] = _t(m["name"], m["name_en"])
    return render_template("h5/supplement.html", code=tracking.display(case.tracking_code), asked=_asked(case),
                           materials=view["materials"], error=error), status


@bp.get("/supplement/<code>")
def supplement(code: str):
    _, case = _supplement_case(code)
    return _render_supplement(case)


@bp.post("/supplement/<code>/materials/<material_id>")
@upload_limits(lambda: session.get("h5_q"))  # the API's limits, counted together with it
def supplement_upload(code: str, material_id: str):
    _, case = _supplement_case(code)
    files = [part.read() for part in request.files.getlist("file") if part.filename]
    try:
        pages = supplements.add_pages(case, material_id, files)
    except ApiError as exc:
        return _render_supplement(case, _err(exc), exc.status)
    flash(_t(f"已上传 {len(pages)} 张。", f"{len(pages)} page(s) uploaded."), "ok")
    return redirect(url_for(".supplement", code=tracking.display(case.tracking_code), _anchor=f"m-{material_id}"))


@bp.post("/supplement/<code>/pages/<int:page_id>/delete")
def supplement_delete(code: str, page_id: int):
    _, case = _supplement_case(code)
    try:
        material_id = supplements.delete_page(case, page_id)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _render_supplement(case, _err(exc), exc.status)
    flash(_t("已删除这张照片。", "The photo was removed."), "ok")
    return redirect(url_for(".supplement", code=tracking.display(case.tracking_code), _anchor=f"m-{material_id}"))


@bp.get("/supplement/<code>/pages/<int:page_id>")
def supplement_image(code: str, page_id: int):
    """A page of this family's case (``?size=thumb`` for the thumbnail), for the 补充材料 page."""
    _, case = _supplement_case(code)
    page = supplements.supplement_page(case, page_id)
    content, mimetype = uploads.read(page, thumbnail=request.args.get("size") == "thumb")
    return file_response(content, mimetype, f"page-{page_id}")


@bp.post("/supplement/<code>/supplied")
def supplement_done(code: str):
    applicant, case = _supplement_case(code)
    try:
        supplements.declare_supplied(applicant, case)
    except ApiError as exc:
        return _render_supplement(case, _err(exc), exc.status)
    flash(_t("已告诉办理部门：材料已补齐。他们会接着办理，有结果会再通知您。",
             "The departments are told your documents are supplied; they will go on and let you know."), "ok")
    return redirect(url_for(".done", code=tracking.display(case.tracking_code)))


@bp.get("/done/<code>/application.pdf")
def application_pdf(code: str):
    from .. import printing

    case = applications.case_for(_applicant(required=True), code)
    data = presenters.printable(case, questionnaires.dialog_of_case(case), applications.submitted_at_local(case))
    return file_response(printing.render_application_pdf(data), "application/pdf", case.tracking_code)


# --- 7b. my personal information (PIPL art. 44-47, 49): download, withdraw the consent, delete ------------------

@bp.get("/privacy")
def privacy_page():
    qs = _journey(_applicant())
    case = questionnaires.submitted_case(qs)
    return render_template("h5/privacy.html", confirm=None, consent_given=consent.given(qs),
                           case_code=tracking.display(case.tracking_code) if case else None)


@bp.get("/privacy/export")
def privacy_export():
    qs = _journey(_applicant())
    return archive_response(privacy.export(qs), qs.id)


@bp.post("/privacy/withdraw")
def privacy_withdraw():
    """A first tap only asks (a stray one must not delete the photos); the confirmation does it."""
    qs = _journey(_applicant())
    if request.form.get("confirm") != "yes":
        return render_template("h5/privacy.html", confirm="withdraw")
    privacy.withdraw_consent(qs)
    flash(_t("已撤回同意，申请表里的个人信息和照片已删除。",
             "Consent withdrawn; the form's personal details and the photos are deleted."), "ok")
    return redirect(url_for(".privacy_page"))


@bp.post("/privacy/delete")
def privacy_delete():
    qs = _journey(_applicant())
    if request.form.get("confirm") != "yes":
        return render_template("h5/privacy.html", confirm="delete")
    privacy.delete(qs)
    _forget_journey()
    flash(_t("这份申请已删除。", "The application was deleted."), "ok")
    return redirect(url_for(".home"))


# --- 8. public status lookup (code + phone's last four digits) --------------------------------------------------

@bp.route("/status", methods=["GET", "POST"])
@status_limit_per_address  # the API's counts: a code tried here and there is one count (api/family.py)
@status_limit_per_code
def status():
    if request.method == "GET":
        return render_template("h5/status.html", code=request.args.get("code", "")[:20], result=None)
    code, tail = request.form.get("tracking_code", "").strip()[:20], request.form.get("phone_tail", "").strip()[:10]
    try:
        data = StatusLookup().load({"tracking_code": code, "phone_tail": tail})
        found = family.lookup(data["tracking_code"], data["phone_tail"])
        result = family.public_status(found)
    except ValidationError:
        return render_template("h5/status.html", code=code, result=None, error=_t(
            "请填写查询码，以及登录或验证过的手机号的后4位数字。",
            "Enter the tracking code and the last 4 digits of the phone number you signed in with or verified.")), 422
    except ApiError as exc:
        return render_template("h5/status.html", code=code, result=None, error=_err(exc)), exc.status
    names, departments = _matter_names(found), load_vocabulary().departments
    for m in result["matters"]:
        listed = (m["name"], m["name_en"] or m["name"]) if m.get("name") else None  # the case's (a variant's)
        m["name"] = _t(*(listed or names.get(m["matter"], (m["matter"], m["matter"]))))
        m["status_label"] = _t(*STATUS_LABELS[m["status"]])
        m["department_name"] = _t(departments[m["department"]]["name"], departments[m["department"]]["name_en"])
        m["due"] = _local_date(m["due_at"])
    # What is missing is shown to whoever has the code and the phone tail; the clerk's note (typed free text) only to
    # the applicant signed in here.
    viewer = _applicant()
    mine = viewer is not None and viewer.id == found.applicant_id
    asked = [r if mine else {**r, "note": "", "note_hidden": bool(r["note"])} for r in _asked(found)]
    return render_template("h5/status.html", code=result["tracking_code"], result=result, asked=asked)


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def not_found(unknown: str):
    """Any other /h5 address: the friendly not-found page (with this blueprint's headers), not the API's JSON."""
    raise NotFound()
