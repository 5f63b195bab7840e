"""Zero-shot value annotation from a taxonomy, with no human labels.

Each active value gets a prototype: the mean of the embeddings of its name, its name with its
definition, its keywords, its exemplars and, when the taxonomy folder has one, its centroid.
A text is scored against every prototype; the raw cosine is turned into a within-text z-score
(how much one value stands out from the others for this text), since long rationales and short
phrases have very different raw similarity ranges but comparable z-scores.

Calibration rule (per value, from data): the taxonomy's own short texts (exemplars, keywords and
up to ``max_expressions_per_value`` of the expressions the builder assigned to each value) are
scored leave-one-out against the prototypes; a logistic curve fitted on "is this the item's own
value?" turns z-scores into probabilities, and each value's threshold is the probability that
maximises F1 on those items (values with fewer than three items share the pooled threshold).
With labels at hand, :meth:`ZeroShotAnnotator.calibrate` re-tunes the thresholds on them.

A rationale's score for a value is the larger of (a) its whole-text probability, counted only at
0.5 or more when expressions are scored too (``WHOLE_TEXT_FLOOR``: the one fixed cut, even
odds, since thresholds tuned on short texts let long ones through), and (b) the best probability
among its value expressions that expression-level coding
(:class:`~annotation.expression_coding.ExpressionCoder`, ``annotate expressions``) gives that
value. Only coded expressions count: a span the build would have set apart ("tell them",
"awkward") or one no value is near enough to is still nearest *some* value, and a within-text
z-score makes that nearest value look certain.
"""
from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.io import read_json, write_json
from moralgap.records import Judgment, ValueAnnotation
from moralgap.seeding import DEFAULT_SEED, rng
from moralgap.taxonomy.cluster import unit_rows

from .base import Annotator, with_rationale
from .classifier import annotations_from_scores
from .thresholds import per_value_report, tune_thresholds

log = logging.getLogger(__name__)


def similarities(vectors: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Cosine similarities of unit rows, in float64: a float32 product's last bits depend on how
    many rows are multiplied at once (BLAS picks its kernel by shape), so a rationale scored in a
    Ray shard could round to another fourth decimal than the same rationale scored locally."""
    return np.asarray(vectors, dtype=np.float64) @ np.asarray(prototypes, dtype=np.float64).T


def within_item_z(sims: np.ndarray) -> np.ndarray:
    """Standardise each row across values; a single value keeps its raw similarity."""
    if sims.shape[1] < 2:
        return sims.copy()
    sd = sims.std(axis=1, keepdims=True)
    return (sims - sims.mean(axis=1, keepdims=True)) / np.where(sd > 1e-9, sd, 1.0)


@dataclass
class _Calibration:
    slope: float
    bias: float
    n_items: int
    report: dict = field(default_factory=dict)

    def probability(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.slope * z + self.bias, -40, 40)))


FORMAT = "moralgap-zero-shot-annotator"
FORMAT_VERSION = 1
META_FILE = "annotator.json"
ARRAYS_FILE = "prototypes.npz"
# With expressions, a whole text names a value only where the calibration calls it more likely
# than not, whatever the value's own (often lower) threshold.
WHOLE_TEXT_FLOOR = 0.5


class ZeroShotAnnotator(Annotator):
    """Value annotation from the taxonomy alone; ``fit`` builds prototypes and thresholds.

    ``extractor`` is anything with ``extract(judgments) -> list[Expression]``; ``None`` loads
    :class:`taxonomy.extract.ValueExtractor` on first use, ``False`` scores whole rationales only.
    Texts are embedded in the taxonomy's :class:`~taxonomy.space.EmbeddingSpace` (``space``, by
    default read from the folder; ``embedder`` replaces its model), since the prototypes hold the
    taxonomy's centroids: a model other than the build's is refused.
    """

    def __init__(self, folder, *, embedder=None, extractor=None, max_expressions_per_value: int = 30,
                 seed: int = DEFAULT_SEED, space=None):
        from moralgap.taxonomy.space import EmbeddingSpace

        self.folder = folder
        self.taxonomy = folder.taxonomy
        self.value_ids = [v.id for v in self.taxonomy.active_values()]
        if not self.value_ids:
            raise InputError(None, f"taxonomy {self.taxonomy.name!r} v{self.taxonomy.version} has no active values",
                             field="values")
        self.space = space or EmbeddingSpace.of(folder, embedder=embedder)
        self._extractor = extractor
        self.max_expressions_per_value = max_expressions_per_value
        self.seed = seed
        self.prototypes: np.ndarray | None = None
        self.thresholds: np.ndarray | None = None
        self.calibration: _Calibration | None = None
        self.threshold_source = "exemplars"
        self._coder = None

    @property
    def embedder(self):
        return self.space.embedder

    @property
    def extractor(self):
        if self._extractor is None:
            from moralgap.taxonomy.extract import ValueExtractor

            self._extractor = ValueExtractor()
        return self._extractor or None

    # --- prototypes and calibration ------------------------------------------------------
    def _components(self) -> tuple[list[str], list[int]]:
        texts, owner = [], []
        for j, vid in enumerate(self.value_ids):
            v = self.taxonomy.get(vid)
            parts = [v.name] + ([f"{v.name}: {v.definition}"] if v.definition else []) + list(v.keywords) + list(v.exemplars)
            for t in dict.fromkeys(p.strip() for p in parts if p and p.strip()):
                texts.append(t)
                owner.append(j)
        return texts, owner

    def _held_out_items(self) -> tuple[list[str], list[int]]:
        """Builder-assigned expressions (not prototype components) as extra calibration items."""
        by_value: dict[int, list[str]] = defaultdict(list)
        col = {v: j for j, v in enumerate(self.value_ids)}
        for e in self.folder.expressions:
            if e.value_id in col and e.norm:
                by_value[col[e.value_id]].append(e.norm)
        texts, owner = [], []
        gen = rng(self.seed, "zero-shot-calibration")
        for j in sorted(by_value):
            distinct = sorted(set(by_value[j]))
            pick = gen.permutation(len(distinct))[: self.max_expressions_per_value]
            for k in sorted(pick):
                texts.append(distinct[k])
                owner.append(j)
        return texts, owner

    source = "auto"

    @property
    def is_fitted(self) -> bool:
        return self.prototypes is not None and self.thresholds is not None

    def fit(self, texts: Sequence[str] | None = None, labels: np.ndarray | None = None) -> "ZeroShotAnnotator":
        """Prototypes and thresholds from the taxonomy's own texts; with ``texts`` and ``labels``
        (a bool matrix over ``value_ids``), the thresholds are then re-tuned on those labels."""
        self._fit_taxonomy()
        if labels is not None:
            if texts is None:
                raise InputError(None, "labels without texts: give the texts the labels belong to", field="texts")
            self.calibrate(self.score(texts), labels)
        return self

    def _fit_taxonomy(self) -> None:
        comp_texts, comp_owner = self._components()
        comp_vecs = self.embedder.encode(comp_texts, desc="embedding value prototypes")
        n_values = len(self.value_ids)
        sums = np.zeros((n_values, comp_vecs.shape[1]), dtype=np.float64)
        counts = np.zeros(n_values)
        for vec, j in zip(comp_vecs, comp_owner):
            sums[j] += vec
            counts[j] += 1
        for j, vid in enumerate(self.value_ids):
            if vid in self.folder.centroids:
                sums[j] += unit_rows(self.folder.centroids[vid].astype(np.float64))
                counts[j] += 1
        self.prototypes = unit_rows(sums).astype(np.float32)

        # Leave-one-out: a component is scored against its own value's prototype without it.
        sims = similarities(comp_vecs, self.prototypes)
        for i, j in enumerate(comp_owner):
            if counts[j] > 1:
                loo = unit_rows(sums[j] - comp_vecs[i])
                sims[i, j] = float(comp_vecs[i] @ loo)
            else:
                sims[i, j] = np.nan  # a value known by its name alone cannot be scored against itself
        keep = ~np.isnan(sims).any(axis=1)
        sims, owner = sims[keep], [o for o, k in zip(comp_owner, keep) if k]
        extra_texts, extra_owner = self._held_out_items()
        if extra_texts:
            sims = np.vstack([sims, similarities(self.embedder.encode(extra_texts, desc="embedding calibration items"),
                                                 self.prototypes)])
            owner += extra_owner
        truth = np.zeros((len(owner), n_values), dtype=bool)
        truth[np.arange(len(owner)), owner] = True
        self.calibration = self._fit_calibration(within_item_z(sims), truth)
        if len(owner) and n_values > 1:
            probs = self.calibration.probability(within_item_z(sims))
            self.thresholds = tune_thresholds(probs, truth)
            self.calibration.report = per_value_report(probs >= self.thresholds, truth, self.value_ids, self.thresholds)
        else:
            # Nothing to contrast a lone value with: accept what scores above the midpoint.
            self.thresholds = np.full(n_values, 0.5)

    def _fit_calibration(self, z: np.ndarray, truth: np.ndarray) -> _Calibration:
        if truth.shape[0] == 0 or truth.shape[1] < 2:
            return _Calibration(1.0, 0.0, int(truth.shape[0]))
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1.0, random_state=self.seed).fit(z.reshape(-1, 1), truth.ravel())
        return _Calibration(float(lr.coef_[0, 0]), float(lr.intercept_[0]), int(truth.shape[0]))

    def _check_fitted(self) -> None:
        self.check_fitted()

    # --- scoring ----------------------------------------------------------------------------
    def text_scores(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        if not texts:
            return np.zeros((0, len(self.value_ids)))
        sims = similarities(self.embedder.encode(list(texts), desc="embedding rationales"), self.prototypes)
        return self.calibration.probability(within_item_z(sims))

    def expression_scores(self, ids: Sequence[str], expressions) -> np.ndarray:
        """Per rationale and value: the best probability among the expressions coded to that
        value (``value_id`` set, as :meth:`coded_expressions` gives them); others are ignored."""
        self._check_fitted()
        out = np.zeros((len(ids), len(self.value_ids)))
        row = {rid: i for i, rid in enumerate(ids)}
        col = {vid: j for j, vid in enumerate(self.value_ids)}
        exprs = [e for e in expressions if e.rationale_id in row and e.value_id in col and (e.norm or e.text)]
        if not exprs:
            return out
        vecs = self.embedder.encode([e.norm or e.text for e in exprs], desc="embedding expressions")
        probs = self.calibration.probability(within_item_z(similarities(vecs, self.prototypes)))
        for k, e in enumerate(exprs):
            i, j = row[e.rationale_id], col[e.value_id]
            out[i, j] = max(out[i, j], probs[k, j])
        return out

    def coded_expressions(self, judgments) -> list:
        """The value expressions of ``judgments`` coded to a value, by the rule of ``annotate
        expressions``: the taxonomy's own assignment for rationales it was built on, else the
        build's span filter and outlier threshold.

        A taxonomy with no centroids (written by hand, or imported from a list of names) has no
        outlier threshold to apply: each value expression there goes to its nearest prototype."""
        if any(vid in self.folder.centroids for vid in self.value_ids):
            if self._coder is None:
                from .expression_coding import ExpressionCoder

                self._coder = ExpressionCoder(self.folder, embedder=self.embedder, extractor=self.extractor)
            return [e for e in self._coder.code(judgments).expressions if e.value_id is not None]
        from moralgap.taxonomy.extract import extracting_as_built
        from moralgap.taxonomy.span_filter import filter_spans, recorded_span_filter

        params = self.taxonomy.params or {}
        with extracting_as_built(self.extractor, params) as extractor:
            found = extractor.extract(judgments)
        found = [e for e in filter_spans(found, recorded_span_filter(params), self.embedder)
                 if not e.excluded and (e.norm or e.text)]
        if not found:
            return []
        vecs = self.embedder.encode([e.norm or e.text for e in found], desc="embedding expressions")
        nearest = similarities(vecs, self.prototypes).argmax(axis=1)
        return [e.model_copy(update={"value_id": self.value_ids[int(j)]}) for e, j in zip(found, nearest)]

    def score_judgments(self, judgments) -> tuple[list[str], np.ndarray]:
        items = [j for j in judgments if (j.rationale or "").strip()]
        ids = [j.id for j in items]
        scores = self.text_scores([j.rationale for j in items])
        if self.extractor is not None and items:
            # Beside coded expressions the whole text is the weaker witness: its probabilities
            # are calibrated on the taxonomy's short texts, and below even odds it added more
            # wrong values than right ones on the team's labels (docs/annotation.md).
            whole = np.where(scores >= WHOLE_TEXT_FLOOR, scores, 0.0)
            scores = np.maximum(whole, self.expression_scores(ids, self.coded_expressions(items)))
        return ids, scores

    def calibrate(self, scores: np.ndarray, labels: np.ndarray) -> dict:
        """Re-tune thresholds on labelled rationales (scores from :meth:`score_judgments`)."""
        self._check_fitted()
        labels = np.asarray(labels, dtype=bool)
        tuned = tune_thresholds(scores, labels)
        # A value absent from the labels keeps its exemplar-chosen threshold.
        self.thresholds = np.where(labels.any(axis=0), tuned, self.thresholds)
        self.threshold_source = "labels"
        return per_value_report(scores >= self.thresholds, labels, self.value_ids, self.thresholds)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Scores of plain texts (whole text and, with an extractor, its value expressions)."""
        self._check_fitted()
        items = [Judgment(id=f"t{i}", dilemma_id="-", rationale=t) for i, t in enumerate(texts)]
        out = np.zeros((len(items), len(self.value_ids)))
        ids, scores = self.score_judgments(items)
        if ids:
            out[[int(i[1:]) for i in ids]] = scores
        return out

    def annotate(self, judgments) -> list[ValueAnnotation]:
        ids, scores = self.score_judgments(with_rationale(judgments))
        return self.annotations(ids, scores)

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Prototypes, thresholds and calibration; the taxonomy folder itself is not copied."""
        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        np.savez(out / ARRAYS_FILE, prototypes=self.prototypes, thresholds=self.thresholds)
        cal = self.calibration
        write_json(out / META_FILE, {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "taxonomy_name": self.taxonomy.name, "taxonomy_version": self.taxonomy.version, "value_ids": self.value_ids,
            "embedding_model": self.embedder.model_name, "embedding_fingerprint": self.embedder.fingerprint,
            "calibration": {"slope": cal.slope, "bias": cal.bias, "n_items": cal.n_items},
            "threshold_source": self.threshold_source, "max_expressions_per_value": self.max_expressions_per_value,
            "seed": self.seed,
        })  # last: a folder with annotator.json is complete
        return out

    @classmethod
    def load(cls, path: str | os.PathLike, folder, *, embedder=None, extractor=None) -> "ZeroShotAnnotator":
        """Read a saved annotator for the taxonomy ``folder`` it was fitted on (refused for another)."""
        meta_path = Path(path) / META_FILE
        meta = read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise InputError(meta_path, f"not a moralgap zero-shot annotator (expected format {FORMAT!r})", field="format")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise InputError(meta_path, f"annotator format {meta['format_version']} is newer than this moralgap reads: "
                                        "upgrade moralgap", field="format_version")
        ann = cls(folder, embedder=embedder, extractor=extractor, seed=int(meta.get("seed", DEFAULT_SEED)),
                  max_expressions_per_value=int(meta.get("max_expressions_per_value", 30)))
        tax = ann.taxonomy
        if (meta.get("taxonomy_name"), meta.get("taxonomy_version"), meta.get("value_ids")) != (tax.name, tax.version, ann.value_ids):
            raise InputError(meta_path, f"fitted on taxonomy {meta.get('taxonomy_name')!r} v{meta.get('taxonomy_version')}, "
                                        f"not {tax.name!r} v{tax.version}: fit it again", field="taxonomy_version")
        if meta.get("embedding_fingerprint") != ann.embedder.fingerprint:
            raise InputError(meta_path, "the embedding model found now differs from the one the annotator was fitted "
                                        "with (fingerprint mismatch)", field="embedding_fingerprint")
        try:
            with np.load(Path(path) / ARRAYS_FILE, allow_pickle=False) as z:
                ann.prototypes, ann.thresholds = z["prototypes"], z["thresholds"]
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(Path(path) / ARRAYS_FILE, f"cannot read the annotator's arrays ({exc})") from None
        cal = meta["calibration"]
        ann.calibration = _Calibration(float(cal["slope"]), float(cal["bias"]), int(cal["n_items"]))
        ann.threshold_source = meta.get("threshold_source", "exemplars")
        return ann

    def annotations(self, ids: Sequence[str], scores: np.ndarray) -> list[ValueAnnotation]:
        self._check_fitted()
        return annotations_from_scores(ids, scores, self.thresholds, self.value_ids, source="auto",
                                       taxonomy_version=self.taxonomy.version, keep_scores=0.05)
