"""Names, keywords and exemplars for clusters of value expressions, and the namer interface.

The builder turns each cluster into a :class:`ClusterView` (what a reader of the cluster sees:
its most typical expressions, keywords, size and how many rationales it spans) and hands the
views to a *namer*, anything with ``describe(views) -> list[Naming]``:

- :class:`MemberNamer` (default) names a value after its own most typical expressions
  ("rude / disrespectful"), or after the phrase most of its members say when its most typical
  expression is one comment's wording ("owe" for "owe her anything", "owe them", ...), and
  writes no definition: a definition is a claim about what people meant, which a reviewer or a
  language model makes, not a template;
- :class:`PriorNamer` names a cluster after a prior (the value lexicon, or given values) only
  when the prior's name is itself close to the cluster and most mentions carry it, and otherwise
  falls back to the members;
- an LLM namer (``moralgap.taxonomy.llm_namer``) writes names and definitions from the exemplars.

Keywords come from class-based TF-IDF over the words of each cluster's normalised expressions
(term frequency in the cluster, times log(1 + average words per cluster / the term's total
frequency)), so words shared by every cluster ("you", "be") sink.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Iterable, Protocol, Sequence

import numpy as np

from .value_filter import exclusion_reason
from .written import as_written, same_words

STOP = {"be", "the", "a", "an", "to", "of", "for", "and", "or", "is", "should", "not", "your", "her", "his",
        "their", "my", "you", "it", "that", "this", "with", "on", "in", "at", "so", "very"}


@dataclass
class ClusterView:
    """What a namer may read of one cluster; exemplars come most typical first."""

    exemplars: list[str]
    keywords: list[str]
    size: int
    n_rationales: int
    # Normalised forms of the exemplars, aligned with ``exemplars``.
    forms: list[str] = field(default_factory=list)
    # Sentences the top exemplars were found in (may be empty when texts are not available).
    contexts: list[str] = field(default_factory=list)
    # Prior (lexicon) values behind the members' mentions, with counts.
    prior_values: dict[str, int] = field(default_factory=dict)
    # How many rationales said each form, aligned with ``forms`` (empty: not known).
    form_rationales: list[int] = field(default_factory=list)
    # The phrase most members say, as written ("owe" in "owe her anything", "owe them", ...), and
    # how many rationales said it (empty and 0: not known).
    shared: str = ""
    shared_rationales: int = 0
    # That phrase as the normal forms say it ("owe" for "owed"; "right to" for "Rights").
    shared_form: str = ""


@dataclass
class Naming:
    """A namer's answer for one cluster.

    ``not_a_value`` holds the reason when the namer judges the cluster not to be a value; the
    builder then publishes it with ``status: needs_review`` and that reason.
    """

    name: str
    definition: str = ""
    source: str = "members"
    not_a_value: str | None = None


class Namer(Protocol):
    name: str

    def describe(self, views: Sequence[ClusterView]) -> list[Naming]: ...


def ctfidf_keywords(docs: list[Counter], top_n: int = 8) -> list[list[str]]:
    """Top words per cluster by class-based TF-IDF; ``docs[c]`` counts cluster c's words."""
    total = Counter()
    for d in docs:
        total.update(d)
    avg_words = sum(total.values()) / max(1, len(docs))
    out = []
    for d in docs:
        n = sum(d.values()) or 1
        scored = [(d[w] / n * math.log(1 + avg_words / total[w]), w) for w in d if w not in STOP and len(w) > 2]
        scored.sort(key=lambda x: (-x[0], x[1]))
        out.append([w for _, w in scored[:top_n]])
    return out


def words_of(norm: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z'\-]+", norm.lower())]


def title(text: str) -> str:
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in text.split())


def typical_order(idx: Sequence[int], norms: Sequence[str], counts: np.ndarray, centrality: np.ndarray) -> list[int]:
    """Members most typical first: frequent and close to the centroid."""
    return sorted(idx, key=lambda i: (-(counts[i] * max(float(centrality[i]), 0.0)), norms[i]))


def cluster_views(members: list[list[int]], norms: list[str], counts: np.ndarray, centrality: np.ndarray,
                  surface: list[str], rationales: list[set[str]], prior_values: list[Counter],
                  n_exemplars: int = 10, contexts: list[str] | None = None) -> list[ClusterView]:
    """One :class:`ClusterView` per cluster; ``members[c]`` indexes distinct expressions."""
    docs = []
    for idx in members:
        doc = Counter()
        for i in idx:
            for w in words_of(norms[i]):
                doc[w] += int(counts[i])
        docs.append(doc)
    keywords = ctfidf_keywords(docs)
    views = []
    for c, idx in enumerate(members):
        exemplars, forms, said_in, ctx, seen = [], [], [], [], set()
        for i in typical_order(idx, norms, counts, centrality):
            # Two forms may share a surface text ("tell her" as "tell" and "tell her"): show it once.
            if norms[i] in seen or surface[i].lower() in seen:
                continue
            seen.update((norms[i], surface[i].lower()))
            exemplars.append(surface[i])
            forms.append(norms[i])
            said_in.append(len(rationales[i]))
            if contexts is not None and contexts[i]:
                ctx.append(contexts[i])
            if len(exemplars) >= n_exemplars:
                break
        prior = Counter()
        for i in idx:
            prior.update(prior_values[i])
        spans = set().union(*(rationales[i] for i in idx)) if idx else set()
        shared, shared_in, shared_form = shared_phrase(idx, norms, surface, rationales)
        views.append(ClusterView(exemplars=exemplars, keywords=keywords[c] or words_of(forms[0] if forms else "")[:3],
                                 size=int(sum(counts[i] for i in idx)), n_rationales=len(spans), forms=forms,
                                 contexts=ctx, prior_values=dict(sorted(prior.items())), form_rationales=said_in,
                                 shared=shared, shared_rationales=shared_in, shared_form=shared_form))
    return views


# Shared phrases are read from the normal forms' words; a phrase opens on a content word and may
# close on "to", which carries the meaning of "free to", "allowed to".
SHARED_MAX_WORDS = 3
SHARED_MAY_CLOSE = {"to"}


def _may_name(phrase: str) -> bool:
    """A phrase the value filter would set apart on its own names no value: a verdict or thin
    word ("bad" of "play the bad guy", "bad mood") or a person ("sister"); of the frames of a
    claim only those in NAMING_FRAMES name."""
    return exclusion_reason(phrase, "evaluative") is None or phrase in NAMING_FRAMES


# "owe" alone is a fragment as an expression (owed what?) but names the kind of claim its
# members make ("owe her anything", "owe them", "owe someone"). "right to" names it too, as the
# noun (rights to decide, to leave, to keep a dog: seen on the AITA comments as "Right To
# Keep", after the one right two comments claimed).
# Frames that name a value by a word of their own, not as written.
FRAME_NAMES = {"right to": "rights"}
NAMING_FRAMES = {"owe", *FRAME_NAMES}


def shared_phrase(idx: Sequence[int], norms: Sequence[str], surface: Sequence[str],
                  rationales: Sequence[set[str]]) -> tuple[str, int, str]:
    """The phrase said by the most rationales among a cluster's members, as written, that
    number of rationales, and the phrase as the normal forms have it; the longer phrase wins a
    tie ("free to" over "free")."""
    said: dict[str, set[str]] = {}
    first: dict[str, int] = {}  # the member whose text shows how the phrase was written
    for i in sorted(idx, key=lambda i: norms[i]):
        words = words_of(norms[i])
        grams = {" ".join(words[a:b]) for a in range(len(words)) if words[a] not in STOP
                 for b in range(a + 1, min(len(words), a + SHARED_MAX_WORDS) + 1)
                 if words[b - 1] not in STOP or words[b - 1] in SHARED_MAY_CLOSE}
        for g in filter(_may_name, grams):
            said.setdefault(g, set()).update(rationales[i])
            first.setdefault(g, i)
    if not said:
        return "", 0, ""
    best = max(said, key=lambda g: (len(said[g]), len(g.split()), g))
    return FRAME_NAMES.get(best) or as_written(best, surface[first[best]]), len(said[best]), best


class MemberNamer:
    """Names a value after its members: its two most typical distinct forms ("Rude / Disrespectful").

    No definition is written: the value is described by its exemplars until a reviewer or a
    language model defines it.
    """

    name = "members"

    def describe(self, views: Sequence[ClusterView]) -> list[Naming]:
        return [Naming(name=member_name(v), definition="", source="members") for v in views]


# A name is read at a glance: a longer written form ("own schooling and social life is also
# important") names a value only when no shorter one does.
NAME_PART_WORDS = 4
# A second name part is said in at least this many rationales: one comment's turn of phrase
# ("should not receive them" beside "yours") names an anecdote, not the value.
SECOND_PART_RATIONALES = 2
# The members' shared phrase names the value in place of its most typical form when many
# rationales say it ("owe" across "owe her anything", "owe them", "owe someone") and the typical
# form is one comment's wording: at least this many rationales, this share of the value's, and
# twice those of the typical form.
SHARED_NAME_RATIONALES = 3
SHARED_NAME_SHARE = 1 / 3


def member_name(view: ClusterView, parts: int = 2) -> str:
    surfaces = view.exemplars if view.forms else []
    listed = view.forms or view.exemplars
    # Without counts (a view from elsewhere) every form may name.
    said_in = view.form_rationales if len(view.form_rationales) == len(listed) else [SECOND_PART_RATIONALES] * len(listed)
    forms = [(f.strip(), as_written(f.strip(), surfaces[k]) if k < len(surfaces) else f.strip(), said_in[k])
             for k, f in enumerate(listed) if f.strip()]
    picked = _name_parts(forms, [], parts)
    if picked and _names_better(view, *picked[0][::2]):
        # Beside "Rights", "right to say" is one of them, not a second idea.
        frame = view.shared_form if view.shared_form in FRAME_NAMES else None
        rest = [f for f in forms if not (frame and f[0].startswith(frame + " "))]
        picked = _name_parts(rest, [(view.shared, view.shared, view.shared_rationales)], parts)
    return " / ".join(title(w) for _, w, _ in picked) or (title(view.keywords[0]) if view.keywords else "Unnamed")


def _name_parts(forms: list[tuple[str, str, int]], picked: list[tuple[str, str, int]], parts: int) -> list:
    """Up to ``parts`` of ``forms`` (form, as written, rationales) that name a value, after ``picked``."""
    picked = list(picked)
    any_short = any(len(w.split()) <= NAME_PART_WORDS for _, w, _ in forms)
    for form, written, n_said in forms:
        if len(picked) >= parts:
            break
        if len(written.split()) > NAME_PART_WORDS and (picked or any_short):
            continue
        if picked and n_said < SECOND_PART_RATIONALES:
            continue
        # "rude" and "so rude" say the same, and so do "overstep" and "overstepped"; keep the
        # second name only if it adds words, to the form and to what was written ("owe you" beside
        # "owe you the money", whose forms are "owe you" and "owe money"; "protect the baby"
        # beside "protect", whose form is "should protect").
        if any(_repeats(form, p) or _repeats(written, w) for p, w, _ in picked):
            continue
        # A misspelling ("manipjulative") or another spelling ("apologise" beside "apologize",
        # whose form is "should apologize") is the same word again, not a second idea.
        if any(_spelled_alike(form, p) or _spelled_alike(written, w) for p, w, _ in picked):
            continue
        if any(written == w for _, w, _ in picked):
            continue
        picked.append((form, written, n_said))
    return picked


def _names_better(view: ClusterView, typical: str, typical_said_in: int) -> bool:
    """The members' shared phrase says more of the value than its most typical form does."""
    n = view.shared_rationales
    return (bool(view.shared) and n >= SHARED_NAME_RATIONALES and n >= SHARED_NAME_SHARE * view.n_rationales
            and n >= 2 * typical_said_in and not same_words(words_of(typical), words_of(view.shared)))


def _repeats(a: str, b: str) -> bool:
    """One of two name parts says nothing the other does not ("rude" and "so rude")."""
    return same_words(words_of(a), words_of(b)) or same_words(words_of(b), words_of(a))


def _spelled_alike(a: str, b: str) -> bool:
    return SequenceMatcher(None, a.lower(), b.lower()).ratio() >= 0.85


class PriorNamer:
    """Names a cluster after a prior value when the prior is supported twice over: most of the
    cluster's mentions carry that prior value, and the prior's name is close to the cluster in
    the embedding space. Otherwise the members name it.

    ``definitions`` maps prior names to the definitions the prior's authors wrote (the lexicon's
    own, or those given with ``--seed-values``); ``name_similarity`` maps each view index to the
    cosine similarity of each prior name to that cluster's centroid.
    """

    name = "prior"

    def __init__(self, definitions: dict[str, str], name_similarity: list[dict[str, float]],
                 majority: float = 0.5, min_similarity: float = 0.3, fallback: Namer | None = None):
        self.definitions = definitions
        self.name_similarity = name_similarity
        self.majority = majority
        self.min_similarity = min_similarity
        self.fallback = fallback or MemberNamer()

    def describe(self, views: Sequence[ClusterView]) -> list[Naming]:
        out = self.fallback.describe(views)
        for c, v in enumerate(views):
            if not v.prior_values:
                continue
            top, n = max(v.prior_values.items(), key=lambda kv: (kv[1], kv[0]))
            sim = self.name_similarity[c].get(top, -1.0) if c < len(self.name_similarity) else -1.0
            if n / max(v.size, 1) >= self.majority and sim >= self.min_similarity:
                out[c] = Naming(name=top, definition=self.definitions.get(top, ""), source="prior")
        return out


def disambiguate(names: list[str], keywords: list[list[str]], taken: Iterable[str] = ()) -> list[str]:
    """Two clusters may earn the same name; the first (biggest) keeps it, others get a keyword suffix.

    A one-part name that is a part of a name already given clashes too: on the bundled sample
    "Respect" (cultural respect) beside "Respect / Respectful" read as one value listed twice.
    ``taken`` are names other values already hold (the taxonomy a split or an update adds to):
    a new name equal to one of them gets the suffix too.
    """
    seen: Counter = Counter(t.lower() for t in taken)
    parts: Counter = Counter(p.strip() for t in taken for p in t.lower().split(" / "))
    out = []
    for name, kws in zip(names, keywords):
        key = name.lower()
        if seen[key] or ("/" not in key and parts[key]):
            extra = next((k for k in kws if k.lower() not in key), None) or str(seen[key] + 1)
            new = f"{name} ({extra})"
            while seen[new.lower()]:
                new += "'"
            seen[key] += 1
            name = new
        seen[name.lower()] += 1
        parts.update(p.strip() for p in name.lower().split(" / "))
        out.append(name)
    return out


# -- the one naming step of build, split and update --------------------------------------------
NAMERS = ("members", "prior")


def make_namer(namer, views: Sequence[ClusterView], centroids: np.ndarray, encode, lexicon=None) -> Namer:
    """The namer object for ``namer``: ``members``, ``prior`` or a ready object (e.g. an LLM namer).

    ``prior`` compares the lexicon names behind the views with the clusters' ``centroids``, so it
    needs ``encode(texts, desc=)`` of the same embedding space; ``lexicon`` defaults to the
    bundled value lexicon.
    """
    if not isinstance(namer, str):
        return namer
    if namer == "members":
        return MemberNamer()
    if namer != "prior":
        raise ValueError(f"namer must be one of {NAMERS} or an object with describe(views), not {namer!r}")
    if lexicon is None:
        from .lexicon import ValueLexicon

        lexicon = ValueLexicon.load()
    names = sorted({n for v in views for n in v.prior_values})
    sims: list[dict[str, float]] = [{} for _ in views]
    if names:
        name_vecs = encode([n.lower() for n in names], desc="embedding prior names")
        grid = centroids @ np.asarray(name_vecs).T
        sims = [{n: float(grid[c, j]) for j, n in enumerate(names)} for c in range(len(views))]
    return PriorNamer(lexicon.definitions, sims)


def recorded_namer(params: dict | None) -> str:
    """The namer a taxonomy was built with, for values a split or an update adds to it.

    An LLM namer cannot be rebuilt from the record (it needs its server), and an imported
    taxonomy records none: both fall back to the members.
    """
    namer = (params or {}).get("namer")
    return namer if namer in NAMERS else "members"


def name_values(views: Sequence[ClusterView], namer: Namer, *, taken: Iterable[str] = ()) -> list[Naming]:
    """Name new values: what build, split and update all call, so a value is named the same way
    whichever of them created it. Names clash with neither each other nor ``taken``."""
    namings = namer.describe(views)
    if len(namings) != len(views):
        from moralgap.errors import InputError

        raise InputError(None, f"namer {getattr(namer, 'name', type(namer).__name__)!r} gave {len(namings)} names "
                               f"for {len(views)} values", field="namer")
    names = disambiguate([n.name for n in namings], [v.keywords for v in views], taken)
    return [replace(n, name=name) for n, name in zip(namings, names)]
