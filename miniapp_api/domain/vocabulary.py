"""The shared vocabulary (``../shared/CONTRACT.md``) (regions, departments, matters, materials, places, facts).

It lives in ``dialogs/vocabulary.yaml`` so that region files and the checker read one list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DIALOGS_DIR = Path(__file__).resolve().parents[2] / "dialogs"


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str  # bool, enum, list, date, text
    values: tuple[str, ...] = ()
    ext: bool = False


@dataclass(frozen=True)
class Vocabulary:
    regions: tuple[str, ...]
    departments: dict[str, dict[str, str]]
    matters: dict[str, dict[str, Any]]
    materials: dict[str, dict[str, str]]
    places: dict[str, dict[str, str]]
    payees: dict[str, dict[str, str]]
    facts: dict[str, FactSpec]


class FactError(ValueError):
    """A fact that is not in the vocabulary, or a value the vocabulary does not allow."""

    def __init__(self, fact: str, message: str, message_en: str):
        super().__init__(message_en)
        self.fact = fact
        self.message = message
        self.message_en = message_en


@lru_cache(maxsize=4)
def load_vocabulary(dialogs_dir: Path = DIALOGS_DIR) -> Vocabulary:
    raw = yaml.safe_load((dialogs_dir / "vocabulary.yaml").read_text(encoding="utf-8"))
    facts = {}
    for name, spec in raw["facts"].items():
        values = spec.get("values", ())
        if values == "matters":
            values = tuple(raw["matters"])
        facts[name] = FactSpec(name=name, type=spec["type"], values=tuple(values), ext=bool(spec.get("ext")))
    return Vocabulary(
        regions=tuple(raw["regions"]),
        departments=raw["departments"],
        matters=raw["matters"],
        materials=raw["materials"],
        places=raw["places"],
        payees=raw["payees"],
        facts=facts,
    )


def parse_date(value: Any) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) from a string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def validate_fact(spec: FactSpec, value: Any, today: dt.date | None = None) -> Any:
    """Check one fact value against its type; return it normalised (lists de-duplicated)."""
    name = spec.name
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise FactError(name, f"事实 {name} 应为是/否（true/false）", f"fact {name} must be true or false")
        return value
    if spec.type == "enum":
        if value not in spec.values:
            allowed = ", ".join(spec.values)
            raise FactError(name, f"事实 {name} 的取值无效，应为：{allowed}", f"fact {name} must be one of: {allowed}")
        return value
    if spec.type == "list":
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise FactError(name, f"事实 {name} 应为列表", f"fact {name} must be a list")
        bad = [v for v in value if v not in spec.values]
        if bad:
            raise FactError(name, f"事实 {name} 含有无效取值：{', '.join(bad)}",
                            f"fact {name} has values outside the contract: {', '.join(bad)}")
        return list(dict.fromkeys(value))
    if spec.type == "date":
        day = parse_date(value)
        if day is None:
            raise FactError(name, f"事实 {name} 应为日期（YYYY-MM-DD）",
                            f"fact {name} must be an ISO date (YYYY-MM-DD)")
        if day > (today or dt.date.today()):
            raise FactError(name, f"事实 {name} 不能晚于今天", f"fact {name} cannot be in the future")
        return day.isoformat()
    if not isinstance(value, str):
        raise FactError(name, f"事实 {name} 应为文字", f"fact {name} must be text")
    return value


def validate_facts(facts: Any, vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """Validate a whole facts document (the CLI's ``--facts`` file or an API body)."""
    vocab = vocabulary or load_vocabulary()
    if not isinstance(facts, dict):
        raise FactError("", "事实应为 JSON 对象", "facts must be a JSON object")
    clean = {}
    for name, value in facts.items():
        spec = vocab.facts.get(name)
        if spec is None:
            raise FactError(name, f"未知的事实：{name}", f"unknown fact: {name}")
        if value is None:
            continue  # null means "not known", the same as absent
        clean[name] = validate_fact(spec, value)
    return clean
