"""The staff back office API: sign in, the work queue, a case, moving work items, supervision."""

from __future__ import annotations

from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..domain import workflow
from ..errors import ApiError
from ..extensions import db
from ..models import StaffUser, WorkItem, iso
from ..routing import MAX_ROW_ID
from ..services import paging, staff, staff_reads
from . import presenters, responses
from .files import file_response
from .operations import BINARY, NO_CONTENT, PUBLIC, SIGNED, STAFF, header, operation, query
from .schemas import Text, json_body

bp = Blueprint("staff", __name__, description="The staff back office, and department systems' callbacks")


class StaffSignIn(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, validate=validate.Length(min=1, max=200))
    totp_code = Text(validate=validate.Regexp(r"^[0-9]{6}$", error="六位数字 / six digits"),
                     metadata={"description": "the authenticator app's 6-digit code (required once enrolled, "
                                              "and of everyone with STAFF_REQUIRE_TOTP)"})


class Transition(Schema):
    status = Text(required=True, validate=validate.OneOf(workflow.STATUSES))
    reason = Text(validate=validate.Length(max=500), multiline=True)
    missing = fields.List(Text(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=30))
    version = fields.Integer(validate=validate.Range(min=1, max=MAX_ROW_ID))


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "sign_in_required", "请先登录", "sign in first")
    return token.strip()


def current_staff() -> StaffUser:
    return staff.from_token(_bearer())


@bp.post("/staff/auth")
@bp.response(200, responses.StaffToken)
@operation("signInStaff", "Staff sign-in (password and, once enrolled, the authenticator code)", PUBLIC, body=StaffSignIn,
           errors=(401, 403, 429))
def sign_in():
    data = StaffSignIn().load(json_body())
    return jsonify(staff.sign_in(data["username"], data["password"], data.get("totp_code"), request.remote_addr or ""))


@bp.post("/staff/auth/sign-out")
@operation("signOutStaff", "Sign out: this token, the person's other tokens and console sessions end now", STAFF,
           errors=(401,), success={204: NO_CONTENT})
def sign_out():
    """End this person's sessions: this token, their other tokens and their console sessions."""
    staff.sign_out_token(current_staff(), _bearer())
    return "", 204


CURSOR = query("cursor", "the `next_cursor` of the page before (opaque; a cursor of another list is a 422 "
                         "invalid_cursor)", {"type": "string", "maxLength": 200})
LIMIT = query("limit", f"rows per page, at most {paging.MAX_PAGE_SIZE} (more: a 422 invalid_limit)",
              {"type": "integer", "minimum": 1, "maximum": paging.MAX_PAGE_SIZE, "default": paging.PAGE_SIZE})
PAGED = (f"A page of `limit` rows (default {paging.PAGE_SIZE}, at most {paging.MAX_PAGE_SIZE}); the next page is "
         "`cursor=next_cursor`, until `next_cursor` is null. A keyset cursor: rows added meanwhile neither repeat "
         "nor vanish.")


@bp.get("/staff/work-items")
@bp.response(200, responses.WorkQueue)
@operation("listWorkItems", "My work queue, by due date (none last), a page at a time", STAFF, errors=(401, 403, 422),
           description=PAGED,
           parameters=[query("status", "only items in this status", {"type": "string", "enum": list(workflow.STATUSES)}),
                       CURSOR, LIMIT])
def work_queue():
    user = current_staff()
    if user.role == "supervisor":
        raise ApiError(403, "forbidden", "督办账号不办理事项", "supervisors do not work items")
    status = request.args.get("status")
    if status is not None and status not in workflow.STATUSES:
        raise ApiError(422, "unknown_status", "未知的办理状态", f"unknown status {status!r}")
    page = staff.queue(user, status, request.args.get("cursor"), paging.page_size(request.args.get("limit")))
    return jsonify({"items": [presenters.work_item(r.item, r.tracking_code) for r in page.rows],
                    "next_cursor": page.next_cursor})


@bp.get("/staff/cases/<code>")
@bp.response(200, responses.StaffCase)
@operation("getStaffCase", "A case, as much of it as my matters need (reads are logged)", STAFF, errors=(401, 403, 404))
def get_case(code: str):
    user = current_staff()
    case, items = staff.case_for(user, code)
    body = presenters.staff_case(case, staff.need_for(user, case))
    body["work_items"] = [presenters.work_item(w) for w in items]
    return jsonify(body)


@bp.get("/staff/cases/<code>/pages/<int:page_id>")
@operation("getStaffPage", "A document photo of the case (logged)", STAFF, errors=(401, 403, 404),
           parameters=[query("size", "thumb: the thumbnail", {"type": "string", "enum": ["thumb"]})],
           success={200: {"description": "the page", "content": {"image/jpeg": {"schema": BINARY},
                                                                 "application/pdf": {"schema": BINARY}}}})
def view_page(code: str, page_id: int):
    """A document photo of a case this person works on, of a material their matters list; the read is logged."""
    from ..services import uploads

    user = current_staff()
    case, _ = staff.case_for(user, code, purpose=None)  # the photo is what is read, and logged
    page = staff.page_for(user, case, page_id)
    content, mimetype = uploads.read(page, thumbnail=request.args.get("size") == "thumb")
    return file_response(content, mimetype, f"{case.tracking_code}-page-{page.id}")


@bp.post("/staff/work-items/<int:item_id>/transitions")
@bp.response(200, responses.StaffWorkItem)
@operation("moveWorkItem", "Move a work item (send `version` to refuse a stale move: 409)", STAFF, body=Transition,
           errors=(401, 403, 404, 409))
def move(item_id: int):
    user = current_staff()
    data = Transition().load(json_body())
    item = db.session.get(WorkItem, item_id)
    if item is None or not staff.can_act(user, item):
        raise ApiError(404, "work_item_not_found", "找不到该事项", "no such work item")
    moved = staff.transition(f"staff:{user.id}", item, data["status"], data.get("reason"), data.get("missing"),
                             data.get("version"))
    return jsonify(presenters.work_item(moved))


@bp.get("/staff/supervision")
@bp.response(200, responses.Supervision)
@operation("getSupervision", "Overdue and due-soon items, by due date, a page of each", STAFF, errors=(401, 403, 422),
           description=PAGED + " Each list has its own cursor (`next_cursor.overdue`, `next_cursor.due_soon`); "
                               "with a cursor the answer is the next page of that list, the other list empty.",
           parameters=[CURSOR, LIMIT])
def supervision():
    user = current_staff()
    if user.role not in ("supervisor", "window"):
        raise ApiError(403, "forbidden", "无督办权限", "only supervisors and the window see supervision lists")
    pages = staff.supervision(user, request.args.get("cursor"), paging.page_size(request.args.get("limit")))
    body: dict = {k: [presenters.work_item(r.item, r.tracking_code) for r in p.rows] for k, p in pages.items()}
    body["next_cursor"] = {k: p.next_cursor for k, p in pages.items()}
    return jsonify(body)


@bp.get("/staff/ratings")
@bp.response(200, responses.Ratings)
@operation("getRatings", "Ratings per department", STAFF, errors=(401, 403))
def ratings():
    user = current_staff()
    if user.role != "supervisor":
        raise ApiError(403, "forbidden", "无督办权限", "only supervisors see the ratings")
    from ..services.family import rating_summary

    return jsonify({"region": user.region, "departments": rating_summary(user.region)})


class AccessLogQuery(Schema):
    staff = Text(validate=validate.Length(min=1, max=64))
    case = Text(validate=validate.Length(min=1, max=20))
    before = fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ROW_ID))
    limit = fields.Integer(strict=False, validate=validate.Range(min=1, max=staff_reads.MAX_PAGE_SIZE))


@bp.get("/staff/access-log")
@bp.response(200, responses.StaffReads)
@operation("listStaffReads", "Staff reads of families' personal data in my region, newest first (supervisors)", STAFF,
           errors=(401, 403, 422), description=(
               "Every read of a case's personal data by staff (the case opened, printed, a photo, a search result), "
               "with its purpose and the field groups it showed, never the data. Pages of `limit` (default "
               f"{staff_reads.PAGE_SIZE}, at most {staff_reads.MAX_PAGE_SIZE}); the next page is `before=next_before`."),
           parameters=[query("staff", "only this username's reads", {"type": "string", "maxLength": 64}),
                       query("case", "only this case (its tracking code)", {"type": "string", "maxLength": 20}),
                       query("before", "only reads older than this id (the last page's next_before)",
                             {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}),
                       query("limit", f"reads per page, at most {staff_reads.MAX_PAGE_SIZE}",
                             {"type": "integer", "minimum": 1, "maximum": staff_reads.MAX_PAGE_SIZE,
                              "default": staff_reads.PAGE_SIZE})])
def access_log():
    """The supervisor's view of who read which family's data, and why."""
    user = current_staff()
    staff_reads.require_supervisor(user)
    args = AccessLogQuery().load(request.args)
    page = staff_reads.reads(user, args.get("staff"), args.get("case"), args.get("before"),
                             args.get("limit", staff_reads.PAGE_SIZE))
    return jsonify({"reads": [presenters.staff_read(r) for r in page.reads], "next_before": page.next_before})


class CallbackBody(Schema):
    tracking_code = Text(required=True, validate=validate.Length(min=1, max=20))
    work_item_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ROW_ID))
    status = Text(required=True, validate=validate.OneOf(workflow.STATUSES))
    reason = Text(validate=validate.Length(max=500), multiline=True)
    missing = fields.List(Text(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=30))


@bp.post("/callbacks/<department>")
@bp.response(200, responses.StaffWorkItem)
@operation("departmentCallback", "A department system reports a result (signed, fresh, once)", SIGNED,
           body=CallbackBody, errors=(401, 404, 409),
           parameters=[header("X-Timestamp", "Unix seconds, within CALLBACK_MAX_SKEW",
                              {"type": "string", "pattern": "^[0-9]{1,12}$"})])
def department_callback(department: str):
    """A department system reports a result: signed (HMAC over timestamp and body), fresh, and once."""
    from ..domain import tracking
    from ..services import callbacks

    raw = request.get_data(cache=True)
    callbacks.verify(department, request.headers.get("X-Timestamp"), request.headers.get("X-Signature"), raw)
    data = CallbackBody().load(json_body())
    item = db.session.get(WorkItem, data["work_item_id"])
    if (item is None or item.department != department
            or item.case.tracking_code != tracking.normalise(data["tracking_code"])):
        raise ApiError(404, "work_item_not_found", "找不到该事项", "no such work item for this department")
    moved = callbacks.apply(department, request.headers["X-Signature"], item, data["status"], data.get("reason"),
                            data.get("missing"))
    return jsonify(presenters.work_item(moved))


@bp.get("/staff/notifications/dead")
@bp.response(200, responses.DeadNotifications)
@operation("listDeadNotifications", "Undelivered notifications, oldest first, a page at a time", STAFF,
           errors=(401, 403, 422), description=PAGED, parameters=[CURSOR, LIMIT])
def dead_letters():
    """Messages that could not be delivered, for the window to re-send or call the family."""
    user = current_staff()
    if user.role not in ("window", "supervisor"):
        raise ApiError(403, "forbidden", "无权查看", "only the window and supervisors see undelivered messages")
    page = staff.dead_notifications(user, request.args.get("cursor"), paging.page_size(request.args.get("limit")))
    return jsonify({"notifications": [{"id": n.id, "event": n.event, "channel": n.channel, "attempts": n.attempts,
                                       "last_error": n.last_error, "created_at": iso(n.created_at)}
                                      for n in (r.note for r in page.rows)],
                    "next_cursor": page.next_cursor})


@bp.post("/staff/notifications/<int:note_id>/resend")
@bp.response(200, responses.Resent)
@operation("resendNotification", "Re-send an undelivered notification", STAFF, errors=(401, 404))
def resend(note_id: int):
    from ..models import Case, Notification
    from ..services import notify

    user = current_staff()
    note = db.session.get(Notification, note_id)
    case = db.session.get(Case, note.case_id) if note else None
    if note is None or case.region != user.region or user.role != "window" or note.status != "dead":
        raise ApiError(404, "notification_not_found", "找不到该消息", "no such undelivered message")
    notify.resend(note)
    return jsonify({"id": note.id, "status": db.session.get(Notification, note_id).status})
