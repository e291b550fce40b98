"""Staff: accounts with a role per department and region, sign-in, what each may see and do.

Against 等保 level 3 (GB/T 22239-2019 8.1.4.1 身份鉴别): (a) each person has their own username, passwords
of at least 10 characters, stored hashed (complexity rules and periodic change are left to the office's
policy; `flask staff password`); (b) failed sign-ins are handled (staff_throttle.py: growing waits, caps per
address and per account), sessions end on sign-out, on a new password and on disabling (a generation per
person, checked on every request), and the console signs out after STAFF_CONSOLE_IDLE_TIMEOUT without a page;
(c) over the network only through HTTPS (config/nginx.conf; the console cookie is Secure); (d) two kinds of
authentication, one cryptographic: the password and a TOTP code (staff_totp.py, STAFF_REQUIRE_TOTP).
What each person may see of a case: domain/need_to_know.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, func, or_, tuple_
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased, defer, load_only, selectinload
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash

from .. import blind_index
from ..domain import need_to_know, tracking, workflow
from ..domain.vocabulary import load_vocabulary
from ..encrypted import index_key
from ..errors import ApiError
from ..extensions import db
from ..models import AuditEvent, Case, CaseSearchKey, Notification, StaffAccessLog, StaffUser, WorkItem, utcnow
from . import notify, paging, staff_reads, staff_throttle, staff_totp, tokens
from .questionnaires import dialog_of_case

ROLES = ("department", "window", "supervisor")
TOKEN_SALT = "staff-token"
SEEN = "staff-token-seen:{}"  # a token's last use, expiring after STAFF_TOKEN_IDLE_TIMEOUT


def create(username: str, password: str, name: str, role: str, region: str, department: str | None = None) -> StaffUser:
    vocab = load_vocabulary()
    if role not in ROLES or region not in vocab.regions:
        raise ValueError("unknown role or region")
    if role == "department" and department not in vocab.departments:
        raise ValueError("a department clerk needs a department")
    if len(password) < 10:
        raise ValueError("passwords have at least 10 characters")
    user = StaffUser(username=username, password_hash=generate_password_hash(password), name=name, role=role,
                     region=region, department=department if role == "department" else None)
    db.session.add(user)
    db.session.commit()
    return user


def sign_in(username: str, password: str, code: str | None = None, address: str = "") -> dict[str, Any]:
    """The staff API's sign-in: a bearer token carrying the person and their session generation."""
    user = authenticate(username, password, code, address)
    token_id = secrets.token_urlsafe(16)
    token = tokens.issue(TOKEN_SALT, {"s": user.id, "g": user.session_generation, "t": token_id},
                         current_app.config["STAFF_TOKEN_MAX_AGE"])
    _seen(token_id)
    return {**token, "role": user.role, "region": user.region, "department": user.department}


def _seen(token_id: str) -> None:
    """Mark a token used now: it stays valid for STAFF_TOKEN_IDLE_TIMEOUT more seconds (kept in the store, so
    every server agrees)."""
    if idle := current_app.config["STAFF_TOKEN_IDLE_TIMEOUT"]:
        current_app.extensions["store"].set(SEEN.format(token_id), "1", int(idle))


def authenticate(username: str, password: str, code: str | None = None, address: str = "") -> StaffUser:
    """The one check of a sign-in, for the API and the console alike: the throttles (staff_throttle), the
    password (one hash check, whether the username exists or not), then the second factor (staff_totp)."""
    staff_throttle.check(username, address)
    user = by_username(username)
    if not _password_matches(user, password) or user is None or not user.active:
        staff_throttle.failed(username, address)
        raise ApiError(401, "bad_credentials", "用户名或密码不正确", "wrong username or password")
    if user.totp_secret:
        if not code:
            raise ApiError(401, "totp_required", "请输入动态验证码（手机验证器应用中的6位数字）",
                           "enter the 6-digit code of your authenticator app")
        if not staff_totp.verify(user, code):
            staff_throttle.failed(username, address)
            raise ApiError(401, "totp_invalid", "动态验证码不正确或已使用过，请输入验证器中的新验证码",
                           "the code is wrong or was used already; enter the current one")
    elif current_app.config["STAFF_REQUIRE_TOTP"]:
        raise ApiError(403, "totp_not_enrolled", "您的账号尚未绑定动态口令（双因素认证），请联系系统管理员绑定后再登录",
                       "this account has no second factor yet; ask an administrator to enrol one")
    staff_throttle.succeeded(username, address)
    return user


def _password_matches(user: StaffUser | None, password: str) -> bool:
    """One password-hash check either way: an unknown username costs what a known one does, so the time
    of the answer does not tell which usernames exist."""
    return check_password_hash(user.password_hash if user is not None else _dummy_hash(), password)


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))  # the same method and cost as create()


def enrol_totp(user: StaffUser) -> str:
    """A (new) second factor; the otpauth URI to show once. Whoever signed in before signs in again."""
    uri = staff_totp.enrol(user)
    end_sessions(user)
    return uri


def from_token(token: str) -> StaffUser:
    data = tokens.read(TOKEN_SALT, token, current_app.config["STAFF_TOKEN_MAX_AGE"])
    user = signed_in(data.get("s"), data.get("g"))
    if user is None:
        raise ApiError(401, "token_revoked", "登录已失效，请重新登录",
                       "this sign-in has ended (signed out, a new password or the account disabled); sign in again")
    token_id = data.get("t")
    if current_app.config["STAFF_TOKEN_IDLE_TIMEOUT"]:
        if not isinstance(token_id, str) or current_app.extensions["store"].get(SEEN.format(token_id)) is None:
            raise ApiError(401, "token_idle", "长时间未操作，登录已失效，请重新登录",
                           "this sign-in was unused for too long (STAFF_TOKEN_IDLE_TIMEOUT); sign in again")
        _seen(token_id)
    return user


def sign_out_token(user: StaffUser, token: str) -> None:
    """The API's sign-out: this person's sessions end (end_sessions) and the token's last use is forgotten."""
    token_id = tokens.read(TOKEN_SALT, token, current_app.config["STAFF_TOKEN_MAX_AGE"]).get("t")
    if isinstance(token_id, str):
        current_app.extensions["store"].delete(SEEN.format(token_id))
    end_sessions(user)


def signed_in(staff_id: Any, generation: Any) -> StaffUser | None:
    """The person a session or token names, while it still stands: the account active, its generation current."""
    if type(staff_id) is not int or type(generation) is not int:
        return None
    user = db.session.get(StaffUser, staff_id)
    if user is None or not user.active or user.session_generation != generation:
        return None
    return user


def end_sessions(user: StaffUser) -> None:
    """Every console session and token of this person ends now: the next request with any of them is refused."""
    user.session_generation = StaffUser.session_generation + 1  # in SQL: two sign-outs at once both count
    db.session.commit()


def set_password(user: StaffUser, password: str) -> None:
    """A new password; whoever signed in with the old one is signed out."""
    if len(password) < 10:
        raise ValueError("passwords have at least 10 characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def disable(user: StaffUser) -> None:
    user.active = False
    end_sessions(user)


def by_username(username: str) -> StaffUser | None:
    return db.session.scalars(db.select(StaffUser).filter_by(username=username)).first()


def can_act(user: StaffUser, item: WorkItem) -> bool:
    if user.region != item.region:
        return False
    return user.role == "window" or (user.role == "department" and user.department == item.department)


@dataclass(frozen=True)
class Row:
    """A work item of a list and the one column of its case the list shows, its tracking code: never the whole
    case (its form is sealed, and its 14 kB checklist, read per row for a matter's name, was half of a console
    page's time; the item carries that name, models.WorkItem.matter_name)."""

    item: WorkItem
    tracking_code: str
    group: int = 0  # its place in the work order (work_page)


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: str | None  # send as ``cursor`` for the next page; None: this is the last


def _items(user: StaffUser) -> Select:
    """The work items this person works: their department's in their region (the window: all of the region),
    read by the work item's own copy of the region (models.WorkItem)."""
    query = db.select(WorkItem).where(WorkItem.region == user.region)
    if user.role == "department":
        query = query.where(WorkItem.department == user.department)
    return query


def _fetch(query: Select, limit: int, grouped: bool = False) -> list[Row]:
    """One page of ``query`` (work items, and their ``work_group`` when ``grouped``) in (group,) due date (none
    last), id order: the page is cut from the work items alone, then joined to its cases for the tracking code,
    so only a page of cases is read, each by its primary key."""
    due_last = WorkItem.due_at.asc().nulls_last()
    order = [query.selected_columns.work_group, due_last, WorkItem.id] if grouped else [due_last, WorkItem.id]
    inner = query.order_by(*order).limit(limit + 1).subquery()
    item = aliased(WorkItem, inner)
    columns = [item, Case.tracking_code, *([inner.c.work_group] if grouped else [])]
    outer = db.select(*columns).join(Case, Case.id == item.case_id)
    outer = outer.order_by(*([inner.c.work_group] if grouped else []), item.due_at.asc().nulls_last(), item.id)
    rows = []
    for found in db.session.execute(outer):
        rows.append(Row(found[0], found[1], found[-1] if grouped else 0))
    return rows


def _page(rows: list[Row], limit: int, cursor_of: Any) -> Page:
    """The first ``limit`` rows, and the cursor after them when there is a row more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, cursor_of(rows[-1]) if more else None)


def queue(user: StaffUser, status: str | None = None, cursor: str | None = None,
          limit: int = paging.PAGE_SIZE) -> Page:
    """A page of the items this person works, by due date (none last), then id."""
    key = paging.decode(cursor, "queue")
    query = _items(user)
    if status:
        query = query.where(WorkItem.status == status)
    if key is not None:
        if len(key) != 2:
            raise paging.bad_cursor()
        query = query.where(paging.after_due(WorkItem.due_at, WorkItem.id, paging.due(key[0]), paging.row_id(key[1])))
    return _page(_fetch(query, limit), limit, lambda r: paging.encode("queue", r.item.due_at, r.item.id))


def case_for(user: StaffUser, code_text: str, purpose: str | None = "handle",
             what: str = "case") -> tuple[Case, list[WorkItem]]:
    """A case as this person may see it; the read of personal data is logged with its purpose and the field
    groups it shows (``purpose`` None: the caller shows no field of it and logs what it does show, a photo)."""
    code = tracking.normalise(code_text)
    case = db.session.scalars(db.select(Case).filter_by(tracking_code=code)).first() if code else None
    if case is None or case.region != user.region or user.role == "supervisor":
        raise ApiError(404, "case_not_found", "找不到该申请", "no such case")
    items = [w for w in case.work_items if user.role == "window" or w.department == user.department]
    if not items:
        raise ApiError(404, "case_not_found", "找不到该申请", "no such case")
    if purpose is not None:
        staff_reads.log(user, case, purpose, what, need_to_know.shown(case.form, case.facts, need_for(user, case)))
    return case, items


def rule_for(user: StaffUser) -> need_to_know.Rule:
    """This person's row of the declared table (config/need_to_know.yaml, loaded at start)."""
    return need_to_know.rule_for(current_app.extensions["need_to_know"], user.role, user.department)


def need_for(user: StaffUser, case: Case) -> need_to_know.Need:
    """What this person's work on the case needs them to see (domain/need_to_know.py, as the table says)."""
    if user.role == "window":
        return need_to_know.for_window(case.checklist, rule_for(user))
    return need_to_know.for_department(case.checklist, user.department or "", rule_for(user))


def search_shown(user: StaffUser) -> list[str]:
    """What a search result shows of a case: the deceased's and applicant's names, as far as the table lets."""
    return [g for g in ("deceased", "applicant") if g in rule_for(user).fields]


def transition(actor: str, item: WorkItem, target: str, reason: str | None = None,
               missing: list[str] | None = None, expected_version: int | None = None) -> WorkItem:
    """Move a work item, record it in the audit log, in one transaction; concurrent moves: one wins."""
    if expected_version is not None and expected_version != item.version:
        raise ApiError(409, "concurrent_update", "该事项刚被他人更新，请刷新后再操作",
                       "the item was changed by someone else; reload and retry")
    try:
        workflow.check_transition(item.status, target, reason=reason, missing=missing or (),
                                  waiting_for=_waiting_for(item))
    except workflow.TransitionError as exc:
        raise ApiError(409, exc.code, exc.message, exc.message_en) from None
    before = item.status
    item.status = target
    item.reason = reason if target in ("rejected", "needs_supplement") else item.reason
    # What was asked stays on the item once supplied (the clerk checks it against the new pages); cleared on.
    item.missing = (list(missing or []) if target == "needs_supplement"
                    else item.missing if target == "supplied" else [] if before in ("needs_supplement", "supplied")
                    else item.missing)
    db.session.add(AuditEvent(case_id=item.case_id, work_item_id=item.id, actor=actor, from_status=before,
                              to_status=target, reason=reason, detail={"missing": list(missing or [])}))
    try:
        notes = _notifications(item, target)  # may flush the update: inside the same guard
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, "concurrent_update", "该事项刚被他人更新，请刷新后再操作",
                       "the item was changed by someone else; reload and retry") from None
    notify.dispatch([n.id for n in notes])
    return item


def _notifications(item: WorkItem, target: str) -> list:
    """The family hears of what is missing, of each matter's end, and of the whole case's end."""
    event = {"needs_supplement": "needs_supplement", "done": "matter_done", "rejected": "matter_rejected"}.get(target)
    if event is None:
        return []
    notes = [notify.add(item.case, event, item)]
    if target in workflow.FINAL and workflow.case_complete(w.status for w in item.case.work_items):
        notes.append(notify.add(item.case, "case_complete"))
    return notes


def _waiting_for(item: WorkItem) -> list[str]:
    """Matters of the same case this one must follow (the region's `after` in the version the case was
    submitted under), not yet done."""
    matter = next((m for m in dialog_of_case(item.case).matters if m.id == item.matter_id), None)
    if matter is None or not matter.after:
        return []
    others = [w for w in item.case.work_items if w.id != item.id]
    wanted = others if matter.after == ("all",) else [w for w in others if w.matter_id in matter.after]
    return [w.matter_id for w in wanted if w.status != "done" and w.status != "rejected"]


SUPERVISION_LISTS = ("overdue", "due_soon")


def _supervised(user: StaffUser, which: str, now: dt.datetime) -> Select:
    """Open items of the region past their due date (overdue), or due within DUE_SOON_HOURS (due_soon)."""
    soon = now + dt.timedelta(hours=current_app.config["DUE_SOON_HOURS"])
    window = WorkItem.due_at < now if which == "overdue" else WorkItem.due_at.between(now, soon)
    return db.select(WorkItem).where(WorkItem.region == user.region, WorkItem.status.in_(workflow.OPEN),
                                     WorkItem.due_at.is_not(None), window)


def supervision(user: StaffUser, cursor: str | None = None, limit: int = paging.PAGE_SIZE,
                now: dt.datetime | None = None) -> dict[str, Page]:
    """A page of each list, by due date; with a cursor, the next page of the list it came from (the other empty)."""
    now = now or utcnow()
    key = paging.decode(cursor, "supervision")
    if key is not None and len(key) != 3:
        raise paging.bad_cursor()
    pages = {}
    for which in SUPERVISION_LISTS:
        query = _supervised(user, which, now)
        if key is not None:
            if paging.choice(key[0], SUPERVISION_LISTS) != which:
                continue
            last_due = paging.due(key[1])
            if last_due is None:
                raise paging.bad_cursor()
            query = query.where(tuple_(WorkItem.due_at, WorkItem.id) > (last_due, paging.row_id(key[2])))
        rows = _fetch(query, limit)
        pages[which] = _page(rows, limit, lambda r, w=which: paging.encode("supervision", w, r.item.due_at, r.item.id))
    return {which: pages.get(which, Page([], None)) for which in SUPERVISION_LISTS}


def supervision_counts(user: StaffUser, now: dt.datetime | None = None) -> dict[str, int]:
    """How many items each supervision list has, counted in SQL (one statement)."""
    now = now or utcnow()
    soon = now + dt.timedelta(hours=current_app.config["DUE_SOON_HOURS"])
    overdue = func.coalesce(func.sum(sql_case((WorkItem.due_at < now, 1), else_=0)), 0)
    due_soon = func.coalesce(func.sum(sql_case((WorkItem.due_at.between(now, soon), 1), else_=0)), 0)
    row = db.session.execute(db.select(overdue, due_soon).where(
        WorkItem.region == user.region, WorkItem.status.in_(workflow.OPEN), WorkItem.due_at.is_not(None),
        WorkItem.due_at <= soon)).one()
    return {"overdue": int(row[0]), "due_soon": int(row[1])}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC


# --- The window console (/console): working order, search, undelivered messages ----------------------

def is_overdue(item: WorkItem, now: dt.datetime | None = None) -> bool:
    return item.status in workflow.OPEN and item.due_at is not None and _aware(item.due_at) < (now or utcnow())


def work_group(now: dt.datetime) -> ColumnElement[int]:
    """What to pick up first, in SQL so that it pages: items needing supplements and overdue ones (0), then new
    (submitted) ones and those the family has supplied (1), then the rest of the open ones (2); finished ones last (3)."""
    return sql_case((WorkItem.status == "needs_supplement", 0),
                (and_(WorkItem.status.in_(workflow.OPEN), WorkItem.due_at < now), 0),
                (WorkItem.status.in_(workflow.AWAITING_DEPARTMENT), 1), (WorkItem.status.in_(workflow.OPEN), 2),
                else_=3)


def work_page(user: StaffUser, statuses: tuple[str, ...], cursor: str | None = None,
              limit: int = paging.PAGE_SIZE, now: dt.datetime | None = None) -> Page:
    """A page of the console's queue in work order (work_group), each group by due date (none last), then id.
    Open items are read from the partial index of open work; finished ones, when asked for, from the
    (region, department, due date) index after them: two statements at most, whatever the data."""
    now = now or utcnow()
    key = paging.decode(cursor, "work")
    after: tuple[int, dt.datetime | None, int] | None = None
    if key is not None:
        if len(key) != 3:
            raise paging.bad_cursor()
        after = (paging.choice(key[0], (0, 1, 2, 3)), paging.due(key[1]), paging.row_id(key[2]))
    wanted_open = [s for s in statuses if s in workflow.OPEN]
    wanted_final = [s for s in statuses if s in workflow.FINAL]
    rows: list[Row] = []
    group = work_group(now)
    if wanted_open and (after is None or after[0] < 3):
        query = _items(user).add_columns(group.label("work_group")).where(WorkItem.status.in_(wanted_open))
        if after is not None:
            query = query.where(or_(group > after[0], and_(group == after[0],
                                                          paging.after_due(WorkItem.due_at, WorkItem.id, *after[1:]))))
        rows += _fetch(query, limit, grouped=True)
    if wanted_final:
        query = _items(user).where(WorkItem.status.in_(wanted_final))
        if after is not None and after[0] == 3:
            query = query.where(paging.after_due(WorkItem.due_at, WorkItem.id, *after[1:]))
        rows += [Row(r.item, r.tracking_code, 3) for r in _fetch(query, limit)]
    return _page(rows[:limit + 1], limit, lambda r: paging.encode("work", r.group, r.item.due_at, r.item.id))


def open_counts(user: StaffUser) -> dict[str, int]:
    """How many open items this person has in each status, counted in SQL from the partial index of open work
    (finished work is history: not counted on every page)."""
    query = db.select(WorkItem.status, func.count()).where(WorkItem.region == user.region,
                                                           WorkItem.status.in_(workflow.OPEN))
    if user.role == "department":
        query = query.where(WorkItem.department == user.department)
    found = {s: n for s, n in db.session.execute(query.group_by(WorkItem.status))}
    return {s: int(found.get(s, 0)) for s in workflow.OPEN}


SEARCH_LIMIT = 50


def search(user: StaffUser, text: str) -> list[Case]:
    """Cases this person works on matching a tracking code, a full name (deceased, applicant or proxy), the
    last 4-6 characters of an ID number or the applicant's phone's last 4: names and numbers through their blind
    indexes (models.CaseSearchKey), scoped by region first, a department clerk's to cases with an item of their
    department (an EXISTS on the work items' case index, per candidate case), with the limit in SQL. The cases'
    work items come in one more statement; the answers and facts stay unread. Each match is logged as a read of
    personal data."""
    text = " ".join((text or "").split())
    if not text or len(text) > 50 or user.role == "supervisor":
        return []
    query = (db.select(Case.id).where(Case.region == user.region)
             .order_by(Case.submitted_at.desc(), Case.id.desc()).limit(SEARCH_LIMIT))
    if user.role == "department":
        query = query.where(db.select(WorkItem.id).where(WorkItem.case_id == Case.id,
                                                         WorkItem.department == user.department).exists())
    code = tracking.normalise(text)
    if code:
        query = query.where(Case.tracking_code == code)
    else:
        digests = blind_index.search_digests(index_key(), text)
        query = query.where(Case.id.in_(db.select(CaseSearchKey.case_id).where(CaseSearchKey.region == user.region,
                                                                                CaseSearchKey.digest.in_(digests))))
    ids = list(db.session.scalars(query))
    if not ids:
        return []
    shown = search_shown(user)
    db.session.execute(db.insert(StaffAccessLog), [{"staff_id": user.id, "case_id": i, "what": "search",
                                                   "purpose": "search", "shown": shown, "at": utcnow()} for i in ids])
    db.session.commit()  # logged before anything of the cases is read
    found = {c.id: c for c in db.session.scalars(db.select(Case).where(Case.id.in_(ids))
                                                  .options(selectinload(Case.work_items), defer(Case.answers),
                                                           defer(Case.facts)))}
    return [found[i] for i in ids]


@dataclass(frozen=True)
class DeadNote:
    note: Notification
    tracking_code: str


@dataclass(frozen=True)
class DeadPage:
    rows: list[DeadNote]
    next_cursor: str | None


def dead_notifications(user: StaffUser, cursor: str | None = None, limit: int = paging.PAGE_SIZE,
                       with_recipient: bool = False) -> DeadPage:
    """A page of messages to families of this person's region that could not be delivered (for re-sending or a
    call), oldest first, read from the partial index of dead messages. The sealed text is never opened; the
    sealed recipient only when asked for (the console shows it masked)."""
    key = paging.decode(cursor, "dead")
    shown = [Notification.id, Notification.case_id, Notification.event, Notification.channel, Notification.status,
             Notification.attempts, Notification.last_error, Notification.created_at]
    query = (db.select(Notification, Case.tracking_code).join(Case, Notification.case_id == Case.id)
             .options(load_only(*shown, *([Notification.recipient] if with_recipient else []), raiseload=True))
             .where(Case.region == user.region, Notification.status == "dead"))
    if key is not None:
        if len(key) != 1:
            raise paging.bad_cursor()
        query = query.where(Notification.id > paging.row_id(key[0]))
    rows = [DeadNote(n, code) for n, code in db.session.execute(query.order_by(Notification.id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return DeadPage(rows, paging.encode("dead", rows[-1].note.id) if more else None)


def page_for(user: StaffUser, case: Case, page_id: int, log: bool = True):
    """A document photo of a case this person may see (call `case_for(..., purpose=None)` first), of a material
    the table lets them see (their matters' materials, all or none); reading it is logged (purpose photo)."""
    from ..models import UploadedPage

    page = db.session.get(UploadedPage, page_id)
    if (page is None or page.questionnaire_id != case.questionnaire_id
            or not need_for(user, case).sees_material(page.material_id)):  # another department's material
        raise ApiError(404, "page_not_found", "找不到这张照片", "no such page")
    if log:
        staff_reads.log(user, case, "photo", f"page:{page.id}", [f"photo:{page.material_id}"])
    return page
