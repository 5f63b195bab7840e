"""moralgap: measure and close the pluralistic moral gap between people and LLMs.

Shared pieces live here: the records that flow between stages, their I/O, verdict mapping,
model resolution, seeding and run manifests. The stages live in the repository's root folders
``taxonomy/``, ``annotation/``, ``profiling/`` and ``alignment/`` and install as
``moralgap.taxonomy``, ``moralgap.annotation``, ``moralgap.profiling`` and ``moralgap.alignment``.

Each stage's entry points are also available here (``from moralgap import TaxonomyBuilder``).
They are imported on first use, so ``import moralgap`` loads no model library (no torch).
"""
import os as _os

# MKL's strict reproducibility mode: a matrix product gives the same bits whatever the number
# of threads, so sentence vectors from a Ray actor (one thread) and from one process (every
# core) agree to the bit. MKL reads it once, at its first use; moralgap imports no torch itself.
_os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

from .errors import ConfigError, InputError, MoralgapError
from .lazy import lazy_exports
from .records import Dilemma, Expression, Judgment, LineageEntry, Taxonomy, Value, ValueAnnotation

__version__ = "0.1.0"

_STAGES = ("taxonomy", "annotation", "profiling", "alignment")


def _stage_exports() -> dict[str, str]:
    import importlib

    out = {stage: f"moralgap.{stage}" for stage in _STAGES}
    for stage in _STAGES:
        # The stage packages are light (their own exports are lazy), so reading their tables is cheap.
        out.update({name: f"moralgap.{stage}" for name in importlib.import_module(f"moralgap.{stage}").__all__})
    out.update({
        "load_judgments": "moralgap.datasets",
        "load_dilemmas": "moralgap.datasets",
        "vote_summaries": "moralgap.datasets",
        "VerdictMap": "moralgap.verdicts",
        "diversity_summary": "moralgap.diversity",
        "value_counts": "moralgap.diversity",
        "normalised_entropy": "moralgap.diversity",
        "top_k_share": "moralgap.diversity",
        "js_divergence": "moralgap.diversity",
        "MentionMatrix": "moralgap.value_mentions",
        "gaps_against": "moralgap.diversity_gap",
    })
    return out


_EXPORTS = _stage_exports()
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted({
    "ConfigError", "Dilemma", "Expression", "InputError", "Judgment", "LineageEntry", "MoralgapError",
    "Taxonomy", "Value", "ValueAnnotation", "__version__", *_EXPORTS,
})
