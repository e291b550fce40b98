"""What a piece of typed text may hold, and how to show text that got in before these rules.

Never anywhere: a lone UTF-16 surrogate (it cannot be written as UTF-8, so every page showing it failed), NUL
(PostgreSQL text cannot hold it), other C0 controls and DEL, and C1 controls: no one types them, and they break
storage, terminals and printed forms. Tab and line breaks only in text of several lines (a reason, a comment).
In people's names also no bidi overrides or isolates and no zero-width characters: they make a name look like
another on screen and on paper, or hide part of it.

Messages are "中文 / English", like the form's own checks.
"""

from __future__ import annotations

import re

NEVER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LINE_BREAKS = re.compile("[\t\n\r]")
INVISIBLE_IN_NAMES = re.compile("[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def _code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def problem(text: str, *, multiline: bool = False, name: bool = False) -> str | None:
    """Why ``text`` cannot be accepted, or None."""
    if found := NEVER.search(text):
        point = _code_point(found.group())
        if "\ud800" <= found.group() <= "\udfff":
            return f"含有无效的字符编码（{point}） / contains an invalid character ({point}, a lone surrogate)"
        return f"含有不可见的控制字符（{point}） / contains an invisible control character ({point})"
    if not multiline and (found := LINE_BREAKS.search(text)):
        return f"这一项只能填一行（{_code_point(found.group())}） / must be a single line ({_code_point(found.group())})"
    if name and (found := INVISIBLE_IN_NAMES.search(text)):
        return (f"姓名中不能含有不可见的格式字符（{_code_point(found.group())}） / a name cannot contain invisible "
                f"formatting characters ({_code_point(found.group())})")
    return None


def displayable(text: str) -> str:
    """Text as it may be shown or printed: anything of NEVER (stored before these rules) becomes U+FFFD."""
    return NEVER.sub(REPLACEMENT, text)
