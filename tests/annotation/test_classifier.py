"""Trained value classifier: fitting, thresholds, report, save/load without pickle, refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.annotation import expected_f1
from moralgap.annotation.classifier import ClassifierSettings, ValueClassifier
from moralgap.annotation.labelled import read_labelled
from moralgap.errors import InputError
from moralgap.manifest import manifest_path_for
from test_auto_data import LABELLED, UNLABELLED, make_folder, write_inputs, write_jsonl

OBVIOUS = {"u01": "v-honesty", "u02": "v-family", "u03": "v-privacy", "u04": "v-safety"}


def _labelled(tmp_path):
    paths = write_inputs(tmp_path)
    texts = {i: t for i, t, *_ in LABELLED + [(i, t) for i, t in UNLABELLED]}
    return paths, read_labelled(paths["labels"], make_folder().taxonomy, texts=texts)


@pytest.fixture(scope="module")
def trained(embedder, tmp_path_factory):
    _, data = _labelled(tmp_path_factory.mktemp("labels"))
    clf = ValueClassifier.for_taxonomy(make_folder().taxonomy, ClassifierSettings(cv=3))
    clf._embedder = embedder
    return clf.fit(data.texts, data.labels)


def test_labels_are_checked_against_the_taxonomy(tmp_path):
    tax = make_folder().taxonomy
    rows = [{"text": "You lied.", "rationale_id": "a", "value_ids": ["v-truth"]},  # merged into v-honesty
            {"text": "You lied again.", "rationale_id": "b", "value_ids": ["v-honesty"], "annotator": "x"},
            {"text": "You lied again.", "rationale_id": "b", "value_ids": ["v-family"], "annotator": "y"},
            {"text": "You lied again.", "rationale_id": "b", "value_ids": ["v-honesty"], "annotator": "z"}]
    data = read_labelled(write_jsonl(tmp_path / "ok.jsonl", rows), tax)
    assert data.ids == ["a", "b"]
    assert data.labels[:, 0].tolist() == [True, True]  # merged id counts for its target; 2 of 3 voted honesty
    assert data.labels[1, 1] == False  # noqa: E712  1 of 3 annotators is not a majority

    bad = write_jsonl(tmp_path / "bad.jsonl", rows[:1] + [{"text": "x", "rationale_id": "c", "value_ids": ["v-nope"]}])
    with pytest.raises(InputError) as err:
        read_labelled(bad, tax)
    assert (err.value.line, err.value.field) == (2, "value_ids") and "v-nope" in str(err.value)
    rejected = write_jsonl(tmp_path / "rej.jsonl", [{"text": "x", "rationale_id": "c", "value_ids": ["v-misc"]}])
    with pytest.raises(InputError, match="not active"):
        read_labelled(rejected, tax)
    no_text = write_jsonl(tmp_path / "notext.jsonl", [{"rationale_id": "c", "value_ids": []}])
    with pytest.raises(InputError, match="no text") as err:
        read_labelled(no_text, tax)
    assert err.value.field == "rationale_id"
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="no labelled rationales"):
        read_labelled(tmp_path / "empty.jsonl", tax)
    skipped: list = []
    kept = read_labelled(bad, tax, skip_invalid=True, skipped=skipped)
    assert kept.ids == ["a"] and len(skipped) == 1


def test_empty_training_set_is_refused():
    clf = ValueClassifier.for_taxonomy(make_folder().taxonomy)
    with pytest.raises(InputError, match="empty training set"):
        clf.fit([], np.zeros((0, 4), dtype=bool))


@pytest.mark.slow
def test_trained_classifier_learns_values_and_reports_them(trained):
    report = trained.report
    assert [r["value_id"] for r in report["values"]] == trained.value_ids
    assert report["tuned_on"] == "3-fold cross-validation" and report["n_train"] == len(LABELLED)
    assert all(0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 for r in report["values"])
    assert report["macro_f1"] > 0.5
    ids = list(OBVIOUS)
    texts = [t for i, t in UNLABELLED if i in OBVIOUS]
    scores = trained.predict_scores(texts)
    top = [trained.value_ids[j] for j in scores.argmax(axis=1)]
    assert sum(t == OBVIOUS[i] for i, t in zip(ids, top)) >= 3, top
    anns = trained.annotate(ids, texts)
    assert all(a.source == "classifier" and a.taxonomy_version == 1 for a in anns)


@pytest.mark.slow
def test_save_load_round_trip_without_pickle(trained, tmp_path):
    trained.save(tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert files == ["model.json", "tfidf.json", "weights.npz"]
    with np.load(tmp_path / "model" / "weights.npz", allow_pickle=False) as z:
        assert z["thresholds"].shape == (4,)
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["taxonomy_version"] == 1 and meta["value_ids"] == trained.value_ids
    loaded = ValueClassifier.load(tmp_path / "model", make_folder().taxonomy)
    texts = [t for _, t in UNLABELLED]
    assert np.allclose(loaded.predict_scores(texts), trained.predict_scores(texts), atol=1e-5)
    assert np.array_equal(loaded.thresholds, trained.thresholds)


@pytest.mark.slow
def test_expected_f1_decision_uses_the_saved_calibration(trained, tmp_path, monkeypatch):
    texts = [t for _, t in UNLABELLED] + [t for _, t, *_ in LABELLED]
    scores = trained.predict_scores(texts)
    assert trained.calibration.shape == (4, 2)
    calibrated = ~np.isnan(trained.calibration[:, 0])
    assert calibrated.any()
    # fewer rationales than MIN_BATCH: the tuned thresholds stay
    assert np.array_equal(trained.decision_thresholds(scores, "expected-f1"), trained.thresholds)
    monkeypatch.setattr(expected_f1, "MIN_BATCH", 10)
    cuts = trained.decision_thresholds(scores, "expected-f1")
    assert np.array_equal(cuts[~calibrated], trained.thresholds[~calibrated])
    assert not np.allclose(cuts[calibrated], trained.thresholds[calibrated])
    assert np.array_equal(trained.predict(texts, decision="expected-f1"), scores >= cuts)
    with pytest.raises(InputError, match="unknown decision 'best'"):
        trained.decision_thresholds(scores, "best")

    trained.save(tmp_path / "model")
    loaded = ValueClassifier.load(tmp_path / "model", make_folder().taxonomy)
    assert np.array_equal(loaded.calibration, trained.calibration, equal_nan=True)
    # a model saved before calibrations were kept still predicts, but cannot decide per batch
    with np.load(tmp_path / "model" / "weights.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "calibration"}
    np.savez(tmp_path / "model" / "weights.npz", **arrays)
    old = ValueClassifier.load(tmp_path / "model", make_folder().taxonomy)
    assert np.array_equal(old.predict(texts), trained.predict(texts))
    with pytest.raises(InputError, match="without a calibration"):
        old.predict(texts, decision="expected-f1")


@pytest.mark.slow
def test_model_for_another_taxonomy_version_is_refused(trained, tmp_path):
    trained.save(tmp_path / "model")
    with pytest.raises(InputError, match="v1, not 'test-values' v2") as err:
        ValueClassifier.load(tmp_path / "model", make_folder(version=2).taxonomy)
    assert err.value.field == "taxonomy_version" and err.value.path.endswith("model.json")
    (tmp_path / "model" / "model.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not a moralgap value classifier"):
        ValueClassifier.load(tmp_path / "model")


@pytest.mark.slow
def test_fine_tuned_encoder_round_trips_as_safetensors(tmp_path):
    paths, data = _labelled(tmp_path)
    settings = ClassifierSettings(finetune_epochs=1, finetune_layers=1, holdout=0.25)  # TF-IDF on by default
    clf = ValueClassifier.for_taxonomy(make_folder().taxonomy, settings).fit(data.texts, data.labels)
    assert clf.report["tuned_on"] == "held-out slice" and clf.report["n_items"] == 6
    clf.save(tmp_path / "model")
    assert list((tmp_path / "model" / "encoder").rglob("*.safetensors"))
    assert not list((tmp_path / "model").rglob("*.bin"))
    assert not (tmp_path / "model" / "tfidf.json").exists()  # a tuned encoder works alone
    loaded = ValueClassifier.load(tmp_path / "model", make_folder().taxonomy)
    from moralgap.taxonomy.embed import Embedder

    assert loaded.embedder.fingerprint != Embedder().fingerprint  # its own embedding cache key
    texts = [t for _, t in UNLABELLED]
    assert np.allclose(loaded.predict_scores(texts), clf.predict_scores(texts), atol=1e-4)


@pytest.mark.slow
def test_auxiliary_labels_shape_the_encoder_but_are_not_predicted(tmp_path):
    _, data = _labelled(tmp_path)
    n = len(data.texts)
    # a finer label per value plus one that no value has: what a finer taxonomy level gives
    aux = np.hstack([data.labels, np.arange(n)[:, None] % 2 == 0])
    settings = ClassifierSettings(finetune_epochs=1, finetune_layers=1, holdout=0.25)
    clf = ValueClassifier.for_taxonomy(make_folder().taxonomy, settings).fit(data.texts, data.labels, aux_labels=aux)
    assert clf.report["n_aux_labels"] == aux.shape[1]
    assert clf.predict_scores([t for _, t in UNLABELLED]).shape == (len(UNLABELLED), len(clf.value_ids))
    clf.save(tmp_path / "model")
    loaded = ValueClassifier.load(tmp_path / "model", make_folder().taxonomy)
    assert len(loaded.thresholds) == len(clf.value_ids)

    with pytest.raises(InputError, match="auxiliary labels have shape"):
        ValueClassifier.for_taxonomy(make_folder().taxonomy, settings).fit(data.texts, data.labels, aux_labels=aux[:-1])
    with pytest.raises(InputError, match="only serve fine-tuning"):
        ValueClassifier.for_taxonomy(make_folder().taxonomy, ClassifierSettings()).fit(data.texts, data.labels, aux_labels=aux)


@pytest.mark.slow
def test_cli_train_then_auto_with_the_model(tmp_path, monkeypatch):
    from moralgap.annotation.cli import annotate_group

    paths = write_inputs(tmp_path)
    model = tmp_path / "model"
    res = CliRunner().invoke(annotate_group, ["train", str(paths["labels"]), "--judgments", str(paths["judgments"]),
                                              "--taxonomy", str(paths["taxonomy"]), "--out", str(model), "--cv", "3"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "macro-F1" in res.output and "Privacy" in res.output
    assert json.loads((model / "report.json").read_text())["n_train"] == len(LABELLED)
    assert json.loads((model / "manifest.json").read_text())["counts"]["labelled_rationales"] == len(LABELLED)
    out = tmp_path / "values.jsonl"
    res = CliRunner().invoke(annotate_group, ["auto", str(paths["judgments"]), "--taxonomy", str(paths["taxonomy"]),
                                              "--model", str(model), "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert {r["source"] for r in rows} == {"classifier"} and len(rows) == len(LABELLED) + len(UNLABELLED)

    # the expected-F1 decision sets its cuts on the whole file, so a resumed run decides alike
    monkeypatch.setattr(expected_f1, "MIN_BATCH", 10)
    batch = tmp_path / "batch.jsonl"
    args = ["auto", str(paths["judgments"]), "--taxonomy", str(paths["taxonomy"]), "--model", str(model),
            "--decision", "expected-f1", "--out", str(batch)]
    assert CliRunner().invoke(annotate_group, args, catch_exceptions=False).exit_code == 0
    whole = batch.read_text()
    params = json.loads(manifest_path_for(str(batch)).read_text())["params"]
    assert params["decision"] == "expected-f1"
    assert params["thresholds"] != json.loads(manifest_path_for(str(out)).read_text())["params"]["thresholds"]
    batch.write_text("".join(whole.splitlines(keepends=True)[:7]))
    res = CliRunner().invoke(annotate_group, args, catch_exceptions=False)
    assert "resuming: 7 rationales" in res.output and batch.read_text() == whole
    res = CliRunner().invoke(annotate_group, args[:4] + args[6:])
    assert res.exit_code == 2 and "needs a trained --model" in res.output

    bad = write_jsonl(tmp_path / "bad.jsonl", [{"rationale_id": "r01", "value_ids": ["v-unknown"]}])
    with pytest.raises(InputError, match="v-unknown"):
        CliRunner().invoke(annotate_group, ["train", str(bad), "--judgments", str(paths["judgments"]),
                                            "--taxonomy", str(paths["taxonomy"]), "--out", str(tmp_path / "m2")],
                           catch_exceptions=False)


@pytest.mark.slow
def test_a_value_without_positives_is_never_assigned(embedder, tmp_path):
    _, data = _labelled(tmp_path)
    keep = ~data.labels[:, 3]  # drop every rationale labelled with v-safety
    clf = ValueClassifier.for_taxonomy(make_folder().taxonomy, ClassifierSettings(cv=3, use_tfidf=False))
    clf._embedder = embedder
    clf.fit([t for t, k in zip(data.texts, keep) if k], data.labels[keep])
    assert np.isinf(clf.thresholds[3]) and clf.report["values"][3]["threshold"] is None
    assert not clf.predict([t for _, t in UNLABELLED])[:, 3].any()
    json.dumps(clf.report, allow_nan=False)  # the saved report stays valid JSON
