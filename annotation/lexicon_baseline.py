"""A Moral Foundations dictionary annotator, as a baseline to compare the value annotators with.

Reads the lexicon files the user points to (none ship with moralgap):
- LIWC-style ``.dic`` files (MFD 1.0, MFD 2.0): a ``%``-delimited block of ``id name``
  category lines, then ``entry<TAB>id [id ...]`` lines; an entry may be several words, and a
  trailing ``*`` matches any ending;
- the eMFD scoring CSV: a ``word`` column and one ``<foundation>_p`` probability column per
  foundation (other columns, such as sentiment, are ignored).

Dictionary rule: a category is assigned when at least ``min_hits`` of the rationale's words or
phrases are in it; its score is hits per word. eMFD rule: a foundation's score is the mean
probability over the rationale's matched words, and it is assigned when that mean is above the
mean of the foundation's column over the whole lexicon (the lexicon's own base rate). With a
mapping (``{category: value id or [value ids]}``) the categories become taxonomy values.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.io import iter_raw_rows, read_json, write_json
from moralgap.records import ValueAnnotation

from .base import Annotator, with_rationale

FORMAT = "moralgap-lexicon-annotator"
FORMAT_VERSION = 1
META_FILE = "lexicon_annotator.json"

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    return WORD.findall((text or "").lower().replace("\u2019", "'"))


@dataclass
class MoralLexicon:
    name: str
    categories: list[str]
    kind: str  # "dic" | "emfd"
    exact: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)  # entry tokens -> weights
    prefixes: dict[str, np.ndarray] = field(default_factory=dict)  # single-word stems with '*'
    base_rate: np.ndarray | None = None

    @property
    def max_words(self) -> int:
        return max((len(k) for k in self.exact), default=1)

    def _weights_of(self, word: str) -> np.ndarray | None:
        hit = self.exact.get((word,))
        if hit is not None:
            return hit
        for cut in range(len(word), 0, -1):
            stem = self.prefixes.get(word[:cut])
            if stem is not None:
                return stem
        return None

    def matches(self, text: str) -> list[np.ndarray]:
        """Weights of every matched entry, longest phrase first, no word counted twice."""
        toks = tokenize(text)
        out, i = [], 0
        longest = self.max_words
        while i < len(toks):
            for size in range(min(longest, len(toks) - i), 1, -1):
                w = self.exact.get(tuple(toks[i: i + size]))
                if w is not None:
                    out.append(w)
                    i += size
                    break
            else:
                w = self._weights_of(toks[i])
                if w is not None:
                    out.append(w)
                i += 1
        return out


def _add_entry(lex: MoralLexicon, entry: str, weights: np.ndarray) -> None:
    entry = entry.strip().lower()
    if entry.endswith("*") and " " not in entry:
        stem = entry[:-1]
        lex.prefixes[stem] = lex.prefixes.get(stem, 0) + weights
        return
    key = tuple(tokenize(entry))
    if key:
        lex.exact[key] = np.maximum(lex.exact.get(key, 0), weights)


def load_dic(path: str | os.PathLike) -> MoralLexicon:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    marks = [i for i, ln in enumerate(lines) if ln.strip() == "%"]
    if len(marks) < 2:
        raise InputError(path, "not a LIWC .dic file: expected a '%'-delimited category block", line=1)
    ids: dict[str, int] = {}
    categories: list[str] = []
    for i in range(marks[0] + 1, marks[1]):
        parts = lines[i].split()
        if not parts:
            continue
        if len(parts) < 2:
            raise InputError(path, f"category line needs an id and a name, got {lines[i]!r}", line=i + 1)
        ids[parts[0].lstrip("0") or "0"] = len(categories)
        categories.append(parts[1])
    lex = MoralLexicon(path.stem, categories, "dic")
    for i in range(marks[1] + 1, len(lines)):
        raw = lines[i]
        if not raw.strip():
            continue
        entry, _, rest = raw.partition("\t")
        cats = rest.split()
        if not entry.strip() or not cats:
            raise InputError(path, f"entry line needs a word and category ids, got {raw.strip()!r}", line=i + 1)
        weights = np.zeros(len(categories))
        for c in cats:
            key = c.lstrip("0") or "0"
            if key not in ids:
                raise InputError(path, f"unknown category id {c!r}", line=i + 1)
            weights[ids[key]] = 1.0
        _add_entry(lex, entry, weights)
    return lex


def load_emfd(path: str | os.PathLike) -> MoralLexicon:
    path = Path(path)
    header_cols = None
    rows = []
    for line, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            raise row
        if header_cols is None:
            header_cols = [c for c in row if c.endswith("_p")]
            if "word" not in row or not header_cols:
                raise InputError(path, "not an eMFD scoring CSV: needs 'word' and '<foundation>_p' columns", line=1)
        try:
            rows.append((row["word"], np.array([float(row.get(c, 0.0)) for c in header_cols])))
        except (KeyError, ValueError) as exc:
            raise InputError(path, f"bad eMFD row ({exc})", line=line) from None
    if header_cols is None:
        raise InputError(path, "empty eMFD file")
    lex = MoralLexicon(path.stem, [c[:-2] for c in header_cols], "emfd")
    for word, weights in rows:
        _add_entry(lex, word, weights)
    lex.base_rate = np.mean([w for _, w in rows], axis=0)
    return lex


def load_lexicon(path: str | os.PathLike) -> MoralLexicon:
    suffixes = [s.lower() for s in Path(path).suffixes]
    if ".dic" in suffixes:
        return load_dic(path)
    if ".csv" in suffixes:
        return load_emfd(path)
    raise InputError(path, "unknown lexicon format: expected a LIWC .dic file or the eMFD scoring .csv")


def load_mapping(path: str | os.PathLike, lexicon: MoralLexicon, known_values: set[str] | None) -> dict[str, list[str]]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, "a mapping is a JSON object {lexicon category: value id or [value ids]}")
    out: dict[str, list[str]] = {}
    for cat, target in data.items():
        if cat not in lexicon.categories:
            raise InputError(path, f"{cat!r} is not a category of lexicon {lexicon.name!r} "
                                   f"({', '.join(lexicon.categories)})", field=cat)
        targets = [target] if isinstance(target, str) else target
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise InputError(path, "expected a value id or a list of value ids", field=cat)
        if known_values is not None:
            for t in targets:
                if t not in known_values:
                    raise InputError(path, f"value id {t!r} is not an active value of the taxonomy", field=cat)
        out[cat] = targets
    return out


class LexiconAnnotator(Annotator):
    """A Moral Foundations dictionary as an annotator: nothing to learn, so it is fitted as built.

    ``value_ids`` are the lexicon's categories, or the taxonomy values they map to with ``mapping``.
    """

    def __init__(self, lexicon: MoralLexicon, *, min_hits: int = 1, mapping: dict[str, list[str]] | None = None,
                 taxonomy_version: int | None = None):
        self.lexicon = lexicon
        self.min_hits = min_hits
        self.mapping = mapping
        self.taxonomy_version = taxonomy_version
        cats = lexicon.categories
        self.value_ids = list(dict.fromkeys(v for c in cats for v in mapping.get(c, []))) if mapping is not None else list(cats)

    @property
    def source(self) -> str:
        return f"lexicon:{self.lexicon.name}"

    @property
    def is_fitted(self) -> bool:
        return True

    def fit(self, texts: Sequence[str] | None = None, labels: np.ndarray | None = None) -> "LexiconAnnotator":
        """A dictionary learns nothing from data; kept so the three annotators are used alike."""
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Per value: the category score (matches per word; eMFD: mean probability), the best of
        the categories mapped onto it."""
        col = {v: k for k, v in enumerate(self.value_ids)}
        out = np.zeros((len(texts), len(self.value_ids)))
        for i, text in enumerate(texts):
            scores, _ = self.category_scores(text)
            for j, cat in enumerate(self.lexicon.categories):
                for v in (self.mapping.get(cat, []) if self.mapping is not None else [cat]):
                    out[i, col[v]] = max(out[i, col[v]], float(scores[j]))
        return out

    def category_scores(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(scores, assigned) over the lexicon's categories."""
        hits = self.lexicon.matches(text)
        n = len(self.lexicon.categories)
        if not hits:
            return np.zeros(n), np.zeros(n, dtype=bool)
        stack = np.stack(hits)
        if self.lexicon.kind == "emfd":
            scores = stack.mean(axis=0)
            return scores, scores > self.lexicon.base_rate
        counts = (stack > 0).sum(axis=0)
        return counts / max(1, len(tokenize(text))), counts >= self.min_hits

    def annotate_texts(self, ids: Sequence[str], texts: Sequence[str]) -> list[ValueAnnotation]:
        out = []
        cats = self.lexicon.categories
        for rid, text in zip(ids, texts):
            scores, assigned = self.category_scores(text)
            chosen: dict[str, float] = {}
            kept: dict[str, float] = {}
            for j in np.argsort(-scores):
                names = self.mapping.get(cats[j], []) if self.mapping is not None else [cats[j]]
                for name in names:
                    if scores[j] > 0:
                        kept[name] = max(kept.get(name, 0.0), round(float(scores[j]), 4))
                    if assigned[j]:
                        chosen.setdefault(name, float(scores[j]))
            out.append(ValueAnnotation(rationale_id=str(rid), value_ids=list(chosen), scores=kept,
                                       source=f"lexicon:{self.lexicon.name}",
                                       taxonomy_version=self.taxonomy_version if self.mapping is not None else None))
        return out

    def annotate(self, judgments) -> list[ValueAnnotation]:
        items = with_rationale(judgments)
        return self.annotate_texts([j.id for j in items], [j.rationale for j in items])

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """The dictionary itself (entries and weights), the rule's settings and the mapping, as JSON."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        lex = self.lexicon
        write_json(out / META_FILE, {
            "format": FORMAT, "format_version": FORMAT_VERSION, "name": lex.name, "kind": lex.kind,
            "categories": lex.categories, "min_hits": self.min_hits, "mapping": self.mapping,
            "taxonomy_version": self.taxonomy_version,
            "exact": [[list(k), v.tolist()] for k, v in lex.exact.items()],
            "prefixes": [[k, v.tolist()] for k, v in lex.prefixes.items()],
            "base_rate": None if lex.base_rate is None else lex.base_rate.tolist(),
        })
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LexiconAnnotator":
        meta_path = Path(path) / META_FILE
        meta = read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise InputError(meta_path, f"not a moralgap lexicon annotator (expected format {FORMAT!r})", field="format")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise InputError(meta_path, f"format {meta['format_version']} is newer than this moralgap reads: upgrade moralgap",
                             field="format_version")
        lex = MoralLexicon(meta["name"], list(meta["categories"]), meta["kind"],
                           exact={tuple(k): np.asarray(v, dtype=float) for k, v in meta["exact"]},
                           prefixes={k: np.asarray(v, dtype=float) for k, v in meta["prefixes"]},
                           base_rate=None if meta.get("base_rate") is None else np.asarray(meta["base_rate"], dtype=float))
        return cls(lex, min_hits=int(meta["min_hits"]), mapping=meta.get("mapping"), taxonomy_version=meta.get("taxonomy_version"))
