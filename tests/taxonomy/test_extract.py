"""The spaCy value-expression rules, on the real English pipeline."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def find(extractor, text):
    return extractor.extract_texts([("r", text)])


def one(extractor, text, rule):
    hits = [e for e in find(extractor, text) if e.rule == rule]
    assert hits, f"no {rule} expression in {text!r}: {find(extractor, text)}"
    return hits[0]


@pytest.mark.parametrize("text, surface, norm, value", [
    ("Honesty is the whole point here.", "Honesty", "honesty", "Honesty"),
    ("NTA, her privacy is not his business.", "her privacy", "privacy", "Privacy"),
    ("They showed some basic respect for your wife's family.", "some basic respect for your wife's family",
     "basic respect for family", "Respect"),
])
def test_explicit_values_with_their_objects(extractor, text, surface, norm, value):
    e = one(extractor, text, "explicit_value")
    assert e.text == surface and e.lexicon_value == value and e.polarity == "upheld"
    if norm:
        assert e.norm == norm
    assert text[e.start:e.end] == e.text


@pytest.mark.parametrize("text, surface, norm, value", [
    ("YTA, you were rude.", "you were rude", "rude", "Consideration"),
    ("That's selfish.", "That's selfish", "selfish", "Generosity"),
    ("Honestly so inconsiderate.", "so inconsiderate", "inconsiderate", "Consideration"),
])
def test_evaluative_predicates_turn_into_the_value_at_stake(extractor, text, surface, norm, value):
    e = one(extractor, text, "evaluative")
    assert (e.text, e.norm, e.lexicon_value, e.polarity) == (surface, norm, value, "violated")


def test_right(extractor):
    e = one(extractor, "It's your right to decide who comes to your wedding.", "right")
    assert e.text == "right to decide" and e.norm == "right to decide" and e.lexicon_value == "Autonomy"
    assert e.polarity == "upheld"


def test_duty_not_met(extractor):
    e = one(extractor, "You should have told her before the party.", "duty")
    assert e.text == "should have told her" and e.norm == "should tell" and e.polarity == "violated"
    assert e.lexicon_value == "Communication"


def test_duty_owed(extractor):
    e = one(extractor, "You owe her an apology.", "duty")
    assert e.norm == "owe apology" and e.polarity == "upheld" and e.lexicon_value == "Responsibility"


def test_norm_priority(extractor):
    e = one(extractor, "Family comes first.", "norm")
    assert e.text == "Family comes first" and e.norm == "family comes first" and e.lexicon_value == "Family"


def test_negated_value_verb_is_violated(extractor):
    e = one(extractor, "You are not respecting her boundaries.", "value_verb")
    assert e.text == "not respecting her boundaries" and e.norm == "respect boundary"
    assert e.polarity == "violated" and e.lexicon_value == "Respect"


@pytest.mark.parametrize("text, rule, polarity", [
    ("You were not rude at all.", "evaluative", "upheld"),          # a vice, negated
    ("That wasn't fair to your sister.", "evaluative", "violated"),  # a virtue, negated
    ("You showed no respect for your wife.", "explicit_value", "violated"),
    ("You never considered his feelings.", "value_verb", "violated"),
    ("You were honest with him.", "evaluative", "upheld"),
])
def test_polarity_follows_lexicon_sign_and_negation(extractor, text, rule, polarity):
    assert one(extractor, text, rule).polarity == polarity


def test_imperative_advice_is_a_duty(extractor):
    e = one(extractor, "NTA. Get a prenup.", "duty")
    assert e.norm == "should get prenup"


def test_overlapping_readings_give_one_expression(extractor):
    found = find(extractor, "You showed no respect for your wife.")
    assert [e.text for e in found] == ["no respect for your wife"]


def test_ambiguous_words_do_not_fire(extractor):
    assert find(extractor, "I mean, that is pretty far away.") == []


def test_expressions_carry_ids_and_offsets(extractor):
    exprs = extractor.extract_texts([("a", "You lied. You were rude."), ("b", "")])
    assert [e.id for e in exprs] == ["a#0", "a#1"]
    assert all(e.rationale_id == "a" for e in exprs)
