"""A word negated by its affix is embedded as "not" and its base, so a value's two sides meet."""
from __future__ import annotations

import numpy as np
import pytest

from moralgap.records import Expression
from moralgap.taxonomy.negated_words import NEGATED, negation_spelled_out
from moralgap.taxonomy.space import embed_key, meaning_text


@pytest.mark.parametrize("norm, spelled", [
    ("unfair", "not fair"),
    ("disrespect wish", "not respect wish"),
    ("deadline is disrespectful", "deadline is not respectful"),
    ("irresponsible", "not responsible"),
    ("thoughtless", "not thoughtful"),
    # Two negations cancel: "not unfair" is "fair".
    ("not unfair", "fair"),
    # Words an affix does not negate, and feelings, stay as they are.
    ("dismissive", "dismissive"),
    ("independent", "independent"),
    ("invaluable", "invaluable"),
    ("mistreat child", "mistreat child"),
    ("unhappy", "unhappy"),
    ("fair", "fair"),
])
def test_negation_is_spelled_out_only_for_listed_words(norm, spelled):
    assert negation_spelled_out(norm) == spelled


def test_duties_and_negated_words_combine():
    assert meaning_text("should not unfair") == "fair"
    assert meaning_text("should not disrespect parent") == "respect parent"
    assert meaning_text("should apologize") == "apologize"
    e = Expression(id="r#0", rationale_id="r", start=0, end=6, text="unfair", norm="unfair", rule="evaluative")
    assert embed_key("norm", e) == "not fair"
    # The rationale-mixed key reads the same meaning; norm+value, the lexicon prior, keeps the
    # form as written beside its lexicon value, which already says which value it is.
    assert embed_key("context", e).startswith("not fair\x00")
    tagged = e.model_copy(update={"lexicon_value": "Justice"})
    assert embed_key("norm+value", tagged) == "unfair (justice)"


def test_every_listed_base_differs_and_is_no_listed_word():
    assert all(base != word and base not in NEGATED for word, base in NEGATED.items())


@pytest.mark.slow
def test_minilm_puts_the_spelled_out_form_nearer_the_base(embedder):
    """Why the list exists: MiniLM reads the affixed word far from its base, "not" and the base near it."""
    words = ["unfair", "inconsiderate", "disloyal", "ungrateful", "thoughtless"]
    bases = [NEGATED[w] for w in words]
    v = embedder.encode(words + bases + [negation_spelled_out(w) for w in words])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    n = len(words)
    affixed = np.sum(v[:n] * v[n:2 * n], axis=1)
    spelled = np.sum(v[2 * n:] * v[n:2 * n], axis=1)
    assert (spelled > affixed + 0.1).all(), list(zip(words, affixed.round(2), spelled.round(2)))
