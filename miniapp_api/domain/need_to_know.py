"""What a clerk's work on a case needs them to see (最小必要), read from the case's own frozen checklist.

A department's clerk works that department's matters of a case, and each matter of the checklist lists the
materials it needs: the clerk sees the photos of those materials and no others (the police need the household
register, not the social security card), the bank accounts only when the department pays money out
(application_form.MONEY_DEPARTMENTS), and only their own department's matters of the checklist (the others
tell of the family's other affairs: welfare, disability, debts). The people on the form (the deceased, the
applicant, a proxy) are on every matter's application and stay. The one-stop window takes in and hands out
the whole case: it sees everything. Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .application_form import MONEY_DEPARTMENTS


@dataclass(frozen=True)
class Need:
    """``None`` for everything (the window), else the department whose matters are worked and what they list."""

    department: str | None
    materials: frozenset[str] | None
    accounts: bool

    def sees_matter(self, matter: Mapping[str, Any]) -> bool:
        return self.department is None or matter.get("department") == self.department

    def sees_material(self, material_id: str) -> bool:
        return self.materials is None or material_id in self.materials


EVERYTHING = Need(department=None, materials=None, accounts=True)


def for_department(checklist: Mapping[str, Any], department: str) -> Need:
    """The materials the department's submitted matters of this case list; accounts if it pays money out."""
    own = [m for m in checklist.get("matters", []) if m.get("department") == department and m.get("status") == "required"]
    listed = {material for m in own for material in m.get("materials", [])}
    ids = {m["id"] for m in own}
    listed |= {m["id"] for m in checklist.get("materials", []) if ids & set(m.get("for_matters", []))}
    return Need(department=department, materials=frozenset(listed), accounts=department in MONEY_DEPARTMENTS)


def checklist_view(checklist: Mapping[str, Any], need: Need) -> dict[str, Any]:
    """The checklist with only the matters, materials and trips this clerk's work is about."""
    matters = [m for m in checklist.get("matters", []) if need.sees_matter(m)]
    ids = {m["id"] for m in matters}
    # The order names other departments' matters too (IM: the hukou after every other one): only theirs stay.
    matters = [{**m, "after": [i for i in m["after"] if i in ids]} if "after" in m else m for m in matters]
    trips = [t for t in checklist.get("trips", []) if need.department is None or ids & set(t.get("for_matters", []))]
    return {**checklist, "matters": matters, "trips": trips,
            "materials": [m for m in checklist.get("materials", []) if need.sees_material(m["id"])]}
