"""Value diversity of human and model rationales, per condition, and how far apart they are.

Annotations (``ValueAnnotation``) are matched to judgments by ``rationale_id`` = judgment id;
each side (``human`` or a model condition) gets value counts (a rationale counts a value
once), normalised entropy, top-10 share, number of distinct values and the Jensen-Shannon
divergence of its value distribution from the human one. Entropy is normalised by the size
of the value set: the taxonomy's when ``n_values`` is given, else every value seen on any
side. The diversity functions are shared by every stage (``moralgap.diversity``).

With ``gap_settings`` the human side is also compared with each model side on the dilemmas
both have (:func:`moralgap.diversity_gap.gaps_against`): pooled and per-dilemma top-k share and
entropy, values per rationale, and human-minus-model differences with paired bootstrap
intervals, under each requested counting of mentions.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from moralgap.records import Dilemma, Judgment, ValueAnnotation
from moralgap.diversity import js_divergence, normalised_entropy, top_k_share, value_counts

HUMAN = "human"


@dataclass
class ValuesResult:
    counts: dict[str, dict[str, int]]
    summary: dict[str, dict]
    topic_profiles: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    unmatched: int = 0
    n_values: int = 0
    # side -> counting -> diversity_gap result (human minus that side)
    gaps: dict[str, dict[str, dict]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"n_values": self.n_values, "unmatched_annotations": self.unmatched, "sides": self.summary,
                "topic_profiles": self.topic_profiles, "diversity_gap": self.gaps}


def side_of(human: Iterable[Judgment], models: Mapping[str, Iterable[Judgment]]) -> dict[str, tuple[str, str]]:
    """``rationale_id -> (side, dilemma_id)`` for every judgment."""
    out = {j.id: (HUMAN, j.dilemma_id) for j in human}
    for label, js in models.items():
        for j in js:
            out[j.id] = (label, j.dilemma_id)
    return out


def values_gap(annotations: Iterable[ValueAnnotation], sides: Mapping[str, tuple[str, str]], *,
               n_values: Optional[int] = None, k: int = 10, dilemmas: Optional[Iterable[Dilemma]] = None,
               top_topics: int = 8, value_ids: Optional[list[str]] = None,
               gap_settings: Optional[dict] = None) -> ValuesResult:
    """Diversity per side; ``value_ids`` (default: every value seen) is the value list of the
    human-minus-model comparison that ``gap_settings`` (keywords of ``gaps_against``) asks for."""
    annotations = list(annotations)
    by_side: dict[str, list] = defaultdict(list)
    by_topic: dict[tuple[str, str], list] = defaultdict(list)
    topic_of = {d.id: (d.topics[0] if d.topics else None) for d in (dilemmas or [])}
    unmatched = 0
    for ann in annotations:
        hit = sides.get(ann.rationale_id)
        if hit is None:
            unmatched += 1
            continue
        by_side[hit[0]].append(ann)
        topic = topic_of.get(hit[1])
        if topic:
            by_topic[(topic, hit[0])].append(ann)
    universe = sorted({v for anns in by_side.values() for a in anns for v in a.value_ids})
    size = n_values or len(universe)
    counts = {s: value_counts(anns, universe) for s, anns in sorted(by_side.items())}
    human = counts.get(HUMAN)
    summary = {}
    for s, c in counts.items():
        vec = list(c.values())
        summary[s] = {
            "rationales": len(by_side[s]), "mentions": int(sum(vec)),
            "distinct_values": sum(1 for v in vec if v > 0),
            "normalised_entropy": normalised_entropy(vec, size) if sum(vec) else float("nan"),
            f"top_{k}_share": top_k_share(vec, k) if sum(vec) else float("nan"),
            "js_divergence_vs_human": js_divergence(c, human) if human is not None and s != HUMAN else None,
        }
    # Per-topic profiles of the most annotated topics: value shares per side.
    topic_sizes = defaultdict(int)
    for (topic, _), anns in by_topic.items():
        topic_sizes[topic] += len(anns)
    profiles: dict[str, dict[str, dict[str, float]]] = {}
    for topic in sorted(topic_sizes, key=lambda t: (-topic_sizes[t], t))[:top_topics]:
        profiles[topic] = {}
        for s in counts:
            c = value_counts(by_topic.get((topic, s), []))
            total = sum(c.values())
            if total:
                profiles[topic][s] = {v: n / total for v, n in c.items()}
    gaps = {}
    if gap_settings is not None and HUMAN in by_side:
        from moralgap.diversity_gap import gaps_against

        ids = value_ids if value_ids is not None else universe
        settings = {"n_values": size, **gap_settings}
        gaps = gaps_against(annotations, sides, ids, reference=HUMAN, **settings)
    return ValuesResult(counts, summary, profiles, unmatched, size, gaps)
