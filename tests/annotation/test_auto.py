"""Zero-shot value annotation with the real MiniLM embedder and the real spaCy extractor."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.annotation.auto import ZeroShotAnnotator, within_item_z
from moralgap.records import ValueAnnotation
from test_auto_data import LABELLED, UNLABELLED, judgments, make_folder, write_inputs

pytestmark = pytest.mark.slow

OBVIOUS = {"u01": "v-honesty", "u02": "v-family", "u03": "v-privacy", "u04": "v-safety"}


@pytest.fixture(scope="module")
def zero_shot(embedder):
    return ZeroShotAnnotator(make_folder(), embedder=embedder, extractor=False).fit()


def test_within_item_z_standardises_rows():
    z = within_item_z(np.array([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]]))
    assert np.allclose(z[0].mean(), 0) and np.isclose(z[0].std(), 1)
    assert np.allclose(z[1], 0)  # no value stands out: all zero, not NaN


def test_only_active_values_get_prototypes_and_data_chosen_thresholds(zero_shot):
    assert zero_shot.value_ids == ["v-honesty", "v-family", "v-privacy", "v-safety"]
    assert zero_shot.prototypes.shape == (4, 384)
    assert np.all((zero_shot.thresholds > 0) & (zero_shot.thresholds < 1))
    # the thresholds come from the exemplars, so they are not all one constant
    assert len(set(np.round(zero_shot.thresholds, 6))) > 1
    assert zero_shot.calibration.slope > 0  # standing out more means more likely
    assert zero_shot.calibration.report["macro_f1"] > 0.5


def test_zero_shot_finds_the_obvious_value(zero_shot):
    anns = {a.rationale_id: a for a in zero_shot.annotate(judgments(UNLABELLED))}
    top = {rid: max(anns[rid].scores, key=anns[rid].scores.get) for rid in OBVIOUS}
    assert sum(top[r] == v for r, v in OBVIOUS.items()) >= 3, top
    assert sum(v in anns[r].value_ids for r, v in OBVIOUS.items()) >= 3
    for a in anns.values():
        assert set(a.value_ids) <= set(a.scores) and a.taxonomy_version == 1 and a.source == "auto"


def test_expressions_only_raise_scores(embedder):
    from moralgap.taxonomy.extract import ValueExtractor

    extractor = ValueExtractor()
    with_expr = ZeroShotAnnotator(make_folder(), embedder=embedder, extractor=extractor).fit()
    items = judgments(UNLABELLED)
    ids, combined = with_expr.score_judgments(items)
    text_only = with_expr.text_scores([j.rationale for j in items])
    # This taxonomy has no centroids, so no outlier threshold: each value expression goes to its
    # nearest prototype, and spans the extractor sets apart count for nothing.
    coded = with_expr.coded_expressions(items)
    assert coded, "the extractor should find value expressions in these rationales"
    assert all(e.value_id in with_expr.value_ids and not e.excluded for e in coded)
    # Beside expressions the whole text counts only at even odds or more.
    from moralgap.annotation.auto import WHOLE_TEXT_FLOOR

    whole = np.where(text_only >= WHOLE_TEXT_FLOOR, text_only, 0.0)
    assert np.allclose(combined, np.maximum(whole, with_expr.expression_scores(ids, coded)))
    assert ((text_only > 0) & (text_only < WHOLE_TEXT_FLOOR)).any(), "some whole-text score should fall below the floor"
    # Without expressions the whole text is all the evidence, and every score stands.
    no_expr = ZeroShotAnnotator(make_folder(), embedder=embedder, extractor=False).fit()
    assert np.allclose(no_expr.score_judgments(items)[1], text_only)
    # Expressions coded to no value (as the extractor returns them) raise nothing.
    assert not with_expr.expression_scores(ids, extractor.extract(items)).any()


def test_expression_part_counts_only_what_annotate_expressions_codes(embedder, tmp_path):
    from moralgap.annotation.expression_coding import ExpressionCoder
    from moralgap.records import Judgment, Taxonomy, Value
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.folder import TaxonomyFolder

    # Centroids at the embedded names, and the build's outlier rule: the coder's threshold applies.
    names = {"vhonest": "lie to", "vprivacy": "snoop"}
    vecs = embedder.encode(list(names.values()))
    tax = Taxonomy(name="two", params={"embed_text": "norm", "span_filter": "none"}, stats={"assign_threshold": 0.5},
                   values=[Value(id=i, name=n.title(), status="accepted", exemplars=[n]) for i, n in names.items()])
    folder = TaxonomyFolder(tax, [], {i: np.asarray(v, np.float32) for i, v in zip(names, vecs)})
    zs = ZeroShotAnnotator(folder, embedder=embedder, extractor=ValueExtractor()).fit()
    items = [Judgment(id="r1", dilemma_id="d", verdict="unacceptable", rationale="You lied to her about the money."),
             # "awkward" is found and set apart as not moral: before, it still counted for its
             # nearest value, which a within-text z-score makes look certain.
             Judgment(id="r2", dilemma_id="d", verdict="acceptable", rationale="It was a little awkward.")]
    coded = zs.coded_expressions(items)
    expected = [e for e in ExpressionCoder(folder, embedder=embedder).code(items).expressions if e.value_id]
    assert [(e.id, e.value_id) for e in coded] == [(e.id, e.value_id) for e in expected]
    assert {e.rationale_id for e in coded} == {"r1"} and {e.value_id for e in coded} == {"vhonest"}
    found = ValueExtractor().extract(items[1:])
    assert found and all(e.excluded for e in found)
    scores = zs.expression_scores(["r1", "r2"], coded)
    assert scores[0, 0] > 0.5 and scores[0, 1] == 0 and not scores[1].any()


def test_label_calibration_retunes_thresholds(zero_shot):
    ids, scores = zero_shot.score_judgments(judgments(LABELLED))
    truth = np.array([[v in vs for v in zero_shot.value_ids] for _, _, vs in LABELLED])
    before = zero_shot.thresholds.copy()
    fresh = ZeroShotAnnotator(zero_shot.folder, embedder=zero_shot.embedder, extractor=False).fit()
    report = fresh.calibrate(scores, truth)
    assert fresh.threshold_source == "labels"
    assert report["macro_f1"] >= 0.5 and not np.allclose(before, fresh.thresholds)


def test_cli_auto_writes_resumes_and_records(tmp_path):
    from moralgap.annotation.cli import annotate_group

    paths = write_inputs(tmp_path)
    out = tmp_path / "values.jsonl"
    args = ["auto", str(paths["judgments"]), "--taxonomy", str(paths["taxonomy"]), "--out", str(out), "--no-expressions"]
    res = CliRunner().invoke(annotate_group, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = [ValueAnnotation.model_validate(json.loads(x)) for x in out.read_text().splitlines()]
    assert len(rows) == len(LABELLED) + len(UNLABELLED)
    assert all(r.taxonomy_version == 1 for r in rows)
    manifest = json.loads((tmp_path / "values.jsonl.manifest.json").read_text())
    assert manifest["counts"]["annotated"] == len(rows) and "thresholds" in manifest["params"]

    # a crash after half the rows: the rerun completes the file without duplicates
    out.write_text("".join(x + "\n" for x in out.read_text().splitlines()[:10]) + '{"rationale_id": "r1')
    res = CliRunner().invoke(annotate_group, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    ids = [json.loads(x)["rationale_id"] for x in out.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == len(rows)

    calibrated = tmp_path / "calibrated.jsonl"
    res = CliRunner().invoke(annotate_group, args[:-3] + ["--out", str(calibrated), "--no-expressions",
                                                         "--calibrate", str(paths["labels"])], catch_exceptions=False)
    assert res.exit_code == 0 and "thresholds tuned on 24 labelled" in res.output


def test_cli_auto_refuses_to_mix_taxonomy_versions(tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.errors import InputError

    paths = write_inputs(tmp_path)
    out = tmp_path / "values.jsonl"
    out.write_text(json.dumps({"rationale_id": "r01", "value_ids": [], "taxonomy_version": 7}) + "\n")
    with pytest.raises(InputError, match="taxonomy v7"):
        CliRunner().invoke(annotate_group, ["auto", str(paths["judgments"]), "--taxonomy", str(paths["taxonomy"]),
                                            "--out", str(out), "--no-expressions"], catch_exceptions=False)
