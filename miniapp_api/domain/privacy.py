"""The family's rights over their application (PIPL art. 44-47; art. 49: a close relative exercises them for
the deceased's data): what each use of a right records. Records name fields and count things, never a value
typed in, so the audit of a deletion holds nothing of what was deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("export", "correct", "withdraw_consent", "delete")


@dataclass(frozen=True)
class FormChanges:
    """The dotted paths of a draft that a save changed, filled in for the first time, or emptied."""

    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def corrects(self) -> bool:
        """A correction changes or removes what was given; filling in a blank is not one."""
        return bool(self.changed or self.removed)

    def detail(self) -> dict[str, list[str]]:
        return {"changed": self.changed, "added": self.added, "removed": self.removed}


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """A form body as ``{"applicant.name": …, "accounts.0.account_number": …}``; empty values are not given."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(leaves(inner, f"{prefix}{key}."))
        return out
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out = {}
        for index, inner in enumerate(value):
            out.update(leaves(inner, f"{prefix}{index}."))
        return out
    if value is None or value == "" or value == []:
        return {}
    return {prefix.rstrip("."): value}


def form_changes(before: dict[str, Any], after: dict[str, Any]) -> FormChanges:
    old, new = leaves(before or {}), leaves(after or {})
    return FormChanges(changed=sorted(p for p in old.keys() & new.keys() if old[p] != new[p]),
                       added=sorted(new.keys() - old.keys()), removed=sorted(old.keys() - new.keys()))
