"""The learned span filter (issue 14): the shipped model on real spans, its file format, and how
build, update and expression coding share the filter a taxonomy was built with."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from moralgap.errors import ConfigError, InputError
from moralgap.records import Judgment
from moralgap.taxonomy.span_filter import (REASON, SpanFilter, default_span_filter, filter_spans,
                                           recorded_span_filter)

CLEAR_VALUES = [("a", "NTA. She lied to you and betrayed your trust; she owes you an apology."),
                ("c", "He was cruel and manipulative, and he invaded your privacy."),
                ("e", "You have the right to decide who comes to your wedding. Respect her choice.")]
CLEAR_NON_VALUES = [("b", "Your mother is just worried about the income."),
                    ("d", "Take care of the house and let the teachers handle her studies.")]


def _kept(extractor, items):
    return [e for e in extractor.extract_texts(items) if not e.excluded]


def test_shipped_filter_keeps_values_and_sets_apart_value_words_used_plainly(extractor, embedder):
    f = default_span_filter()
    assert f.shipped and f.usable_with(embedder)
    values, plain = _kept(extractor, CLEAR_VALUES), _kept(extractor, CLEAR_NON_VALUES)
    assert len(values) >= 6 and len(plain) >= 3
    p_values = f.predict_proba(values, f.vectors(values, embedder))
    p_plain = f.predict_proba(plain, f.vectors(plain, embedder))
    assert (p_values >= f.threshold).all(), [(e.text, round(p, 2)) for e, p in zip(values, p_values)]
    assert (p_plain < f.threshold).all(), [(e.text, round(p, 2)) for e, p in zip(plain, p_plain)]

    out = f.apply(values + plain, embedder)
    assert [e.id for e in out] == [e.id for e in values + plain]
    assert {e.text for e in out if e.excluded == REASON} == {e.text for e in plain}
    # Idempotent: a second pass changes nothing (build and bounded fit may both call it).
    assert f.apply(out, embedder) == out


def test_fit_save_load_round_trip_is_json(extractor, embedder, tmp_path):
    values, plain = _kept(extractor, CLEAR_VALUES), _kept(extractor, CLEAR_NON_VALUES)
    spans = values + plain
    f = SpanFilter(C=1.0, random_state=0).fit(spans, [True] * len(values) + [False] * len(plain), embedder)
    assert f.embedding_fingerprint == embedder.fingerprint
    assert f.trained_on["spans"] == len(spans) and f.trained_on["values"] == len(values)
    path = f.save(tmp_path / "filter.json")
    raw = json.loads(path.read_text())  # plain JSON, never a pickle
    assert raw["format"] == "moralgap-span-filter/1" and len(raw["coef"]) == 3 * 384 + 12
    back = SpanFilter.load(path)
    vecs = f.vectors(spans, embedder)
    np.testing.assert_allclose(back.predict_proba(spans, vecs), f.predict_proba(spans, vecs), atol=1e-5)


def test_fit_weighs_spans_like_scikit_learn(extractor, embedder):
    values, plain = _kept(extractor, CLEAR_VALUES), _kept(extractor, CLEAR_NON_VALUES)
    spans, labels = values + plain, [True] * len(values) + [False] * len(plain)
    vecs = SpanFilter.vectors(spans, embedder)
    plain_fit = SpanFilter(random_state=0).fit(spans, labels, embedder)
    ones = SpanFilter(random_state=0).fit(spans, labels, embedder, sample_weight=[1.0] * len(spans))
    np.testing.assert_allclose(ones.coef, plain_fit.coef, atol=1e-8)
    # Values weighed up: every span reads as likelier a value (the lexicon ablation restores the
    # share of values among labels this way once the removed values' labels are gone).
    heavier = SpanFilter(random_state=0).fit(spans, labels, embedder, sample_weight=[3.0 if y else 1.0 for y in labels])
    assert (heavier.predict_proba(spans, vecs) > plain_fit.predict_proba(spans, vecs)).all()
    with pytest.raises(InputError, match="weights"):
        SpanFilter().fit(spans, labels, embedder, sample_weight=[1.0])


def test_bad_filter_files_and_labels_are_clear(tmp_path, extractor, embedder):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(InputError, match="bad.json.*format"):
        SpanFilter.load(bad)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"format": "moralgap-span-filter/1", "coef": [0.1, "x"]}))
    with pytest.raises(InputError, match="coef"):
        SpanFilter.load(short)
    with pytest.raises(InputError, match="no such|not found"):
        SpanFilter.load(tmp_path / "missing.json")
    spans = _kept(extractor, CLEAR_VALUES)
    with pytest.raises(InputError, match="both"):
        SpanFilter().fit(spans, [True] * len(spans), embedder)
    labels = [i % 2 == 0 for i in range(len(spans))]
    with pytest.raises(InputError, match="vectors"):
        SpanFilter().fit(spans, labels, embedder, vectors=SpanFilter.vectors(spans[1:], embedder))
    # Vectors embedded ahead give the weights embedding them in fit gives.
    ahead = SpanFilter().fit(spans, labels, embedder, vectors=SpanFilter.vectors(spans, embedder))
    np.testing.assert_array_equal(ahead.coef, SpanFilter().fit(spans, labels, embedder).coef)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SpanFilter().apply(spans, embedder)


def test_filter_from_another_embedding_model(extractor, embedder, caplog):
    spans = _kept(extractor, CLEAR_VALUES + CLEAR_NON_VALUES)
    other = default_span_filter()
    other.embedding_fingerprint = "0000000000000000"
    other.embedding_model = "some-other-model"
    # The shipped filter is skipped, with a warning: its weights mean nothing in another space.
    with caplog.at_level(logging.WARNING):
        assert filter_spans(spans, other, embedder) == spans
    assert "span filter skipped" in caplog.text
    # A researcher's own filter file is refused, naming both models.
    other.shipped = False
    with pytest.raises(ConfigError, match="some-other-model"):
        filter_spans(spans, other, embedder)


def test_a_filter_that_did_worse_than_the_rules_in_its_cross_validation_is_doubted(tmp_path, caplog):
    from moralgap.taxonomy.build import TaxonomyBuilder

    ours = default_span_filter()
    assert ours.doubt() is None  # the shipped filter was cross-validated by its benchmark, not recorded here
    cv = {"folds": 5, "rule_found": {"labelled": 300, "values": 190, "kept": 150, "precision": 0.83, "recall": 0.65,
                                     "precision_without_filter": 0.63}, "open_words": {"labelled": 0}}
    ours.trained_on = {**ours.trained_on, "cross_validated": cv}
    assert ours.doubt() is None
    cv["rule_found"]["precision"] = 0.58
    assert "58%" in ours.doubt() and "63%" in ours.doubt()
    path = ours.save(tmp_path / "ours.json")
    with caplog.at_level(logging.WARNING):
        TaxonomyBuilder(5, span_filter=str(path))
    assert f"span filter {path}" in caplog.text and "--span-filter none" in caplog.text
    ours.trained_on["cross_validated"] = {"skipped": "labels on 3 rationales"}
    assert ours.doubt() is None


def _judgments(items):
    return [Judgment(id=i, dilemma_id=f"d{k}", verdict="acceptable", rationale=t) for k, (i, t) in enumerate(items)]


def test_build_records_the_filter_and_update_and_coding_reuse_it(extractor, embedder, tmp_path):
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.update import TaxonomyUpdater

    items = [(f"r{k}", t) for k, (_, t) in enumerate(CLEAR_VALUES * 3 + CLEAR_NON_VALUES * 3)]
    for spec, expect_filtered in (("default", True), ("none", False)):
        result = TaxonomyBuilder(4, seed=13, embedder=embedder, extractor=extractor,
                                 span_filter=spec).fit(_judgments(items))
        params = result.taxonomy.params
        assert params["span_filter"] == spec
        assert (REASON in {e.excluded for e in result.expressions}) is expect_filtered
        assert (recorded_span_filter(params) is not None) is expect_filtered
        new = _judgments([("n1", "Your mother is just worried about the income. He lied to you.")])
        updated = TaxonomyUpdater(seed=13, embedder=embedder, extractor=extractor).update(result.folder, new)
        mine = [e for e in updated.folder.expressions if e.rationale_id == "n1"]
        assert mine and (any(e.excluded == REASON for e in mine)) is expect_filtered


def test_changed_custom_filter_is_refused(extractor, embedder, tmp_path):
    spans = _kept(extractor, CLEAR_VALUES + CLEAR_NON_VALUES)
    labels = [not any(w in e.text for w in ("income", "teachers", "studies", "care")) for e in spans]
    path = SpanFilter(C=1.0).fit(spans, labels, embedder).save(tmp_path / "mine.json")
    from moralgap.taxonomy.span_filter import describe

    params = describe(str(path))
    assert recorded_span_filter(params) is not None
    raw = json.loads(path.read_text())
    raw["threshold"] = 0.9
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match="changed since this taxonomy was built"):
        recorded_span_filter(params)


OPEN_TEXTS = [("o1", "He humiliated you in front of everyone and undermined your authority as a parent."),
              ("o2", "She drove the car to the kitchen store and bought a blender on Tuesday.")]


def test_open_words_are_candidates_that_only_the_filter_admits(open_extractor, embedder):
    from moralgap.taxonomy.value_filter import OPEN_CANDIDATE

    spans = open_extractor.extract_texts(OPEN_TEXTS)
    open_extractor.open_words = False
    rule_spans = open_extractor.extract_texts(OPEN_TEXTS)
    candidates = [e for e in spans if e.excluded == OPEN_CANDIDATE]
    # Every content word no rule found is offered, found by no lexicon; what the rules find is unchanged.
    assert {"undermine", "drive", "store", "blender"} <= {e.norm for e in candidates}
    assert all(e.rule.startswith("open_") and e.lexicon_value is None for e in candidates)
    key = lambda e: (e.rationale_id, e.start, e.end, e.norm, e.rule, e.excluded)  # noqa: E731
    assert sorted(map(key, rule_spans)) == sorted(key(e) for e in spans if e.excluded != OPEN_CANDIDATE)
    assert len({e.id for e in spans}) == len(spans)

    f = default_span_filter()
    kept = filter_spans(spans, f, embedder)
    admitted = {e.norm for e in kept if e.rule.startswith("open_")}
    p = dict(zip((e.norm for e in candidates), f.predict_proba(candidates, f.vectors(candidates, embedder))))
    assert admitted == {w for w, q in p.items() if q >= f.threshold}
    # The plain words of the shopping trip are dropped outright (no record), never set apart.
    assert not {"drive", "store", "blender"} & {e.norm for e in kept}
    assert all(e.excluded != OPEN_CANDIDATE for e in kept)
    assert filter_spans(kept, f, embedder) == kept  # idempotent
    # With no filter nothing can admit an open word.
    assert not [e for e in filter_spans(spans, None, embedder) if e.rule.startswith("open_")]


def test_open_words_are_recorded_and_updates_extract_the_same_way(open_extractor, embedder):
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.update import TaxonomyUpdater

    items = [(f"r{k}", t) for k, (_, t) in enumerate((CLEAR_VALUES + OPEN_TEXTS) * 3)]
    result = TaxonomyBuilder(4, seed=13, embedder=embedder, extractor=open_extractor).fit(_judgments(items))
    assert result.taxonomy.params["open_words"] is True
    assert not [e for e in result.expressions if e.norm in ("store", "blender")]
    # The update finds open words because the build did, whatever the extractor was set to,
    # and leaves the extractor as it found it.
    open_extractor.open_words = False
    new = _judgments([("n1", "He undermined your authority and drove the car to the store.")])
    with_open = TaxonomyUpdater(seed=13, embedder=embedder, extractor=open_extractor).update(result.folder, new)
    assert open_extractor.open_words is False
    mine = [e for e in with_open.folder.expressions if e.rationale_id == "n1"]
    open_extractor.open_words = True
    offered = [e for e in open_extractor.extract_texts([("n1", new[0].rationale)]) if e.excluded == "open_candidate"]
    open_extractor.open_words = False
    f = default_span_filter()
    p = f.predict_proba(offered, f.vectors(offered, embedder))
    assert offered and {e.norm for e in mine if e.rule.startswith("open_")} == \
        {e.norm for e, q in zip(offered, p) if q >= f.threshold}
    assert not [e for e in mine if e.norm in ("drive", "store")]
    # A taxonomy built without open words is updated without them.
    plain = TaxonomyBuilder(4, seed=13, embedder=embedder, extractor=open_extractor).fit(_judgments(items))
    assert plain.taxonomy.params["open_words"] is False
    updated = TaxonomyUpdater(seed=13, embedder=embedder, extractor=open_extractor).update(plain.folder, new)
    assert not [e for e in updated.folder.expressions if e.rule.startswith("open_")]


def test_judging_a_chunk_at_a_time_gives_what_judging_all_at_once_gives(open_extractor, embedder, monkeypatch):
    # A large build's spans are judged a chunk at a time (their features would take gigabytes).
    import moralgap.taxonomy.span_filter as span_filter

    spans = open_extractor.extract_texts(CLEAR_VALUES + CLEAR_NON_VALUES)
    f = default_span_filter()
    whole = f.apply(spans, embedder)
    monkeypatch.setattr(span_filter, "PREDICT_CHUNK", 3)
    assert len(spans) > 3 * 3 and f.apply(spans, embedder) == whole


def test_open_words_and_rule_spans_are_judged_at_their_own_cuts(open_extractor, embedder):
    from moralgap.taxonomy.span_filter import is_open_word
    from moralgap.taxonomy.value_filter import OPEN_CANDIDATE

    spans = open_extractor.extract_texts(CLEAR_VALUES + OPEN_TEXTS)
    f = default_span_filter()
    # The shipped filter asks more of a rule-found span than of an open word (train_span_filter.py).
    assert f.threshold > f.open_threshold
    p = f.predict_proba(spans, f.vectors(spans, embedder))
    candidates = {e.id: q for e, q in zip(spans, p) if e.excluded == OPEN_CANDIDATE}
    rules = {e.id: q for e, q in zip(spans, p) if not e.excluded and not is_open_word(e)}
    assert candidates and rules
    # Cuts that put an admitted open word under the rule-span cut: it must stay admitted when the
    # filter judges the spans again (update and bounded fit do), not be set apart then.
    f.open_threshold = min(candidates.values()) + 1e-6
    f.threshold = max(candidates.values()) + 1e-6
    once = f.apply(spans, embedder)
    admitted = {e.id for e in once if is_open_word(e)}
    assert admitted == {i for i, q in candidates.items() if q >= f.open_threshold} and admitted
    assert {e.id for e in once if e.excluded == REASON} == {i for i, q in rules.items() if q < f.threshold}
    assert all(not e.excluded for e in once if e.id in admitted)
    assert f.apply(once, embedder) == once


def test_filter_files_from_before_the_open_word_cut_judge_open_words_at_their_one_cut():
    raw = default_span_filter().to_dict()
    assert raw["open_threshold"] != raw["threshold"]
    del raw["open_threshold"]
    raw["threshold"] = 0.42
    old = SpanFilter.from_dict(raw)
    assert old.threshold == old.open_threshold == 0.42


def test_a_lower_open_word_cut_admits_the_words_just_under_it_and_updates_keep_it(open_extractor, embedder):
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.update import TaxonomyUpdater

    items = [(f"r{k}", t) for k, (_, t) in enumerate((CLEAR_VALUES + OPEN_TEXTS) * 3)]
    shipped = TaxonomyBuilder(4, seed=13, embedder=embedder, extractor=open_extractor).fit(_judgments(items))
    below = shipped.taxonomy.stats["open_words_below_cut"]
    assert shipped.taxonomy.params["span_filter_open_threshold"] == default_span_filter().open_threshold
    top = below[0]
    assert top["score"] < default_span_filter().open_threshold
    assert top["form"] not in {e.norm for e in shipped.expressions if e.rule.startswith("open_")}
    # Each of the three copies of a text offers the word again.
    assert top["mentions"] % 3 == 0

    cut = top["score"] - 1e-3
    lower = TaxonomyBuilder(4, seed=13, embedder=embedder, extractor=open_extractor,
                            open_threshold=cut).fit(_judgments(items))
    admitted = {e.norm for e in lower.expressions if e.rule.startswith("open_")}
    assert top["form"] in admitted
    assert all(b["score"] < cut for b in lower.taxonomy.stats.get("open_words_below_cut", []))
    params = lower.taxonomy.params
    assert params["span_filter"] == "default" and params["span_filter_open_threshold"] == pytest.approx(cut)
    # The update judges open words at the build's cut: the recorded filter is the shipped one at
    # that cut, and its checksum still matches.
    assert recorded_span_filter(params).open_threshold == pytest.approx(cut)
    said_in = next(e.rationale_id for e in lower.expressions if e.norm == top["form"])
    text = dict(items)[said_in]
    updated = TaxonomyUpdater(seed=13, embedder=embedder, extractor=open_extractor).update(
        lower.folder, _judgments([("n1", text)]))
    assert top["form"] in {e.norm for e in updated.folder.expressions if e.rationale_id == "n1"}


def test_an_open_word_cut_needs_a_filter_and_a_probability(open_extractor, embedder):
    from moralgap.taxonomy.build import TaxonomyBuilder

    with pytest.raises(InputError, match="needs a span filter"):
        TaxonomyBuilder(4, embedder=embedder, extractor=open_extractor, span_filter="none", open_threshold=0.3)
    with pytest.raises(InputError, match=r"probability in \[0, 1\]"):
        TaxonomyBuilder(4, embedder=embedder, extractor=open_extractor, open_threshold=1.5)


def test_proba_as_applied_counts_a_span_the_filter_does_not_judge_as_kept(extractor, embedder):
    # Measures of what a filter keeps (train_span_filter.py, the lexicon ablation) must agree with
    # apply(), which leaves spans of rules the filter never learned from as the rules found them.
    import dataclasses

    spans = _kept(extractor, CLEAR_VALUES + CLEAR_NON_VALUES)
    rules = sorted({e.rule for e in spans})
    assert len(rules) >= 2, rules
    shipped = default_span_filter()
    f = dataclasses.replace(shipped, trained_on={**shipped.trained_on, "rules": rules[:1]})
    vectors = f.vectors(spans, embedder)
    p, raw = f.proba_as_applied(spans, vectors), f.predict_proba(spans, vectors)
    unjudged = np.array([e.rule != rules[0] for e in spans])
    assert unjudged.any() and (~unjudged).any()
    assert (p[unjudged] == 1.0).all() and (p[~unjudged] == raw[~unjudged]).all()
    applied = {e.id: e.excluded for e in f.apply(spans, embedder)}
    assert all(applied[e.id] == e.excluded for e, u in zip(spans, unjudged) if u)
    assert f.proba_as_applied([], np.zeros((0, 384))).shape == (0,)
