"""A value held together by whom its members name, not by what they value (taxonomy/people.py)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from moralgap.taxonomy.people import people_named, vectors_without_people, without_people
from moralgap.taxonomy.quality import reason_now, review_reasons, value_quality
from moralgap.taxonomy.space import EmbeddingSpace


@pytest.mark.parametrize("key, left, people", [
    ("coerce sibling", "coerce", ("sibling",)),
    # A preposition that only brought the person goes with it.
    ("responsibility of brother", "responsibility", ("brother",)),
    ("respect for girlfriend", "respect", ("girlfriend",)),
    ("sister psychological issues trump", "psychological issues trump", ("sister",)),
    ("not support son", "not support", ("son",)),
    ("right to discipline kid", "right to discipline", ("kid",)),
    ("should protect mother-in-law", "should protect", ("mother-in-law",)),
    # Under --embed-text context the rationale id stays on the key.
    ("protect friend\x00r1", "protect\x00r1", ("friend",)),
    # Under --embed-text sentence, the rationale id and the mention's offset.
    ("protect friend\x00r1\x0042", "protect\x00r1\x0042", ("friend",)),
    # Nobody named, or nothing named but people: the key as it was.
    ("apologize", "apologize", ()),
    ("not friend", "not friend", ()),
    # A family is people and a value: "family come first" names the value Family.
    ("family come first", "family come first", ()),
    ("harmony in family with sister", "harmony in family", ("sister",)),
])
def test_without_people(key, left, people):
    assert without_people(key) == (left, people)


def test_people_named_most_first():
    keys = ["coerce sibling", "discipline sister", "respect brother identity", "responsibility of brother", "rude"]
    assert people_named(keys, [1, 3, 1, 1, 9]) == ["sister", "brother", "sibling"]
    assert people_named(["rude", "apologize"], [2, 2]) == []


# Values as a build would hold them (forms with mention counts): one whose members share only the
# sibling they name, one whose members share the value and name different people, and plain ones,
# tight and loose, that set the build's cohesion fence.
VALUES = [
    {"coerce sibling": 1, "responsibility of brother": 1, "discipline sister": 1, "respect brother identity": 1,
     "sister psychological issues trump": 1},
    {"force kid": 2, "force mom": 1, "force life choice": 1, "force": 3},
    {"apologize": 4, "apology": 2, "owe apology": 1},
    {"honest": 3, "tell truth": 2, "honesty": 2},
    {"rude": 4, "unkind": 1, "disrespectful": 2},
    {"selfish": 3, "self-centered": 1, "ego": 1},
    {"protect": 2, "safe": 1, "risk": 1, "danger": 1},
    {"trust": 2, "loyalty": 1, "insecurity": 1, "unfaithful": 1},
    {"punish": 2, "discipline": 1, "arrest": 1, "felony": 1},
    {"appreciate": 1, "ungrateful": 1, "favoritism": 1, "acknowledge effort": 1},
]


def test_a_value_alike_only_through_its_people_goes_to_review(embedder):
    space = EmbeddingSpace(embedder=embedder)
    keys = [k for v in VALUES for k in v]
    counts = np.array([n for v in VALUES for n in v.values()], dtype=np.float64)
    members, at = [], 0
    for v in VALUES:
        members.append(list(range(at, at + len(v))))
        at += len(v)
    vectors = space.key_vectors(keys).astype(np.float64)
    cents = np.stack([(vectors[m] * counts[m, None]).sum(0) for m in members])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    views = [SimpleNamespace(n_rationales=5) for _ in VALUES]
    quality = value_quality(vectors, counts, cents, members, [{}] * len(keys), views,
                            keys=keys, without_people=vectors_without_people(space, keys, vectors))
    siblings, force = quality[0], quality[1]
    assert siblings["people_named"] == ["brother", "sister", "sibling"]
    # Whom they name is what made the siblings' members alike; the people forced differ, the value does not.
    assert siblings["cohesion_without_people"] < siblings["cohesion"] - 0.05
    assert force["cohesion_without_people"] >= force["cohesion"]
    # Values that name nobody have no people figures.
    assert all("cohesion_without_people" not in q for q in quality[2:])
    reasons = review_reasons(quality, [SimpleNamespace() for _ in VALUES])
    assert reasons[0] and "people they name (brother, sister, sibling)" in reasons[0]
    assert reasons[1] is None
    # A value whose members are unlike each other anyway gets that reason alone.
    assert reasons[-1].startswith("members are unlike each other")
    # Members that name the same people and also say one phrase in most of the value's
    # rationales ("protect your child", "protect your daughter's privacy") are that phrase's
    # value: from two thirds of its rationales on, the people doubt is not raised.
    for said_in, doubted in ((4, False), (3, True)):
        views[0] = SimpleNamespace(n_rationales=5, shared="discipline", shared_rationales=said_in)
        quality = value_quality(vectors, counts, cents, members, [{}] * len(keys), views,
                                keys=keys, without_people=vectors_without_people(space, keys, vectors))
        assert (quality[0]["shared_word"], quality[0]["shared_word_share"]) == ("discipline", said_in / 5)
        reason = review_reasons(quality, [SimpleNamespace() for _ in VALUES])[0]
        assert bool(reason and "people they name" in reason) is doubted


def test_the_people_figure_in_a_doubt_is_brought_up_to_date():
    reason = ("members are alike through the people they name (sister) more than through a value: "
              "without them 0.61, build's lower fence 0.70")
    once = reason_now(reason, {"cohesion_without_people": 0.6649, "cohesion": 0.75})
    assert once.endswith("without them 0.61 when found, 0.66 now, build's lower fence 0.70")
    assert reason_now(reason, {"cohesion_without_people": 0.6101}) == reason
