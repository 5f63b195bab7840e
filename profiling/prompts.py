"""Prompt templates: files with a system and a user part and ``{{placeholders}}``.

A template file has a ``[system]`` line followed by the system message and a ``[user]`` line
followed by the user message (without those headers the whole file is the user message).
Placeholders: ``{{dilemma}}`` (required; filled in as a quoted block, each line starting
with ``> ``, see :func:`quote_block`), ``{{profile}}`` (required for profiled conditions:
one ``- Name: 0.40`` line per item), ``{{title}}``, ``{{group}}`` and ``{{k}}``. Every output
records the file name and the sha256 of its bytes, so a result can be traced to its wording.

The team's templates (``profiling/templates/``) ask for exactly two lines,
``Evaluation: ACCEPTABLE|UNACCEPTABLE`` and ``Rationale: ...``; the population control adds
``Share unacceptable: NN%`` between them (:func:`parse_share_unacceptable` reads it).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from moralgap.errors import InputError
from moralgap.text import one_line

from .sampler import PROFILED, ProfileItem

TEMPLATE_DIR = Path(__file__).with_name("templates")
DEFAULT_TEMPLATES = {
    "vanilla": "vanilla.txt",
    "dmp": "dmp.txt",
    "uniform": "dmp.txt",
    "shuffled": "dmp.txt",
    "persona": "persona.txt",
    "population": "population.txt",
}
PLACEHOLDERS = ("dilemma", "profile", "title", "group", "k")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+)\s*\}\}")
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.IGNORECASE)
_SHARE = re.compile(r"^\s*\**\s*share\s+unacceptable\s*\**\s*:\s*\**\s*(\d{1,3}(?:\.\d+)?)\s*%", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    sha256: str
    system: str | None
    user: str

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall((self.system or "") + self.user))

    @classmethod
    def load(cls, path: str | Path) -> "PromptTemplate":
        p = Path(path)
        if not p.is_file():
            raise InputError(p, "template file not found")
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(p, "template is not UTF-8 text") from None
        parts: dict[str, list[str]] = {}
        current: str | None = None
        for line_no, line in enumerate(text.splitlines(), start=1):
            m = _SECTION.match(line)
            if m:
                current = m.group(1).lower()
                if current in parts:
                    raise InputError(p, f"second [{current}] section", line=line_no)
                parts[current] = []
            elif current is None:
                if line.strip():
                    current = "user-only"
                    parts[current] = [line]
            else:
                parts[current].append(line)
        if "user-only" in parts and len(parts) > 1:
            raise InputError(p, "text before the first [system]/[user] header")
        user = "\n".join(parts.get("user", parts.get("user-only", []))).strip()
        system = "\n".join(parts["system"]).strip() if "system" in parts else None
        if not user:
            raise InputError(p, "template has no user message")
        tpl = cls(p.name, hashlib.sha256(raw).hexdigest(), system or None, user)
        unknown = sorted(tpl.placeholders - set(PLACEHOLDERS))
        if unknown:
            raise InputError(p, f"unknown placeholder(s) {', '.join('{{' + u + '}}' for u in unknown)}; "
                             f"known: {', '.join(PLACEHOLDERS)}")
        if "dilemma" not in tpl.placeholders:
            raise InputError(p, "template never shows the dilemma: it needs a {{dilemma}} placeholder")
        return tpl

    @classmethod
    def builtin(cls, condition: str) -> "PromptTemplate":
        return cls.load(TEMPLATE_DIR / DEFAULT_TEMPLATES[condition])

    def check_condition(self, condition: str, origin: str | Path | None = None) -> None:
        """A profiled condition needs {{profile}}; an unprofiled one must not have it."""
        has = "profile" in self.placeholders
        if condition in PROFILED and not has:
            raise InputError(origin or self.name, f"condition {condition!r} shows a profile, but the template has no {{{{profile}}}}")
        if condition not in PROFILED and has:
            raise InputError(origin or self.name, f"condition {condition!r} has no profile, but the template has {{{{profile}}}}")

    def render(self, *, dilemma: str, profile: Sequence[ProfileItem] | None = None, title: str = "",
               group: str = "", k: int | None = None) -> list[dict[str, str]]:
        fields = {"dilemma": quote_block(dilemma), "profile": render_profile(profile) if profile else "",
                  "title": one_line(title), "group": one_line(group), "k": "" if k is None else str(k)}

        def fill(text: str) -> str:
            # One pass over the template, so a placeholder-like string inside the dilemma stays as written.
            return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], text)

        messages = []
        if self.system:
            messages.append({"role": "system", "content": fill(self.system)})
        messages.append({"role": "user", "content": fill(self.user)})
        return messages


QUOTE = "> "


def quote_block(text: str) -> str:
    """The dilemma as a quoted block: every line starts with ``> ``.

    No line of user data can then close the situation block, forge an ``Evaluation:`` line
    or pass for an instruction; the parser ignores quoted lines a model echoes back. Every
    Unicode line break counts (a model may read U+2028 as one), not only ``\\n``.
    """
    return "\n".join(QUOTE + line if line.strip() else QUOTE.rstrip() for line in text.strip().splitlines())




def render_profile(items: Sequence[ProfileItem]) -> str:
    return "\n".join(f"- {it.name}: {it.weight:.2f}" for it in items)


def parse_share_unacceptable(text: str | None) -> float | None:
    """The ``Share unacceptable: NN%`` of a population-prompt answer as a fraction in [0, 1], or None."""
    if not text:
        return None
    m = _SHARE.search(text)
    if not m:
        return None
    share = float(m.group(1))
    return share / 100 if 0 <= share <= 100 else None
