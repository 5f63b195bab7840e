"""Profiling stage: human value profiles, Dirichlet fits and Dynamic Moral Profiling prompts.

Entry points (imported on first use):

- :class:`ProfileBuilder` (``fit(annotations, judgments, dilemmas, taxonomy) -> Profiles``),
  :class:`Profiles` (``save`` / ``load``) and :func:`load_value_annotations`;
- :class:`DMPSampler` (one seeded Dirichlet profile per dilemma and sample) and
  :class:`PromptBatch` with :func:`write_prompts` (the ``prompts.jsonl`` request lines);
- :class:`PromptTemplate`, :func:`load_persona_items`, :func:`fit_dirichlet`,
  :func:`fit_dirichlet_multinomial`.
"""
from moralgap.lazy import lazy_exports

_EXPORTS = {
    "ProfileBuilder": ".profiles",
    "Profiles": ".profiles",
    "load_value_annotations": ".profiles",
    "DMPSampler": ".sampler",
    "load_persona_items": ".sampler",
    "PromptBatch": ".batch",
    "RequestSettings": ".batch",
    "write_prompts": ".batch",
    "PromptTemplate": ".prompts",
    "fit_dirichlet": ".dirichlet",
    "fit_dirichlet_multinomial": ".dirichlet",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
