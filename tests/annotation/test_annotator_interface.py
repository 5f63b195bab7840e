"""The three annotators behind one scikit-learn-shaped interface: fit, score, annotate, save, load.

Each is built on the same small taxonomy with the real MiniLM embedder and driven only through
:class:`moralgap.annotation.base.Annotator`'s methods.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFitted
from test_auto_data import LABELLED, UNLABELLED, judgments, make_folder

from moralgap.annotation import LexiconAnnotator, ValueClassifier, ZeroShotAnnotator
from moralgap.annotation.base import Annotator, NotFittedError
from moralgap.annotation.classifier import ClassifierSettings
from moralgap.annotation.lexicon_baseline import load_dic
from moralgap.errors import MoralgapError
from moralgap.records import ValueAnnotation

pytestmark = pytest.mark.slow

# A few Moral Foundations-style entries mapped onto the test taxonomy's values.
DIC = "%\n1\thonesty\n2\tfamily\n3\tsafety\n%\nlie*\t1\nlying\t1\ndeceiv*\t1\nhonest*\t1\nfamily\t2\nmother\t2\n" \
      "brother\t2\ndanger*\t3\nsafe*\t3\ndrunk\t3\n"
MAPPING = {"honesty": ["v-honesty"], "family": ["v-family"], "safety": ["v-safety"]}
TEXTS = [t for _, t, _ in LABELLED]
VALUE_IDS = ["v-honesty", "v-family", "v-privacy", "v-safety"]


def _labels(value_ids):
    return np.array([[v in vs for v in value_ids] for _, _, vs in LABELLED])


def _make(kind, embedder, tmp_path):
    folder = make_folder()
    if kind == "zero-shot":
        return ZeroShotAnnotator(folder, embedder=embedder, extractor=False), folder
    if kind == "trained":
        clf = ValueClassifier.for_taxonomy(folder.taxonomy, ClassifierSettings(cv=3))
        clf._embedder = embedder
        return clf, folder
    path = tmp_path / "tiny.dic"
    path.write_text(DIC)
    return LexiconAnnotator(load_dic(path), mapping=MAPPING, taxonomy_version=1), folder


def _fit(annotator):
    return annotator.fit(TEXTS, _labels(annotator.value_ids))


def _load(kind, path, folder, embedder):
    if kind == "zero-shot":
        return ZeroShotAnnotator.load(path, folder, embedder=embedder, extractor=False)
    if kind == "trained":
        loaded = ValueClassifier.load(path, folder.taxonomy)
        return loaded
    return LexiconAnnotator.load(path)


KINDS = ["zero-shot", "trained", "lexicon"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_annotator_fits_scores_annotates_and_round_trips(kind, embedder, tmp_path):
    annotator, folder = _make(kind, embedder, tmp_path)
    assert isinstance(annotator, Annotator)
    assert _fit(annotator) is annotator and annotator.is_fitted

    scores = annotator.score(TEXTS + [""])
    assert scores.shape == (len(TEXTS) + 1, len(annotator.value_ids))
    assert np.all((scores >= 0) & (scores <= 1)) and not scores[-1].any()
    assert set(annotator.value_ids) <= set(VALUE_IDS)

    rows = judgments(LABELLED) + judgments([(i, t, []) for i, t in UNLABELLED])
    anns = annotator.annotate(rows)
    assert all(isinstance(a, ValueAnnotation) for a in anns)
    assert [a.rationale_id for a in anns] == [j.id for j in rows]
    assert all(set(a.value_ids) <= set(annotator.value_ids) for a in anns)
    # Obvious cases come out right whichever annotator made them.
    by_id = {a.rationale_id: a for a in anns}
    assert "v-honesty" in by_id["r01"].value_ids

    assert annotator.save(tmp_path / "saved") == tmp_path / "saved"
    loaded = _load(kind, tmp_path / "saved", folder, embedder)
    assert type(loaded) is type(annotator) and loaded.value_ids == annotator.value_ids
    np.testing.assert_allclose(loaded.score(TEXTS), annotator.score(TEXTS), atol=1e-6)
    assert [a.value_ids for a in loaded.annotate(rows)] == [a.value_ids for a in anns]


@pytest.mark.parametrize("kind", ["zero-shot", "trained"])
def test_using_an_unfitted_annotator_is_a_clear_error(kind, embedder, tmp_path):
    annotator, _ = _make(kind, embedder, tmp_path)
    assert not annotator.is_fitted
    for call in (lambda: annotator.score(TEXTS), lambda: annotator.annotate(judgments(LABELLED)),
                 lambda: annotator.save(tmp_path / "x")):
        with pytest.raises(NotFittedError, match=f"this {type(annotator).__name__} is not fitted: call fit"):
            call()
    err = NotFittedError(annotator)
    assert isinstance(err, SklearnNotFitted) and isinstance(err, MoralgapError)
    assert not (tmp_path / "x").exists()


def test_zero_shot_fit_with_labels_retunes_its_thresholds(embedder, tmp_path):
    plain, _ = _make("zero-shot", embedder, tmp_path)
    plain.fit()
    tuned, _ = _make("zero-shot", embedder, tmp_path)
    _fit(tuned)
    assert plain.threshold_source == "exemplars" and tuned.threshold_source == "labels"
    np.testing.assert_allclose(plain.prototypes, tuned.prototypes)


def test_a_saved_zero_shot_annotator_is_refused_for_another_taxonomy_version(embedder, tmp_path):
    from moralgap.errors import InputError

    annotator, _ = _make("zero-shot", embedder, tmp_path)
    annotator.fit().save(tmp_path / "zs")
    with pytest.raises(InputError, match="fitted on taxonomy .* v1, not .* v2: fit it again"):
        ZeroShotAnnotator.load(tmp_path / "zs", make_folder(version=2), embedder=embedder, extractor=False)
