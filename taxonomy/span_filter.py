"""A learned second pass over the extractor's spans: is this span a value expression?

The extraction rules and ``value_filter``'s word lists catch what is never a value ("asshole",
"my family", "the fact"). What they cannot catch is a value word used in a way that expresses no
value: "mother in law", "in all honesty", "take care of the house", "the rules", "her grief".
Those look like value expressions to any word list; a reader tells them apart by what the words
mean. This module learns that from spans the team labelled value / not a value: a logistic
regression over the span's sentence embedding (with the default ``--embed-text norm``, the
vector the build clusters on, so it costs nothing extra) and a few facts about how it was found (which rule, negation, length).

The shipped model (``resources/value_span_filter.json``) was trained on 3,348 spans the team
labelled, from the real AITA top comments and from LLM rationales on the same posts (the label
files are in ``benchmarks/data/``), by ``python benchmarks/train_span_filter.py``, which prints
its cross-validated precision and recall and its scores on the bundled sample, which it never
saw. It is stored as plain JSON numbers (never a pickle) with the fingerprint of the embedding
model it was trained on: vectors from another model mean nothing to it, so with another model
the shipped filter is skipped and the build says so. A researcher with labels of their own trains a filter for their community the same way
(:meth:`SpanFilter.fit`, then :meth:`SpanFilter.save`) and builds with ``--span-filter FILE``.

Spans the filter sets apart get ``excluded="unlikely_value"``: kept in ``expressions.jsonl``,
shown by ``taxonomy show --excluded``, never clustered, like every other reason.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.errors import ConfigError, InputError
from moralgap.io import atomic_open, read_json
from moralgap.records import Expression

from .space import meaning_text
from .value_filter import OPEN_CANDIDATE

log = logging.getLogger(__name__)

REASON = "unlikely_value"
FORMAT = "moralgap-span-filter/1"
# Spans whose features are formed at once when the filter judges a build's spans.
PREDICT_CHUNK = 16_384
# The rules a span can be found by; an unknown rule (an LLM extractor's, say) gets all zeros.
RULES = ("duty", "evaluative", "explicit_value", "norm", "right", "value_verb", "llm", "open_noun", "open_verb", "open_adj")
DEFAULT_THRESHOLD = 0.5
# Open words are judged at their own cut: their labels over-draw likely words, so their
# cross-validated precision is no corpus rate to choose a cut by (see train_span_filter.py).
DEFAULT_OPEN_THRESHOLD = 0.5
DEFAULT_C = 1.0
MIN_RULE_EXAMPLES = 20


def is_open_word(e: Expression) -> bool:
    return e.rule.startswith("open_")


def offered_to_filter(e: Expression) -> bool:
    """Whether a span reaches the filter at all: one the rules kept, or an open word. Spans the
    rules set apart (verdicts, facts) never do, so the filter neither judges nor learns them."""
    return not e.excluded or e.excluded == OPEN_CANDIDATE


def span_facts(e: Expression) -> list[float]:
    """What the filter knows about a span besides its meaning: the rule that found it, whether
    it was a violation ("never told her"), and how many words its normal form has."""
    return [float(e.rule == r) for r in RULES] + [float(e.polarity == "violated"), min(len(e.norm.split()), 6) / 6.0]


@dataclass
class SpanFilter:
    """Logistic regression on ``[embedding of the span's meaning, span_facts]``.

    scikit-learn's habits: :meth:`fit` with an explicit ``random_state``, then
    :meth:`predict_proba` / :meth:`apply`; :meth:`save` / :meth:`load` write and read JSON.
    """

    threshold: float = DEFAULT_THRESHOLD
    open_threshold: float = DEFAULT_OPEN_THRESHOLD
    C: float = DEFAULT_C
    random_state: int = 0
    coef: np.ndarray | None = None
    intercept: float = 0.0
    embedding_fingerprint: str | None = None
    embedding_model: str | None = None
    trained_on: dict = field(default_factory=dict)
    # The copy shipped with moralgap is skipped (not refused) under another embedding model.
    shipped: bool = False

    # -- learning -------------------------------------------------------------------------

    def features(self, expressions: Sequence[Expression], vectors: np.ndarray) -> np.ndarray:
        facts = np.array([span_facts(e) for e in expressions], dtype=np.float32).reshape(len(expressions), -1)
        vectors = np.asarray(vectors, dtype=np.float32)
        # The embedding three times: once for every span, once only for rule-found spans and once
        # only for open words (zero in the other kind's copy). The shared copy carries what a value
        # means whoever found it, so an open word such as "loyalty" is read with what the labels
        # of rule-found spans taught; each kind's own copy learns how that kind differs, so the
        # many plain words among the open candidates do not blur how rule-found spans are read.
        opened = np.array([is_open_word(e) for e in expressions], dtype=np.float32).reshape(-1, 1)
        return np.hstack([vectors, vectors * (1.0 - opened), vectors * opened, facts])

    def fit(self, expressions: Sequence[Expression], labels: Sequence[bool], embedder,
            sample_weight: Sequence[float] | None = None, vectors: np.ndarray | None = None) -> "SpanFilter":
        """Learn from spans labelled value (``True``) or not (``False``), each weighed by
        ``sample_weight`` when given (as scikit-learn's estimators take it). ``vectors``, when
        given, are the spans' :meth:`vectors` already embedded with ``embedder`` (folds of a
        cross-validation share one encoding)."""
        from sklearn.linear_model import LogisticRegression

        if len(expressions) != len(labels):
            raise InputError(None, f"{len(expressions)} spans but {len(labels)} labels", field="labels")
        if sample_weight is not None and len(sample_weight) != len(labels):
            raise InputError(None, f"{len(labels)} labels but {len(sample_weight)} weights", field="sample_weight")
        y = np.asarray(labels, dtype=bool)
        if y.all() or not y.any():
            raise InputError(None, "the labels need both value and not-a-value spans", field="labels")
        if vectors is None:
            vectors = self.vectors(expressions, embedder)
        elif len(vectors) != len(expressions):
            raise InputError(None, f"{len(expressions)} spans but {len(vectors)} vectors", field="vectors")
        X = self.features(expressions, vectors)
        model = LogisticRegression(C=self.C, max_iter=5000, random_state=self.random_state).fit(
            X, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64))
        self.coef = model.coef_[0].astype(np.float64)
        self.intercept = float(model.intercept_[0])
        self.embedding_fingerprint = embedder.fingerprint
        self.embedding_model = getattr(embedder, "model_name", None)
        # Only rules with enough labelled spans are judged later: with a handful of examples
        # ("family comes first", "right to decide") the filter would learn noise, not a rule.
        seen = Counter(e.rule for e in expressions)
        self.trained_on = {"spans": int(len(y)), "values": int(y.sum()),
                           "rules": sorted(r for r, n in seen.items() if n >= MIN_RULE_EXAMPLES)}
        return self

    @staticmethod
    def meaning_texts(expressions: Sequence[Expression]) -> list[str]:
        """What the filter embeds for each span."""
        return [meaning_text(e.norm) for e in expressions]

    @staticmethod
    def vectors(expressions: Sequence[Expression], embedder) -> np.ndarray:
        return embedder.encode(SpanFilter.meaning_texts(expressions), desc="embedding spans to filter")

    # -- use ------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self.coef is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this SpanFilter is not fitted: call fit() first, or SpanFilter.load() a saved one")

    def judges(self, e: Expression) -> bool:
        """Whether the filter has a say on this span: only spans found by a rule it learned from
        (an LLM extractor's spans, say, look nothing like what it was trained on)."""
        rules = self.trained_on.get("rules")
        return e.rule in (RULES if rules is None else rules)

    def _judged(self, expressions: Sequence[Expression]) -> list[int]:
        return [i for i, e in enumerate(expressions)
                if offered_to_filter(e) and self.judges(e)]

    def texts(self, expressions: Sequence[Expression]) -> list[str]:
        """The texts :meth:`apply` embeds for these expressions (a caller can embed them ahead)."""
        return self.meaning_texts([expressions[i] for i in self._judged(expressions)])

    def doubt(self) -> str | None:
        """Why a build should not trust this filter, from the cross-validation ``taxonomy
        train-filter`` recorded: spans it kept were values less often than spans the rules find
        (the rules alone keep them all). ``None`` when it did better, or was not cross-validated."""
        cv = (self.trained_on or {}).get("cross_validated") or {}
        rule = cv.get("rule_found") or {}
        kept, alone = rule.get("precision"), rule.get("precision_without_filter")
        if kept is None or alone is None or kept >= alone:
            return None
        return (f"in its cross-validation the spans it kept were values less often ({kept:.0%}) than all the "
                f"spans the rules found ({alone:.0%}): label more spans, or build with --span-filter none")

    def usable_with(self, embedder) -> bool:
        return self.embedding_fingerprint is None or self.embedding_fingerprint == embedder.fingerprint

    def predict_proba(self, expressions: Sequence[Expression], vectors: np.ndarray) -> np.ndarray:
        """Probability that each span is a value expression."""
        self._check_fitted()
        if not len(expressions):
            return np.zeros(0)
        X = self.features(expressions, vectors).astype(np.float64)
        if X.shape[1] != len(self.coef):
            raise ConfigError(f"this span filter has {len(self.coef)} weights but its input has {X.shape[1]} features: "
                              "it was trained on another embedding model or by another moralgap version; retrain it "
                              "(SpanFilter.fit) or build with --span-filter none")
        z = X @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def proba_as_applied(self, expressions: Sequence[Expression], vectors: np.ndarray) -> np.ndarray:
        """:meth:`predict_proba`, but 1.0 for a span the filter does not judge: :meth:`apply`
        leaves such a span as the rules found it, so a measure of what the filter keeps must count
        it kept, not read the weights on a span unlike any it learned from."""
        judged = np.array([self.judges(e) for e in expressions], dtype=bool)
        return np.where(judged, self.predict_proba(expressions, vectors), 1.0)

    def kept(self, expressions: Sequence[Expression], vectors: np.ndarray) -> np.ndarray:
        """Whether :meth:`apply` would keep each span (all offered to the filter): a span it
        judges when its probability reaches the cut, one it does not judge as the rules leave it
        (kept when a rule found it, dropped when it is an open word)."""
        judged = np.array([self.judges(e) for e in expressions], dtype=bool)
        cut = np.array([self.cut_for(e) for e in expressions], dtype=float)
        unjudged = np.array([not is_open_word(e) for e in expressions], dtype=bool)
        return np.where(judged, self.predict_proba(expressions, vectors) >= cut, unjudged)

    def cut_for(self, e: Expression) -> float:
        """The probability a span needs to count as a value expression: ``open_threshold`` for
        open words, ``threshold`` for spans the rules found."""
        return self.open_threshold if is_open_word(e) else self.threshold

    def apply(self, expressions: Sequence[Expression], embedder, *, below_cut: "BelowCut | None" = None) -> list[Expression]:
        """The expressions, with those the rules kept but the filter doubts set apart as
        ``unlikely_value``; the order and every other field are unchanged. Only spans found by
        the rules the filter was trained on are judged. Open words (``open_candidate``) it
        accepts become ordinary expressions, the others are dropped, and counted in
        ``below_cut`` when one is given. An open word of a kind (noun, verb, adjective) the
        filter has too few labels of is dropped unjudged, as with no filter: its weights for
        open words would be untrained (a filter trained on the bundled sample's 309 labels, 4
        of them open words, admitted enough plain words to double the sample's build)."""
        self._check_fitted()
        if not self.usable_with(embedder):
            raise ConfigError(
                f"the span filter was trained on vectors of {self.embedding_model or 'another model'} "
                f"(fingerprint {self.embedding_fingerprint}); this build embeds with "
                f"{getattr(embedder, 'model_name', '?')} ({embedder.fingerprint}). Train one for this model "
                "(SpanFilter.fit) or build with --span-filter none")
        live = self._judged(expressions)
        out: list[Expression | None] = list(expressions)
        if not live:
            return without_open_words(expressions)
        picked = [expressions[i] for i in live]
        vectors = self.vectors(picked, embedder)
        # The features are the embedding three times over, in float64: for every span of a
        # 50,000-comment build at once that was gigabytes, so they are formed a chunk at a time.
        p = np.concatenate([self.predict_proba(picked[i:i + PREDICT_CHUNK], vectors[i:i + PREDICT_CHUNK])
                            for i in range(0, len(picked), PREDICT_CHUNK)])
        for i, prob in zip(live, p):
            e = expressions[i]
            if e.excluded == OPEN_CANDIDATE:
                out[i] = e.model_copy(update={"excluded": None}) if prob >= self.cut_for(e) else None
                if out[i] is None and below_cut is not None:
                    below_cut.add(e.norm, float(prob))
            elif prob < self.cut_for(e):
                out[i] = e.model_copy(update={"excluded": REASON})
        return without_open_words([e for e in out if e is not None])

    # -- files ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"format": FORMAT, "model": "logistic_regression", "threshold": self.threshold,
                "open_threshold": self.open_threshold, "C": self.C,
                "random_state": self.random_state, "features": {"embedding": "meaning text: every span, rule-found spans, open words", "facts": list(RULES) + ["violated", "words/6"]},
                "embedding_model": self.embedding_model, "embedding_fingerprint": self.embedding_fingerprint,
                "trained_on": self.trained_on, "intercept": self.intercept,
                "coef": [round(float(c), 7) for c in self.coef]}

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        with atomic_open(path) as fh:
            fh.write(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SpanFilter":
        return cls.from_dict(read_json(path), source=str(path))

    @classmethod
    def from_dict(cls, raw: dict, *, source: str | None = None) -> "SpanFilter":
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise InputError(source, f"not a span filter (expected format {FORMAT!r})", field="format")
        n_facts = len(RULES) + 2
        coef = raw.get("coef")
        if not isinstance(coef, list) or len(coef) <= n_facts or not all(isinstance(c, (int, float)) for c in coef):
            raise InputError(source, "coef must be a list of numbers, one per feature", field="coef")
        threshold = float(raw.get("threshold", DEFAULT_THRESHOLD))
        # Files written before open words had a cut of their own judged them at the one cut.
        return cls(threshold=threshold, open_threshold=float(raw.get("open_threshold", threshold)), C=float(raw.get("C", DEFAULT_C)),
                   random_state=int(raw.get("random_state", 0)), coef=np.asarray(coef, dtype=np.float64),
                   intercept=float(raw.get("intercept", 0.0)), embedding_fingerprint=raw.get("embedding_fingerprint"),
                   embedding_model=raw.get("embedding_model"), trained_on=raw.get("trained_on") or {})


@dataclass
class BelowCut:
    """The open words a filter did not admit, by normal form: how often each was offered and its
    score. They leave no record in ``expressions.jsonl`` (most are plain words: "car", "drive"),
    yet the ones scored just under the cut are where a value the lexicon lacks goes missing
    ("rude" at 0.26 once a lexicon lacks it): :meth:`top` lists them for ``taxonomy show
    --excluded``."""

    mentions: Counter = field(default_factory=Counter)
    score: dict = field(default_factory=dict)

    def add(self, form: str, score: float, mentions: int = 1) -> None:
        self.mentions[form] += mentions
        # A form's score can differ with its rule or negation ("respect" 0.34, "n't respect" 0.45).
        self.score[form] = max(score, self.score.get(form, 0.0))

    def merge(self, other: "BelowCut") -> None:
        for form, n in other.mentions.items():
            self.add(form, other.score[form], n)

    def to_json(self) -> dict:
        return {"mentions": dict(self.mentions), "score": self.score}

    @classmethod
    def from_json(cls, raw: dict) -> "BelowCut":
        return cls(mentions=Counter(raw.get("mentions") or {}), score=dict(raw.get("score") or {}))

    def top(self, n: int = 20) -> list[dict]:
        """The ``n`` forms scored highest (ties: said more often, then alphabetical)."""
        forms = sorted(self.mentions, key=lambda f: (-self.score[f], -self.mentions[f], f))[:n]
        # Rounded down, so a word scored just under the cut never reads as at it (0.4996 as 0.499).
        return [{"form": f, "mentions": self.mentions[f], "score": math.floor(self.score[f] * 1000) / 1000} for f in forms]


def default_span_filter() -> SpanFilter:
    """The filter shipped with moralgap (trained on the team's AITA labels)."""
    path = resources.files("moralgap.taxonomy").joinpath("resources/value_span_filter.json")
    f = SpanFilter.from_dict(json.loads(path.read_text(encoding="utf-8")), source="value_span_filter.json")
    f.shipped = True
    return f


def resolve_span_filter(spec: "str | os.PathLike | SpanFilter | None") -> SpanFilter | None:
    """``"default"`` (the shipped filter), ``"none"``/``None`` (rules only), a file, or a filter."""
    if spec is None or isinstance(spec, SpanFilter):
        return spec
    if str(spec) == "none":
        return None
    if str(spec) == "default":
        return default_span_filter()
    return SpanFilter.load(spec)


def _digest(f: SpanFilter) -> str:
    return hashlib.sha256(json.dumps(f.to_dict(), sort_keys=True).encode()).hexdigest()


def with_open_threshold(f: SpanFilter, cut: float) -> SpanFilter:
    """A copy of ``f`` that admits open words at ``cut`` (``taxonomy build --open-threshold``)."""
    if not 0.0 <= cut <= 1.0:
        raise InputError(None, f"the open-word cut is a probability in [0, 1], not {cut}", field="open_threshold")
    return replace(f, open_threshold=float(cut))


def describe(spec: "str | os.PathLike | SpanFilter | None", resolved: SpanFilter | None = None) -> dict:
    """What a taxonomy records about the filter it was built with, so updates use the same one:
    ``{"span_filter": "default" | "none" | a path, "span_filter_sha256": ...,
    "span_filter_open_threshold": ...}``. ``resolved`` is the filter ``spec`` names, when the
    caller has loaded it already."""
    f = resolved if resolved is not None else resolve_span_filter(spec)
    if f is None:
        return {"span_filter": "none"}
    name = "default" if str(spec) == "default" else ("custom" if isinstance(spec, SpanFilter) else str(spec))
    # The cut for open words is recorded apart, since it may differ from the file's own.
    return {"span_filter": name, "span_filter_sha256": _digest(f), "span_filter_open_threshold": f.open_threshold}


def recorded_span_filter(params: dict, *, source: str | None = None) -> SpanFilter | None:
    """The filter a taxonomy was built with (``None`` for taxonomies built before there was one,
    or built with ``none``). A custom filter file must still be there, unchanged."""
    spec = params.get("span_filter")
    if spec in (None, "none"):
        return None
    if spec == "custom":
        raise InputError(source, "this taxonomy was built with a span filter object that was not saved to a file; "
                                 "rebuild with --span-filter FILE to update it", field="span_filter")
    f = resolve_span_filter(spec)
    if params.get("span_filter_open_threshold") is not None:
        f = with_open_threshold(f, params["span_filter_open_threshold"])
    want = params.get("span_filter_sha256")
    if want and _digest(f) != want:
        raise InputError(source, f"the span filter {spec!r} changed since this taxonomy was built "
                                 "(its SHA-256 differs); restore it or rebuild", field="span_filter")
    return f


def filter_spans(expressions: Sequence[Expression], span_filter: SpanFilter | None, embedder, *,
                 below_cut: BelowCut | None = None) -> list[Expression]:
    """``span_filter.apply`` when there is a filter that fits the embedder; the shipped filter is
    skipped (with a warning) for another embedding model, since its weights mean nothing there."""
    if span_filter is None:
        return without_open_words(expressions)
    if not span_filter.usable_with(embedder) and span_filter.shipped:
        log.warning("span filter skipped: it was trained on %s vectors, this run embeds with %s",
                    span_filter.embedding_model, getattr(embedder, "model_name", "another model"))
        return without_open_words(expressions)
    return span_filter.apply(expressions, embedder, below_cut=below_cut)


def span_filter_texts(expressions: Sequence[Expression], span_filter: SpanFilter | None, embedder) -> list[str] | None:
    """What :func:`filter_spans` will embed for ``expressions``; ``None`` when it judges no span at
    all (no filter, or one for another embedding model), so a caller can skip reading them."""
    if span_filter is None or not span_filter.usable_with(embedder):
        return None
    return span_filter.texts(expressions)


def without_open_words(expressions: Sequence[Expression]) -> list[Expression]:
    """Open words are only candidates: with no filter to judge them, none is kept."""
    return [e for e in expressions if e.excluded != OPEN_CANDIDATE]
