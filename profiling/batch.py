"""``prompts.jsonl``: one OpenAI-batch-style request line per generation, with DMP metadata.

Each line is an OpenAI batch-input line (``custom_id``, ``method``, ``url``, ``body``) plus a
``moralgap`` key with everything needed to trace and regenerate the prompt (dilemma,
condition, sample index, seed, the profile shown, template hash, profiles hash). For endpoints
that reject unknown keys, :func:`split_plain` separates the metadata into a sidecar file.
"""
from __future__ import annotations

import os
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from moralgap.errors import InputError
from moralgap.io import atomic_open, dumps
from moralgap.prompts_format import SEPARATOR, custom_id, sidecar_path, split_plain  # noqa: F401 (re-exported)
from moralgap.records import Dilemma

from .profiles import GLOBAL, Profiles
from .prompts import PromptTemplate
from .sampler import CONDITIONS, PROFILED, DMPSampler

def parse_custom_id(cid: str) -> tuple[str, str, int]:
    dilemma_id, condition, sample = cid.rsplit(SEPARATOR, 2)
    return dilemma_id, condition, int(sample)


@dataclass(frozen=True)
class RequestSettings:
    model: str = "MODEL"
    temperature: float = 1.0
    max_tokens: int = 256
    url: str = "/v1/chat/completions"


class PromptBatch:
    """Assemble the request lines for dilemmas x conditions x samples."""

    def __init__(self, profiles: Profiles, sampler: DMPSampler, templates: Mapping[str, PromptTemplate], *,
                 settings: RequestSettings = RequestSettings(), group: str | None = None, unknown_group: str = "error"):
        if unknown_group not in ("error", "global"):
            raise ValueError("unknown_group must be 'error' or 'global'")
        if group is not None and not profiles.has_group(group):
            raise InputError(profiles.path, f"no group {group!r} (groups: {', '.join(sorted(profiles.data['groups'])[:10])}, {GLOBAL})",
                             field="groups")
        self.profiles = profiles
        self.sampler = sampler
        self.templates = dict(templates)
        self.settings = settings
        self.group = group
        self.unknown_group = unknown_group

    def resolve_group(self, dilemma: Dilemma, *, needed: bool, source: str | None = None) -> str | None:
        if self.group is not None:
            return self.group
        found = self.profiles.group_for(dilemma)
        if found is not None or not needed:
            return found
        if self.unknown_group == "global":
            return GLOBAL
        grouping = self.profiles.grouping
        if not grouping.is_dilemma_level:
            why = f"profiles are grouped by judgment field {grouping.by!r}, which a dilemma does not have; pass --group"
        else:
            why = f"no profile group for this dilemma's {grouping.by} in {self.profiles.path or 'the profiles'}; rebuild profiles with it, pass --group, or --unknown-group global"
        raise InputError(source, f"dilemma {dilemma.id!r}: {why}", field="topics" if grouping.by == "topic" else grouping.by)

    def line(self, dilemma: Dilemma, condition: str, sample: int, group: str | None) -> dict:
        if condition not in CONDITIONS:
            raise ValueError(f"unknown condition {condition!r}")
        template = self.templates[condition]
        profile = self.sampler.profile(dilemma.id, sample, group, condition) if condition in PROFILED else None
        messages = template.render(dilemma=dilemma.text, profile=profile, title=dilemma.title, group=group or "", k=self.sampler.k)
        s = self.settings
        return {
            "custom_id": custom_id(dilemma.id, condition, sample),
            "method": "POST",
            "url": s.url,
            "body": {"model": s.model, "messages": messages, "temperature": s.temperature, "max_tokens": s.max_tokens},
            "moralgap": {
                "dilemma_id": dilemma.id,
                "condition": condition,
                "sample": sample,
                "seed": self.sampler.seed,
                "profile": [it.to_json() for it in profile] if profile is not None else None,
                "group": group,
                "template": template.name,
                "template_sha256": template.sha256,
                "taxonomy_version": self.profiles.taxonomy_version,
                "profiles_sha256": self.profiles.sha256,
            },
        }

    def lines(self, dilemmas: Sequence[Dilemma], conditions: Sequence[str], samples: int | Mapping[str, int], *,
              source: str | None = None) -> Iterator[dict]:
        """All lines, dilemma by dilemma; ``samples`` is one count or a count per dilemma id."""
        needs_profile = any(c in PROFILED for c in conditions)
        for d in dilemmas:
            if SEPARATOR in d.id:
                raise InputError(source, f"dilemma id {d.id!r} contains {SEPARATOR!r}, which custom ids use as separator", field="id")
            group = self.resolve_group(d, needed=needs_profile, source=source)
            n = samples if isinstance(samples, int) else samples.get(d.id, 0)
            for condition in conditions:
                for i in range(n):
                    yield self.line(d, condition, i, group)


def write_prompts(batch: PromptBatch, dilemmas: Sequence[Dilemma], conditions: Sequence[str],
                  samples: int | Mapping[str, int], out: str | os.PathLike, *, plain: bool = False,
                  source: str | None = None) -> Counter:
    """Write every request line to ``out`` (atomically); returns the number of lines per condition.

    With ``plain`` the lines carry no ``moralgap`` key and the metadata goes to
    :func:`moralgap.prompts_format.sidecar_path` (``prompts.meta.jsonl``), where ``judge`` looks. Lines are streamed: at paper scale (1,618 dilemmas x 32 samples x 6
    conditions) the file is about 0.5 GB.
    """
    out = Path(out)
    meta = sidecar_path(out) if plain else None
    by_condition: Counter[str] = Counter()
    with atomic_open(out) as fh, (atomic_open(meta) if meta else nullcontext()) as meta_fh:
        for line in batch.lines(dilemmas, conditions, samples, source=source):
            by_condition[line["moralgap"]["condition"]] += 1
            if meta_fh is not None:
                line, info = split_plain(line)
                meta_fh.write(dumps(info) + "\n")
            fh.write(dumps(line) + "\n")
    return by_condition
