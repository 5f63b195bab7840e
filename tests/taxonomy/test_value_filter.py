"""What the extractor sets apart as not a value, with the real spaCy pipeline."""
from __future__ import annotations

import pytest

from moralgap.taxonomy.value_filter import REASONS, exclusion_reason, listed_forms


@pytest.mark.parametrize("norm,rule,head_pos,reason", [
    ("asshole", "evaluative", "NOUN", "verdict"),
    ("ah", "evaluative", "NOUN", "verdict"),
    ("wrong", "evaluative", "ADJ", "thin_evaluation"),
    ("valid", "evaluative", "ADJ", "thin_evaluation"),
    ("my family", "explicit_value", "NOUN", "bare_noun"),
    ("your house", "evaluative", "NOUN", "bare_noun"),
    ("fact", "explicit_value", "NOUN", "fact"),
    ("no reason", "explicit_value", "NOUN", "fact"),
    # Seen on the Touché23 premises inside a value "Fair / Innocent": "the data shows".
    ("datum", "explicit_value", "NOUN", "fact"),
    ("research", "explicit_value", "NOUN", "fact"),
    ("funny", "evaluative", "ADJ", "not_moral"),
    ("should", "duty", "VERB", "fragment"),
    ("should yta", "duty", "VERB", "verdict"),
    # Seen on the AITA comments as a value of its own, "Handle": "needs to handle it".
    ("should handle", "duty", "VERB", "practical_advice"),
    # A hyphenated person or thing is known by what follows a hyphen.
    ("ex-wife", "explicit_value", "NOUN", "bare_noun"),
    ("mother-in-law", "explicit_value", "NOUN", "bare_noun"),
    ("co-worker", "explicit_value", "NOUN", "bare_noun"),
    # A person or a thing with an object is still a person or a thing.
    ("birthday gift for friend", "explicit_value", "NOUN", "bare_noun"),
    ("mother of bride", "explicit_value", "NOUN", "bare_noun"),
])
def test_non_values_get_their_reason(norm, rule, head_pos, reason):
    assert reason in REASONS
    assert exclusion_reason(norm, rule, head_pos=head_pos) == reason


@pytest.mark.parametrize("norm,rule,head_pos", [
    ("rude", "evaluative", "ADJ"),
    ("fair", "evaluative", "ADJ"),
    ("her privacy", "explicit_value", "NOUN"),
    ("should apologize", "duty", "VERB"),
    ("family comes first", "norm", "NOUN"),
    ("right to decide", "right", "NOUN"),
    ("your life", "evaluative", "NOUN"),
    ("lie", "value_verb", "VERB"),
    # A word list never matches on a first part: "name-calling" is no name.
    ("name-calling", "explicit_value", "NOUN"),
    # A named value is about itself, not about the person its object names (these were set
    # apart as bare nouns when a phrase was read by its last word).
    ("basic respect for family", "explicit_value", "NOUN"),
    ("concern for sister-in-law", "explicit_value", "NOUN"),
    ("privacy of family", "explicit_value", "NOUN"),
])
def test_value_expressions_are_kept(norm, rule, head_pos):
    assert exclusion_reason(norm, rule, head_pos=head_pos) is None


def test_a_hyphenated_word_is_listed_whole_without_hyphens_and_after_each_hyphen():
    assert listed_forms("mother-in-law") == ("mother-in-law", "motherinlaw", "in-law", "law")
    assert listed_forms("family") == ("family",)


def _by_norm(extractor, text):
    return {e.norm: e for e in extractor.extract_texts([("r", text)])}


def test_extractor_records_why_a_span_is_not_a_value(extractor):
    found = _by_norm(extractor, "YTA. You are an asshole, and what you did was wrong. You were also rude to her.")
    assert found["asshole"].excluded == "verdict"
    assert found["wrong"].excluded == "thin_evaluation"
    assert found["rude"].excluded is None


def test_a_position_on_what_to_allow_is_a_stance_unless_its_object_is_a_value(extractor):
    # Seen on Touché23 premises as the largest value, "Should Not Be Banned / Should Be Allowed".
    found = _by_norm(extractor, "Zoos should not be banned. We should legalize sex selection. "
                                "We should abolish safe spaces. We should ban discrimination in hiring. "
                                "You should respect her boundaries.")
    assert found["should ban"].excluded == "stance"
    assert found["should legalize sex selection"].excluded == "stance"
    # A value word that only modifies the object leaves it a stance; one that is the object is a value.
    assert found["should abolish safe space"].excluded == "stance"
    assert found["should ban discrimination"].excluded is None
    assert found["should respect boundary"].excluded is None
    # Setting a limit is a boundary, not a ruling on what is allowed.
    assert _by_norm(extractor, "You should limit contact with him.")["should limit contact"].excluded is None
    # Ending a policy is ruling on it too (a Touché23 premise); ending a wrong names a value.
    ends = _by_norm(extractor, "We should end all economic sanctions. We should end racism.")
    assert ends["should end economic sanction"].excluded == "stance"
    assert ends["should end racism"].excluded is None


def test_an_everyday_verb_in_a_phrase_that_judges_is_no_narration(extractor):
    # All seven "take advantage" on the AITA comments, and gpt-4o's "escalated the situation"
    # (13 times), were set apart as narration by their everyday verb.
    found = _by_norm(extractor, "Your aunt is taking advantage of you. You escalated the situation. "
                                "She is going back on her word. I told her about it.")
    assert found["take advantage"].excluded is None
    assert found["escalate situation"].excluded is None
    assert found["go back on"].excluded is None
    assert found["tell"].excluded == "narration"


def test_an_adjective_after_as_judges_the_act_and_one_before_an_act_noun_too(extractor):
    # The parser calls "selfish" a modifier of "as": seen on gpt-4o's rationales, which hedge
    # their judgments this way, as "description" 30 times.
    assert _by_norm(extractor, "Leaving early could be seen as selfish.")["selfish"].excluded is None
    assert _by_norm(extractor, "It came off as disrespectful to her family.")["disrespectful"].excluded is None
    assert _by_norm(extractor, "What he did was beyond disrespectful.")["disrespectful"].excluded is None
    assert _by_norm(extractor, "You played a cruel trick on your sister.")["cruel"].excluded is None
    assert _by_norm(extractor, "An equal split would keep the family together.")["equal"].excluded is None
    # Said of a thing, an adjective still only describes it, stacked or not.
    assert _by_norm(extractor, "She took a nice long nap.")["nice"].excluded == "description"
    assert _by_norm(extractor, "The proper terminology is a support animal.")["proper"].excluded == "description"


def test_guess_about_the_past_is_not_a_duty(extractor):
    norms = set(_by_norm(extractor, "That must have hurt a lot. You should have told her."))
    assert "should hurt" not in norms
    assert "should tell" in norms


def test_phrase_and_its_object_are_read_once(extractor):
    norms = set(_by_norm(extractor, "She keeps taking advantage of your kindness."))
    assert not any("advantage advantage" in n for n in norms), norms


def test_abstract_nouns_outside_the_lexicon_are_found(extractor):
    found = _by_norm(extractor, "Her complacency was the real problem, and the situation got worse.")
    assert "complacency" in found and found["complacency"].lexicon_value is None
    assert found["complacency"].excluded is None
    assert found["situation"].excluded == "fact"


def test_two_processes_find_and_filter_what_one_finds():
    # What the filter reads travels with the doc between spaCy processes (msgpack).
    from moralgap.taxonomy.extract import ValueExtractor

    texts = [(f"r{i}", t) for i, t in enumerate(["YTA. You are an asshole, rude and dishonest.",
                                                  "NTA, her privacy matters and you should apologize.",
                                                  "I told my family. It must have hurt."] * 2)]
    one = ValueExtractor().extract_texts(texts)
    two = ValueExtractor(n_process=2, batch_size=2).extract_texts(texts)
    assert [e.model_dump() for e in one] == [e.model_dump() for e in two]
    assert any(e.excluded for e in two) and any(not e.excluded for e in two)
