"""The log of staff reads of families' personal data (PIPL art. 51, 等保 8.1.4.3 安全审计): each read with its
purpose and the field groups it showed, never the data; the region's supervisors read the log, newest first, a
page at a time (a keyset cursor on the row id: stable while new reads keep arriving)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import tracking
from ..errors import ApiError
from ..extensions import db
from ..models import Case, StaffAccessLog, StaffUser

# Why a member of staff read a family's data: (中文, English).
PURPOSES = {"handle": ("办理", "opened the case to work it"), "search": ("查询", "found it by a search"),
            "print": ("打印", "printed the application"), "photo": ("查看材料照片", "looked at a document photo")}
PAGE_SIZE, MAX_PAGE_SIZE = 50, 100


def log(user: StaffUser, case: Case, purpose: str, what: str, shown: list[str]) -> None:
    """One read, committed: who, which case, why, what and which field groups (names only, never values)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    db.session.add(StaffAccessLog(staff_id=user.id, case_id=case.id, what=what, purpose=purpose, shown=shown))
    commit_keeping_loaded()


def commit_keeping_loaded() -> None:
    """Commit without expiring what this request loaded: the case just logged is shown from the rows already
    read, not read again row by row (a plain commit expires every loaded object)."""
    session = db.session()
    before, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = before


def require_supervisor(user: StaffUser) -> None:
    """Reading the log is supervision: the clerks whose reads it lists do not read it."""
    if user.role != "supervisor":
        raise ApiError(403, "forbidden", "只有督办人员可以查看工作人员的查阅记录",
                       "only supervisors see the log of staff reads")


@dataclass(frozen=True)
class Read:
    log: StaffAccessLog
    reader: StaffUser
    case: Case


@dataclass(frozen=True)
class Page:
    reads: list[Read]
    next_before: int | None  # send as ``before`` for the next (older) page; None: this is the last


def reads(user: StaffUser, staff: str | None = None, code: str | None = None, before: int | None = None,
          limit: int = PAGE_SIZE) -> Page:
    """The reads of the supervisor's region's cases, newest first; ``staff`` a username, ``code`` a tracking code."""
    require_supervisor(user)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ApiError(422, "invalid_limit", f"每页条数应为1至{MAX_PAGE_SIZE}", f"limit must be 1 to {MAX_PAGE_SIZE}")
    query = (db.select(StaffAccessLog, StaffUser, Case).join(StaffUser, StaffAccessLog.staff_id == StaffUser.id)
             .join(Case, StaffAccessLog.case_id == Case.id).where(Case.region == user.region))
    if staff:
        query = query.where(StaffUser.username == staff)
    if code:
        normalised = tracking.normalise(code)
        if normalised is None:
            raise ApiError(422, "invalid_tracking_code", "查询码格式不正确", "not a tracking code")
        query = query.where(Case.tracking_code == normalised)
    if before is not None:
        query = query.where(StaffAccessLog.id < before)
    found = [Read(*row) for row in db.session.execute(query.order_by(StaffAccessLog.id.desc()).limit(limit + 1))]
    more = len(found) > limit
    found = found[:limit]
    return Page(found, found[-1].log.id if more else None)
