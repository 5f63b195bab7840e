"""Values that are one dilemma's topic: the build's doubt when a value's rationales come mostly
from a single dilemma.

A value is what people hold across the situations they judge. On argument premises, where many
premises argue each conclusion, the build also forms clusters of what the premises argue
*about*: "Economic Sanctions" (over 90% of its premises argue one conclusion on sanctions),
"Capital Punishment", "Right To Keep" (the right to keep and bear arms). Such a value is
published as ``needs_review`` with the dilemma named, never dropped: in a corpus where a value
truly belongs to one dilemma, the reviewer says so.

The doubt needs a dilemma to dominate the value three ways: it holds at least
``TOPIC_MIN_RATIONALES`` of the value's rationales, at least two thirds of them, and at least
``TOPIC_LIFT`` times its share of the whole corpus (a corpus of one dilemma has no topics to
tell apart). Half would not do: on the bundled sample, 5 of the 9 rationales of "Protect"
judge the dilemma about a premature newborn, whose core that value is. Where each dilemma has
one rationale, as with one top comment per AITA post, no value can be doubted this way.

Each value's ``quality`` gets ``n_dilemmas`` and ``top_dilemma_share``: the build's figures,
which an edit does not recount; an update records them for the values it adds.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

TOPIC_MIN_RATIONALES = 5
TOPIC_SHARE = 2 / 3
TOPIC_LIFT = 3.0


def dilemma_spread(pairs: Iterable[tuple[str, str]], dilemma_of: Mapping[str, str]) -> dict[str, Counter]:
    """``{value_id: Counter(dilemma -> rationales)}`` from ``(value_id, rationale_id)`` pairs
    (one per expression; a rationale counts once per value)."""
    seen: set[tuple[str, str]] = set()
    spread: dict[str, Counter] = {}
    for value_id, rationale_id in pairs:
        if value_id is None or (value_id, rationale_id) in seen or rationale_id not in dilemma_of:
            continue
        seen.add((value_id, rationale_id))
        spread.setdefault(value_id, Counter())[dilemma_of[rationale_id]] += 1
    return spread


def topic_reason(spread: Counter, dilemma_sizes: Mapping[str, int], n_rationales: int) -> str | None:
    """Why the value may be a dilemma's topic rather than a value, or ``None``."""
    if not spread or not n_rationales:
        return None
    dilemma, n = max(spread.items(), key=lambda kv: (kv[1], kv[0]))
    share = n / sum(spread.values())
    base = dilemma_sizes.get(dilemma, 0) / n_rationales
    if n < TOPIC_MIN_RATIONALES or share < TOPIC_SHARE or share < TOPIC_LIFT * base:
        return None
    return (f"{share:.0%} of its rationales judge one dilemma ({_short(dilemma)}): "
            "it may be that dilemma's topic, not a value")


def flag_topics(taxonomy, spread: Mapping[str, Counter], dilemma_sizes: Mapping[str, int]) -> int:
    """Record each value's dilemma spread and send the likely topics to review; returns how many
    values were newly sent. Only values the build proposed are sent: a reviewed status stays."""
    n_rationales = sum(dilemma_sizes.values())
    flagged = 0
    for v in taxonomy.values:
        counts = spread.get(v.id)
        if not counts:
            continue
        v.quality = {**(v.quality or {}), "n_dilemmas": len(counts),
                     "top_dilemma_share": round(max(counts.values()) / sum(counts.values()), 4)}
        why = topic_reason(counts, dilemma_sizes, n_rationales)
        if why is None or v.status not in ("proposed", "needs_review"):
            continue
        flagged += v.status == "proposed"
        v.status = "needs_review"
        v.review_reason = f"{v.review_reason}; {why}" if v.review_reason else why
    return flagged


def _short(dilemma: str, limit: int = 60) -> str:
    text = " ".join(str(dilemma).split())
    return f'"{text}"' if len(text) <= limit else f'"{text[:limit - 3]}..."'
