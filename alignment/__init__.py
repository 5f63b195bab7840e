"""Alignment stage: run LLMs on dilemmas and measure judgment and value gaps against people.

Entry points (imported on first use):

- judging: :func:`make_backend` (``openai``, ``transformers``, ``replay``), :func:`read_prompts`,
  :class:`JudgeRunner` (``run(prompts, out)``, resumable) and :func:`parse_answer`;
- measuring: :func:`votes_from_judgments` / :func:`group_judgments` / :func:`votes_from_counts`,
  :func:`gap_analysis`, :func:`expected_abs_diff` (the noise floor), :func:`values_gap` with
  :func:`side_of`, and :func:`write_report` (HTML, Markdown, JSON, CSV and plots).
"""
from moralgap.lazy import lazy_exports

_EXPORTS = {
    "make_backend": ".backends",
    "read_prompts": ".prompts_file",
    "JudgeRunner": ".runner",
    "parse_answer": ".parse",
    "votes_from_judgments": ".votes",
    "votes_from_counts": ".votes",
    "group_judgments": ".votes",
    "scruples_votes": ".votes",
    "gap_analysis": ".metrics",
    "expected_abs_diff": ".noise_floor",
    "values_gap": ".values_gap",
    "side_of": ".values_gap",
    "write_report": ".report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
