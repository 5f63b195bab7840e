"""Member names read as their members were written, not as lemmas ("clothe", "entitle")."""
from __future__ import annotations

import pytest

from moralgap.records import Expression
from moralgap.taxonomy.naming import ClusterView, member_name
from moralgap.taxonomy.written import as_written


def view(*members: tuple[str, str]) -> ClusterView:
    """A cluster of ``(norm, most common text)`` members, most typical first."""
    return ClusterView(exemplars=[t for _, t in members], keywords=[], size=len(members), n_rationales=len(members),
                       forms=[n for n, _ in members])


@pytest.mark.parametrize("norm, text, written", [
    # Seen on the AITA comments as "Police Clothe", "Entitle" and "Cross".
    ("police clothe", "police her clothes", "police her clothes"),
    ("entitle", "she sounds ridiculously entitled", "entitled"),
    ("cross line", "crossed a line", "crossed a line"),
    # What the span adds around the form's words stays out, as in the form.
    ("rude", "you were so rude", "rude"),
    ("basic respect for family", "some basic respect for your wife's family", "basic respect for your wife's family"),
    # Regular endings, with a doubled consonant or y -> i.
    ("stop", "stopped", "stopped"), ("try", "tried", "tried"), ("boundary", "her boundaries", "boundaries"),
    # A few irregular plurals are read back (seen on Touché23 premises as the name "Datum").
    ("datum", "the data", "data"), ("protect child", "protecting the children", "protecting the children"),
    # An irregular form cannot be told from the span: the form's word stays.
    ("should tell", "you should have told her", "should tell"),
    ("lie", "lying", "lying"),
    # A duty's "should" is kept where it was written, dropped where the span lacks it (advice,
    # or another form of the same key), and "not" is read in "don't" and "shouldn't".
    ("should get prenup", "get a prenup", "get a prenup"),
    ("should not budge", "don't budge", "don't budge"),
    # A command's refusal is in its sign alone, and the name keeps it as written.
    ("should budge", "don't budge", "don't budge"), ("should back down", "Do not back down", "do not back down"),
    ("should lie to", "never lie to her", "never lie to"),
    ("should use deception", "shouldn't use deception", "shouldn't use deception"),
    ("should allow", "should never have allowed", "should never have allowed"),
    # Nothing of the form in the span: the form.
    ("right to decide", "entitled to decide", "right to decide"),
    ("loyal", "", "loyal"),
])
def test_a_form_reads_as_written(norm, text, written):
    assert as_written(norm, text) == written


def test_member_names_use_the_written_forms_and_still_add_words():
    assert member_name(view(("police clothe", "police her clothes"), ("trespass", "trespassed"))) == \
        "Police Her Clothes / Trespassed"
    assert member_name(view(("entitle", "entitled"), ("entitle", "so entitled"), ("should earn title", "had to earn that title"))) == \
        "Entitled / Earn That Title"
    # Two forms of one word are one idea, inflected either way.
    assert member_name(view(("overstepping", "mil is hugely overstepping"), ("overstepped", "overstepped"),
                            ("overreact", "overreacting"))) == "Overstepping / Overreacting"
    assert member_name(view(("cheat", "cheated"), ("cheating", "cheating"), ("betray", "betrayed"))) == "Cheated / Betrayed"
    # "Rude / So Rude" stays one part; misspellings stay out.
    assert member_name(view(("rude", "rude"), ("so rude", "so rude"), ("manipulative", "manipulative"),
                            ("manipjulative", "how manipjulative"))) == "Rude / Manipulative"
    # Another spelling of the first part's written word, whatever their forms.
    assert member_name(view(("should apologize", "apologize"), ("apologise", "apologise"), ("apology", "apology"))) == \
        "Apologize / Apology"
    # Without texts (an older view) the forms name it as before.
    assert member_name(ClusterView(exemplars=[], keywords=[], size=2, n_rationales=2,
                                   forms=["police clothe", "trespass"])) == "Police Clothe / Trespass"


@pytest.mark.slow
@pytest.mark.parametrize("text, name", [
    ("She was bullied.", "Bullied"),
    ("He tried to police her clothes.", "Police Her Clothes"),
    ("Honestly, he crossed a line.", "Crossed A Line"),
])
def test_a_value_is_named_as_its_members_were_written(extractor, text, name):
    (e,) = [e for e in extractor.extract_texts([("r", text)]) if not e.excluded]
    assert e.norm != name.lower()  # the normal form is the lemma ...
    assert member_name(view((e.norm, e.text))) == name  # ... the name is what was written


def test_a_long_written_form_names_a_value_only_when_no_short_one_does():
    # Seen on the AITA comments as "Money Is Important / Own Schooling And Social Life Is Also Important".
    assert member_name(view(("money is important", "the money is important"),
                            ("own schooling is important", "own schooling and social life is also important"),
                            ("life is important", "life is more important"))) == \
        "Money Is Important / Life Is More Important"
    # With only long forms, the most typical still names it, alone.
    assert member_name(view(("earn equal share", "n't earn you an equal share of the credit"),
                            ("should earn equal credit", "shouldn't earn them equal credit for it"))) == \
        "Earn You An Equal Share"


def test_a_second_name_part_is_said_in_more_than_one_rationale():
    # Seen on the AITA comments as "Yours / Should Not Receive": one comment's phrase named the value.
    members = (("yours", "inheritance is yours"), ("should receive", "should not receive them"),
               ("theirs", "it isn't theirs"), ("should accept", "have to just accept that"))
    said_once = ClusterView(exemplars=[t for _, t in members], keywords=[], size=5, n_rationales=5,
                            forms=[n for n, _ in members], form_rationales=[2, 1, 1, 1])
    assert member_name(said_once) == "Yours"
    said_twice = ClusterView(**{**said_once.__dict__, "form_rationales": [2, 1, 2, 1]})
    assert member_name(said_twice) == "Yours / Theirs"


def members_view(*members: tuple[str, str, str]) -> ClusterView:
    """The view of one cluster of distinct ``(norm, text, rationale ids)`` members, most typical first."""
    from collections import Counter

    import numpy as np

    from moralgap.taxonomy.naming import cluster_views

    n = len(members)
    return cluster_views([list(range(n))], [m[0] for m in members], np.ones(n), np.linspace(1.0, 0.5, n),
                         [m[1] for m in members], [set(m[2].split()) for m in members], [Counter() for _ in members])[0]


def test_the_phrase_most_members_share_names_a_value_that_its_typical_form_would_quote():
    # Seen on the AITA comments as "Owe Her Anything / Lend": the typical form was one comment's.
    owe = members_view(("owe anything", "owe her anything", "r1"), ("owe someone", "owe someone", "r2"),
                       ("owe they", "owe them", "r3"), ("owe explanation", "owe him the explanation", "r4"),
                       ("lend", "n't lend them", "r5 r6"))
    assert (owe.shared, owe.shared_rationales) == ("owe", 4)
    assert member_name(owe) == "Owe / Lend"
    # And as "Money Is Important" for what comes first in life.
    important = members_view(("money is important", "the money is important", "r1"),
                             ("life is important", "life is more important", "r2"),
                             ("education come first", "my education should always come first", "r3"),
                             ("own schooling is important", "own schooling is also important", "r4"))
    assert member_name(important) == "Important"


def test_a_shared_phrase_names_no_value_when_it_is_a_verdict_or_a_person_and_a_frame_as_its_noun():
    # "bad" is shared by "play the bad guy" and "bad mood" (seen on the AITA comments as "Bad").
    bad = members_view(("should play bad guy", "need to play the bad guy", "r1"),
                       ("force bad mood", "forcing her bad mood", "r2"),
                       ("enable bad decision making", "enabling his bad decision making", "r3"))
    assert bad.shared != "bad" and member_name(bad) == "Play The Bad Guy"
    sister = members_view(("should discipline sister", "need to discipline your sister", "r1"),
                          ("coerce sister", "coerce your sister", "r2"), ("sister trump", "your sister trumps", "r3"))
    assert sister.shared_rationales == 1 and member_name(sister) == "Discipline Your Sister"
    # Rights to different things are named for what they share, as the noun: "Rights", not the
    # one right two of them claim ("Right To Say") nor the bare frame ("Right To").
    rights = members_view(("right to say", "allowed to say", "r1"), ("right to say", "allowed to say it", "r2"),
                          ("right to leave", "right to leave", "r3"), ("right to rest", "right to rest", "r4"),
                          ("right to know", "right to know", "r5"), ("consent", "consent", "r6 r7"))
    assert (rights.shared, rights.shared_rationales) == ("rights", 5)
    assert member_name(rights) == "Rights / Consent"


def test_a_shared_phrase_does_not_replace_a_typical_form_that_says_as_much():
    # Many rationales said the typical form itself: it names the value ("Outweighs", not "Outweigh").
    view_ = members_view(("outweigh", "outweighs", "r1"), ("outweigh", "outweighs", "r2"),
                         ("enjoyment outweigh", "your enjoyment doesn't outweigh", "r3"))
    assert member_name(view_) == "Outweighs"


def test_a_form_is_shown_by_its_shortest_text_among_those_written_as_often():
    """Each "unfair" was written once, in a longer or shorter span: the shortest adds least to the
    form, so it is the text shown ("it's unfair", not "affair was unfair", first in the alphabet)."""
    from moralgap.taxonomy.build import _group
    from moralgap.taxonomy.space import meaning_text

    texts = ["affair was unfair", "it's unfair", "it would be really unfair", "That's fair", "That's fair", "fair"]
    norms = ["unfair", "unfair", "unfair", "fair", "fair", "fair"]
    exprs = [Expression(id=f"r{i}#0", rationale_id=f"r{i}", start=0, end=len(t), text=t, norm=n, rule="evaluative")
             for i, (t, n) in enumerate(zip(texts, norms))]
    d = _group(exprs, lambda e: meaning_text(e.norm))
    shown = dict(zip(d.norms, d.surface))
    # Written most often wins over shorter.
    assert shown == {"unfair": "it's unfair", "fair": "That's fair"}
    assert d.keys == ["fair", "not fair"]


def test_among_texts_written_as_often_the_one_that_says_the_whole_form_is_shown():
    """ "guilt you into it" and "guilt trip you" are one form (``guilt trip``), each written as
    often: the text that says both words is shown, so the value named "Guilt Trip" shows "guilt
    trip", not "guilt". The "should" of a duty counts for nothing: "no consequences" stays the
    shortest of a key that also holds "should be some consequences"."""
    from moralgap.taxonomy.build import _group
    from moralgap.taxonomy.space import meaning_text
    from moralgap.taxonomy.written import words_said

    assert (words_said("guilt trip", "guilt"), words_said("guilt trip", "guilt trips")) == (1, 2)
    assert words_said("should consequence", "should be some consequences") == words_said("consequence", "no consequences") == 1
    rows = [("guilt", "guilt trip"), ("guilt trip", "guilt trip"), ("guilt", "guilt trip"), ("guilt trip", "guilt trip"),
            ("should be some consequences", "should consequence"), ("no consequences", "consequence")]
    exprs = [Expression(id=f"r{i}#0", rationale_id=f"r{i}", start=0, end=len(t), text=t, norm=n, rule="evaluative")
             for i, (t, n) in enumerate(rows)]
    d = _group(exprs, lambda e: meaning_text(e.norm))
    shown = sorted(d.surface)
    assert shown == ["guilt trip", "no consequences"]
