"""A multi-label value classifier trained on human labels, saved without pickle.

Features are sentence embeddings (the frozen MiniLM encoder, or one fine-tuned on the labels:
see :mod:`annotation.finetune`) and, optionally, TF-IDF word n-grams. With the frozen encoder
one logistic regression per value reads both feature kinds side by side; a fine-tuned encoder
is read by its own per-value head alone. Fine-tuning can also learn auxiliary labels (finer
values, say) that shape the encoder but are never predicted. One threshold per value is tuned
on predictions the model did not train on (cross-validated, or a held-out slice when the encoder is fine-tuned),
and the same predictions give the per-value precision / recall / F1 report and a per-value
calibration, which the ``expected-f1`` decision uses to set cuts over a whole batch instead
(:mod:`annotation.expected_f1`).

A saved model is a folder: ``model.json`` (taxonomy name, version and value ids, thresholds,
settings, report), ``weights.npz`` (weights, thresholds, calibration; read with ``allow_pickle=False``), the TF-IDF vocabulary
in ``tfidf.json`` and a fine-tuned encoder in ``encoder/`` (safetensors). Loading it against a
taxonomy of another version, or with other value ids, is refused.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.io import atomic_open, read_json, write_json
from moralgap.records import Taxonomy, ValueAnnotation
from moralgap.seeding import DEFAULT_SEED, rng

from .base import Annotator, with_rationale
from .expected_f1 import batch_thresholds, fit_calibration
from .thresholds import per_value_report, tune_thresholds

log = logging.getLogger(__name__)

FORMAT = "moralgap-value-classifier"
FORMAT_VERSION = 1
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"
TFIDF_FILE = "tfidf.json"
ENCODER_DIR = "encoder"
DECISIONS = ("tuned", "expected-f1")
TFIDF_PARAMS = {"sublinear_tf": True, "ngram_range": (1, 2), "min_df": 2, "max_features": 50000,
                "strip_accents": "unicode"}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class TfidfFeatures:
    """TF-IDF n-grams whose vocabulary and idf weights round-trip through JSON and npz."""

    def __init__(self, vocabulary: list[str] | None = None, idf: np.ndarray | None = None):
        self.vocabulary = vocabulary
        self.idf = idf

    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        params = {k: v for k, v in TFIDF_PARAMS.items() if k not in ("min_df", "max_features")}
        vec = TfidfVectorizer(vocabulary=self.vocabulary, **params)
        vec.idf_ = self.idf
        return vec

    def fit(self, texts: Sequence[str]) -> "TfidfFeatures":
        from sklearn.feature_extraction.text import TfidfVectorizer

        params = dict(TFIDF_PARAMS)
        params["min_df"] = min(params["min_df"], max(1, len(texts) // 2))
        vec = TfidfVectorizer(**params).fit(texts)
        self.vocabulary = vec.get_feature_names_out().tolist()
        self.idf = vec.idf_.astype(np.float64)
        return self

    def transform(self, texts: Sequence[str]):
        return self._vectorizer().transform(texts)


@dataclass
class LinearMember:
    """One linear layer, one row per value, over one kind of features."""

    kind: str  # "embedding" | "tfidf" | "embedding+tfidf"
    coef: np.ndarray
    intercept: np.ndarray

    def scores(self, X) -> np.ndarray:
        return _sigmoid(np.asarray(X @ self.coef.T) + self.intercept)


def fit_linear(X, Y: np.ndarray, *, C: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per value; a value with a single class in ``Y`` gets a constant.

    Sparse n-gram features use liblinear, many times faster than lbfgs on them; liblinear
    penalises the intercept too, which the tuned thresholds absorb.
    """
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    solver = "liblinear" if sp.issparse(X) else "lbfgs"

    n_features = X.shape[1]
    coef = np.zeros((Y.shape[1], n_features))
    intercept = np.zeros(Y.shape[1])
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if y.all() or not y.any():
            intercept[j] = 40.0 if y.all() else -40.0
            continue
        model = LogisticRegression(C=C, max_iter=2000, solver=solver, random_state=seed)
        model.fit(X, y)
        coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
    return coef, intercept


@dataclass
class ClassifierSettings:
    embedding_model: str | None = None
    use_tfidf: bool = True
    C_embedding: float = 4.0  # also for the side-by-side embedding + TF-IDF regression
    C_tfidf: float = 8.0
    cv: int = 5
    finetune_epochs: int = 0
    finetune_layers: int = 6  # all of MiniLM's; the embeddings stay frozen
    holdout: float = 0.15
    seed: int = DEFAULT_SEED

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ValueClassifier(Annotator):
    """Fit on texts and a bool label matrix over ``value_ids``; score, threshold, save, load."""

    value_ids: list[str]
    taxonomy_name: str = "taxonomy"
    taxonomy_version: int | None = None
    settings: ClassifierSettings = field(default_factory=ClassifierSettings)
    members: list[LinearMember] = field(default_factory=list)
    thresholds: np.ndarray | None = None
    calibration: np.ndarray | None = None  # per value (slope, intercept) for the expected-F1 decision
    tfidf: TfidfFeatures | None = None
    encoder_path: str | None = None  # a fine-tuned encoder folder; None means the frozen base model
    report: dict = field(default_factory=dict)
    _embedder: object = None
    _finetuned: object = None  # FinetuneResult of the last fit, until saved

    @classmethod
    def for_taxonomy(cls, taxonomy: Taxonomy, settings: ClassifierSettings | None = None) -> "ValueClassifier":
        return cls([v.id for v in taxonomy.active_values()], taxonomy.name, taxonomy.version,
                   settings or ClassifierSettings())

    # --- features -------------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from moralgap.taxonomy.space import EmbeddingSpace

            # Not a taxonomy's space: the classifier embeds whole rationales with the encoder it was trained with.
            self._embedder = EmbeddingSpace(self.encoder_path or self.settings.embedding_model).embedder
        return self._embedder

    def _features(self, texts: Sequence[str]) -> dict:
        feats = {"embedding": self.embedder.encode(list(texts), desc="embedding texts")}
        if self.tfidf is not None:
            import scipy.sparse as sp

            feats["tfidf"] = self.tfidf.transform(texts)
            feats["embedding+tfidf"] = sp.hstack([sp.csr_matrix(feats["embedding"]), feats["tfidf"]]).tocsr()
        return feats

    def _frozen_kinds(self) -> list[str]:
        # One regression over both feature kinds side by side beat the mean of two separate
        # ones on Touché23 (benchmarks/touche23_annotate.py).
        return ["embedding+tfidf"] if self.tfidf is not None else ["embedding"]

    def _C(self, kind: str) -> float:
        return self.settings.C_tfidf if kind == "tfidf" else self.settings.C_embedding

    def _fit_members(self, feats: dict, Y: np.ndarray, rows: np.ndarray) -> list[LinearMember]:
        return [LinearMember(kind, *fit_linear(feats[kind][rows], Y[rows], C=self._C(kind), seed=self.settings.seed))
                for kind in self._frozen_kinds()]

    @staticmethod
    def _combine(members: list[LinearMember], feats: dict, rows=None) -> np.ndarray:
        parts = [m.scores(feats[m.kind] if rows is None else feats[m.kind][rows]) for m in members]
        return np.mean(parts, axis=0)

    # --- training ---------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: np.ndarray, aux_labels: np.ndarray | None = None) -> "ValueClassifier":
        """Learn from ``labels`` (texts x values, bool).

        ``aux_labels`` (texts x any number of extra targets, e.g. the finer values each value
        groups) are learnt beside the values while the encoder is fine-tuned, which shapes it
        with more detailed supervision; they are not predicted, saved or used otherwise.
        """
        texts = list(texts)
        Y = np.asarray(labels, dtype=bool)
        if len(texts) == 0:
            raise InputError(None, "empty training set: no labelled rationales")
        if Y.shape != (len(texts), len(self.value_ids)):
            raise InputError(None, f"labels have shape {Y.shape}, expected ({len(texts)}, {len(self.value_ids)})")
        if not Y.any():
            # Nothing to learn: every score would be 0 and macro-F1 0.000, which looks like a result.
            raise InputError(None, "no labelled rationale has any value (all value_ids are empty): nothing to learn",
                             field="value_ids")
        if aux_labels is not None:
            aux_labels = np.asarray(aux_labels, dtype=bool)
            if aux_labels.ndim != 2 or aux_labels.shape[0] != len(texts):
                raise InputError(None, f"auxiliary labels have shape {aux_labels.shape}, expected ({len(texts)}, m)",
                                 field="aux_labels")
            if self.settings.finetune_epochs == 0:
                raise InputError(None, "auxiliary labels only serve fine-tuning: set finetune_epochs", field="aux_labels")
        if len(texts) < 4:
            raise InputError(None, f"only {len(texts)} labelled rationales: at least 4 are needed to train and tune thresholds")
        s = self.settings
        # No TF-IDF member beside a tuned encoder: on Touché23 averaging one in lowered
        # validation macro-F1 from 0.448 to 0.419 (README, "Measured on Touché23-ValueEval").
        self.tfidf = TfidfFeatures().fit(texts) if s.use_tfidf and s.finetune_epochs == 0 else None
        if s.finetune_epochs > 0:
            scored, truth = self._fit_finetuned(texts, Y, aux_labels)
        else:
            feats = self._features(texts)
            scored, truth = self._cross_validated(feats, Y), Y
            self.members = self._fit_members(feats, Y, np.arange(len(texts)))
        self.thresholds = tune_thresholds(scored, truth)
        # A value nobody labelled has a constant, meaningless score: never assign it.
        self.thresholds[~Y.any(axis=0)] = np.inf
        self.calibration = fit_calibration(scored, truth, seed=s.seed)
        self.report = per_value_report(scored >= self.thresholds, truth, self.value_ids, self.thresholds)
        self.report["tuned_on"] = "held-out slice" if s.finetune_epochs > 0 else f"{self._n_folds(len(texts))}-fold cross-validation"
        self.report["n_train"] = len(texts)
        self.report["n_calibrated_values"] = int((~np.isnan(self.calibration[:, 0])).sum())
        if aux_labels is not None:
            self.report["n_aux_labels"] = int(aux_labels.shape[1])
        return self

    def _n_folds(self, n: int) -> int:
        return max(2, min(self.settings.cv, n))

    def _folds(self, n: int) -> np.ndarray:
        fold = np.arange(n) % self._n_folds(n)
        rng(self.settings.seed, "classifier-folds").shuffle(fold)
        return fold

    def _cross_validated(self, feats: dict, Y: np.ndarray) -> np.ndarray:
        fold = self._folds(len(Y))
        out = np.zeros(Y.shape, dtype=np.float64)
        for k in np.unique(fold):
            train, test = np.where(fold != k)[0], np.where(fold == k)[0]
            out[test] = self._combine(self._fit_members(feats, Y, train), feats, test)
        return out

    def _fit_finetuned(self, texts: list[str], Y: np.ndarray, aux: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Fine-tune on all but a held-out slice; the slice tunes the thresholds.

        Cross-validation would fine-tune the encoder once per fold, which a CPU cannot afford;
        out-of-fold scores of a linear layer over an encoder that saw every label would be
        over-confident.
        """
        from .finetune import finetune_encoder

        s = self.settings
        n = len(texts)
        order = rng(s.seed, "classifier-holdout").permutation(n)
        n_hold = min(max(1, int(round(s.holdout * n))), n - 2)
        hold, train = np.sort(order[:n_hold]), np.sort(order[n_hold:])
        targets = Y if aux is None else np.hstack([Y, aux])
        result = finetune_encoder([texts[i] for i in train], targets[train], base_model=s.embedding_model,
                                  epochs=s.finetune_epochs, trainable_layers=s.finetune_layers, seed=s.seed)
        self.encoder_path = None
        self._embedder = result.embedder
        self._finetuned = result
        k = len(self.value_ids)  # the head's first k outputs are the values; the rest were auxiliary
        self.members = [LinearMember("embedding", result.coef[:k], result.intercept[:k])]
        hold_texts = [texts[i] for i in hold]
        return self._combine(self.members, self._features(hold_texts)), Y[hold]

    # --- prediction -------------------------------------------------------------------------
    source = "classifier"

    @property
    def is_fitted(self) -> bool:
        return bool(self.members) and self.thresholds is not None

    def _check_fitted(self) -> None:
        self.check_fitted()

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Value probabilities; a blank text names no value, so its row is zero (not the model's prior)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.value_ids)))
        keep = [i for i, t in enumerate(texts) if (t or "").strip()]
        if keep:
            out[keep] = self.predict_scores([texts[i] for i in keep])
        else:
            self._check_fitted()
        return out

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        if not texts:
            return np.zeros((0, len(self.value_ids)))
        return self._combine(self.members, self._features(texts))

    def decision_thresholds(self, scores: np.ndarray, decision: str = "tuned") -> np.ndarray:
        """Per-value thresholds for this batch of scores.

        ``"tuned"``: the thresholds tuned at fit time, the same for every rationale.
        ``"expected-f1"``: cuts maximising each value's expected F1 over the batch (see
        :mod:`annotation.expected_f1`); a batch smaller than ``MIN_BATCH`` keeps the tuned ones.
        """
        self._check_fitted()
        if decision == "tuned":
            return self.thresholds
        if decision != "expected-f1":
            raise InputError(None, f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}", field="decision")
        if self.calibration is None:
            raise InputError(None, "this model was saved without a calibration: retrain it for the expected-f1 decision",
                             field="decision")
        return batch_thresholds(scores, self.calibration, self.thresholds)

    def predict(self, texts: Sequence[str], decision: str = "tuned") -> np.ndarray:
        scores = self.predict_scores(texts)
        return scores >= self.decision_thresholds(scores, decision)

    def annotate(self, judgments, texts: Sequence[str] | None = None, *, source: str = "classifier",
                 decision: str = "tuned") -> list[ValueAnnotation]:
        """Annotate judgments (those with a rationale), or ``ids`` with their ``texts``."""
        if texts is None:
            items = with_rationale(judgments)
            ids, texts = [j.id for j in items], [j.rationale for j in items]
        else:
            ids = list(judgments)
        scores = self.predict_scores(texts)
        return annotations_from_scores(ids, scores, self.decision_thresholds(scores, decision), self.value_ids,
                                       source=source, taxonomy_version=self.taxonomy_version)

    # --- persistence ------------------------------------------------------------------------
    def save(self, out: str | os.PathLike) -> Path:
        self._check_fitted()
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {"thresholds": np.asarray(self.thresholds, dtype=np.float64)}
        if self.calibration is not None:
            arrays["calibration"] = np.asarray(self.calibration, dtype=np.float64)
        for k, m in enumerate(self.members):
            arrays[f"coef_{k}"] = m.coef.astype(np.float32)
            arrays[f"intercept_{k}"] = m.intercept.astype(np.float64)
        if self.tfidf is not None:
            arrays["tfidf_idf"] = self.tfidf.idf
            write_json(out / TFIDF_FILE, {"vocabulary": self.tfidf.vocabulary})
        encoder = None
        if self._finetuned is not None:
            self._finetuned.save(out / ENCODER_DIR)
            encoder = ENCODER_DIR
        elif self.encoder_path is not None:
            if Path(self.encoder_path).resolve() != (out / ENCODER_DIR).resolve():
                import shutil

                shutil.copytree(self.encoder_path, out / ENCODER_DIR, dirs_exist_ok=True)
            encoder = ENCODER_DIR
        with atomic_open(out / WEIGHTS_FILE, "wb") as fh:
            np.savez(fh, **arrays)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "taxonomy_name": self.taxonomy_name,
            "taxonomy_version": self.taxonomy_version,
            "value_ids": self.value_ids,
            "members": [m.kind for m in self.members],
            "encoder": encoder,
            # what the user asked for (None: the default offline MiniLM), so load resolves it the same way
            "embedding_model": self.settings.embedding_model if encoder is None else None,
            "embedding_fingerprint": self.embedder.fingerprint,
            "settings": self.settings.as_dict(),
            "report": self.report,
        }
        write_json(out / MODEL_FILE, meta)  # last: a folder with model.json is complete
        return out

    @classmethod
    def load(cls, path: str | os.PathLike, taxonomy: Taxonomy | None = None) -> "ValueClassifier":
        folder = Path(path)
        meta_path = folder / MODEL_FILE
        meta = read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise InputError(meta_path, f"not a moralgap value classifier (expected format {FORMAT!r})", field="format")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise InputError(meta_path, f"model format {meta['format_version']} is newer than this moralgap reads "
                                        f"({FORMAT_VERSION}): upgrade moralgap", field="format_version")
        if taxonomy is not None:
            check_model_taxonomy(meta, taxonomy, meta_path)
        try:
            with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise InputError(folder / WEIGHTS_FILE, f"cannot read model weights ({exc})") from None
        settings_raw = {k: v for k, v in (meta.get("settings") or {}).items() if k in ClassifierSettings.__dataclass_fields__}
        model = cls(list(meta["value_ids"]), meta.get("taxonomy_name", "taxonomy"), meta.get("taxonomy_version"),
                    ClassifierSettings(**settings_raw))
        model.members = [LinearMember(kind, arrays[f"coef_{k}"].astype(np.float64), arrays[f"intercept_{k}"])
                         for k, kind in enumerate(meta["members"])]
        model.thresholds = arrays["thresholds"]
        model.calibration = arrays.get("calibration")
        if any("tfidf" in kind for kind in meta["members"]):
            model.tfidf = TfidfFeatures(read_json(folder / TFIDF_FILE)["vocabulary"], arrays["tfidf_idf"])
        if meta.get("encoder"):
            enc = Path(meta["encoder"])
            model.encoder_path = str(enc if enc.is_absolute() else folder / enc)
        else:
            model.settings.embedding_model = meta.get("embedding_model")
        model.report = meta.get("report") or {}
        if meta.get("embedding_fingerprint") and model.embedder.fingerprint != meta["embedding_fingerprint"]:
            raise InputError(meta_path, "the embedding model found now differs from the one the classifier was "
                                        "trained with (fingerprint mismatch)", field="embedding_fingerprint")
        return model


def check_model_taxonomy(meta: dict, taxonomy: Taxonomy, where) -> None:
    """Refuse a model trained for another taxonomy version or value set."""
    if meta.get("taxonomy_version") != taxonomy.version or meta.get("taxonomy_name") != taxonomy.name:
        raise InputError(where, f"model was trained for taxonomy {meta.get('taxonomy_name')!r} "
                                f"v{meta.get('taxonomy_version')}, not {taxonomy.name!r} v{taxonomy.version}: "
                                "retrain it with 'moralgap annotate train'", field="taxonomy_version")
    active = [v.id for v in taxonomy.active_values()]
    if list(meta.get("value_ids", [])) != active:
        raise InputError(where, "model value ids differ from the taxonomy's active values: retrain it",
                         field="value_ids")


def annotations_from_scores(ids: Sequence[str], scores: np.ndarray, thresholds: np.ndarray, value_ids: list[str],
                            *, source: str, taxonomy_version: int | None, keep_scores: float = 0.0) -> list[ValueAnnotation]:
    """One :class:`ValueAnnotation` per row; ``scores`` keeps values scoring at least ``keep_scores``."""
    out = []
    for rid, row in zip(ids, scores):
        order = np.argsort(-row)
        chosen = [value_ids[j] for j in order if row[j] >= thresholds[j]]
        kept = {value_ids[j]: round(float(row[j]), 4) for j in order if row[j] >= keep_scores and row[j] > 0}
        out.append(ValueAnnotation(rationale_id=str(rid), value_ids=chosen, scores=kept, source=source,
                                   taxonomy_version=taxonomy_version))
    return out
