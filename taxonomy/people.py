"""Whom an expression is about, told apart from what it values.

Sentence embeddings of short normal forms lean on their nouns, and in moral rationales the most
frequent nouns are people: "coerce sibling", "discipline sister", "respect brother identity" and
"responsibility of brother" land in one cluster because each names a sibling, although they
invoke four different values. A reader sees such a value as a topic ("the sibling"), not a value.

:func:`without_people` drops the person words (``value_filter.KIN_AND_PEOPLE``) from an
embedding key, so that the quality record can measure how alike a value's members are once whom
they name is left out (``cohesion_without_people``, see ``quality.py``). A value whose members
are alike only through the people they name goes to review; its members are not regrouped.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from .value_filter import KIN_AND_PEOPLE, OBJECT_PREPOSITIONS, in_list

# A group that is a value as well as people: "family comes first", "family harmony" invoke the
# value Family (the paper's Table 5 lists it), so naming it is no sign of a topic; with it left
# out, the bundled sample's "Family Comes First" went to review as alike through "family".
VALUED_GROUPS = {"family"}
# "responsibility of brother" without its person is "responsibility", not "responsibility of".
_DANGLING = OBJECT_PREPOSITIONS | {"with", "on", "about", "from", "at", "in", "by", "and"}
# The separator of a ``--embed-text context`` key: the form, then its rationale id.
_CONTEXT = "\x00"


def without_people(key: str) -> tuple[str, tuple[str, ...]]:
    """``key`` without the person words it names, and those words; a key that names nobody, or
    nothing but people (and "not"), comes back as it was, with no words."""
    text, sep, rest = key.partition(_CONTEXT)
    words = text.split()
    people = tuple(w for w in words if _is_person(w))
    if not people:
        return key, ()
    kept = [w for w in words if not _is_person(w)]
    while kept and kept[-1] in _DANGLING:
        kept.pop()
    if not [w for w in kept if w != "not"]:
        return key, ()
    return " ".join(kept) + sep + rest, people


def _is_person(word: str) -> bool:
    return in_list(word, KIN_AND_PEOPLE) and word not in VALUED_GROUPS


def people_named(keys: Sequence[str], counts: Sequence[float], top: int = 3) -> list[str]:
    """The person words ``keys`` name most often, weighed by ``counts`` (most first)."""
    seen: Counter = Counter()
    for k, n in zip(keys, counts):
        for w in without_people(k)[1]:
            seen[w] += float(n)
    return [w for w, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def vectors_without_people(space, keys: Sequence[str], vectors, texts: dict[str, str] | None = None):
    """``vectors`` (one row per key, from ``space``) with each row whose key names a person
    embedded again without them; the other rows are shared."""
    stripped = [without_people(k)[0] for k in keys]
    changed = [i for i, (k, s) in enumerate(zip(keys, stripped)) if k != s]
    out = np.array(vectors, copy=True)
    if changed:
        out[changed] = space.key_vectors([stripped[i] for i in changed], texts)
    return out
