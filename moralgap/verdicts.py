"""Mapping raw verdict labels (AITA codes, words) to acceptable / unacceptable.

The paper maps YTA -> unacceptable and NTA -> acceptable but does not say what happened to
ESH / NAH / INFO; the default here (ESH -> unacceptable, NAH -> acceptable, INFO dropped) is a
documented choice the user can override with a JSON/YAML mapping or ``--verdict-map``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .records import ACCEPTABLE, UNACCEPTABLE

DROP = "drop"

DEFAULT_MAPPING: dict[str, str] = {
    "yta": UNACCEPTABLE,
    "esh": UNACCEPTABLE,
    "nta": ACCEPTABLE,
    "nah": ACCEPTABLE,
    "info": DROP,
    "acceptable": ACCEPTABLE,
    "unacceptable": UNACCEPTABLE,
    "not acceptable": UNACCEPTABLE,
    "wrong": UNACCEPTABLE,
    "not wrong": ACCEPTABLE,
    "author": UNACCEPTABLE,  # Scruples label names
    "other": ACCEPTABLE,
    "everybody": UNACCEPTABLE,
    "nobody": ACCEPTABLE,
}

_TARGETS = {ACCEPTABLE, UNACCEPTABLE, DROP}


def _key(label: str) -> str:
    return " ".join(str(label).strip().lower().replace("_", " ").split())


@dataclass
class VerdictMap:
    mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MAPPING))

    def __post_init__(self):
        clean = {}
        for k, v in self.mapping.items():
            target = _key(v)
            if target not in _TARGETS:
                raise ConfigError(f"verdict mapping: {k!r} -> {v!r}; targets must be acceptable, unacceptable or drop")
            clean[_key(k)] = target
        self.mapping = clean

    @classmethod
    def from_overrides(cls, overrides: dict[str, str] | None = None) -> "VerdictMap":
        mapping = dict(DEFAULT_MAPPING)
        mapping.update({_key(k): v for k, v in (overrides or {}).items()})
        return cls(mapping)

    @classmethod
    def from_file(cls, path: str | Path) -> "VerdictMap":
        import yaml

        from .io import read_json

        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            data = read_json(path)
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a verdict mapping must be an object of label -> acceptable|unacceptable|drop")
        return cls.from_overrides(data)

    @classmethod
    def parse_option(cls, text: str | None) -> "VerdictMap":
        """``ESH=acceptable,INFO=drop`` or a path to a JSON/YAML file."""
        if not text:
            return cls()
        if Path(text).exists():
            return cls.from_file(text)
        overrides = {}
        for part in text.split(","):
            if "=" not in part:
                raise ConfigError(f"--verdict-map: expected LABEL=TARGET pairs or a file, got {part!r}")
            k, v = part.split("=", 1)
            overrides[k] = v
        return cls.from_overrides(overrides)

    def normalise(self, label) -> str | None:
        """Return acceptable / unacceptable / ``"drop"``, or ``None`` for an unknown label."""
        if label is None:
            return None
        return self.mapping.get(_key(label))
