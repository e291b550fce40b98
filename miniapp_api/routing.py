"""URL converters shared by every blueprint."""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

# Row ids are PostgreSQL ``integer`` columns (SQLite's INTEGER is 64-bit, but the schema is the same on both).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:...>`` bounded to the ids a row can have, so a 37-digit id is a 404, not a database overflow.

    Out of range raises NotFound itself: werkzeug's ValidationError would turn into a 405 wherever another
    method shares the path (GET and PUT of one page)."""

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ROW_ID:
            raise NotFound()
        return number
