"""A region's dialog: its questions, matters and warnings, loaded from ``dialogs/<region>.yaml``.

The file is data; this module turns it into small frozen objects the engine and the rules read.
Structural checks (the JSON schema) happen here; policy checks live in ``checker.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .conditions import Condition
from .vocabulary import DIALOGS_DIR, Vocabulary, load_vocabulary

QUESTION_TYPES = ("single", "multiple", "yes_no", "date", "text")


class DialogFileError(Exception):
    """A region file that cannot be used; ``problems`` are (file, line, message) triples."""

    def __init__(self, problems: list[tuple[str, int, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{f}:{line}: {msg}" for f, line, msg in problems))


@dataclass(frozen=True)
class Text:
    zh: str
    en: str


@dataclass(frozen=True)
class Option:
    value: Any
    label: Text
    sets: dict[str, Any] = field(default_factory=dict)
    exclusive: bool = False


@dataclass(frozen=True)
class Question:
    id: str
    text: Text
    type: str
    fact: str | None
    options: tuple[Option, ...]
    show_if: Condition | None
    requests: tuple[str, ...]
    help: Text | None
    seed: str
    line: int

    def option(self, value: Any) -> Option | None:
        for option in self.options:
            if option.value == value and type(option.value) is type(value):
                return option
        return None

    def sets_facts(self) -> set[str]:
        """Every fact an answer to this question may set."""
        facts = {self.fact} if self.fact else set()
        if self.requests:
            facts.add("requested_matters")
        for option in self.options:
            facts.update(option.sets)
        return facts

    def list_values(self, list_facts: set[str]) -> dict[str, set[str]]:
        """For each list fact this question adds to, the values an answer may add."""
        out: dict[str, set[str]] = {}
        if self.fact in list_facts:
            out[self.fact] = {o.value for o in self.options if not o.exclusive}
        if self.requests:
            out.setdefault("requested_matters", set()).update(self.requests)
        for option in self.options:
            for fact, value in option.sets.items():
                if fact in list_facts:
                    out.setdefault(fact, set()).update(value if isinstance(value, list) else [value])
        return out


@dataclass(frozen=True)
class Check:
    """A condition that must hold, with the reason shown when it does not."""

    when: Condition
    reason: Text
    code: str
    line: int


@dataclass(frozen=True)
class MaterialUse:
    id: str
    when: Condition | None


@dataclass(frozen=True)
class TripUse:
    place: str
    when: Condition | None
    notes: tuple[Text, ...] = ()  # what the visit is for, shown with the trip (e.g. 原件核验 at the 专窗)


@dataclass(frozen=True)
class ConditionalText:
    """A text shown only while ``when`` holds (always, without one)."""

    text: Text
    when: Condition | None


@dataclass(frozen=True)
class MonthAfter:
    """A matter that ends in the month after a date fact (Hunan's welfare 「于次月终止」): the checklist names
    the month, and ``note`` says it with ``{month}`` filled in."""

    fact: str
    note: Text


@dataclass(frozen=True)
class Variant:
    """One of the forms a matter takes, chosen by the facts (Jining's pension box: by insurance type and whether
    a pension was drawn). Each field it gives replaces the matter's; ``None`` keeps the matter's own."""

    id: str
    when: Condition
    name: Text
    notes: tuple[Text, ...] | None
    materials: tuple[MaterialUse, ...] | None
    time_limit: dict[str, Any] | None
    line: int


@dataclass(frozen=True)
class Matter:
    id: str
    name: Text
    department: str
    mandatory: bool
    applies_if: Condition | None
    not_applicable: Text | None
    preconditions: tuple[Check, ...]
    materials: tuple[MaterialUse, ...]
    time_limit: dict[str, Any] | None
    in_person: bool
    trips: tuple[TripUse, ...]
    notes: tuple[Text, ...]
    line: int
    after: tuple[str, ...] = ()  # matters of the case that must be done first; ("all",) = every other one
    confirm_if_unknown: Text | None = None  # asked for while applies_if is unknown: listed, with this to confirm
    stops_month: MonthAfter | None = None
    # What the family must still confirm on this matter (e.g. with the court judgment), beside the
    # preconditions that cannot be checked yet; both land in the entry's ``to_confirm``.
    to_confirm: tuple[ConditionalText, ...] = ()
    variants: tuple[Variant, ...] = ()  # at most one holds for any facts (dialogs check)


@dataclass(frozen=True)
class Warning:
    code: str
    when: Condition
    text: Text
    line: int


@dataclass(frozen=True)
class Implication:
    """Facts that follow from others (Fuyuan: 机关事业养老保险 means 机关事业单位人员), so a case whose facts
    already say so is decided without asking again; read by the rules, never over an answer given."""

    when: Condition
    sets: dict[str, Any]
    line: int


@dataclass(frozen=True)
class MaterialInfo:
    name: Text
    original: bool
    upload: bool


@dataclass(frozen=True)
class FormFact:
    """A fact the one form needs. Where the questionnaire asked it, the form reads that answer (never
    asked twice); on a path where it did not, the form asks it at ``field`` with ``options``."""

    fact: str
    field: str | None  # dotted form path; None: the questionnaire must answer it on every path that submits
    label: Text
    options: tuple[Option, ...]
    question: str | None  # the question whose wording and options the form borrows
    line: int
    department: str | None = None  # a field only that department reads (the seed prints it for them), labelled so
    when: Condition | None = None  # asked only while this holds (e.g. that department's matter was asked for)
    multiple: bool = False  # a list fact: any of the options, or the exclusive "none" for an empty list


@dataclass(frozen=True)
class Dialog:
    region: str
    name: Text
    source: str
    time_limit: dict[str, Any] | None
    eligibility: tuple[Check, ...]
    questions: tuple[Question, ...]
    matters: tuple[Matter, ...]
    materials: dict[str, MaterialInfo]
    warnings: tuple[Warning, ...]
    form: dict[str, Any]
    form_facts: tuple[FormFact, ...]
    raw: dict[str, Any]
    path: Path
    question_index: dict[str, Question]
    trips: tuple[TripUse, ...] = ()  # visits the whole service needs (e.g. Xinjiang's one visit, 原件核验)
    implies: tuple[Implication, ...] = ()
    version: str = ""  # rules_version: a short hash of the parsed content (content_version)

    def question(self, question_id: str) -> Question | None:
        return self.question_index.get(question_id)


_TEXT = {"type": "string", "minLength": 1}
_RULE = {"type": ["object", "boolean"]}
_TIME_LIMIT = {
    "type": "object",
    "properties": {
        "working_days": {"type": "integer", "minimum": 0},
        "hours": {"type": "integer", "minimum": 0},
        "text": _TEXT,
        "text_en": _TEXT,
    },
    "required": ["text", "text_en"],
    "additionalProperties": False,
}
_CHECK = {
    "type": "object",
    "properties": {"code": _TEXT, "when": _RULE, "reason": _TEXT, "reason_en": _TEXT},
    "required": ["when", "reason", "reason_en"],
    "additionalProperties": False,
}
_CONDITIONAL_ID = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"id": _TEXT, "when": _RULE},
            "required": ["id", "when"],
            "additionalProperties": False,
        },
    ]
}
_NOTES = {"type": "array", "items": _TEXT}
_TRIP = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"place": _TEXT, "when": _RULE, "notes": _NOTES, "notes_en": _NOTES},
            "required": ["place"],
            "additionalProperties": False,
        },
    ]
}
_CONDITIONAL_TEXT = {
    "type": "object",
    "properties": {"text": _TEXT, "text_en": _TEXT, "when": _RULE},
    "required": ["text", "text_en"],
    "additionalProperties": False,
}
_VARIANT = {
    "type": "object",
    "required": ["id", "when", "name", "name_en"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "when": _RULE,
        "name": _TEXT,
        "name_en": _TEXT,
        "notes": {"type": "array", "items": _TEXT},
        "notes_en": {"type": "array", "items": _TEXT},
        "materials": {"type": "array", "items": _CONDITIONAL_ID},
        "time_limit": _TIME_LIMIT,
    },
}
_OPTION = {
    "type": "object",
    "required": ["value", "label", "label_en"],
    "additionalProperties": False,
    "properties": {
        "value": {"type": ["string", "boolean"]},
        "label": _TEXT,
        "label_en": _TEXT,
        "sets": {"type": "object"},
        "exclusive": {"type": "boolean"},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["region", "name", "name_en", "source", "questions", "matters", "form", "consent"],
    "additionalProperties": False,
    "properties": {
        "region": _TEXT,
        "name": _TEXT,
        "name_en": _TEXT,
        "source": _TEXT,
        "time_limit": _TIME_LIMIT,
        "trips": {"type": "array", "items": {**_TRIP["oneOf"][1], "required": ["place", "notes", "notes_en"]}},
        "eligibility": {"type": "array", "items": _CHECK},
        "implies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["when", "sets"],
                "additionalProperties": False,
                "properties": {"when": _RULE, "sets": {"type": "object", "minProperties": 1}},
            },
        },
        "questions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "text", "text_en", "type", "seed"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "text": _TEXT,
                    "text_en": _TEXT,
                    "help": _TEXT,
                    "help_en": _TEXT,
                    "type": {"enum": list(QUESTION_TYPES)},
                    "fact": _TEXT,
                    "requests": {"type": "array", "items": _TEXT},
                    "show_if": _RULE,
                    "seed": _TEXT,
                    "options": {"type": "array", "items": _OPTION},
                },
            },
        },
        "materials": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "name": _TEXT,
                    "name_en": _TEXT,
                    "original": {"type": "boolean"},
                    "upload": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        },
        "matters": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "department", "mandatory"],
                "additionalProperties": False,
                "properties": {
                    "id": _TEXT,
                    "name": _TEXT,
                    "name_en": _TEXT,
                    "department": _TEXT,
                    "mandatory": {"type": "boolean"},
                    "applies_if": _RULE,
                    "not_applicable_reason": _TEXT,
                    "not_applicable_reason_en": _TEXT,
                    "preconditions": {"type": "array", "items": _CHECK},
                    "materials": {"type": "array", "items": _CONDITIONAL_ID},
                    "time_limit": _TIME_LIMIT,
                    "in_person": {"type": "boolean"},
                    "trips": {"type": "array", "items": _TRIP},
                    "to_confirm": {"type": "array", "items": _CONDITIONAL_TEXT},
                    "notes": {"type": "array", "items": _TEXT},
                    "notes_en": {"type": "array", "items": _TEXT},
                    "after": {"oneOf": [{"const": "all"}, {"type": "array", "items": _TEXT}]},
                    "confirm_if_unknown": {
                        "type": "object",
                        "properties": {"text": _TEXT, "text_en": _TEXT},
                        "required": ["text", "text_en"],
                        "additionalProperties": False,
                    },
                    "stops_month": {
                        "type": "object",
                        "properties": {"month_after": _TEXT, "note": _TEXT, "note_en": _TEXT},
                        "required": ["month_after", "note", "note_en"],
                        "additionalProperties": False,
                    },
                    "variants": {"type": "array", "minItems": 1, "items": _VARIANT},
                },
            },
        },
        "consent": {  # PIPL art. 29-30: the separate consent's words (domain/consent.py adds the departments)
            "type": "object",
            "additionalProperties": False,
            "required": ["purpose", "purpose_en", "retention", "retention_en"],
            "properties": {"purpose": _TEXT, "purpose_en": _TEXT, "retention": _TEXT, "retention_en": _TEXT},
        },
        "form": {
            "type": "object",
            "additionalProperties": False,
            "required": ["commitment", "commitment_en", "payees"],
            "properties": {
                "commitment": _TEXT,
                "commitment_en": _TEXT,
                "payees": {"type": "array", "minItems": 1, "items": _TEXT},
                "applicant_min_age": {"type": "integer", "minimum": 0},
                "adult_age": {"type": "integer", "minimum": 0},
                "minor_requires_self_support": {"type": "boolean"},
                "proxy_authorization": {"type": "boolean"},
                "facts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["fact", "label", "label_en"],
                        "additionalProperties": False,
                        "properties": {
                            "fact": _TEXT, "field": _TEXT, "question": _TEXT, "label": _TEXT, "label_en": _TEXT,
                            "options": {"type": "array", "items": _OPTION},
                            "department": _TEXT, "when": _RULE,
                        },
                    },
                },
            },
        },
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "when", "text", "text_en"],
                "additionalProperties": False,
                "properties": {"code": _TEXT, "when": _RULE, "text": _TEXT, "text_en": _TEXT},
            },
        },
    },
}


def line_index(text: str) -> dict[tuple, int]:
    """Map each path in a YAML document (keys and list positions) to its 1-based line."""
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, key.value))
                lines[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def nearest_line(lines: dict[tuple, int], path: tuple) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def read_region_file(path: Path) -> tuple[dict[str, Any], dict[tuple, int]]:
    """Parse a region file and check it against the schema; raise DialogFileError with lines."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
        lines = line_index(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DialogFileError([(str(path), (mark.line + 1) if mark else 1, f"YAML syntax: {exc}")]) from exc
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = [
        (str(path), nearest_line(lines, tuple(err.absolute_path)), f"schema: {err.message}")
        for err in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise DialogFileError(problems)
    return raw, lines


def build_dialog(raw: dict[str, Any], lines: dict[tuple, int], path: Path, vocab: Vocabulary) -> Dialog:
    """Turn a schema-valid region document into a Dialog (ids are checked by the checker)."""
    specs = vocab.facts

    def cond(rule: Any) -> Condition | None:
        return None if rule is None else Condition(rule, specs)

    def text(node: dict[str, Any], key: str) -> Text | None:
        if key not in node:
            return None
        return Text(node[key], node.get(f"{key}_en", node[key]))

    def check(node: dict[str, Any], where: tuple, default_code: str) -> Check:
        return Check(
            when=Condition(node["when"], specs),
            reason=Text(node["reason"], node["reason_en"]),
            code=node.get("code", default_code),
            line=nearest_line(lines, where),
        )

    def trip(node: str | dict[str, Any]) -> TripUse:
        if isinstance(node, str):
            return TripUse(node, None)
        notes = zip(node.get("notes", []), node.get("notes_en", node.get("notes", [])), strict=False)
        return TripUse(node["place"], cond(node.get("when")), tuple(Text(z, e) for z, e in notes))
    def uses(nodes: list[Any]) -> tuple[MaterialUse, ...]:
        return tuple(MaterialUse(x, None) if isinstance(x, str) else MaterialUse(x["id"], cond(x["when"])) for x in nodes)

    def notes(node: dict[str, Any]) -> tuple[Text, ...]:
        zh = node.get("notes", [])
        return tuple(Text(z, e) for z, e in zip(zh, node.get("notes_en", zh), strict=False))

    def variant(node: dict[str, Any], where: tuple) -> Variant:
        return Variant(
            id=node["id"],
            when=Condition(node["when"], specs),
            name=Text(node["name"], node["name_en"]),
            notes=notes(node) if "notes" in node else None,
            materials=uses(node["materials"]) if "materials" in node else None,
            time_limit=node.get("time_limit"),
            line=nearest_line(lines, where),
        )

    questions = []
    for i, q in enumerate(raw["questions"]):
        options = _options(q.get("options", []))
        if q["type"] == "yes_no" and not options:
            options = (Option(True, Text("是", "Yes")), Option(False, Text("否", "No")))
        questions.append(
            Question(
                id=q["id"],
                text=Text(q["text"], q["text_en"]),
                type=q["type"],
                fact=q.get("fact"),
                options=options,
                show_if=cond(q.get("show_if")),
                requests=tuple(q.get("requests", ())),
                help=text(q, "help"),
                seed=q["seed"],
                line=nearest_line(lines, ("questions", i)),
            )
        )

    matters = []
    for i, m in enumerate(raw["matters"]):
        base = vocab.matters.get(m["id"], {})
        matters.append(
            Matter(
                id=m["id"],
                name=Text(m.get("name", base.get("name", m["id"])), m.get("name_en", base.get("name_en", m["id"]))),
                department=m["department"],
                mandatory=m["mandatory"],
                applies_if=cond(m.get("applies_if")),
                not_applicable=text(m, "not_applicable_reason"),
                preconditions=tuple(
                    check(p, ("matters", i, "preconditions", j), f"{m['id']}_precondition")
                    for j, p in enumerate(m.get("preconditions", []))
                ),
                materials=uses(m.get("materials", [])),
                time_limit=m.get("time_limit"),
                in_person=bool(m.get("in_person", False)),
                trips=tuple(trip(t) for t in m.get("trips", [])),
                notes=notes(m),
                line=nearest_line(lines, ("matters", i)),
                after=("all",) if m.get("after") == "all" else tuple(m.get("after", ())),
                confirm_if_unknown=text(m["confirm_if_unknown"], "text") if "confirm_if_unknown" in m else None,
                stops_month=(MonthAfter(m["stops_month"]["month_after"], text(m["stops_month"], "note"))
                             if "stops_month" in m else None),
                to_confirm=tuple(ConditionalText(Text(c["text"], c["text_en"]), cond(c.get("when")))
                                 for c in m.get("to_confirm", [])),
                variants=tuple(variant(v, ("matters", i, "variants", j)) for j, v in enumerate(m.get("variants", []))),
            )
        )

    materials = {}
    for mat_id, base in vocab.materials.items():
        own = (raw.get("materials") or {}).get(mat_id, {})
        materials[mat_id] = MaterialInfo(
            name=Text(own.get("name", base["name"]), own.get("name_en", base["name_en"])),
            original=own.get("original", True),
            upload=own.get("upload", True),
        )

    return Dialog(
        region=raw["region"],
        name=Text(raw["name"], raw["name_en"]),
        source=raw["source"],
        time_limit=raw.get("time_limit"),
        eligibility=tuple(
            check(e, ("eligibility", i), "not_eligible") for i, e in enumerate(raw.get("eligibility", []))
        ),
        questions=tuple(questions),
        matters=tuple(matters),
        materials=materials,
        warnings=tuple(
            Warning(w["code"], Condition(w["when"], specs), Text(w["text"], w["text_en"]),
                    nearest_line(lines, ("warnings", i)))
            for i, w in enumerate(raw.get("warnings", []))
        ),
        form=raw["form"],
        form_facts=tuple(_form_fact(f, i, questions, lines, vocab)
                         for i, f in enumerate(raw["form"].get("facts", []))),
        raw=raw,
        path=path,
        question_index={q.id: q for q in questions},
        trips=tuple(trip(t) for t in raw.get("trips", [])),
        implies=tuple(Implication(Condition(x["when"], specs), dict(x["sets"]), nearest_line(lines, ("implies", i)))
                      for i, x in enumerate(raw.get("implies", []))),
        version=content_version(raw),
    )


VERSION_LENGTH = 12  # hex digits of SHA-256: 48 bits, plenty to tell a region's few versions apart


def canonical(raw: dict[str, Any]) -> str:
    """The parsed content as one canonical JSON text (keys sorted, no spaces): what a version is a hash of."""
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def content_version(raw: dict[str, Any]) -> str:
    """A region file's version: a hash of what it says, not of its bytes, so that a comment, a re-indent or
    an anchor written out in full keeps the version (nothing a family sees changed), and any change to a
    question, an option, a condition or a text gives a new one."""
    return hashlib.sha256(canonical(raw).encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def _options(nodes: list[dict[str, Any]]) -> tuple[Option, ...]:
    return tuple(Option(o["value"], Text(o["label"], o["label_en"]), dict(o.get("sets", {})), bool(o.get("exclusive")))
                 for o in nodes)


def _form_fact(node: dict[str, Any], index: int, questions: list[Question], lines: dict[tuple, int],
               vocab: Vocabulary) -> FormFact:
    """A ``form.facts`` entry; options come from the borrowed question unless the entry gives its own.
    A list fact keeps its exclusive "none" (the empty list); a single choice has no use for one."""
    borrowed = next((q for q in questions if q.id == node.get("question")), None)
    options = _options(node["options"]) if "options" in node else (borrowed.options if borrowed else ())
    spec = vocab.facts.get(node["fact"])
    multiple = spec is not None and spec.type == "list"
    return FormFact(fact=node["fact"], field=node.get("field"), label=Text(node["label"], node["label_en"]),
                    options=tuple(o for o in options if multiple or not o.exclusive), question=node.get("question"),
                    line=nearest_line(lines, ("form", "facts", index)), department=node.get("department"),
                    when=Condition(node["when"], vocab.facts) if "when" in node else None, multiple=multiple)


class UnknownRegion(KeyError):
    pass


@lru_cache(maxsize=16)
def load_dialog(region: str, dialogs_dir: Path = DIALOGS_DIR) -> Dialog:
    """Load one region's dialog; raises UnknownRegion or DialogFileError."""
    vocab = load_vocabulary(dialogs_dir)
    if region not in vocab.regions:
        raise UnknownRegion(region)
    path = dialogs_dir / f"{region}.yaml"
    raw, lines = read_region_file(path)
    return build_dialog(raw, lines, path, vocab)
