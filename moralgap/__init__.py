"""moralgap: measure and close the pluralistic moral gap between people and LLMs.

Shared pieces live here: the records that flow between stages, their I/O, verdict mapping,
model resolution, seeding and run manifests. The stages live in the repository's root folders
``taxonomy/``, ``annotation/``, ``profiling/`` and ``alignment/`` and install as
``moralgap.taxonomy``, ``moralgap.annotation``, ``moralgap.profiling`` and ``moralgap.alignment``.

Each stage's entry points are also available here (``from moralgap import TaxonomyBuilder``).
They are imported on first use, so ``import moralgap`` loads no model library (no torch).
"""
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
