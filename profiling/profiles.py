"""Human value profiles: per group, the distribution G0 of values named in human rationales.

A *group* is a set of human rationales: those on dilemmas of one topic (the default, as in the
paper), of one dilemma, with one verdict, or sharing the value of any other judgment or
dilemma field. For each group the profile holds the raw counts (each rationale counts a
value once), the smoothed distribution

    G0[v] = (count[v] + smoothing) / (mentions + smoothing * n_values)

(additive smoothing over all of the taxonomy's active values, default 0.01: small enough to
leave the human frequencies almost untouched, large enough that no Dirichlet parameter
alpha * G0[v] is zero), the paper's Dirichlet(alpha * G0) and a maximum-likelihood
Dirichlet fitted to the group's per-dilemma value counts (:mod:`profiling.dirichlet`).

A group with fewer than ``min_rationales`` rationales that name a value does not get a G0 of
its own: it falls back to its parent (when one is known and has enough data) or to the
global profile of all rationales, and ``fallback`` says which and why.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from moralgap.errors import InputError, SchemaVersionError
from moralgap.io import ReadResult, read_json, read_records, write_json
from moralgap.records import Dilemma, Judgment, Taxonomy, ValueAnnotation

from moralgap.diversity import diversity_summary
from .dirichlet import dirichlet_parameters, fit_dirichlet_multinomial

SCHEMA_VERSION = 1
GLOBAL = "__global__"
DEFAULT_ALPHA = 10.0
DEFAULT_SMOOTHING = 0.01
DEFAULT_MIN_RATIONALES = 20
DILEMMA_FIELDS = frozenset(Dilemma.model_fields)


def load_value_annotations(path: str | os.PathLike, taxonomy: Taxonomy, *, source: str | None = None,
                           rationale_ids: set[str] | None = None, skip_invalid: bool = False) -> ReadResult:
    """Read ``values.jsonl``, refusing value ids the taxonomy does not have (file, line and field named).

    Ids of values merged into another are rewritten to the value they were merged into; ids of
    rejected values are refused. With ``source`` only annotations of that source are kept.
    There must be one annotation per rationale after that filter; with ``rationale_ids`` every
    annotation must name one of them.
    """
    resolve = taxonomy.coded_redirects()
    rejected = {v.id for v in taxonomy.values if v.status == "rejected"}
    result = ReadResult()

    def prepare(row: dict, line: int):
        if source is not None and row.get("source", "auto") != source:
            key = f"source {row.get('source', 'auto')!r}"
            result.dropped[key] = result.dropped.get(key, 0) + 1
            return None
        return row

    def check(ann: ValueAnnotation, line: int):
        if rationale_ids is not None and ann.rationale_id not in rationale_ids:
            raise InputError(path, f"rationale {ann.rationale_id!r} is not in the judgments file", line=line, field="rationale_id")
        for i, vid in enumerate(ann.value_ids):
            if vid not in resolve:
                why = "was rejected in" if vid in rejected else "is not in"
                raise InputError(path, f"value id {vid!r} {why} taxonomy {taxonomy.name!r} v{taxonomy.version}",
                                 line=line, field=f"value_ids.{i}")
        ann.value_ids = list(dict.fromkeys(resolve[v] for v in ann.value_ids))
        if ann.mentions:
            merged: dict[str, int] = {}
            for vid, n in ann.mentions.items():
                if vid not in resolve:
                    raise InputError(path, f"value id {vid!r} is not an active value of taxonomy {taxonomy.name!r} "
                                           f"v{taxonomy.version}", line=line, field=f"mentions.{vid}")
                merged[resolve[vid]] = merged.get(resolve[vid], 0) + n
            ann.mentions = merged

    return read_records(path, ValueAnnotation, skip_invalid=skip_invalid, prepare=prepare, check=check,
                        unique_id="rationale_id", result=result)


def _field_values(record: Any, name: str) -> list[str] | None:
    """The value(s) of a field on a record (declared or extra), or None when it has no such field."""
    if name in type(record).model_fields:
        value = getattr(record, name)
    elif record.model_extra and name in record.model_extra:
        value = record.model_extra[name]
    else:
        return None
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and v != ""]
    return [str(value)]


@dataclass
class Grouping:
    """How rationales are grouped: ``by`` a field, ``topics`` 'first' (primary topic) or 'all'.

    ``by='topic'`` reads the dilemma's ``topics`` list; ``by='dilemma'`` groups per dilemma id
    (parent: the dilemma's primary topic); any other name is looked up on the judgment first,
    then on the dilemma. ``parents`` maps a group to a parent group for fallbacks.
    """

    by: str = "topic"
    topics: str = "first"
    parents: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.topics not in ("first", "all"):
            raise ValueError(f"topics must be 'first' or 'all', got {self.topics!r}")
        if not self.by or not isinstance(self.by, str):
            raise ValueError("by must name a field")

    @property
    def is_dilemma_level(self) -> bool:
        """Whether a dilemma alone determines its group (needed to sample profiles for it)."""
        return self.by in ("topic", "dilemma") or self.by in DILEMMA_FIELDS

    def _topics(self, dilemma: Dilemma) -> list[str]:
        return dilemma.topics[:1] if self.topics == "first" else list(dict.fromkeys(dilemma.topics))

    def keys(self, judgment: Judgment | None, dilemma: Dilemma) -> list[str]:
        if self.by == "topic":
            return self._topics(dilemma)
        if self.by == "dilemma":
            return [dilemma.id]
        found = _field_values(judgment, self.by) if judgment is not None else None
        if found is None:
            found = _field_values(dilemma, self.by)
        return found or []

    def parent(self, group: str, dilemma: Dilemma | None = None) -> str | None:
        if group in self.parents:
            return self.parents[group]
        if self.by == "dilemma" and dilemma is not None and dilemma.topics:
            return dilemma.topics[0]
        return None

    def to_json(self) -> dict:
        return {"by": self.by, "topics": self.topics, "parents": dict(self.parents)}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Pool:
    """The rationales of one group: per rationale its id, its dilemma and its value indices."""

    rationales: list[tuple[str, str, list[int]]] = field(default_factory=list)

    def counts(self, n_values: int) -> np.ndarray:
        c = np.zeros(n_values)
        for _, _, idx in self.rationales:
            c[idx] += 1
        return c

    def n_with_values(self) -> int:
        return sum(1 for _, _, idx in self.rationales if idx)

    def per_dilemma(self, n_values: int) -> np.ndarray:
        rows: dict[str, np.ndarray] = {}
        for _, did, idx in self.rationales:
            row = rows.setdefault(did, np.zeros(n_values))
            row[idx] += 1
        return np.array(list(rows.values())) if rows else np.zeros((0, n_values))


class ProfileBuilder:
    """Build value profiles from value annotations, judgments, dilemmas and a taxonomy.

    >>> profiles = ProfileBuilder(by="topic", alpha=10).fit(annotations, judgments, dilemmas, taxonomy)
    """

    def __init__(self, by: str = "topic", *, alpha: float = DEFAULT_ALPHA, smoothing: float = DEFAULT_SMOOTHING,
                 min_rationales: int = DEFAULT_MIN_RATIONALES, topics: str = "first",
                 parents: dict[str, str] | None = None, top_k: int = 10):
        if not np.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
        if not np.isfinite(smoothing) or smoothing <= 0:
            raise ValueError(f"smoothing must be > 0 (a zero G0 entry would make alpha * G0 invalid), got {smoothing!r}")
        if min_rationales < 1:
            raise ValueError("min_rationales must be at least 1")
        self.grouping = Grouping(by, topics, dict(parents or {}))
        self.alpha = float(alpha)
        self.smoothing = float(smoothing)
        self.min_rationales = int(min_rationales)
        self.top_k = top_k

    def fit(self, annotations: Iterable[ValueAnnotation], judgments: Iterable[Judgment], dilemmas: Iterable[Dilemma],
            taxonomy: Taxonomy, *, inputs: dict[str, Any] | None = None) -> "Profiles":
        values = taxonomy.active_values()
        if len(values) < 2:
            raise InputError(None, f"taxonomy {taxonomy.name!r} has {len(values)} active value(s); profiles need at least 2")
        pools, global_pool, dilemma_of_group, skipped_model = self._collect(annotations, judgments, dilemmas, taxonomy, values)
        n = len(values)
        if global_pool.counts(n).sum() == 0:
            raise InputError(None, "no annotated human rationale names a value: nothing to build profiles from")

        glob = self._profile(global_pool, n, values)
        groups: dict[str, dict] = {}
        parent_pools = self._parent_pools(pools, dilemma_of_group)
        parent_profiles: dict[str, dict] = {}  # many small groups share a parent: fit it once
        for name in sorted(pools):
            prof = self._profile(pools[name], n, values)
            if prof["n_with_values"] < self.min_rationales:
                parent = parent_pools.get(self.grouping.parent(name, dilemma_of_group.get(name)))
                prof = self._fallback(prof, parent, parent_profiles, n, values, glob)
            groups[name] = prof
        data = {
            "schema_version": SCHEMA_VERSION,
            "kind": "moralgap.profiles",
            "taxonomy": {"name": taxonomy.name, "version": taxonomy.version, "n_values": n},
            "grouping": self.grouping.to_json(),
            "params": {"alpha": self.alpha, "smoothing": self.smoothing, "min_rationales": self.min_rationales},
            "values": [{"id": v.id, "name": v.name} for v in values],
            "inputs": dict(inputs or {}),
            "counts": {"annotations_on_model_judgments_skipped": skipped_model, "groups": len(groups)},
            "global": glob,
            "groups": groups,
        }
        return Profiles(data)

    def _collect(self, annotations, judgments, dilemmas, taxonomy: Taxonomy, values):
        """Sort annotated human rationales into group pools; every group seen in the data gets a pool, empty or not."""
        index = {v.id: i for i, v in enumerate(values)}
        resolve = taxonomy.coded_redirects()
        dmap = {d.id: d for d in dilemmas}
        all_judgments = {j.id: j for j in judgments}
        pools: dict[str, _Pool] = defaultdict(_Pool)
        global_pool = _Pool()
        dilemma_of_group: dict[str, Dilemma] = {}
        skipped_model = 0

        def enter(key: str, d: Dilemma) -> _Pool:
            dilemma_of_group.setdefault(key, d)
            return pools[key]

        for j in all_judgments.values():
            if j.is_human and j.dilemma_id in dmap:
                for key in self.grouping.keys(j, dmap[j.dilemma_id]):
                    enter(key, dmap[j.dilemma_id])
        if self.grouping.is_dilemma_level:
            for d in dmap.values():
                for key in self.grouping.keys(None, d):
                    enter(key, d)
        for ann in annotations:
            j = all_judgments.get(ann.rationale_id)
            if j is None:
                raise InputError(None, f"annotation for rationale {ann.rationale_id!r}, which is not in the judgments", field="rationale_id")
            if not j.is_human:
                skipped_model += 1
                continue
            d = dmap.get(j.dilemma_id)
            if d is None:
                raise InputError(None, f"judgment {j.id!r} is on dilemma {j.dilemma_id!r}, which is not in the dilemmas", field="dilemma_id")
            unknown = [v for v in ann.value_ids if v not in resolve]
            if unknown:
                raise InputError(None, f"value id {unknown[0]!r} of rationale {ann.rationale_id!r} is not an active value of taxonomy "
                                 f"{taxonomy.name!r} v{taxonomy.version}", field="value_ids")
            rationale = (j.id, d.id, sorted({index[resolve[v]] for v in ann.value_ids}))
            global_pool.rationales.append(rationale)
            for key in self.grouping.keys(j, d):
                enter(key, d).rationales.append(rationale)
        return pools, global_pool, dilemma_of_group, skipped_model

    def _parent_pools(self, pools: dict[str, _Pool], dilemma_of_group: dict[str, Dilemma]) -> dict[str, tuple[str, _Pool]]:
        """Each parent's rationales: its own group's (when it is one) plus all its children's, each once."""
        merged: dict[str, dict[str, tuple]] = {}
        for name, pool in pools.items():
            parent = self.grouping.parent(name, dilemma_of_group.get(name))
            if parent is None or parent == name:
                continue
            if parent not in merged:
                # by=dilemma: the parent is a topic, not a group of the same kind, so it has no pool of its own
                own = pools[parent].rationales if parent in pools and self.grouping.by != "dilemma" else []
                merged[parent] = {r[0]: r for r in own}
            merged[parent].update((r[0], r) for r in pool.rationales)
        return {p: (p, _Pool(list(rs.values()))) for p, rs in merged.items()}

    def _fallback(self, prof: dict, parent: tuple[str, _Pool] | None, cache: dict[str, dict], n: int, values, glob: dict) -> dict:
        reason = f"{prof['n_with_values']} rationale(s) with values, fewer than min_rationales={self.min_rationales}"
        if parent is not None:
            pname, pool = parent
            if pool.n_with_values() >= self.min_rationales:
                if pname not in cache:
                    cache[pname] = self._profile(pool, n, values)
                pprof = cache[pname]
                prof.update(g0=pprof["g0"], dirichlet=pprof["dirichlet"], mle=pprof["mle"], g0_source=pname,
                            fallback={"to": pname, "level": "parent", "reason": reason})
                return prof
            reason += f"; parent {pname!r} has only {pool.n_with_values()}"
        prof.update(g0=glob["g0"], dirichlet=glob["dirichlet"], mle=glob["mle"], g0_source=GLOBAL,
                    fallback={"to": GLOBAL, "level": "global", "reason": reason})
        return prof

    def _profile(self, pool: _Pool, n: int, values) -> dict:
        counts = pool.counts(n)
        mentions = counts.sum()
        g0 = (counts + self.smoothing) / (mentions + self.smoothing * n)
        ids = [v.id for v in values]
        return {
            "n_rationales": len(pool.rationales),
            "n_with_values": pool.n_with_values(),
            "n_dilemmas": len({d for _, d, _ in pool.rationales}),
            "mentions": int(mentions),
            "counts": {ids[i]: int(c) for i, c in enumerate(counts) if c},
            "diversity": diversity_summary(counts, n_values=n, k=self.top_k) if mentions else None,
            "g0": {ids[i]: float(g) for i, g in enumerate(g0)},
            "g0_source": "self",
            "fallback": None,
            "dirichlet": {"alpha": self.alpha, "parameters": "alpha * g0"},
            "mle": self._mle(pool, n, ids),
        }

    @staticmethod
    def _mle(pool: _Pool, n: int, ids: list[str]) -> dict:
        rows = pool.per_dilemma(n)
        rows = rows[rows.sum(axis=1) > 0]
        if rows.shape[0] < 2:
            return {"fitted": False, "reason": f"needs value counts from at least 2 dilemmas, has {rows.shape[0]}"}
        fit = fit_dirichlet_multinomial(rows)
        return {
            "fitted": True,
            "model": "dirichlet-multinomial on per-dilemma value counts",
            "concentration": fit.concentration,
            "alpha": {ids[i]: float(a) for i, a in enumerate(fit.alpha) if a > 0},
            "n_dilemmas": fit.n_obs,
            "converged": fit.converged,
            "iterations": fit.n_iter,
            "loglik": fit.loglik,
            "notes": fit.notes,
        }


class Profiles:
    """A ``profiles.json`` document, with the lookups the sampler needs."""

    def __init__(self, data: dict, path: str | os.PathLike | None = None, sha256: str | None = None):
        self.data = data
        self.path = Path(path) if path is not None else None
        self.sha256 = sha256

    @property
    def value_ids(self) -> list[str]:
        return [v["id"] for v in self.data["values"]]

    @property
    def value_names(self) -> dict[str, str]:
        return {v["id"]: v["name"] for v in self.data["values"]}

    @property
    def grouping(self) -> Grouping:
        g = self.data["grouping"]
        return Grouping(g["by"], g.get("topics", "first"), dict(g.get("parents") or {}))

    @property
    def alpha(self) -> float:
        return float(self.data["params"]["alpha"])

    @property
    def taxonomy_version(self) -> int | None:
        return self.data.get("taxonomy", {}).get("version")

    def group(self, name: str) -> dict:
        if name == GLOBAL:
            return self.data["global"]
        return self.data["groups"][name]

    def has_group(self, name: str) -> bool:
        return name == GLOBAL or name in self.data["groups"]

    def g0(self, name: str) -> np.ndarray:
        g = self.group(name)["g0"]
        return np.array([g.get(v, 0.0) for v in self.value_ids])

    def mle_alpha(self, name: str) -> np.ndarray | None:
        mle = self.group(name).get("mle") or {}
        if not mle.get("fitted"):
            return None
        a = mle["alpha"]
        return np.array([a.get(v, 0.0) for v in self.value_ids])

    def group_for(self, dilemma: Dilemma) -> str | None:
        """The profile group a dilemma samples from, or None when profiles.json has none for it."""
        grouping = self.grouping
        if not grouping.is_dilemma_level:
            return None
        keys = grouping.keys(None, dilemma)
        for key in keys:
            if self.has_group(key):
                return key
        if keys:
            parent = grouping.parent(keys[0], dilemma)
            if parent is not None and self.has_group(parent):
                return parent
        return None

    def to_json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=2) + "\n"

    def save(self, path: str | os.PathLike) -> Path:
        write_json(path, self.data)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Profiles":
        p = Path(path)
        data = read_json(p)
        if not isinstance(data, dict) or data.get("kind") != "moralgap.profiles":
            raise InputError(p, "not a moralgap profiles file (expected kind 'moralgap.profiles')", field="kind")
        schema = data.get("schema_version")
        if not isinstance(schema, int):
            raise InputError(p, "missing or non-integer schema version", field="schema_version")
        if schema > SCHEMA_VERSION:
            raise SchemaVersionError(p, f"written with schema {schema}, this moralgap reads up to {SCHEMA_VERSION}: upgrade moralgap",
                                     field="schema_version")
        for key in ("values", "params", "grouping", "global", "groups"):
            if key not in data:
                raise InputError(p, "missing required field", field=key)
        ids = [v.get("id") for v in data["values"]]
        for name, prof in [(GLOBAL, data["global"]), *data["groups"].items()]:
            unknown = sorted(set(prof.get("g0", {})) - set(ids))
            if unknown:
                raise InputError(p, f"group {name!r} has value id(s) not in 'values': {', '.join(unknown[:5])}", field=f"groups.{name}.g0")
        return cls(data, p, sha256_bytes(p.read_bytes()))
