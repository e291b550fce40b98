"""What a clerk's work on a case needs them to see (最小必要, PIPL art. 6 and 28): declared per role in
config/need_to_know.yaml (which field groups of the form, which photos), applied here to the case's own frozen
checklist and form.

A department's clerk works that department's matters of a case, and each matter of the checklist lists the
materials it needs: with ``photos: own_matters`` the clerk sees the photos of those materials and no others (the
police need the household register, not the social security card), and only their own department's matters of
the checklist (the others tell of the family's other affairs: welfare, disability, debts). The field groups
(``GROUPS``) say which parts of the form they are shown: by default the bank accounts only to the departments that
pay money out (application_form.MONEY_DEPARTMENTS), everything to the one-stop window, nothing to a supervisor.
Pure Python: no Flask, no database; the app loads the table once (``load``) and passes it in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "config" / "need_to_know.yaml"
# The form's field groups, in the order they are listed (``withheld``, the access log).
GROUPS = ("deceased", "applicant", "proxy", "accounts", "other")
GROUP_LABELS = {"deceased": ("逝者信息", "the deceased"), "applicant": ("申请人信息", "the applicant"),
                "proxy": ("受托人信息", "the proxy"), "accounts": ("银行账户", "bank accounts"),
                "other": ("其他填报信息", "the other fields")}
PHOTOS = ("own_matters", "all", "none")
ROLES = ("window", "supervisor")  # besides one entry per department
# The keys of a form section that make up its own group; every other key of the section is "other" (the
# applicant's address and employer, facts a region's form asks for one department). Labels count as their value.
CORE_KEYS = {
    "deceased": frozenset({"name", "gender", "ethnicity", "id_number", "death_date", "death_place", "cremation_date",
                           "hukou_address"}),
    "applicant": frozenset({"name", "id_number", "phone", "relationship", "relationship_label"}),
}

SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["sees"], "additionalProperties": False,
    "properties": {"sees": {"type": "object", "additionalProperties": {
        "type": "object", "required": ["fields", "photos"], "additionalProperties": False,
        "properties": {"fields": {"type": "array", "uniqueItems": True, "items": {"enum": list(GROUPS)}},
                       "photos": {"enum": list(PHOTOS)}, "why": {"type": "string"}}}}},
}


class NeedToKnowError(ValueError):
    """The table is broken: every problem at once, each naming where it is."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True)
class Rule:
    """One row of the table: the field groups and the photos a role is shown."""

    fields: frozenset[str]
    photos: str
    why: str = ""


def parse(data: Any, departments: Iterable[str], source: str = "need_to_know.yaml") -> dict[str, Rule]:
    """The table from the parsed file; a row for every department and role, or NeedToKnowError."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
                for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))]
    rows = data.get("sees") if isinstance(data, dict) else None
    if isinstance(rows, dict):
        wanted = [*departments, *ROLES]
        problems += [f"sees: no entry for {name!r} (every department of the vocabulary, window and supervisor)"
                     for name in wanted if name not in rows]
        problems += [f"sees.{name}: not a department of the vocabulary nor a role" for name in rows if name not in wanted]
        boss = rows.get("supervisor")
        if isinstance(boss, dict) and (boss.get("fields") or boss.get("photos") != "none"):
            problems.append("sees.supervisor: supervisors watch deadlines and open no case: fields [] and photos none")
    if problems:
        raise NeedToKnowError(source, problems)
    return {name: Rule(frozenset(row["fields"]), row["photos"], row.get("why", "")) for name, row in rows.items()}


def load(path: Path | str, departments: Iterable[str]) -> dict[str, Rule]:
    """Read and check the table (config/need_to_know.yaml, or the file NEED_TO_KNOW_FILE names)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise NeedToKnowError(str(path), [f"cannot be read: {exc}"]) from None
    return parse(data, departments, str(path))


def rule_for(table: Mapping[str, Rule], role: str, department: str | None) -> Rule:
    """A department's clerk: their department's row; the window and supervisors: their role's."""
    return table[department or ""] if role == "department" else table[role]


@dataclass(frozen=True)
class Need:
    """What one person's work on one case needs: the matters (``department`` None: all of them), the materials
    whose photos (``materials`` None: all) and the field groups they are shown."""

    department: str | None
    materials: frozenset[str] | None
    fields: frozenset[str] = field(default=frozenset(GROUPS))

    @property
    def accounts(self) -> bool:
        return "accounts" in self.fields

    def sees(self, group: str) -> bool:
        return group in self.fields

    def sees_matter(self, matter: Mapping[str, Any]) -> bool:
        return self.department is None or matter.get("department") == self.department

    def sees_material(self, material_id: str) -> bool:
        return self.materials is None or material_id in self.materials


EVERYTHING = Need(department=None, materials=None)


def _listed(checklist: Mapping[str, Any], department: str | None) -> frozenset[str]:
    """The materials the required matters (of one department, or all) of this case list."""
    own = [m for m in checklist.get("matters", []) if m.get("status") == "required"
           and (department is None or m.get("department") == department)]
    listed = {material for m in own for material in m.get("materials", [])}
    ids = {m["id"] for m in own}
    listed |= {m["id"] for m in checklist.get("materials", []) if ids & set(m.get("for_matters", []))}
    return frozenset(listed)


def _photos(checklist: Mapping[str, Any], department: str | None, rule: Rule) -> frozenset[str] | None:
    if rule.photos == "all":
        return None
    return frozenset() if rule.photos == "none" else _listed(checklist, department)


def for_department(checklist: Mapping[str, Any], department: str, rule: Rule) -> Need:
    """A department's clerk: its own matters of the case, the photos and field groups its row of the table gives."""
    return Need(department=department, materials=_photos(checklist, department, rule), fields=rule.fields)


def for_window(checklist: Mapping[str, Any], rule: Rule) -> Need:
    """The one-stop window works every matter of the case; its row says the photos and field groups."""
    return Need(department=None, materials=_photos(checklist, None, rule), fields=rule.fields)


def section_view(section: str, values: Mapping[str, Any] | None, need: Need) -> dict[str, Any]:
    """The keys of one person's section of the form (deceased, applicant, proxy) this need is shown."""
    values = values if isinstance(values, Mapping) else {}
    if section not in CORE_KEYS:
        return dict(values) if need.sees(section) else {}
    core = CORE_KEYS[section]
    return {k: v for k, v in values.items() if need.sees(section if k in core else "other")}


def form_view(form: Mapping[str, Any], facts: Mapping[str, Any], need: Need) -> dict[str, Any]:
    """The form as this need is shown it: the dates and the relationship from the questionnaire's facts (one
    value for everyone), the groups not shown left out and named in ``withheld``."""
    deceased = dict(form.get("deceased") or {})
    applicant = dict(form.get("applicant") or {})
    if facts.get("death_date"):
        deceased["death_date"] = facts["death_date"]
    if facts.get("relationship"):
        applicant["relationship"] = facts["relationship"]
    proxy = form.get("proxy") if isinstance(form.get("proxy"), Mapping) else None
    return {
        "deceased": section_view("deceased", deceased, need),
        "applicant": section_view("applicant", applicant, need),
        "proxy": section_view("proxy", proxy, need) or None,
        "accounts": [dict(a) for a in form.get("accounts") or [] if isinstance(a, Mapping)] if need.accounts else [],
        "withheld": [g for g in GROUPS if not need.sees(g)],
    }


def shown(form: Mapping[str, Any], facts: Mapping[str, Any], need: Need) -> list[str]:
    """The field groups of this case a view for this need shows (for the access log): given and not empty."""
    view = form_view(form, facts, need)
    present = {"deceased": any(k in CORE_KEYS["deceased"] for k in view["deceased"]),
               "applicant": any(k in CORE_KEYS["applicant"] for k in view["applicant"]),
               "proxy": bool(view["proxy"]), "accounts": bool(view["accounts"]),
               "other": any(k not in CORE_KEYS[s] for s in ("deceased", "applicant") for k in view[s])}
    return [g for g in GROUPS if need.sees(g) and present[g]]


def checklist_view(checklist: Mapping[str, Any], need: Need) -> dict[str, Any]:
    """The checklist with only the matters, materials and trips this clerk's work is about."""
    matters = [m for m in checklist.get("matters", []) if need.sees_matter(m)]
    ids = {m["id"] for m in matters}
    # The order names other departments' matters too (IM: the hukou after every other one): only theirs stay.
    matters = [{**m, "after": [i for i in m["after"] if i in ids]} if "after" in m else m for m in matters]
    trips = [t for t in checklist.get("trips", []) if need.department is None or ids & set(t.get("for_matters", []))]
    return {**checklist, "matters": matters, "trips": trips,
            "materials": [m for m in checklist.get("materials", []) if need.sees_material(m["id"])]}
