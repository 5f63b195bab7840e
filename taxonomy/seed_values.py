"""Reading a list of value names (optionally with definitions) to guide a build or start a taxonomy.

Accepted shapes, in YAML or JSON: a list of names; a list of ``{name, definition, parent}``
objects; or an object with such a list under ``values`` (the shape of the Table 5 file in
``../shared/data/reference_taxonomies``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from moralgap.errors import InputError


@dataclass(frozen=True)
class SeedValue:
    name: str
    definition: str = ""
    parent: str | None = None

    @property
    def text(self) -> str:
        return f"{self.name}: {self.definition}" if self.definition else self.name


def load_seed_values(path: str | os.PathLike) -> list[SeedValue]:
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    try:
        raw = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(p, "not UTF-8 text") from None
    try:
        data = json.loads(raw) if p.suffix == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "lineno", None) or (mark.line + 1 if mark else None)
        raise InputError(p, f"cannot parse ({exc.__class__.__name__})", line=line) from None
    items = data.get("values") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError(p, "expected a non-empty list of values (or an object with a 'values' list)", field="values")
    out: list[SeedValue] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"values[{i}]"
        if isinstance(item, str):
            sv = SeedValue(item.strip())
        elif isinstance(item, dict):
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                raise InputError(p, "each value needs a non-empty 'name'", field=f"{where}.name")
            definition = item.get("definition") or ""
            if not isinstance(definition, str):
                raise InputError(p, "expected a string", field=f"{where}.definition")
            parent = item.get("parent")
            sv = SeedValue(name.strip(), definition.strip(), parent if isinstance(parent, str) else None)
        else:
            raise InputError(p, f"expected a name or an object, got {type(item).__name__}", field=where)
        if not sv.name:
            raise InputError(p, "empty value name", field=where)
        if sv.name.lower() in seen:
            raise InputError(p, f"value {sv.name!r} is listed twice", field=where)
        seen.add(sv.name.lower())
        out.append(sv)
    return out
