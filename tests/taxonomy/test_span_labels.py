"""``taxonomy train-filter``: a span filter trained on a community's own labels, with the real
spaCy pipeline and embedding model, on the team's labels of the bundled sample."""
from __future__ import annotations

import json

import pytest

from moralgap.errors import InputError
from moralgap.taxonomy.span_filter import SpanFilter, default_span_filter, is_open_word
from moralgap.taxonomy.span_labels import (MatchedLabels, cross_validate, match_labels, read_span_labels,
                                           train_span_filter)
from moralgap.taxonomy.value_filter import OPEN_CANDIDATE


@pytest.fixture(scope="module")
def sample_labels(repo_root):
    return repo_root / "benchmarks" / "data" / "sample_span_labels.jsonl"


@pytest.mark.parametrize("line, field, message", [
    ('{"rationale_id": "", "start": 1, "end": 4, "is_value": true}', "rationale_id", "rationale id"),
    ('{"rationale_id": "j1", "start": -1, "end": 4, "is_value": true}', "start", "offset"),
    ('{"rationale_id": "j1", "start": 1, "end": "4x", "is_value": true}', "end", "offset"),
    ('{"rationale_id": "j1", "start": 5, "end": 5, "is_value": true}', "end", "after start"),
    ('{"rationale_id": "j1", "start": 1, "end": 4, "is_value": "yes"}', "is_value", "true or false"),
    ('{"rationale_id": "j1", "start": 1, "end": 4}', "is_value", "true or false"),
    ('{"rationale_id": "j0", "start": 0, "end": 2, "is_value": false}', "start", "labelled already on line 1"),
])
def test_a_bad_label_names_its_line_and_field(tmp_path, line, field, message):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"rationale_id": "j0", "start": 0, "end": 2, "is_value": true}\n' + line + "\n")
    with pytest.raises(InputError, match=message) as info:
        read_span_labels(path)
    assert (info.value.line, info.value.field, info.value.path) == (2, field, str(path))


def test_labels_read_from_csv_and_an_empty_file_is_an_error(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("rationale_id,start,end,is_value\nj1,3,9,true\nj2,0,4,false\n")
    assert [(lab.key, lab.is_value, lab.line) for lab in read_span_labels(csv)] == [
        (("j1", 3, 9), True, 2), (("j2", 0, 4), False, 3)]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no labels"):
        read_span_labels(empty)


def _sample_texts(sample_dir):
    return {r["id"]: r["rationale"] for r in map(json.loads, (sample_dir / "judgments.jsonl").read_text().splitlines())
            if r.get("rationale")}


def test_labels_are_matched_to_the_spans_a_build_finds(open_extractor, sample_labels, sample_dir):
    labels = read_span_labels(sample_labels)
    texts = _sample_texts(sample_dir)
    matched = match_labels(labels, texts, open_extractor, source=sample_labels)
    # Counted independently: every span the extractor finds at a labelled offset.
    found = {(e.rationale_id, e.start, e.end): e
             for e in open_extractor.extract_texts([(rid, texts[rid]) for rid in {lab.rationale_id for lab in labels}])}
    judged = [lab for lab in labels if lab.key in found and found[lab.key].excluded in (None, OPEN_CANDIDATE)]
    assert len(matched.spans) == len(judged) > 250
    assert {(e.rationale_id, e.start, e.end): y for e, y in zip(matched.spans, matched.labels)} == {
        lab.key: lab.is_value for lab in judged}
    assert matched.set_apart == sum(lab.key in found for lab in labels) - len(judged)
    assert len(matched.unmatched) == sum(lab.key not in found for lab in labels)

    stranger = sample_labels.parent / "x.jsonl"
    with pytest.raises(InputError, match="not among the judgments") as info:
        match_labels(labels, {k: v for k, v in texts.items() if k != labels[3].rationale_id}, open_extractor,
                     source=stranger)
    assert info.value.line == labels[3].line


def test_one_kind_of_label_or_none_on_a_span_cannot_train(embedder):
    with pytest.raises(InputError, match="no label falls on a span"):
        train_span_filter(MatchedLabels([], []), embedder, threshold=0.6, open_threshold=0.5, random_state=0)


def test_train_filter_cli_writes_a_filter_a_build_uses(sample_dir, sample_labels, tmp_path, open_extractor, embedder):
    from click.testing import CliRunner

    from moralgap.cli import main

    out = tmp_path / "ours.json"
    args = ["taxonomy", "train-filter", str(sample_dir / "judgments.jsonl"), str(sample_labels), "--out", str(out)]
    runner = CliRunner()
    # Some labelled rationales have the INFO verdict, which builds drop by default.
    r = runner.invoke(main, args)
    said = r.output + str(r.exception)
    assert r.exit_code != 0 and "--verdict-map" in said and "field 'rationale_id'" in said
    assert not out.exists()
    r = runner.invoke(main, args + ["--verdict-map", "INFO=acceptable", "--seed", "5"])
    assert r.exit_code == 0, r.output
    f = SpanFilter.load(out)
    assert (f.threshold, f.open_threshold, f.random_state) == (0.6, 0.5, 5)
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["counts"]["trained_on"] == f.trained_on["spans"] > 250
    # The held-out folds' figures are printed and kept in the file.
    cv = f.trained_on["cross_validated"]
    assert "5-fold cross-validation by rationale" in r.output and f"it kept {cv['rule_found']['kept']}," in r.output
    assert cv["rule_found"]["labelled"] + cv["open_words"]["labelled"] == f.trained_on["spans"]
    assert set(manifest["inputs"]) >= {"judgments", "labels"}

    # The same labels and seed give the same weights.
    matched = match_labels(read_span_labels(sample_labels), _sample_texts(sample_dir), open_extractor)
    again = train_span_filter(matched, embedder, threshold=0.6, open_threshold=0.5, random_state=5)
    assert again.coef.round(7).tolist() == f.coef.tolist() and len(matched.spans) == f.trained_on["spans"]

    # Too few open words among the labels to learn them (20 a kind): the filter admits none.
    assert not any(r.startswith("open_") for r in f.trained_on["rules"])
    spans = open_extractor.extract_texts([(k, v) for k, v in list(_sample_texts(sample_dir).items())[:40]])
    assert any(e.excluded == OPEN_CANDIDATE for e in spans)
    kept = f.apply(spans, embedder)
    assert not any(is_open_word(e) or e.excluded == OPEN_CANDIDATE for e in kept)
    # The shipped filter, which learned open words, still admits some of the same candidates.
    assert any(is_open_word(e) for e in default_span_filter().apply(spans, embedder))


@pytest.fixture
def sample_matched(sample_labels, sample_dir, open_extractor):
    return match_labels(read_span_labels(sample_labels), _sample_texts(sample_dir), open_extractor)


def test_cross_validation_scores_spans_no_fold_filter_saw(sample_matched, embedder):
    cv = cross_validate(sample_matched, embedder, threshold=0.6, open_threshold=0.5, random_state=0)
    y = [label for e, label in zip(sample_matched.spans, sample_matched.labels) if not is_open_word(e)]
    rule = cv["rule_found"]
    assert rule["labelled"] == len(y) and rule["values"] == sum(y)
    assert rule["precision_without_filter"] == round(sum(y) / len(y), 3)
    # On the team's labels of the sample the filter is more precise than the rules alone, at a cost in recall.
    assert rule["precision"] > rule["precision_without_filter"] and 0 < rule["kept"] < rule["labelled"]
    assert 0.5 < rule["recall"] < 1.0
    assert cross_validate(sample_matched, embedder, threshold=0.6, open_threshold=0.5, random_state=0) == cv


def test_cross_validation_says_why_it_cannot_split_the_labels(sample_matched, embedder):
    few = sorted({e.rationale_id for e in sample_matched.spans})[:3]
    keep = [i for i, e in enumerate(sample_matched.spans) if e.rationale_id in few]
    three = MatchedLabels([sample_matched.spans[i] for i in keep], [sample_matched.labels[i] for i in keep])
    assert "labels on 3 rationales" in cross_validate(three, embedder, threshold=0.6, open_threshold=0.5,
                                                      random_state=0)["skipped"]
    two_no = MatchedLabels(sample_matched.spans, [i >= 2 for i in range(len(sample_matched.spans))])
    assert "2 not-a-value labels" in cross_validate(two_no, embedder, threshold=0.6, open_threshold=0.5,
                                                    random_state=0)["skipped"]
    # Six not-a-value labels, all on one rationale: the fold that holds it out trains on values only.
    spans = [e.model_copy(update={"rationale_id": "all-no"}) if i < 6 else e for i, e in enumerate(sample_matched.spans)]
    one_sided = MatchedLabels(spans, [i >= 6 for i in range(len(spans))])
    assert "one kind only" in cross_validate(one_sided, embedder, threshold=0.6, open_threshold=0.5,
                                             random_state=0)["skipped"]


def test_kept_says_what_apply_keeps(sample_dir, open_extractor, embedder):
    f = default_span_filter()
    spans = [e for e in open_extractor.extract_texts(list(_sample_texts(sample_dir).items())[:60])
             if e.excluded in (None, OPEN_CANDIDATE)]
    kept = f.kept(spans, SpanFilter.vectors(spans, embedder))
    applied = {(e.rationale_id, e.start, e.end) for e in f.apply(spans, embedder) if not e.excluded}
    assert [(e.rationale_id, e.start, e.end) in applied for e in spans] == kept.tolist()
    assert kept.any() and not kept.all()
