"""moralgap: measure and close the pluralistic moral gap between people and LLMs.

Shared pieces live here: the records that flow between stages, their I/O, verdict mapping,
model resolution, seeding and run manifests. The stages live in the repository's root folders
``taxonomy/``, ``annotation/``, ``profiling/`` and ``alignment/`` and install as
``moralgap.taxonomy``, ``moralgap.annotation``, ``moralgap.profiling`` and ``moralgap.alignment``.
"""
from .errors import ConfigError, InputError, MoralgapError
from .records import Dilemma, Expression, Judgment, LineageEntry, Taxonomy, Value, ValueAnnotation

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "Dilemma", "Expression", "InputError", "Judgment", "LineageEntry", "MoralgapError",
    "Taxonomy", "Value", "ValueAnnotation", "__version__",
]
