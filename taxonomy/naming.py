"""Names, keywords, definitions and exemplars for clusters of value expressions.

- keywords: class-based TF-IDF over the words of each cluster's normalised expressions
  (term frequency in the cluster, times log(1 + average words per cluster / the term's total
  frequency)), so words shared by every cluster ("you", "be") sink;
- name: the lexicon value most of the cluster's mentions carry, when at least a quarter do;
  otherwise the most central frequent normalised expression;
- definition: the lexicon's one-line definition for lexicon-named values, otherwise a line
  built from the keywords and the most typical expression;
- exemplars: the most representative distinct expressions (frequency x centrality).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

STOP = {"be", "the", "a", "an", "to", "of", "for", "and", "or", "is", "should", "not", "your", "her", "his",
        "their", "my", "you", "it", "that", "this", "with", "on", "in", "at", "so", "very"}
LEXICON_MAJORITY = 0.25


@dataclass
class ClusterDescription:
    name: str
    keywords: list[str]
    definition: str
    exemplars: list[str]
    lexicon_value: str | None


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


def describe_clusters(
    members: list[list[int]],
    norms: list[str],
    counts: np.ndarray,
    centrality: np.ndarray,
    lexicon_values: list[Counter],
    surface: list[str],
    definitions: dict[str, str],
    n_exemplars: int = 10,
) -> list[ClusterDescription]:
    """``members[c]`` indexes distinct expressions; ``lexicon_values[i]`` counts the lexicon
    values behind distinct expression i; ``surface[i]`` is its most frequent surface text."""
    docs = []
    for idx in members:
        doc = Counter()
        for i in idx:
            for w in words_of(norms[i]):
                doc[w] += int(counts[i])
        docs.append(doc)
    keywords = ctfidf_keywords(docs)
    out: list[ClusterDescription] = []
    used: Counter = Counter()
    for c, idx in enumerate(members):
        lex = Counter()
        for i in idx:
            lex.update(lexicon_values[i])
        total = sum(int(counts[i]) for i in idx) or 1
        top_lex, top_lex_n = (lex.most_common(1)[0] if lex else (None, 0))
        rank = sorted(idx, key=lambda i: (-(counts[i] * max(centrality[i], 0.0)), norms[i]))
        central = norms[rank[0]] if rank else f"value {c}"
        if top_lex and top_lex_n / total >= LEXICON_MAJORITY:
            name, lexicon_value = top_lex, top_lex
        else:
            name, lexicon_value = title(central), None
        used[name] += 1
        exemplars, seen = [], set()
        for i in rank:
            if norms[i] in seen:
                continue
            seen.add(norms[i])
            exemplars.append(surface[i])
            if len(exemplars) >= n_exemplars:
                break
        kws = keywords[c] or words_of(central)[:3]
        if lexicon_value and definitions.get(lexicon_value):
            definition = definitions[lexicon_value]
        else:
            definition = f"Judgments that invoke {', '.join(kws[:3]) or central}, as in \"{exemplars[0] if exemplars else central}\"."
        out.append(ClusterDescription(name, kws, definition, exemplars, lexicon_value))
    _disambiguate(out)
    return out


def _disambiguate(descs: list[ClusterDescription]) -> None:
    """Two clusters may earn the same name; the bigger keeps it, others get a keyword suffix."""
    seen: Counter = Counter()
    for d in descs:  # descs come ordered by size, biggest first
        if seen[d.name]:
            extra = next((k for k in d.keywords if k.lower() not in d.name.lower()), None) or str(seen[d.name] + 1)
            new = f"{d.name} ({extra})"
            while seen[new]:
                new += "'"
            seen[d.name] += 1
            d.name = new
        seen[d.name] += 1
