"""The one-stop window console (/console): staff sign in and work cases, server-rendered from templates/console/.

Every page calls the same services as the JSON staff API (services/staff.py, notify, uploads, applications,
questionnaires, printing); templates only show what those return. The signed-in staff id lives in the Flask
session (HttpOnly, SameSite=Lax, Secure outside testing; cleared on sign-in and sign-out), every POST form
carries a CSRF token (Flask-WTF), and a refused action is a friendly message, never a 500 or a JSON body.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..api import presenters
from ..api.files import file_response
from ..api.schemas import ApplicationForm
from ..domain import need_to_know, workflow
from ..domain.identity import IdentityError, mask_phone, mobile
from ..domain.tracking import display
from ..domain.vocabulary import load_vocabulary
from ..errors import ApiError
from ..extensions import db
from ..models import Applicant, AuditEvent, Case, Notification, QuestionnaireSession, StaffUser, WorkItem
from ..routing import MAX_ROW_ID
from ..services import applications, auth, consent, notify, paging, phones, questionnaires, staff, staff_reads, uploads

bp = Blueprint("console", __name__, static_folder=str(Path(__file__).resolve().parents[1] / "static" / "console"),
               static_url_path="/static")

CHINA = dt.timezone(dt.timedelta(hours=8))
# Who, which of their session generations (services/staff.py), since when, and the last page's time.
STAFF_KEY, GENERATION_KEY, SINCE_KEY, SEEN_KEY = "console_staff", "console_generation", "console_since", "console_seen"
PUBLIC_ENDPOINTS = ("console.sign_in", "console.static")
WORKERS = ("window", "department")  # who works items (supervisors watch)

ROLE_LABELS = {"window": "综合窗口", "department": "部门经办", "supervisor": "督办"}
EVENT_LABELS = {"case_submitted": "申请已提交", "needs_supplement": "补充材料通知", "matter_done": "事项办结",
                "matter_rejected": "不予办理", "case_complete": "全部办结", "deadline_passed": "办理超期"}
CHANNEL_LABELS = {"wechat": "微信订阅消息", "sms": "短信", "host": "政务应用消息", "console": "无联系方式"}
ACTION_LABELS = {"accepted": "受理", "in_progress": "开始办理", "done": "办结", "supplied": "材料已补齐，退回部门"}
QUEUE_FILTERS = {"open": "未办结的全部事项", "all": "全部事项（含已办结）",
                 **{s: workflow.LABELS[s][0] for s in workflow.STATUSES}}

# The one form, field by field: (key, label, input type, max length, required). Templates render these lists.
DECEASED_FIELDS = [("name", "逝者姓名", "text", 50, True), ("gender", "性别", "gender", 0, True),
                   ("ethnicity", "民族", "text", 20, False), ("id_number", "公民身份号码", "text", 24, True),
                   ("death_place", "死亡地点", "text", 100, False),
                   ("hukou_address", "户籍地址", "text", 100, False), ("cremation_date", "火化日期", "date", 10, False)]
APPLICANT_FIELDS = [("name", "申请人姓名", "text", 50, True), ("id_number", "公民身份号码", "text", 24, True),
                    ("phone", "联系电话（手机）", "tel", 20, True), ("address", "常住地址", "text", 200, True),
                    ("employer", "工作单位", "text", 100, False)]
PROXY_FIELDS = [("name", "受托人姓名", "text", 50, True), ("id_number", "受托人公民身份号码", "text", 24, True),
                ("phone", "受托人联系电话", "tel", 20, True), ("address", "受托人住址", "text", 200, False),
                ("relationship_to_principal", "与委托人关系", "text", 20, False)]
AUTHORIZATION_FIELDS = [("reason", "委托事由", "text", 200, True), ("valid_from", "委托期限自", "date", 10, False),
                        ("valid_to", "委托期限至", "date", 10, True)]
ACCOUNT_FIELDS = [("purpose", "用途", "text", 50, False), ("bank_name", "开户银行", "text", 50, True),
                  ("holder_name", "户名", "text", 50, True), ("account_number", "账号", "text", 30, True)]
ACCOUNT_ROWS, MAX_ACCOUNTS = 2, 5


# --- Who is signed in ------------------------------------------------------------------------------------

def _current_staff() -> StaffUser | None:
    """The signed-in clerk while the session stands: same generation as the account (not signed out since),
    not idle past STAFF_CONSOLE_IDLE_TIMEOUT, not older than STAFF_CONSOLE_MAX_AGE. Each page counts as activity."""
    if STAFF_KEY not in session:
        return None
    now, since, seen = time.time(), session.get(SINCE_KEY), session.get(SEEN_KEY)
    fresh = (isinstance(since, int | float) and isinstance(seen, int | float)
             and now - since <= current_app.config["STAFF_CONSOLE_MAX_AGE"]
             and now - seen <= current_app.config["STAFF_CONSOLE_IDLE_TIMEOUT"])
    user = staff.signed_in(session.get(STAFF_KEY), session.get(GENERATION_KEY)) if fresh else None
    if user is None:
        session.clear()
        return None
    session[SEEN_KEY] = now
    return user


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never another site (no open redirect)."""
    if not target:
        return None
    target = target.rstrip("?")
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or "\\" in target or not target.startswith("/console/")
            or ".." in parts.path.split("/")):
        return None
    return target


@bp.before_request
def _require_sign_in():
    g.staff = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = _current_staff()
    if user is None:
        wanted = _safe_next(request.full_path) if request.method == "GET" else None
        return redirect(url_for("console.sign_in", next=wanted))
    g.staff = user
    return None


def _require(*roles: str) -> StaffUser:
    user: StaffUser = g.staff
    if user.role not in roles:
        raise ApiError(403, "forbidden", "您的账号没有这项权限", "your account cannot do this")
    return user


# --- Errors: friendly pages ----------------------------------------------------------------------------

def _error_page(status: int, message: str):
    return render_template("console/error.html", status=status, message=message), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _error_page(exc.status, exc.message)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return _error_page(400, "页面已过期或表单来源无法确认，请返回上一页刷新后重试。")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    texts = {404: "找不到该页面", 405: "不支持该操作", 413: "提交的内容过大"}
    return _error_page(exc.code or 500, texts.get(exc.code or 500, "请求无法处理，请返回重试"))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):  # pragma: no cover - a bug; logged, never shown
    current_app.logger.exception("console error")
    return _error_page(500, "系统暂时出现问题，请稍后再试")


# --- What templates may call: labels and times, never logic --------------------------------------------

def _when(value: dt.datetime | None, date_only: bool = False) -> str:
    if value is None:
        return "—"
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA).strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")


def _department_name(department: str | None) -> str:
    return load_vocabulary().departments.get(department or "", {}).get("name", department or "")


def _matter_name(checklist: dict[str, Any] | None, matter_id: str) -> str:
    """A matter by the name the case's checklist gives it (the region's own), else the vocabulary's."""
    matter = next((m for m in (checklist or {}).get("matters", []) if m["id"] == matter_id), None)
    return matter["name"] if matter else load_vocabulary().matters.get(matter_id, {}).get("name", matter_id)


def _material_name(checklist: dict[str, Any] | None, material_id: str) -> str:
    listed = next((m for m in (checklist or {}).get("materials", []) if m["id"] == material_id), None)
    if listed:
        return listed["name"]
    return load_vocabulary().materials.get(material_id, {}).get("name", material_id)  # free text asks stay as typed


@bp.context_processor
def _helpers() -> dict[str, Any]:
    user = g.get("staff")
    return {"me": user, "role_label": ROLE_LABELS.get(user.role, "") if user else "",
            "region_name": questionnaires.dialog_for(user.region).name.zh if user else "",
            "status_label": lambda s: workflow.LABELS.get(s, (s,))[0], "department_name": _department_name,
            "when": _when, "WORKERS": WORKERS}


def _item_row(item: WorkItem, code: str, checklist: dict[str, Any] | None) -> dict[str, Any]:
    """One row of a list of work items: its case's tracking code comes with it (never the case); a list has no
    checklist (None), so the item's own copy of the matter's name (models.WorkItem.matter_name) names it."""
    return {"item": item, "code": display(code), "matter": item.matter_name or _matter_name(checklist, item.matter_id),
            "overdue": staff.is_overdue(item),
            "missing": [_material_name(checklist, m) for m in item.missing]}


def _list_row(row: staff.Row) -> dict[str, Any]:
    return _item_row(row.item, row.tracking_code, None)


def _later(endpoint: str, cursor: str | None, **args: Any) -> str | None:
    """The link to the next page of a list (None on its last page), with the page size asked for, if any."""
    limit = request.args.get("limit", "")
    args = {**args, "limit": limit if limit.isdigit() else None}
    return url_for(endpoint, **{k: v for k, v in args.items() if v}, cursor=cursor) if cursor else None


# --- Sign in and out -----------------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if _current_staff() is not None:
            return redirect(next_url or url_for("console.index"))
        return render_template("console/sign_in.html", next_url=next_url, username="", error=None)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:200]
    code = "".join(request.form.get("totp_code", "").split())[:6]
    if not username or not password or (code and not code.isdigit()):
        return render_template("console/sign_in.html", next_url=next_url, username=username,
                               error="请输入用户名和密码（动态验证码为6位数字）"), 400
    try:
        user = staff.authenticate(username, password, code or None, request.remote_addr or "")  # the API's checks
    except ApiError as exc:
        return (render_template("console/sign_in.html", next_url=next_url, username=username, error=exc.message),
                exc.status, exc.headers)
    session.clear()  # a fresh session: nothing from before sign-in survives (no fixation)
    session[STAFF_KEY], session[GENERATION_KEY] = user.id, user.session_generation
    session[SINCE_KEY] = session[SEEN_KEY] = time.time()
    return redirect(next_url or url_for("console.index"))


@bp.post("/sign-out")
def sign_out():
    """Ends this person's sessions on the server (a copy of the cookie is refused too), then this one."""
    staff.end_sessions(g.staff)
    session.clear()
    return redirect(url_for("console.sign_in"))


@bp.get("/")
def index():
    return redirect(url_for("console.supervision" if g.staff.role == "supervisor" else "console.queue"))


# --- The queue and search ------------------------------------------------------------------------------

@bp.get("/queue")
def queue():
    """The work queue in work order (services/staff.work_page), a page at a time, with counts of open work."""
    user = _require(*WORKERS)
    wanted = request.args.get("status", "open")
    wanted = wanted if wanted in QUEUE_FILTERS else "open"
    statuses = {"open": workflow.OPEN, "all": workflow.STATUSES}.get(wanted, (wanted,))
    cursor, problem = request.args.get("cursor") or None, None
    try:
        page = staff.work_page(user, statuses, cursor, paging.page_size(request.args.get("limit")))
    except ApiError as exc:
        page, problem = staff.Page([], None), exc.message
    counts = staff.open_counts(user)
    return render_template("console/queue.html", rows=[_list_row(r) for r in page.rows], wanted=wanted,
                           filters=QUEUE_FILTERS, counts={**counts, "open": sum(counts.values())}, problem=problem,
                           later=_later("console.queue", page.next_cursor, status=wanted), first=bool(cursor))


@bp.route("/search", methods=["GET", "POST"])
def search():
    """The search form (GET) and its results (POST): a name or ID tail in a URL would be written to access
    logs, proxies and browser history, so a query string is never searched."""
    user = _require(*WORKERS)
    text = request.form.get("q", "").strip()[:50] if request.method == "POST" else ""
    cases = staff.search(user, text) if text else []
    results = []
    shown = staff.search_shown(user)  # the names, as far as the table lets this person see them
    for case in cases:
        items = [w for w in case.work_items if user.role == "window" or w.department == user.department]
        form = case.form if shown else {}  # opened only to show a name the table lets this person see
        results.append({"code": display(case.tracking_code), "submitted_at": case.submitted_at,
                        "deceased": (form.get("deceased") or {}).get("name", "") if "deceased" in shown else "—",
                        "applicant": (form.get("applicant") or {}).get("name", "") if "applicant" in shown else "—",
                        "items": [_item_row(w, case.tracking_code, case.checklist) for w in items]})
    return render_template("console/search.html", text=text, results=results, searched=bool(text))


# --- A case ----------------------------------------------------------------------------------------------

@bp.get("/cases/<code>")
def case(code: str):
    user = _require(*WORKERS)
    found, items = staff.case_for(user, code)  # logs the read of personal data
    return render_template("console/case.html", **_case_view(found, items, staff.need_for(user, found)))


def _case_view(case: Case, items: list[WorkItem], need: need_to_know.Need) -> dict[str, Any]:
    """The case page: what this clerk's matters need (domain/need_to_know.py), the window all of it."""
    body = presenters.staff_case(case, need)
    vocab = load_vocabulary()
    for account in body["accounts"]:
        account["payee_label"] = vocab.payees.get(account.get("payee"), {}).get("name", account.get("payee", ""))
    relationship = presenters.RELATIONSHIP_LABELS.get(body["applicant"].get("relationship"), "")
    proxy = body["proxy"]
    session_row = db.session.get(QuestionnaireSession, case.questionnaire_id)
    photos = [m for m in uploads.material_status(session_row) if m["pages"] and need.sees_material(m["id"])] \
        if session_row else []
    work = []
    for item in items:
        row = _item_row(item, case.tracking_code, case.checklist)
        row["actions"] = [(t, ACTION_LABELS[t]) for t in workflow.TRANSITIONS[item.status] if t in ACTION_LABELS]
        row["can_reject"] = "rejected" in workflow.TRANSITIONS[item.status]
        row["can_ask"] = "needs_supplement" in workflow.TRANSITIONS[item.status]
        row["materials"] = [m for m in case.checklist.get("materials", []) if item.matter_id in m.get("for_matters", [])]
        work.append(row)
    applicant = db.session.get(Applicant, case.applicant_id)
    submitted_by = "综合窗口代办" if applicant is not None and applicant.channel == "window" else "申请人（家属）"
    return {"code": display(case.tracking_code), "case": case, "body": body, "relationship": relationship,
            "withheld": [need_to_know.GROUP_LABELS[g][0] for g in body["withheld"]], "need": need,
            "submitted_by": submitted_by,
            "proxy": proxy, "photos": photos, "uploaded": {m["id"]: len(m["pages"]) for m in photos}, "work": work,
            "audit": _audit_trail(case, {w.id for w in items}),
            "complete": workflow.case_complete(w.status for w in case.work_items)}


def _audit_trail(case: Case, visible: set[int]) -> list[dict[str, Any]]:
    """The case's audit events for the items this person sees, newest last, with who did it in words."""
    events = db.session.scalars(db.select(AuditEvent).filter_by(case_id=case.id).order_by(AuditEvent.id)).all()
    events = [e for e in events if e.work_item_id is None or e.work_item_id in visible]
    staff_ids = {int(e.actor.split(":", 1)[1]) for e in events
                 if e.actor.startswith("staff:") and e.actor.split(":", 1)[1].isdigit()}
    names = {u.id: f"{u.name}（{ROLE_LABELS.get(u.role, u.role)}）" for u in
             db.session.scalars(db.select(StaffUser).where(StaffUser.id.in_(staff_ids)))} if staff_ids else {}
    matters = {w.id: _matter_name(case.checklist, w.matter_id) for w in case.work_items}
    rows = []
    for event in events:
        kind, _, who = event.actor.partition(":")
        if kind == "staff":
            actor = names.get(int(who) if who.isdigit() else -1, "工作人员")
        elif kind == "applicant":
            actor = "申请人（家属）"
        elif kind == "callback":
            actor = f"{_department_name(who)}业务系统"
        else:
            actor = event.actor
        rows.append({"at": event.at, "actor": actor, "matter": matters.get(event.work_item_id, ""),
                     "from": event.from_status, "to": event.to_status, "reason": event.reason,
                     "missing": [_material_name(case.checklist, m) for m in (event.detail or {}).get("missing", [])]})
    return rows


@bp.get("/cases/<code>/pages/<int:page_id>")
def page_view(code: str, page_id: int):
    """One document photo at full size, with the way back to the case."""
    user = _require(*WORKERS)
    found, _ = staff.case_for(user, code, purpose=None)  # shows no field of the case
    page = staff.page_for(user, found, page_id, log=False)  # the image request itself is logged
    return render_template("console/page.html", code=display(found.tracking_code), page=page,
                           material=_material_name(found.checklist, page.material_id))


@bp.get("/cases/<code>/pages/<int:page_id>/image")
def page_image(code: str, page_id: int):
    user = _require(*WORKERS)
    found, _ = staff.case_for(user, code, purpose=None)  # the photo is what is read, and logged
    page = staff.page_for(user, found, page_id)
    content, mimetype = uploads.read(page, thumbnail=request.args.get("size") == "thumb")
    return file_response(content, mimetype, f"{found.tracking_code}-page-{page.id}")


@bp.get("/cases/<code>/application.<fmt>")
def printable(code: str, fmt: str):
    from .. import printing  # ReportLab is only loaded when someone prints

    user = _require(*WORKERS)
    if fmt not in ("html", "pdf"):
        raise ApiError(404, "not_found", "找不到该页面", "no such page")
    found, _ = staff.case_for(user, code, purpose="print", what=f"application.{fmt}")
    data = presenters.printable(found, questionnaires.dialog_of_case(found), applications.submitted_at_local(found),
                                staff.need_for(user, found))  # masked, and only the field groups the table gives
    if fmt == "html":
        return Response(printing.render_application_html(data), mimetype="text/html")
    return file_response(printing.render_application_pdf(data), "application/pdf", found.tracking_code)


@bp.post("/items/<int:item_id>/transition")
def transition(item_id: int):
    """Accept, start, finish, reject (with a reason) or ask for supplements (ticking what is missing)."""
    user = _require(*WORKERS)
    item = db.session.get(WorkItem, item_id)
    if item is None or not staff.can_act(user, item):
        raise ApiError(404, "work_item_not_found", "找不到该事项", "no such work item")
    back = url_for("console.case", code=display(item.case.tracking_code)) + f"#item-{item.id}"
    target = request.form.get("status", "")
    reason = request.form.get("reason", "").strip() or None
    missing = [m.strip() for m in request.form.getlist("missing") if m.strip()]
    missing += [line.strip() for line in request.form.get("missing_other", "").splitlines() if line.strip()]
    version = request.form.get("version", "")
    problem = None
    if target not in workflow.STATUSES:
        problem = "未知的办理状态"
    elif reason and len(reason) > 500:
        problem = "理由不能超过500字"
    elif len(missing) > 30 or any(len(m) > 100 for m in missing):
        problem = "需补充的材料最多30项，每项不超过100字"
    elif not version.isdigit():
        problem = "页面已过期，请刷新后再操作"
    if problem:
        flash(problem, "error")
        return redirect(back)
    matter = _matter_name(item.case.checklist, item.matter_id)
    try:
        staff.transition(f"staff:{user.id}", item, target, reason, list(dict.fromkeys(missing)) or None, int(version))
    except ApiError as exc:
        flash(f"“{matter}”未能更改：{exc.message}", "error")
        return redirect(back)
    flash(f"“{matter}”已改为“{workflow.LABELS[target][0]}”", "ok")
    return redirect(back)


# --- Supervision and undelivered messages ----------------------------------------------------------------

@bp.get("/supervision")
def supervision():
    """Overdue and due-soon work, a page of each (a cursor pages the list it came from), with counts from SQL."""
    user = _require("window", "supervisor")
    cursor, problem = request.args.get("cursor") or None, None
    try:
        pages = staff.supervision(user, cursor, paging.page_size(request.args.get("limit")))
    except ApiError as exc:
        pages, problem = {k: staff.Page([], None) for k in staff.SUPERVISION_LISTS}, exc.message
    return render_template("console/supervision.html", counts=staff.supervision_counts(user), problem=problem,
                           first=bool(cursor), paged=bool(cursor) and any(p.rows for p in pages.values()),
                           overdue=[_list_row(r) for r in pages["overdue"].rows],
                           due_soon=[_list_row(r) for r in pages["due_soon"].rows],
                           later={k: _later("console.supervision", p.next_cursor) for k, p in pages.items()})


@bp.get("/reads")
def reads():
    """The log of staff reads of the region's families' data, newest first, a page at a time (supervisors)."""
    user = _require("supervisor")
    wanted = {k: request.args.get(k, "").strip()[:64] for k in ("staff", "case")}
    before, limit = request.args.get("before", ""), request.args.get("limit", "")
    problem, page = None, staff_reads.Page([], None)
    try:
        page = staff_reads.reads(user, wanted["staff"] or None, wanted["case"] or None,
                                 int(before) if before.isdigit() and int(before) <= MAX_ROW_ID else None,
                                 int(limit) if limit.isdigit() else staff_reads.PAGE_SIZE)
    except ApiError as exc:
        if exc.status == 403:
            raise
        problem = exc.message
    rows = [_read_row(r) for r in page.reads]
    later = url_for("console.reads", **{k: v for k, v in wanted.items() if v}, before=page.next_before,
                    **({"limit": limit} if limit.isdigit() else {})) if page.next_before else None
    return render_template("console/reads.html", rows=rows, wanted=wanted, later=later, problem=problem,
                           first=bool(before))


def _read_row(read: staff_reads.Read) -> dict[str, Any]:
    """One read in words: who (name, role, department), which case, why, what it showed."""
    log, reader = read.log, read.reader
    shown = []
    for group in log.shown or []:
        if group.startswith("photo:"):
            shown.append("照片：" + _material_name(read.case.checklist, group.split(":", 1)[1]))
        else:
            shown.append(need_to_know.GROUP_LABELS.get(group, (group,))[0])
    return {"at": log.at, "who": reader.name, "username": reader.username, "role": ROLE_LABELS.get(reader.role, reader.role),
            "department": _department_name(reader.department) if reader.department else "",
            "code": display(read.case.tracking_code), "purpose": staff_reads.PURPOSES.get(log.purpose, (log.purpose,))[0],
            "shown": "、".join(shown) if log.shown is not None else "（未记录）"}


def _recipient(note: Notification) -> str:
    if note.channel == "sms":
        return mask_phone(note.recipient)
    if note.channel == "host":
        host = note.recipient.split(":", 1)[0]
        return current_app.config["HOST_CHANNELS"].get(host, {}).get("name", host)
    return CHANNEL_LABELS.get(note.channel, note.channel)


@bp.get("/notifications")
def notifications():
    user = _require("window", "supervisor")
    cursor, problem = request.args.get("cursor") or None, None
    try:
        page = staff.dead_notifications(user, cursor, paging.page_size(request.args.get("limit")), with_recipient=True)
    except ApiError as exc:
        page, problem = staff.DeadPage([], None), exc.message
    rows = [{"note": r.note, "code": display(r.tracking_code), "event": EVENT_LABELS.get(r.note.event, r.note.event),
             "channel": CHANNEL_LABELS.get(r.note.channel, r.note.channel), "recipient": _recipient(r.note)}
            for r in page.rows]
    return render_template("console/notifications.html", rows=rows, problem=problem, first=bool(cursor),
                           later=_later("console.notifications", page.next_cursor))


@bp.post("/notifications/<int:note_id>/resend")
def resend(note_id: int):
    user = _require("window")
    note = db.session.get(Notification, note_id)
    found = db.session.get(Case, note.case_id) if note else None
    if note is None or found.region != user.region:
        raise ApiError(404, "notification_not_found", "找不到该消息", "no such undelivered message")
    if note.status != "dead":
        flash("这条消息已经在发送或已送达", "ok")
    else:
        notify.resend(note)
        flash(f"已重新发送查询码 {display(found.tracking_code)} 的“{EVENT_LABELS.get(note.event, note.event)}”", "ok")
    return redirect(url_for("console.notifications"))


# --- Applying at the window on behalf of a family ----------------------------------------------------------
# The clerk answers the region's questionnaire for the family, screen by screen, then fills in the one form.
# Each such questionnaire belongs to an applicant of channel "window" named after the clerk and the
# questionnaire, so only the clerk who started it can continue it.

def _window_user_id(user: StaffUser, session_id: str) -> str:
    return f"{user.id}:{session_id}"


def _window_session(session_id: str) -> tuple[QuestionnaireSession, Applicant]:
    user = _require("window")
    applicant = db.session.scalars(db.select(Applicant).filter_by(
        channel="window", channel_user_id=_window_user_id(user, session_id[:64]))).first()
    if applicant is None:
        raise ApiError(404, "session_not_found", "找不到这份代办申请", "no such window application")
    row = questionnaires.load(session_id, None, applicant)
    if row.rules_notice:  # the clerk tells the family what a change of the region's rules changed for them
        flash(row.rules_notice["message"], "info")
        questionnaires.notice_shown(row)
    return row, applicant


def _case_of(row: QuestionnaireSession) -> Case | None:
    return db.session.scalars(db.select(Case).filter_by(questionnaire_id=row.id)).first()


@bp.get("/applications")
def window_applications():
    user = _require("window")
    drafts = db.session.scalars(
        db.select(QuestionnaireSession).join(Applicant, QuestionnaireSession.owner_id == Applicant.id)
        .where(Applicant.channel == "window", Applicant.channel_user_id.startswith(f"{user.id}:", autoescape=True),
               ~db.select(Case.id).where(Case.questionnaire_id == QuestionnaireSession.id).exists())
        .order_by(QuestionnaireSession.updated_at.desc()).limit(20)).all()
    rows = [{"id": d.id, "updated_at": d.updated_at, "answered": len(d.answers),
             "deceased": (d.form_draft.get("deceased") or {}).get("name", "")} for d in drafts]
    return render_template("console/applications.html", rows=rows)


@bp.post("/applications")
def start_application():
    user = _require("window")
    row, secret = questionnaires.start(user.region)
    applicant = auth.find_or_create("window", _window_user_id(user, row.id))
    questionnaires.claim(row.id, secret, applicant)
    return redirect(url_for("console.question", session_id=row.id))


@bp.get("/applications/<session_id>")
def question(session_id: str):
    row, _ = _window_session(session_id)
    if (done := _case_of(row)) is not None:
        return redirect(url_for("console.case", code=display(done.tracking_code)))
    state = questionnaires.state(row)
    if state.current is None:
        return redirect(url_for("console.window_checklist", session_id=row.id))
    current = presenters.question(state.current)
    chosen: Any = state.answers.get(state.current.id)  # gone back to: its answer is kept, shown ticked
    if isinstance(chosen, bool):
        selected = {"true" if chosen else "false"}
    elif isinstance(chosen, list):
        selected = {str(v) for v in chosen}
    else:
        selected = {str(chosen)} if chosen is not None else set()
    return render_template("console/question.html", session_id=row.id, q=current, selected=selected,
                           text_value=chosen if isinstance(chosen, str) else "", progress=state.progress,
                           can_go_back=state.step > 1, today=dt.date.today().isoformat())


@bp.post("/applications/<session_id>/answer")
def answer(session_id: str):
    row, _ = _window_session(session_id)
    here = url_for("console.question", session_id=row.id)
    asked = questionnaires.dialog_of(row).question(request.form.get("question", ""))
    if asked is None:
        flash("找不到这个问题，请重新作答", "error")
        return redirect(here)
    value: Any
    if asked.type == "multiple":
        value = request.form.getlist("value")
    elif asked.type == "yes_no":
        value = {"true": True, "false": False}.get(request.form.get("value", ""))
    else:
        value = request.form.get("value", "")
    if value is None or value == "" or value == []:
        flash("请先选择或填写答案", "error")
        return redirect(here)
    try:
        questionnaires.answer(row, asked.id, value)
    except ApiError as exc:
        flash(exc.message, "error")
    return redirect(here)


@bp.post("/applications/<session_id>/back")
def back(session_id: str):
    row, _ = _window_session(session_id)
    try:
        questionnaires.back(row)
    except ApiError as exc:
        flash(exc.message, "error")
    return redirect(url_for("console.question", session_id=row.id))


@bp.get("/applications/<session_id>/checklist")
def window_checklist(session_id: str):
    row, _ = _window_session(session_id)
    if (done := _case_of(row)) is not None:
        return redirect(url_for("console.case", code=display(done.tracking_code)))
    if not questionnaires.state(row).complete:
        return redirect(url_for("console.question", session_id=row.id))
    checklist = questionnaires.checklist(row)
    required = [m for m in checklist["matters"] if m["status"] == "required"]
    return render_template("console/checklist.html", session_id=row.id, checklist=checklist, required=required,
                           can_apply=checklist["eligible"] is True and bool(required))


def _with_asked(section: str, base: list, asked: list[dict[str, Any]]) -> list:
    """A section's field list plus the form facts this questionnaire left to the form (form view ``fields``)."""
    extra = [(spec["field"].split(".", 1)[1], spec["label"] + (f"（{spec['note']}）" if spec.get("note") else ""),
              ("multiple" if spec["multiple"] else "select") if spec["options"] else spec["type"],
              10 if spec["type"] == "date" else 100, True)
             for spec in asked if spec["field"].split(".")[0] == section]
    return [*base, *extra]


def _html_choice(value: Any) -> Any:
    """An option's value as the form posts it back ("true"/"false" for a yes/no field)."""
    return str(value).lower() if isinstance(value, bool) else value


def _form_from_request(proxy_needed: bool, self_support: bool, deceased_fields: list,
                       applicant_fields: list, authorization_needed: bool = True) -> dict[str, Any]:
    """The posted fields as the one form's JSON shape (empty fields left out)."""
    data = request.form

    def section(prefix: str, fields: list) -> dict[str, Any]:
        out = {}
        for key, *spec in fields:
            if spec[1:2] == ["multiple"]:  # several options of one list field
                values = [v for v in data.getlist(f"{prefix}-{key}") if v.strip()]
                if values:
                    out[key] = values
                continue
            value = data.get(f"{prefix}-{key}", "").strip()
            if value:
                out[key] = value
        return out

    form: dict[str, Any] = {"deceased": section("deceased", deceased_fields),
                            "applicant": section("applicant", applicant_fields)}
    if self_support and data.get("applicant-self_supporting") == "yes":
        form["applicant"]["self_supporting"] = True
    if proxy_needed:
        proxy = section("proxy", PROXY_FIELDS)
        if authorization_needed:
            proxy["authorization"] = {**section("proxy-authorization", AUTHORIZATION_FIELDS),
                                      "signed": data.get("proxy-authorization-signed") == "yes"}
        form["proxy"] = proxy
    accounts = []
    for i in range(MAX_ACCOUNTS):
        account = section(f"accounts-{i}", [*ACCOUNT_FIELDS, ("payee",)])
        if account:
            accounts.append(account)
    form["accounts"] = accounts
    form["commitment_accepted"] = data.get("commitment_accepted") == "yes"
    return form


def _field_labels(deceased_fields: list, applicant_fields: list) -> dict[str, str]:
    """``deceased.name`` -> 逝者姓名, and so on for every field the window form posts."""
    labels = {f"{section}.{key}": label for section, specs in (
        ("deceased", deceased_fields), ("applicant", applicant_fields), ("proxy", PROXY_FIELDS),
        ("proxy.authorization", AUTHORIZATION_FIELDS)) for key, label, *_ in specs}
    labels.update({f"accounts.{i}.{key}": f"第{i + 1}个收款账户的{label}" for i in range(MAX_ACCOUNTS)
                   for key, label, *_ in ACCOUNT_FIELDS})
    return labels


def _flat(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"deceased.name": ["中文"]}``."""
    if not isinstance(messages, dict):
        return {prefix.rstrip(".") or "_schema": _short([str(m) for m in messages])}
    return {path: found for key, value in messages.items() for path, found in _flat(value, f"{prefix}{key}.").items()}


def _short(messages: list[str]) -> list[str]:
    return [m.split(" / ")[0] for m in messages]  # the Chinese half of "中文 / English"


@bp.route("/applications/<session_id>/consent", methods=["GET", "POST"])
def window_consent(session_id: str):
    """The clerk shows (or reads out) the region's consent text and records that the family consented
    (PIPL art. 29-30): recorded with the clerk's account, before the form takes any personal detail."""
    user = _require("window")
    row, _ = _window_session(session_id)
    if (done := _case_of(row)) is not None:
        return redirect(url_for("console.case", code=display(done.tracking_code)))
    here = url_for("console.window_consent", session_id=row.id)
    if request.method == "POST":
        if request.form.get("family_consented") != "yes":
            flash("请向申请人出示或宣读告知内容，申请人同意后勾选“申请人已同意”", "error")
            return redirect(here)
        try:
            consent.give(row, request.form.get("version", ""), recorded_by=user.username)
        except ApiError as exc:
            flash(exc.message, "error")
            return redirect(here)
        flash("已记录申请人的同意", "ok")
        return redirect(url_for("console.window_form", session_id=row.id))
    return render_template("console/consent.html", session_id=row.id, c=consent.body(row))


@bp.route("/applications/<session_id>/form", methods=["GET", "POST"])
def window_form(session_id: str):
    user = _require("window")
    row, applicant = _window_session(session_id)
    if (done := _case_of(row)) is not None:
        return redirect(url_for("console.case", code=display(done.tracking_code)))
    if not questionnaires.state(row).complete:
        return redirect(url_for("console.question", session_id=row.id))
    if not consent.given(row):
        return redirect(url_for("console.window_consent", session_id=row.id))
    dialog = questionnaires.dialog_of(row)
    view = applications.form_view(row)
    proxy_needed = view["needs"]["proxy"]
    self_support = bool(dialog.form.get("minor_requires_self_support"))
    deceased_fields = _with_asked("deceased", DECEASED_FIELDS, view["fields"])
    applicant_fields = _with_asked("applicant", APPLICANT_FIELDS, view["fields"])
    here = url_for("console.window_form", session_id=row.id)
    if request.method == "POST":
        try:
            form = ApplicationForm().load(_form_from_request(proxy_needed, self_support, deceased_fields,
                                                             applicant_fields, view["needs"]["proxy_authorization"]))
        except ValidationError as exc:
            labels = _field_labels(deceased_fields, applicant_fields)
            flash("表单内容格式有误，请检查后重试：" + "；".join(
                f"{labels.get(path, path)}：{messages[0]}" for path, messages in _flat(exc.messages).items()), "error")
            return redirect(here)
        view = applications.save_draft(row, form)
        if request.form.get("action") != "submit":
            flash("已保存", "ok")
            return redirect(here)
        key = request.form.get("idempotency_key", "")
        if view["problems"] or not 8 <= len(key) <= 64:
            flash("表单还有需要修改的地方，请按提示逐项修改", "error")
            return redirect(here)
        phone = (form.get("applicant") or {}).get("phone")
        try:
            phone = mobile(phone) if phone else None
        except IdentityError:
            phone = None
        # The clerk typed it: contact data, not proof (texts go to it once verified by a read-back code).
        applicant = auth.find_or_create("window", _window_user_id(user, row.id), phone, phone_verified=False)
        try:
            created_case, _ = applications.submit(row, applicant, key)
        except ApiError as exc:
            flash(exc.message, "error")
            return redirect(here)
        flash(f"申请已提交，查询码 {display(created_case.tracking_code)}。请打印申请表交申请人签字。", "ok")
        return redirect(url_for("console.case", code=display(created_case.tracking_code)))
    draft = view["form"]
    rows = max(ACCOUNT_ROWS, min(MAX_ACCOUNTS, len(draft.get("accounts") or []) + 1))
    problems = {k: _short(v) for k, v in view["problems"].items()} if draft else {}
    choices = {spec["field"]: [(_html_choice(o["value"]), o["label"]) for o in spec["options"]]
               for spec in view["fields"] if spec["options"]}
    payees = [(p, load_vocabulary().payees.get(p, {}).get("name", p)) for p in view["payees"]]
    return render_template("console/form.html", session_id=row.id, draft=draft, problems=problems,
                           prefilled=view["prefilled"], commitment=view["commitment"], proxy_needed=proxy_needed,
                           authorization_needed=view["needs"]["proxy_authorization"], self_support=self_support,
                           deceased_fields=deceased_fields, applicant_fields=applicant_fields,
                           choices=choices, not_submitted=view["not_submitted"], needs_accounts=view["needs"]["accounts"],
                           proxy_fields=PROXY_FIELDS, authorization_fields=AUTHORIZATION_FIELDS,
                           account_fields=ACCOUNT_FIELDS, account_rows=rows, payees=payees,
                           relationship=presenters.RELATIONSHIP_LABELS.get(view["prefilled"].get("relationship"), ""),
                           idempotency_key=secrets.token_hex(16), phone_check=_phone_check(row, applicant))


# The family is at the window with their phone: the clerk sends a code to the form's number and types in the
# code the family reads back. Only then do official texts go to that number (services/phones.py).

def _draft_phone(row: QuestionnaireSession) -> str | None:
    try:
        return mobile(str((row.form_draft.get("applicant") or {}).get("phone") or ""))
    except IdentityError:
        return None


def _phone_check(row: QuestionnaireSession, applicant: Applicant) -> dict[str, Any]:
    phone = _draft_phone(row)
    return {"phone": phone, "masked": mask_phone(phone) if phone else "",
            "verified": phone is not None and phone in phones.verified(applicant.id)}


@bp.post("/applications/<session_id>/form/phone/code")
def phone_code(session_id: str):
    row, applicant = _window_session(session_id)
    here = url_for("console.window_form", session_id=row.id)
    phone = _draft_phone(row)
    if phone is None:
        flash("请先填写并保存申请人手机号", "error")
        return redirect(here)
    try:
        auth.request_sms_code(phone, auth.verification_scope(applicant))
    except ApiError as exc:
        flash(exc.message, "error")
        return redirect(here)
    flash(f"验证码已发送到 {mask_phone(phone)}，请申请人读出短信中的6位验证码", "ok")
    return redirect(here)


@bp.post("/applications/<session_id>/form/phone/verify")
def phone_verify(session_id: str):
    row, applicant = _window_session(session_id)
    here = url_for("console.window_form", session_id=row.id)
    phone, code = _draft_phone(row), request.form.get("code", "").strip()[:6]
    if phone is None or not code.isdigit():
        flash("请输入申请人读出的6位数字验证码", "error")
        return redirect(here)
    try:
        auth.verify_phone(applicant, phone, code, how="window")
    except ApiError as exc:
        flash(exc.message, "error")
        return redirect(here)
    flash(f"{mask_phone(phone)} 手机号已验证", "ok")
    return redirect(here)
