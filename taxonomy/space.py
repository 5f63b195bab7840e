"""The embedding space a taxonomy lives in: one model, its fingerprint, and what is embedded per expression.

A value's centroid is only comparable with vectors made by the same model from the same kind of
text. A build records both in ``taxonomy.json`` (``embedding_model``; ``params.embed_text``,
``params.context_weight``, ``params.embedding_fingerprint``), and everything that later puts
vectors next to those centroids (an update, a split, expression coding, the zero-shot annotator)
or compares centroids of two taxonomies (a diff) reads the space back from there, so none of them
can drift from the build's choice of model or text, and a model whose fingerprint differs from the
recorded one is refused in one place.
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from moralgap.errors import ConfigError, InputError
from moralgap.models import DEFAULT_EMBEDDING_MODEL
from moralgap.records import Expression

from .negated_words import negation_spelled_out

EMBED_TEXT_MODES = ("norm", "norm+value", "context", "sentence")
# Modes that mix each mention's surroundings into its vector: every key is one rationale's.
CONTEXT_MODES = ("context", "sentence")
DEFAULT_CONTEXT_WEIGHT = 3.0
# A sentence ends at ".", "!" or "?" (with any closing quotes or brackets) before white space,
# or at a line break: rationales are informal text, where a parser's sentences cost a pass of
# their own and differ little for this purpose.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)|\n")


def embeds_context(embed_text: str) -> bool:
    """Whether ``embed_text`` mixes a mention's surroundings into its vector (``context``, ``sentence``)."""
    return embed_text in CONTEXT_MODES


def sentence_around(text: str, offset: int) -> str:
    """The sentence of ``text`` that holds character ``offset`` (stripped)."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > offset:
            return text[start:m.end()].strip() or text.strip()
        start = m.end()
    return text[start:].strip() or text.strip()


def sentence_count(text: str) -> int:
    """How many sentences :func:`sentence_around` finds in ``text`` (at least one)."""
    return max(1, sum(1 for piece in _SENTENCE_END.split(text) if piece and piece.strip()))


def meaning_text(norm: str) -> str:
    """The part of a normal form that says what is valued: "should apologize" -> "apologize".

    Every duty starts with "should", so embedded whole the duties cluster with each other by that
    one word instead of with the value they invoke ("apology", "apologize"); the rule that found
    the expression is kept on the record, so nothing is lost by dropping the modal here. A word
    negated by its affix is spelled out ("unfair" -> "not fair", see ``negated_words``), so a
    value's two sides lie together.
    """
    if norm.startswith("should not "):
        norm = "not " + norm[len("should not "):]
    elif norm.startswith("should "):
        norm = norm[len("should "):]
    return negation_spelled_out(norm)


def embed_key(embed_text: str, e: Expression) -> str:
    """What a build embeds for an expression: expressions with one key share one vector and one value."""
    if embed_text == "context":
        return f"{meaning_text(e.norm)}\x00{e.rationale_id}"
    if embed_text == "sentence":
        # The mention's offset finds its sentence in the rationale when the key is embedded.
        return f"{meaning_text(e.norm)}\x00{e.rationale_id}\x00{e.start}"
    if embed_text == "norm+value" and e.lexicon_value:
        return f"{e.norm} ({e.lexicon_value.lower()})"
    return meaning_text(e.norm)


def form_key(embed_text: str, e: Expression) -> str:
    """The form a mention counts under when forms are compared across rationales: its embedding
    key, except under ``context`` and ``sentence``, whose keys are each one rationale's."""
    return embed_key("norm" if embeds_context(embed_text) else embed_text, e)


def _default_factory(model: str | None):
    from .embed import Embedder

    return Embedder(model)


class EmbeddingSpace:
    """A model (loaded on first use, through the embedding cache) and the rule for what it embeds.

    Parameters
    ----------
    model: a model name or folder; ``None`` is the default all-MiniLM-L6-v2 (or
        ``MORALGAP_EMBEDDING_MODEL``), as for :class:`~taxonomy.embed.Embedder`.
    embed_text: ``norm``, ``norm+value``, ``context`` or ``sentence`` (see :class:`~taxonomy.build.TaxonomyBuilder`).
    context_weight: weight of the rationale's (or the sentence's) vector under ``context`` (``sentence``).
    embedder: a ready embedder (anything with ``encode(texts, desc=)``), used instead of loading ``model``.
    fingerprint: the fingerprint a taxonomy recorded; an embedder with another one is refused.
    factory: makes the embedder from ``model`` when none is given (e.g. a scale engine's).
    origin: what the recorded fingerprint belongs to, for the error message.
    """

    def __init__(self, model: str | None = None, *, embed_text: str = "norm",
                 context_weight: float = DEFAULT_CONTEXT_WEIGHT, embedder=None, fingerprint: str | None = None,
                 factory: Callable[[str | None], object] | None = None, origin: str = "the taxonomy"):
        if embed_text not in EMBED_TEXT_MODES:
            raise InputError(None, f"embed_text must be one of {EMBED_TEXT_MODES}", field="embed_text")
        self.model = model
        self.embed_text = embed_text
        self.context_weight = context_weight
        self.recorded_fingerprint = fingerprint
        self.origin = origin
        self._factory = factory or _default_factory
        self._embedder = embedder
        self._checked = False

    # -- where it comes from and how it is recorded ------------------------------------------
    @classmethod
    def from_params(cls, params: dict | None, *, model: str | None = None, embedder=None, factory=None,
                    origin: str = "the taxonomy") -> "EmbeddingSpace":
        """The space a taxonomy's ``params`` record; fields older files lack take the build's defaults."""
        params = params or {}
        return cls(model, embed_text=params.get("embed_text") or "norm",
                   context_weight=float(params.get("context_weight", DEFAULT_CONTEXT_WEIGHT)),
                   fingerprint=params.get("embedding_fingerprint"), embedder=embedder, factory=factory, origin=origin)

    @classmethod
    def of(cls, taxonomy, *, embedder=None, factory=None) -> "EmbeddingSpace":
        """The space of a :class:`~moralgap.records.Taxonomy` or a taxonomy folder."""
        taxonomy = getattr(taxonomy, "taxonomy", taxonomy)
        return cls.from_params(taxonomy.params, model=taxonomy.embedding_model, embedder=embedder, factory=factory,
                               origin=f"{taxonomy.name} v{taxonomy.version}")

    def to_params(self) -> dict:
        """The entries of ``taxonomy.json``'s params that :meth:`from_params` reads back."""
        out = {"embed_text": self.embed_text, "context_weight": self.context_weight}
        if self.fingerprint:
            out["embedding_fingerprint"] = self.fingerprint
        return out

    @property
    def model_id(self) -> str:
        """The model as ``taxonomy.json`` records it (``embedding_model``)."""
        return self.model or DEFAULT_EMBEDDING_MODEL

    @property
    def fingerprint(self) -> str | None:
        """The model's fingerprint (hashing its files; the weights are not loaded for it)."""
        return getattr(self.embedder, "fingerprint", None) or self.recorded_fingerprint

    def same_model_as(self, other: "EmbeddingSpace") -> bool:
        """False when both record a fingerprint and they differ: their vectors cannot be compared."""
        a, b = self.recorded_fingerprint, other.recorded_fingerprint
        return not (a and b and a != b)

    # -- the model ------------------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            # The recorded default name maps back to None so that the default resolves exactly as
            # it did for the build (the offline package, or MORALGAP_EMBEDDING_MODEL).
            self._embedder = self._factory(None if self.model in (None, DEFAULT_EMBEDDING_MODEL) else self.model)
        if not self._checked:
            self._check(self._embedder)
            self._checked = True
        return self._embedder

    def _check(self, embedder) -> None:
        expected, got = self.recorded_fingerprint, getattr(embedder, "fingerprint", None)
        if expected and got and expected != got:
            loaded = getattr(embedder, "model_path", None) or getattr(embedder, "model_name", "?")
            raise ConfigError(
                f"{self.origin} was built with the embedding model {self.model_id!r} (fingerprint {expected}); the "
                f"model loaded now, {loaded!r}, has fingerprint {got}: its vectors are not comparable with the "
                "taxonomy's centroids (give the build's model with --embedding-model)")

    @property
    def dimension(self) -> int:
        return int(self.embedder.dimension)

    def encode(self, texts: Sequence[str], *, desc: str = "embedding") -> np.ndarray:
        """Plain texts (value names, rationales, ...) through the embedding cache."""
        return self.embedder.encode(list(texts), desc=desc)

    # -- expressions ------------------------------------------------------------------------------
    def key(self, e: Expression) -> str:
        """Expressions with one key share one vector (and, in a build, one value)."""
        return embed_key(self.embed_text, e)

    def texts(self, expressions: Sequence[Expression]) -> list[str]:
        """The text embedded for each expression; under ``context`` (``sentence``) its rationale (its
        sentence) is embedded too and mixed in."""
        if embeds_context(self.embed_text):
            return [meaning_text(e.norm) for e in expressions]
        return [self.key(e) for e in expressions]

    def key_vectors(self, keys: Sequence[str], rationales: dict[str, str] | None = None, *,
                    desc: str = "embedding expressions") -> np.ndarray:
        """One unit vector per key (from :meth:`key`); ``rationales`` maps rationale ids to texts
        (``context`` and ``sentence`` only); ``desc`` labels the progress of the keys' own texts."""
        if not embeds_context(self.embed_text):
            return self.encode(keys, desc=desc)
        if rationales is None:
            raise ConfigError(f"{self.origin} embeds each expression with its {self._surroundings} "
                              f"(--embed-text {self.embed_text}): give the rationale texts (the judgments file)")
        from .cluster import unit_rows

        # Each distinct norm is embedded once and each rationale (sentence) once; an expression's
        # vector mixes the two, so the same words in different arguments can land in different values.
        split = [k.split("\x00") for k in keys]
        around = [self.surroundings(k, rationales) for k in keys]
        norms = sorted({parts[0] for parts in split})
        norm_vec = dict(zip(norms, self.encode(norms, desc=desc)))
        texts = sorted(set(around))
        text_vec = dict(zip(texts, self.encode(texts, desc=f"embedding {self._surroundings}s")))
        mixed = np.stack([norm_vec[parts[0]] + self.context_weight * text_vec[t] for parts, t in zip(split, around)])
        return unit_rows(mixed).astype(np.float32)

    @property
    def _surroundings(self) -> str:
        return "sentence" if self.embed_text == "sentence" else "rationale"

    def surroundings(self, key: str, rationales: dict[str, str]) -> str:
        """The text mixed into a ``context`` (``sentence``) key's vector: its rationale (the
        sentence at its offset), from ``rationales`` (rationale id -> text)."""
        parts = key.split("\x00")
        text = rationales.get(parts[1], "")
        if self.embed_text == "sentence" and len(parts) > 2:
            return sentence_around(text, int(parts[2]))
        return text

    @staticmethod
    def meaning_of(key: str) -> str:
        """The words a key embeds, without its rationale and offset (the form it counts under)."""
        return key.split("\x00", 1)[0]

    def expression_vectors(self, expressions: Sequence[Expression],
                           rationales: dict[str, str] | None = None) -> np.ndarray:
        """One unit vector per expression, embedded as the build embeds them for clustering."""
        if not expressions:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = [self.key(e) for e in expressions]
        distinct = sorted(set(keys))  # the build's order, so a batch holds the same texts
        row = {k: i for i, k in enumerate(distinct)}
        return self.key_vectors(distinct, rationales)[[row[k] for k in keys]]

    def __repr__(self) -> str:
        return (f"EmbeddingSpace(model={self.model_id!r}, embed_text={self.embed_text!r}, "
                f"context_weight={self.context_weight}, fingerprint={self.recorded_fingerprint!r})")
