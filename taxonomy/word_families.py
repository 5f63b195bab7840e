"""Values that are one word's forms: "respect" and "disrespectful".

The clustering places forms by their sentence embeddings, which keep a word's forms further
apart than a reader does: an adjective from its noun, and a value from its negation by affix.
On the real AITA comments the passes that refine the merge split "respect", "disrespect" and
"disrespectful" into two values ("Respect / Disrespect" and "Disrespectful", each the other's
nearest at 0.74), although HDBSCAN had put them in one group. A reader never wants those
apart, and a value is meant to hold both its sides ("Fair / Unfair").

So after clustering, two values are joined when at least half of the mentions of each are the
same word said alone: forms with one content word ("respect", "disrespectful", "no respect for
you"), counted by word family. A word's family is its Snowball stem, taken after a negation by
affix is written as its base ("disrespectful" -> "not respectful" -> "respect", see
``negated_words``); Snowball writes a final "y" as "i" ("honesty" -> "honesti"), which is
dropped so that "honest" and "honesty" meet. Values that share a word with what it applies to
("respect for your time", "marital respect") stay apart: at a fine grain those are the values
a researcher asked for. The join lowers the number of values: those forms were one value
split in two, not two values. Values formed around different given (seed) values are never
joined.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np

from .negated_words import negation_spelled_out

# The share of a value's mentions that must be its word said alone, in each value joined.
JOIN_SHARE = 0.5
# Shorter words are mostly function words the stop list misses ("ok", "go"): no family.
MIN_WORD_LENGTH = 3


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | {"not"}


@lru_cache(maxsize=65_536)
def word_families(norm: str) -> frozenset[str]:
    """The word families of a normal form's content words: ``"respect for time"`` -> ``{"respect", "time"}``."""
    stop = _stop_words()
    words = [w for w in negation_spelled_out(norm).lower().split()
             if w.isalpha() and len(w) >= MIN_WORD_LENGTH and w not in stop]
    out = set()
    for stem in _stemmer().stemWords(words):
        if stem.endswith("i") and len(stem) > 4:
            stem = stem[:-1]
        out.add(stem)
    return frozenset(out)


def lone_word(norm: str) -> str | None:
    """The family of a form that is one content word ("no respect for you" -> "respect"), else None."""
    families = word_families(norm)
    return next(iter(families)) if len(families) == 1 else None


def leading_word(members: Sequence[int], weights: np.ndarray, words: Sequence[str | None],
                 share: float = JOIN_SHARE) -> str | None:
    """The lone word of the most of these members' mentions, if at least ``share`` of them say it
    (ties go to the first in alphabetical order, so the result never depends on member order)."""
    total = float(sum(weights[i] for i in members))
    counts: Counter = Counter()
    for i in members:
        if words[i] is not None:
            counts[words[i]] += float(weights[i])
    if not counts or total <= 0:
        return None
    word, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return word if n >= share * total else None


def join_word_families(labels: np.ndarray, weights: np.ndarray, words: Sequence[str | None], *,
                       anchor: np.ndarray | None = None,
                       share: float = JOIN_SHARE) -> tuple[np.ndarray, np.ndarray, list[tuple[str, list[int]]]]:
    """Join the clusters of ``labels`` (-1: none) led by the same lone word (``words[i]`` is
    :func:`lone_word` of point ``i``'s form).

    Returns the new labels (0..k'-1 in the order of each group's first cluster; -1 stays), the
    anchor of each new label (``anchor[c]`` is the given value cluster ``c`` was formed around, or
    -1; empty when ``anchor`` is), and each join as (word family, the old labels joined).
    """
    k = int(labels.max() + 1) if labels.size and (labels >= 0).any() else 0
    guided = anchor is not None and len(anchor) > 0
    anchor = np.asarray(anchor) if guided else np.full(k, -1, dtype=int)
    by_word: dict[str, list[int]] = {}
    for c in range(k):
        word = leading_word(np.where(labels == c)[0], weights, words, share)
        if word is not None:
            by_word.setdefault(word, []).append(c)
    target = np.arange(k)
    joins: list[tuple[str, list[int]]] = []
    for word, clusters in sorted(by_word.items()):
        # A given value keeps its own cluster apart from another given value's.
        if len(clusters) < 2 or len({int(anchor[c]) for c in clusters} - {-1}) > 1:
            continue
        target[clusters] = clusters[0]
        joins.append((word, clusters))
    kept = sorted(set(target.tolist()))
    new_of = {c: i for i, c in enumerate(kept)}
    mapped = np.array([new_of[int(target[c])] for c in range(k)], dtype=int)
    new_labels = np.where(labels >= 0, mapped[np.maximum(labels, 0)], -1) if k else labels.copy()
    new_anchor = np.full(len(kept) if guided else 0, -1, dtype=int)
    for c in range(k):
        if guided and anchor[c] >= 0:
            new_anchor[mapped[c]] = anchor[c]
    return new_labels, new_anchor, joins
