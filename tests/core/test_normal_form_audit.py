"""The checks of benchmarks/normal_form_audit.py find the misreadings they count, and only those."""
from __future__ import annotations

import pytest

from moralgap.records import Expression


@pytest.fixture(scope="module")
def audit(benchmark_module):
    return benchmark_module("normal_form_audit")


def span(text: str, phrase: str, norm: str, rule: str = "duty", polarity: str = "upheld", excluded=None) -> Expression:
    start = text.index(phrase)
    return Expression(id=phrase, rationale_id="r", start=start, end=start + len(phrase), text=phrase, norm=norm,
                      rule=rule, polarity=polarity, excluded=excluded)


def test_a_negation_before_have_to_is_a_duty_misread_and_a_plain_have_to_is_not(audit):
    text = "You shouldn't have to sell the house. You have to tell her."
    assert audit.no_duty_read_as_duty(span(text, "have to sell the house", "should sell house"), text)
    assert not audit.no_duty_read_as_duty(span(text, "have to tell her", "should tell"), text)
    far = "It isn't fair, and you have to pay."
    assert not audit.no_duty_read_as_duty(span(far, "have to pay", "should pay"), far)


def test_contracted_missed_duty_rights_and_ages(audit):
    text = "You should've apologized; you're within your rights; forcing a 16 year old is wrong."
    assert audit.contracted_missed_duty_upheld(span(text, "should've apologized", "should apologize"), text)
    assert not audit.contracted_missed_duty_upheld(
        span(text, "should've apologized", "should apologize", polarity="violated"), text)
    guess = "That must've hurt."
    assert audit.contracted_guess_read_as_duty(span(guess, "must've hurt", "should hurt"), guess)
    assert not audit.contracted_guess_read_as_duty(span(guess, "hurt", "hurt", rule="value_verb"), guess)
    assert audit.rights_set_apart(span(text, "within your rights", "right", rule="right", excluded="fragment"), text)
    assert not audit.rights_set_apart(span(text, "within your rights", "right to", rule="right"), text)
    assert audit.age_lost(span(text, "forcing a 16 year old", "force old", rule="evaluative"), text)
    assert not audit.age_lost(span(text, "forcing a 16 year old", "force 16 year old", rule="evaluative"), text)


def test_a_refused_duty_counts_only_where_a_missed_duty_has_its_form(audit):
    text = "He shouldn't have lied. She should have lied. You should not steal."
    refused = span(text, "shouldn't have lied", "should lie", polarity="violated")
    missed = span(text, "should have lied", "should lie", polarity="violated")
    alone = span(text, "should not steal", "should steal", polarity="violated")
    assert audit.refused_duties([refused, missed, alone]) == [refused]
    assert audit.refused_duties([refused, alone]) == []


def test_a_command_that_keeps_its_not_is_told_from_a_refused_duty(audit):
    text = "You shouldn't lie. Don't lie to her."
    modal = span(text, "shouldn't lie", "should lie", polarity="violated")
    old_imperative = span(text, "Don't lie to her", "should not lie to", polarity="violated")
    imperative = span(text, "Don't lie to her", "should lie to", polarity="violated")
    assert audit.negation_dropped_from_modal_duty(modal, text) and not audit.negation_kept_in_imperative(modal, text)
    assert audit.negation_kept_in_imperative(old_imperative, text)
    assert not audit.negation_dropped_from_modal_duty(old_imperative, text)
    assert not audit.negation_kept_in_imperative(imperative, text)
