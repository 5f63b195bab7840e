"""Joining values that are one word's forms ("respect", "disrespectful")."""
from __future__ import annotations

import numpy as np

from moralgap.taxonomy.word_families import join_word_families, leading_word, lone_word, word_families


def test_a_words_forms_and_its_negation_by_affix_share_a_family():
    assert lone_word("disrespectful") == lone_word("respect") == lone_word("no respect for you") == "respect"
    assert lone_word("unfair") == lone_word("fairness") == "fair"
    # Snowball's final "i" ("honesti") is dropped, so the adjective meets its noun.
    assert lone_word("honesty") == lone_word("honest") == "honest"
    # A word with what it applies to is not the word alone.
    assert word_families("respect for time") == {"respect", "time"} and lone_word("respect for time") is None
    # Function words and negation carry no family; neither do numbers.
    assert word_families("not a 2") == frozenset() and lone_word("not a 2") is None
    assert lone_word("dismissive") != lone_word("missive")


def test_the_leading_word_must_be_half_the_mentions():
    words = [lone_word(n) for n in ("respect", "disrespect you", "respect for time", "courtesy", "polite")]
    weights = np.array([3.0, 1.0, 2.0, 1.0, 1.0])
    assert leading_word([0, 1, 2, 3, 4], weights, words) == "respect"  # 4 of 8 mentions
    assert leading_word([0, 1, 2, 3, 4], weights, words, share=0.6) is None
    # Two words in half the mentions each: the first in alphabetical order, whatever the member order.
    assert leading_word([3, 4], weights, words) == leading_word([4, 3], weights, words) == "courtes"


def test_values_of_one_word_join_and_others_stay():
    norms = ["respect", "no respect for you", "disrespectful", "respect for time", "respect for time",
             "fair", "unfair", "cruel", "harsh", "trust"]
    words = [lone_word(n) for n in norms]
    labels = np.array([0, 0, 1, 2, 2, 3, 3, 4, 4, -1])
    new, anchor, joins = join_word_families(labels, np.ones(len(norms)), words)
    # "Respect for time" shares the word with what it applies to: a value of its own.
    assert joins == [("respect", [0, 1])]
    assert new.tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3, -1]
    assert len(anchor) == 0  # nothing was guided, so no anchors come back either


def test_values_formed_around_different_given_values_are_never_joined():
    words = [lone_word(n) for n in ("respect", "disrespectful", "respectful")]
    labels = np.array([0, 1, 2])
    weights = np.ones(3)
    new, anchor, joins = join_word_families(labels, weights, words, anchor=np.array([0, 1, -1]))
    assert joins == [] and new.tolist() == [0, 1, 2] and anchor.tolist() == [0, 1, -1]
    # One given value and unguided clusters of its word: they join and keep the given value.
    new, anchor, joins = join_word_families(labels, weights, words, anchor=np.array([-1, 4, -1]))
    assert joins == [("respect", [0, 1, 2])] and new.tolist() == [0, 0, 0] and anchor.tolist() == [4]
