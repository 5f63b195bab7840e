"""The team's value lexicon: words and phrases that name, honour or break a value.

Entries map a lower-cased term to one or more ``(value, sign, kind)`` senses: ``kind`` is
``noun`` for words naming the value itself and ``word`` for evaluative adjectives, verbs and
nouns; ``sign`` is +1 when using the word honours the value and -1 when it says the value is
broken. A term listed under several values keeps all senses; the first listed is primary.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from moralgap.errors import InputError

DEFAULT_LEXICON = "value_lexicon.yaml"


@dataclass(frozen=True)
class Sense:
    value: str
    sign: int
    kind: str  # "noun" | "word"


@dataclass
class ValueLexicon:
    definitions: dict[str, str]
    terms: dict[str, list[Sense]] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "ValueLexicon":
        if path is None:
            text = resources.files("moralgap.taxonomy.resources").joinpath(DEFAULT_LEXICON).read_text(encoding="utf-8")
            source = f"moralgap:{DEFAULT_LEXICON}"
        else:
            p = Path(path)
            if not p.exists():
                raise InputError(p, "lexicon file not found")
            text, source = p.read_text(encoding="utf-8"), str(p)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise InputError(source, f"not valid YAML ({exc.__class__.__name__})", line=None if line is None else line + 1) from None
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            raise InputError(source, "a lexicon needs a 'values' mapping of value name -> entry", field="values")
        lex = cls(definitions={}, source=source)
        for name, entry in data["values"].items():
            entry = entry or {}
            if not isinstance(entry, dict):
                raise InputError(source, "expected a mapping with definition/nouns/upheld/violated", field=f"values.{name}")
            lex.definitions[name] = str(entry.get("definition", "")).strip()
            for key, sign, kind in (("nouns", 1, "noun"), ("upheld", 1, "word"), ("violated", -1, "word")):
                for term in entry.get(key) or []:
                    t = " ".join(str(term).lower().split())
                    senses = lex.terms.setdefault(t, [])
                    if all(s.value != name for s in senses):
                        senses.append(Sense(name, sign, kind))
        return lex

    @property
    def value_names(self) -> list[str]:
        return list(self.definitions)

    def single_words(self) -> list[str]:
        return sorted(t for t in self.terms if " " not in t)

    def phrases(self) -> list[str]:
        return sorted(t for t in self.terms if " " in t)

    def lookup(self, term: str) -> list[Sense]:
        return self.terms.get(" ".join(term.lower().split()), [])
