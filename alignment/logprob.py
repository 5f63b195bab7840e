"""P(acceptable) read from token probabilities instead of sampled answers.

The answer format puts the verdict right after ``Evaluation:``. At that position the two
verdict words start with different letters (A... vs U...), so every top candidate token that
is a prefix of ACCEPTABLE votes for acceptable and every prefix of UNACCEPTABLE for
unacceptable; P(acceptable) is the first mass over the sum of both. Tokens that are neither
(e.g. ``**``) are ignored: the estimate is conditional on the model naming a verdict.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

_ACC, _UNACC = "ACCEPTABLE", "UNACCEPTABLE"


def _side(token: str) -> Optional[str]:
    t = token.strip().strip("*_<\"'").upper()
    if not t:
        return None
    if _ACC.startswith(t):
        return "a"
    if _UNACC.startswith(t):
        return "u"
    return None


def p_acceptable_from_candidates(candidates: Sequence[tuple[str, float]]) -> Optional[float]:
    """``candidates``: (token, logprob) at the verdict position; ``None`` if neither side appears."""
    mass = {"a": 0.0, "u": 0.0}
    for token, lp in candidates:
        side = _side(token)
        if side is not None and lp is not None and math.isfinite(lp):
            mass[side] += math.exp(lp)
    total = mass["a"] + mass["u"]
    return mass["a"] / total if total > 0 else None


def p_acceptable_from_openai_logprobs(content: Sequence[dict] | None) -> Optional[float]:
    """From a chat completion's ``choices[0].logprobs.content`` (tokens with ``top_logprobs``).

    Finds the first token generated after the text ``Evaluation:`` and reads its candidates.
    """
    if not content:
        return None
    text = ""
    for tok in content:
        before = text
        text += tok.get("token", "")
        if before.lower().rstrip(" *_").endswith("evaluation:") and tok.get("token", "").strip(" *_"):
            cands = [(c.get("token", ""), c.get("logprob")) for c in tok.get("top_logprobs") or []]
            if not cands:
                cands = [(tok.get("token", ""), tok.get("logprob"))]
            return p_acceptable_from_candidates(cands)
    return None
