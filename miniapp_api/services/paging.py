"""Pages of staff lists (issue 17): every list is read a page at a time with a keyset cursor, never whole.

A cursor is the sort key of the last row of a page (the work order's group, the due date, the id), as
base64url JSON with a tag naming the list it belongs to. The next page is the rows after it in the same order,
read from an index in that order, so page 1,000 costs what page 1 does and rows arriving meanwhile neither
repeat nor vanish. A cursor that is not one a list gave is a 422 (``invalid_cursor``), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, or_, tuple_
from sqlalchemy.sql.elements import ColumnElement

from ..errors import ApiError
from ..routing import MAX_ROW_ID

PAGE_SIZE, MAX_PAGE_SIZE = 50, 100


def page_size(raw: str | None) -> int:
    """The ``limit`` parameter: 1 to MAX_PAGE_SIZE, PAGE_SIZE when absent."""
    if raw is None or raw == "":
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(422, "invalid_limit", f"每页条数应为1至{MAX_PAGE_SIZE}的整数",
                       f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def encode(tag: str, *key: Any) -> str:
    """The cursor after a row whose sort key is ``key`` (datetimes as ISO 8601 UTC, None for no due date)."""
    values = [v.astimezone(dt.UTC).isoformat() if isinstance(v, dt.datetime) and v.tzinfo
              else v.replace(tzinfo=dt.UTC).isoformat() if isinstance(v, dt.datetime) else v for v in key]
    raw = json.dumps([tag, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def bad_cursor() -> ApiError:
    return ApiError(422, "invalid_cursor", "翻页参数无效，请回到第一页重新查看",
                    "the cursor is not one this list gave; start again from the first page")


def decode(text: str | None, tag: str) -> list[Any] | None:
    """The key a cursor of list ``tag`` carries (None: the first page)."""
    if text is None or text == "":
        return None
    if len(text) > 200:
        raise bad_cursor()
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_cursor() from None
    if not isinstance(value, list) or not value or value[0] != tag:
        raise bad_cursor()
    return value[1:]


def row_id(value: Any) -> int:
    if type(value) is not int or not 0 < value <= MAX_ROW_ID:
        raise bad_cursor()
    return value


def due(value: Any) -> dt.datetime | None:
    """A due date of a cursor: ISO 8601 with its offset, or None (no due date: those come last)."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise bad_cursor()
    return parsed.astimezone(dt.UTC)


def choice(value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed or type(value) is bool:
        raise bad_cursor()
    return value


def after_due(due_col: Any, id_col: Any, due_at: dt.datetime | None, last_id: int) -> ColumnElement[bool]:
    """Rows after (due_at, last_id) in the order due date (none last), then id."""
    if due_at is None:
        return and_(due_col.is_(None), id_col > last_id)
    return or_(tuple_(due_col, id_col) > (due_at, last_id), due_col.is_(None))
