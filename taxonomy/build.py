"""Building a value taxonomy from rationales: extract -> embed -> cluster -> describe.

:class:`TaxonomyBuilder` follows scikit-learn's habits: settings in ``__init__``, the work in
:meth:`TaxonomyBuilder.fit`, an explicit ``seed``; the extractor and the embedder are swappable
objects. The result is a :class:`~taxonomy.folder.TaxonomyFolder` (taxonomy.json,
expressions.jsonl, centroids.npz). Same input, seed and package versions give a byte-identical
``taxonomy.json``: it holds no timestamps (those go to the run manifest).
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.records import Expression, LineageEntry, Taxonomy, Value
from moralgap.seeding import DEFAULT_SEED, seed_everything
from moralgap.diversity import normalised_entropy, top_k_share

from .cluster import cluster_expressions, weighted_centroids
from .folder import TaxonomyFolder
from .naming import NAMERS, cluster_views, make_namer, name_values
from .people import vectors_without_people
from .quality import review_reasons, value_quality
from .topics import flag_topics, spreads
from .seed_values import SeedValue
from .space import EMBED_TEXT_MODES, EmbeddingSpace, embed_key, form_key, meaning_text  # noqa: F401 (re-exported)
from .span_filter import describe as describe_span_filter
from .span_filter import (BelowCut, SpanFilter, filter_spans, resolve_span_filter, span_filter_texts,
                          with_open_threshold)
from .written import words_said
from .value_filter import count_excluded, excluded_stats
from .word_families import join_word_families, lone_word

log = logging.getLogger(__name__)

# HDBSCAN runs on this many principal components: on the real AITA comments 64 made a build on
# half the data agree with a build on all of it on 94% of expressions (32: 90%, 16: 84%), at
# little cost in time.
DEFAULT_PCA_COMPONENTS = 64
# An outlier joins its nearest value when it is at least as close as the loosest 1% of that
# build's clustered members are to their own centroid: data-driven, no fixed cosine guess.
ASSIGN_PERCENTILE = 1.0
# A cluster counts as support for a given value at this centroid cosine similarity. On the real
# AITA comments with the paper's Table 5 names, 0.5 named 45 values and 94.7% of their mentions
# that carry a Table 5 lexicon value carry that value's name (0.45: 93.6%, 0.4: 93.3%).
DEFAULT_SEED_THRESHOLD = 0.5
# Nearest-centre passes after merging (see cluster.refine_partition). On the real AITA comments 10
# raised agreement with the lexicon's grouping of the same words from 0.50 to 0.52 (purity);
# more passes changed nothing.
DEFAULT_REFINE = 10


def value_id_for(taxonomy_name: str, anchors: Sequence[str], taken: set[str]) -> str:
    """Opaque, deterministic id from the forms that anchor a value; never one already taken."""
    base = taxonomy_name + "|" + "|".join(sorted(anchors))
    salt = 0
    while True:
        vid = "v" + hashlib.sha1(f"{base}|{salt}".encode()).hexdigest()[:10]
        if vid not in taken:
            return vid
        salt += 1


@dataclass
class BuildResult:
    folder: TaxonomyFolder
    stats: dict = field(default_factory=dict)

    @property
    def taxonomy(self) -> Taxonomy:
        return self.folder.taxonomy

    @property
    def expressions(self) -> list[Expression]:
        return self.folder.expressions

    def save(self, out) -> None:
        self.folder.save(out)

    def add_corpus(self, judgments: Sequence, embed_text: str = "norm") -> None:
        """What a build records of the judgments it was given: their coverage and the topic doubt."""
        self.add_coverage(len(judgments))
        self.flag_topics({j.id: j.dilemma_id for j in judgments}, embed_text)

    def add_coverage(self, n_rationales: int) -> None:
        """Record how many of the ``n_rationales`` given rationales got at least one value."""
        with_value = {e.rationale_id for e in self.expressions if e.value_id}
        self.stats.update(n_rationales=n_rationales, rationales_with_value=len(with_value),
                          rationale_coverage=round(len(with_value) / n_rationales, 4))
        self.taxonomy.stats.update(self.stats)

    def flag_topics(self, dilemma_of: Mapping[str, str], embed_text: str = "norm") -> None:
        """Send to review the values whose rationales, or most of whose mentions' forms, mostly
        judge one dilemma (``taxonomy.topics``); ``dilemma_of`` maps each rationale id to its
        dilemma id, ``embed_text`` is the build's (it says what counts as one form)."""
        spread, forms = spreads(self.expressions, dilemma_of, lambda e: form_key(embed_text, e))
        self.apply_topics(spread, Counter(dilemma_of.values()), forms)

    def add_below_cut(self, below_cut: BelowCut) -> None:
        """Record the open words the span filter scored highest without admitting them
        (``stats.open_words_below_cut``, shown by ``taxonomy show --excluded``)."""
        if below_cut.mentions:
            self.stats["open_words_below_cut"] = self.taxonomy.stats["open_words_below_cut"] = below_cut.top()

    def apply_topics(self, spread: Mapping[str, Counter], dilemma_sizes: Mapping[str, int], forms=None) -> None:
        """:meth:`flag_topics` from counts already made (the Ray path counts them from its arrays)."""
        flag_topics(self.taxonomy, spread, dilemma_sizes, forms)
        n = sum(v.status == "needs_review" for v in self.taxonomy.values)
        self.stats["values_needing_review"] = self.taxonomy.stats["values_needing_review"] = n


@dataclass
class _Distinct:
    """Expressions grouped by normalised form: clustering works on distinct forms, weighted."""

    keys: list[str]
    norms: list[str]
    counts: np.ndarray
    lexicon: list[Counter]
    surface: list[str]
    index: dict[str, int]
    rationales: list[set[str]]
    first: list[Expression]


def shown_text(texts: Counter, norm: str = "") -> str:
    """The text shown for a form, of the texts it was written as: the one written most often;
    among those written as often (each once, mostly) the one that says most of ``norm``'s words
    ("guilt trip" for the form ``guilt trip``, not "guilt" of "guilt you into it"), then the
    shortest, which adds least to the form ("it's unfair", not "affair was unfair" for being
    first in the alphabet)."""
    return min(texts.items(), key=lambda kv: (-kv[1], -words_said(norm, kv[0]), len(kv[0]), kv[0]))[0]


def _group(expressions: Sequence[Expression], key_of) -> _Distinct:
    counts: Counter = Counter()
    norm_of: dict[str, str] = {}
    lex: dict[str, Counter] = {}
    surf: dict[str, Counter] = {}
    rats: dict[str, set[str]] = {}
    first: dict[str, Expression] = {}
    for e in expressions:
        k = key_of(e)
        rats.setdefault(k, set()).add(e.rationale_id)
        first.setdefault(k, e)
        counts[k] += 1
        norm_of.setdefault(k, e.norm)
        lex.setdefault(k, Counter())
        if e.lexicon_value:
            lex[k][e.lexicon_value] += 1
        surf.setdefault(k, Counter())[e.text] += 1
    keys = sorted(counts)
    return _Distinct(
        keys=keys,
        norms=[norm_of[k] for k in keys],
        counts=np.array([counts[k] for k in keys], dtype=np.float64),
        lexicon=[lex[k] for k in keys],
        surface=[shown_text(surf[k], norm_of[k]) for k in keys],
        index={k: i for i, k in enumerate(keys)},
        rationales=[rats[k] for k in keys],
        first=[first[k] for k in keys],
    )



class TaxonomyBuilder:
    """Induce about ``n_values`` values from rationales.

    Parameters
    ----------
    n_values: number of values wanted; ``None`` keeps what HDBSCAN finds ("auto").
    seed: controls PCA, k-means splits and every other random step.
    embedding_model / embedder: a model path or name, or a ready :class:`~taxonomy.embed.Embedder`.
    space: a ready :class:`~taxonomy.space.EmbeddingSpace` (model and embed-text rule) instead of
        ``embedding_model``, ``embedder``, ``embed_text`` and ``context_weight``; an update gives
        the taxonomy's own, so new values live in its space.
    extractor: anything with ``extract(judgments) -> list[Expression]``; default the spaCy rules.
    min_cluster_size, min_samples: HDBSCAN settings; default scales with the number of distinct
        expressions so that HDBSCAN over-segments and merging does the rest.
    pca_components, reducer: dimensions kept before HDBSCAN and how (``pca``, ``umap``, ``none``).
    assign_threshold: cosine similarity an outlier needs to join its nearest value; default is
        data-driven: the 1st percentile of clustered expressions' similarity to their own centroid.
    seed_values: value names (with optional definitions) that guide clustering: HDBSCAN clusters
        whose centroid reaches ``seed_match_threshold`` cosine similarity to a given value are
        merged into one value named after it, and clusters of different given values are kept
        apart; the other clusters merge as usual. Given values no cluster reaches are reported
        as unsupported.
    embed_text: ``norm`` (default) embeds the normalised expression alone, so values form from
        what the expressions mean; ``norm+value`` appends the lexicon value ("rude (consideration)"),
        a strong prior that makes the clusters follow the lexicon; ``context`` adds
        ``context_weight`` times the embedding of the whole rationale to each expression's, so the
        same words in different arguments can fall in different values (one more embedding per
        rationale); ``sentence`` adds the embedding of the sentence the expression is in instead,
        so a long rationale's other topics stay out of it (one more embedding per sentence).
    namer: ``members`` (default) names each value after its most typical expressions and writes
        no definition; ``prior`` takes the lexicon's name and definition where most mentions carry
        that lexicon value and its name is close to the cluster; or an object with
        ``describe(views) -> list[Naming]`` (e.g. the LLM namer).
    span_filter: ``"default"`` (the shipped learned filter), ``"none"``, a filter file or a
        :class:`~taxonomy.span_filter.SpanFilter`; sets apart spans unlikely to be values.
    open_words: also offer every noun, verb and adjective no rule found as a candidate the span
        filter may admit (how values the lexicon lacks are found); off without a span filter. With
        a given ``extractor``, its own ``open_words`` setting counts instead.
    open_threshold: the probability the span filter asks of an open word (default: the filter's
        own, 0.5 for the shipped one). Lower admits more words no lexicon lists, plain words among
        them; updates use the same cut.
    join_word_families: after clustering, join values each mostly made of one word said alone,
        in any of its forms ("respect", "disrespectful"; see ``word_families``); the build may
        then hold fewer than ``n_values``.
    """

    def __init__(self, n_values: int | None = 60, *, seed: int = DEFAULT_SEED, embedding_model: str | None = None,
                 embedder=None, space: EmbeddingSpace | None = None, extractor=None, spacy_model: str | None = None, min_cluster_size: int | None = None,
                 min_samples: int | None = 1, pca_components: int | None = DEFAULT_PCA_COMPONENTS, reducer: str = "pca", assign_threshold: float | None = None,
                 seed_values: Sequence[SeedValue] | None = None, seed_match_threshold: float = DEFAULT_SEED_THRESHOLD,
                 n_exemplars: int = 10, embed_text: str = "norm", context_weight: float = 3.0,
                 n_process: int = 1, name: str = "taxonomy", namer="members", refine: int = DEFAULT_REFINE,
                 span_filter="default", open_words: bool = True, open_threshold: float | None = None,
                 join_word_families: bool = True):
        if n_values is not None and n_values < 1:
            raise InputError(None, "n_values must be a positive integer or None (auto)", field="n_values")
        from .cluster import REDUCERS

        if reducer not in REDUCERS:
            raise InputError(None, f"reducer must be one of {REDUCERS}", field="reducer")
        if assign_threshold is not None and not -1.0 <= assign_threshold <= 1.0:
            raise InputError(None, "assign_threshold is a cosine similarity in [-1, 1]", field="assign_threshold")
        if not -1.0 <= seed_match_threshold <= 1.0:
            raise InputError(None, "seed_match_threshold is a cosine similarity in [-1, 1]", field="seed_match_threshold")
        self.n_values = n_values
        self.seed = seed
        self.space = space or EmbeddingSpace(embedding_model, embed_text=embed_text, context_weight=context_weight,
                                             embedder=embedder)
        self._extractor = extractor
        self.spacy_model = spacy_model
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.pca_components = pca_components
        self.reducer = reducer
        self.assign_threshold = assign_threshold
        self.seed_values = list(seed_values or [])
        self.seed_match_threshold = seed_match_threshold
        self.n_exemplars = n_exemplars
        self.n_process = n_process
        self.name = name
        if isinstance(namer, str) and namer not in NAMERS:
            raise InputError(None, f"namer must be one of {NAMERS} or an object with describe(views)", field="namer")
        self.namer = namer
        self.refine = refine
        self.span_filter = span_filter
        self._span_filter = resolve_span_filter(span_filter)
        doubt = self._span_filter.doubt() if self._span_filter is not None else None
        if doubt:
            # A filter that does worse than none is the researcher's to drop; the build says so and goes on.
            log.warning("span filter %s: %s", "given" if isinstance(span_filter, SpanFilter) else span_filter, doubt)
        if open_threshold is not None:
            if self._span_filter is None:
                raise InputError(None, "an open-word cut needs a span filter to judge the open words "
                                       "(not --span-filter none)", field="open_threshold")
            self._span_filter = with_open_threshold(self._span_filter, open_threshold)
        self._open_words = bool(open_words)
        self.join_word_families = bool(join_word_families)

    # -- swappable parts -----------------------------------------------------------------
    @property
    def embedder(self):
        return self.space.embedder

    # Settings of the space, readable here as before.
    @property
    def embedding_model(self) -> str | None:
        return self.space.model

    @property
    def embed_text(self) -> str:
        return self.space.embed_text

    @property
    def context_weight(self) -> float:
        return self.space.context_weight

    @property
    def extractor(self):
        if self._extractor is None:
            from .extract import ValueExtractor

            self._extractor = ValueExtractor(self.spacy_model, n_process=self.n_process, open_words=self._open_words)
        return self._extractor

    @property
    def open_words(self) -> bool:
        """Whether the extraction offers open words: ``open_words`` for the builder's own
        extractor, a given extractor's own setting otherwise (the builder never changes it)."""
        if self._extractor is None:
            return self._open_words
        return bool(getattr(self._extractor, "open_words", False))

    def params(self) -> dict:
        return {
            "n_values": self.n_values, "seed": self.seed, "min_cluster_size": self.min_cluster_size,
            "min_samples": self.min_samples, "pca_components": self.pca_components, "reducer": self.reducer,
            "assign_threshold": self.assign_threshold, "seed_match_threshold": self.seed_match_threshold,
            "n_exemplars": self.n_exemplars, "embed_text": self.embed_text, "context_weight": self.context_weight,
            "seed_values": [s.name for s in self.seed_values],
            "refine": self.refine,
            "join_word_families": self.join_word_families,
            **describe_span_filter(self.span_filter, self._span_filter),
            # Without a filter no open word is kept, so updates need not offer them either.
            "open_words": self.open_words and self._span_filter is not None,
            "namer": self.namer if isinstance(self.namer, str) else getattr(self.namer, "name", type(self.namer).__name__),
        }

    def _namer_for(self, views, centroids: np.ndarray):
        """The namer object: ``members`` (default), ``prior`` (the extractor's lexicon, when the
        lexicon name is itself close to the cluster), or a ready object such as an LLM namer."""
        return make_namer(self.namer, views, centroids, self.space.encode, getattr(self._extractor, "lexicon", None))

    # -- fitting -------------------------------------------------------------------------
    def fit(self, judgments: Iterable) -> BuildResult:
        judgments = [j for j in judgments if (j.rationale or "").strip()]
        if not judgments:
            raise InputError(None, "no rationales to build a taxonomy from (every rationale is empty)", field="rationale")
        below_cut = BelowCut()
        result = self.fit_expressions(self.extractor.extract(judgments), texts={j.id: j.rationale for j in judgments},
                                      below_cut=below_cut)
        result.add_corpus(judgments, self.embed_text)
        result.add_below_cut(below_cut)
        return result

    def _key_function(self, texts: dict[str, str] | None):
        return self.space.key

    def _vectors(self, d: _Distinct, texts: dict[str, str] | None) -> np.ndarray:
        return self.space.key_vectors(d.keys, texts)

    def expression_vectors(self, expressions: Sequence[Expression], texts: dict[str, str] | None = None) -> np.ndarray:
        """One unit vector per expression, embedded as this builder embeds them for clustering."""
        return self.space.expression_vectors(expressions, texts)

    def filter_spans(self, expressions: Sequence[Expression], *, below_cut: BelowCut | None = None) -> list[Expression]:
        """Set apart the spans the learned span filter doubts (``excluded="unlikely_value"``);
        ``below_cut`` counts the open words it did not admit.

        Idempotent, so it is safe to call on expressions that went through it already.
        """
        return filter_spans(expressions, self._span_filter, self.embedder, below_cut=below_cut)

    def span_filter_texts(self, expressions: Sequence[Expression]) -> list[str] | None:
        """The texts :meth:`filter_spans` will embed for these expressions, for a caller that
        embeds them ahead (moralgap.scale.stream_build); ``None`` when this build judges no span."""
        return span_filter_texts(expressions, self._span_filter, self.embedder)

    def fit_expressions(self, expressions: Sequence[Expression], texts: dict[str, str] | None = None, *,
                        distinct: _Distinct | None = None, below_cut: BelowCut | None = None) -> BuildResult:
        """Cluster already-extracted expressions (used by ``fit`` and by taxonomy updates).

        ``texts`` maps rationale ids to their text; only ``embed_text='context'`` (``'sentence'``) needs it.
        ``distinct``: the forms already grouped, for a caller that counted the mentions itself
        and passes one expression per form (moralgap.scale.stream_build, whose corpus is on disk).
        The span filter is applied here (idempotent), so every caller of the builder gets it;
        ``below_cut`` counts the open words it does not admit.
        """
        all_expressions = self.filter_spans(expressions, below_cut=below_cut)
        expressions = [e for e in all_expressions if not e.excluded]
        if not expressions:
            what = f" ({len(all_expressions)} found, all set apart as not values)" if all_expressions else ""
            raise InputError(None, f"no value expressions were found in the rationales{what}", field="rationale")
        seed_everything(self.seed)
        key_of = self._key_function(texts)
        d = distinct if distinct is not None else _group(expressions, key_of)
        vectors = self._vectors(d, texts)
        n_distinct = len(d.norms)
        n_target = min(self.n_values, n_distinct) if self.n_values else None
        mcs = self.min_cluster_size or max(2, n_distinct // (4 * (n_target or 60)))
        seed_vecs = (self.embedder.encode([s.text for s in self.seed_values], desc="embedding seed values")
                     if self.seed_values else None)
        clusters = cluster_expressions(
            vectors, d.counts, n_values=n_target, min_cluster_size=mcs, min_samples=self.min_samples,
            pca_components=self.pca_components, random_state=self.seed, reducer=self.reducer,
            anchors=seed_vecs, anchor_threshold=self.seed_match_threshold, refine=self.refine,
        )
        labels, anchor, joined = clusters.labels, clusters.anchor, {}
        if self.join_word_families:
            words = [lone_word(n) for n in d.norms]
            labels, anchor, joins = join_word_families(clusters.labels, d.counts, words, anchor=clusters.anchor)
            # Shown by its most frequent form ("respect"), not by its stem ("respons" for "responsible").
            for family, parts in joins:
                said = [i for i in np.where(np.isin(clusters.labels, parts))[0] if words[i] == family]
                joined[d.norms[min(said, key=lambda i: (-d.counts[i], d.norms[i]))]] = len(parts)
        k = int(labels.max() + 1) if (labels >= 0).any() else 0
        if k == 0:
            raise InputError(None, f"clustering found no values among {n_distinct} distinct expressions; "
                                   "give more rationales or a smaller --min-cluster-size")
        cents = weighted_centroids(vectors, labels, d.counts, k)
        sims = vectors @ cents.T
        clustered = labels >= 0
        own = sims[np.where(clustered)[0], labels[clustered]]
        threshold = self.assign_threshold if self.assign_threshold is not None else float(np.percentile(own, ASSIGN_PERCENTILE))
        noise_before = float(d.counts[~clustered].sum() / d.counts.sum())
        nearest = np.argmax(sims, axis=1)
        best = sims[np.arange(len(nearest)), nearest]
        assign = np.where(clustered, labels, np.where(best >= threshold, nearest, -1))
        assign, remap = _order_by_size(assign, d.counts, d.keys, k)
        cents = weighted_centroids(vectors, assign, d.counts, k)
        sims = vectors @ cents.T
        noise_after = float(d.counts[assign < 0].sum() / d.counts.sum())

        members = [np.where(assign == c)[0].tolist() for c in range(k)]
        centrality = np.array([sims[i, assign[i]] if assign[i] >= 0 else 0.0 for i in range(n_distinct)])
        # What a namer may read around each form: the words around its first occurrence.
        contexts = [_around(texts.get(e.rationale_id, ""), e) if texts else "" for e in d.first]
        views = cluster_views(members, d.norms, d.counts, centrality, d.surface, d.rationales, d.lexicon,
                              self.n_exemplars, contexts=contexts)
        namings = name_values(views, self._namer_for(views, cents))
        quality = value_quality(vectors, d.counts, cents, members, d.lexicon, views, keys=d.keys,
                                without_people=vectors_without_people(self.space, d.keys, vectors, texts))
        reasons = review_reasons(quality, namings)
        seed_match = {int(remap[c]): self.seed_values[a] for c, a in enumerate(anchor) if a >= 0}
        got = {sv.name for sv in seed_match.values()}
        unsupported = [sv.name for sv in self.seed_values if sv.name not in got]

        values: list[Value] = []
        taken: set[str] = set()
        for c, view in enumerate(views):
            # Only the leading form: a rebuild without 1% of the AITA comments kept 96% of ids
            # hashed from it and 84% of ids hashed from the five leading forms, which reshuffle
            # sooner (benchmarks/taxonomy_stability.py).
            lead = min(members[c], key=lambda i: (-d.counts[i], d.keys[i]))
            vid = value_id_for(self.name, [d.keys[lead]], taken)
            taken.add(vid)
            name, definition, source, seed_name = namings[c].name, namings[c].definition, namings[c].source, None
            if c in seed_match:
                sv = seed_match[c]
                seed_name, name, source = sv.name, sv.name, "seed"
                definition = sv.definition or definition
            values.append(Value(
                id=vid, name=name, definition=definition, keywords=view.keywords, exemplars=view.exemplars,
                size=int(d.counts[members[c]].sum()), status="needs_review" if reasons[c] else "proposed",
                seed_name=seed_name, name_source=source, quality=quality[c], review_reason=reasons[c],
            ))
        _unique_names(values)
        ids = [v.id for v in values]
        for v in values:
            if "nearest_value" in v.quality:
                v.quality["nearest_value"] = ids[v.quality["nearest_value"]]

        out_expr: list[Expression] = []
        for e in all_expressions:
            if e.excluded:
                out_expr.append(e.model_copy(update={"value_id": None, "similarity": None}))
                continue
            i = d.index[key_of(e)]
            c = int(assign[i])
            out_expr.append(e.model_copy(update={
                "value_id": ids[c] if c >= 0 else None,
                "similarity": round(float(sims[i, c]), 4) if c >= 0 else None,
            }))
        sizes = [v.size for v in values]
        stats = {
            "n_expressions": len(expressions),
            **excluded_stats(count_excluded(all_expressions)),
            "values_needing_review": sum(1 for v in values if v.status == "needs_review"),
            "n_distinct_expressions": n_distinct,
            "n_values": k,
            "hdbscan_clusters": clusters.n_hdbscan,
            "frequent_noise_promoted": clusters.promoted,
            "clusters_merged": clusters.merged,
            "clusters_split": clusters.split,
            # Each word whose values were joined (by its most frequent form), with how many became one.
            "word_families_joined": dict(sorted(joined.items())),
            "min_cluster_size": mcs,
            "assign_threshold": round(threshold, 4),
            "outlier_rate_before_assignment": round(noise_before, 4),
            "outlier_rate": round(noise_after, 4),
            "top10_share": round(top_k_share(sizes, 10), 4),
            "normalised_entropy": round(normalised_entropy(sizes), 4),
        }
        if self.seed_values:
            stats["seed_values_matched"] = len(seed_match)
            stats["seed_values_unsupported"] = unsupported
        taxonomy = Taxonomy(
            version=1, name=self.name,
            embedding_model=self.space.model_id,
            values=values,
            lineage=[LineageEntry(version=1, op="build", author="moralgap",
                                  args={"n_values": self.n_values, "seed": self.seed, "n_expressions": len(expressions)})],
            params={**self.params(), **self.space.to_params()},
            stats=stats,
        )
        folder = TaxonomyFolder(taxonomy, out_expr, {vid: cents[c] for c, vid in enumerate(ids)})
        return BuildResult(folder, dict(stats))


def _around(text: str, e: Expression, width: int = 100) -> str:
    if not text or e.start < 0:
        return ""
    return " ".join(text[max(0, e.start - width):e.end + width].split())


def _order_by_size(assign: np.ndarray, counts: np.ndarray, keys: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Number values by final size (mentions), ties by their smallest key, so output order is stable.

    Also returns ``remap``: the new number of each old one.
    """
    size = np.bincount(assign[assign >= 0], weights=counts[assign >= 0], minlength=k)
    first = {c: min((keys[i] for i in np.where(assign == c)[0]), default="") for c in range(k)}
    order = sorted(range(k), key=lambda c: (-size[c], first[c]))
    remap = np.full(k, -1)
    remap[order] = np.arange(k)
    return np.where(assign >= 0, remap[np.maximum(assign, 0)], -1), remap


def _unique_names(values: list[Value]) -> None:
    seen: Counter = Counter()
    for v in values:
        if seen[v.name.lower()]:
            extra = next((k for k in v.keywords if k.lower() not in v.name.lower()), str(seen[v.name.lower()] + 1))
            v.name = f"{v.name} ({extra})"
        seen[v.name.lower()] += 1
