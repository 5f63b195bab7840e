"""A taxonomy folder: ``taxonomy.json`` + ``expressions.jsonl`` + ``centroids.npz`` + manifest.

Edits, updates, reviews and annotators all read and write this one layout, so the
expressions always follow their values and the centroids always match the value ids.
Writes go file by file through temporary files; ``taxonomy.json`` is written last so a
folder whose taxonomy.json exists is complete.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from moralgap.errors import InputError
from moralgap.io import read_records, write_folder_atomically, write_json, write_jsonl
from moralgap.records import Expression, Taxonomy, Value
from moralgap.taxonomy_file import TAXONOMY_FILE, load_taxonomy, save_taxonomy

EXPRESSIONS_FILE = "expressions.jsonl"
CENTROIDS_FILE = "centroids.npz"


@dataclass
class TaxonomyFolder:
    taxonomy: Taxonomy
    expressions: list[Expression] = field(default_factory=list)
    centroids: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike, *, with_expressions: bool = True) -> "TaxonomyFolder":
        p = Path(path)
        folder = p if p.is_dir() else p.parent
        tax = load_taxonomy(p)
        expressions: list[Expression] = []
        if with_expressions and (folder / EXPRESSIONS_FILE).exists():
            expressions = read_records(folder / EXPRESSIONS_FILE, Expression).records
        centroids = load_centroids(folder / CENTROIDS_FILE) if (folder / CENTROIDS_FILE).exists() else {}
        return cls(tax, expressions, centroids)

    def save(self, out: str | os.PathLike) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / EXPRESSIONS_FILE, self.expressions)
        save_centroids(out / CENTROIDS_FILE, self.centroids)
        return save_taxonomy(self.taxonomy, out / TAXONOMY_FILE)

    def unmerged_values(self) -> list[Value]:
        """The values an expression can lie near: every value not merged away that has a
        centroid, whatever its review status."""
        return [v for v in self.taxonomy.values if v.status != "merged" and v.id in self.centroids]

    def centroid_matrix(self, value_ids: list[str] | None = None) -> tuple[list[str], np.ndarray]:
        ids = value_ids if value_ids is not None else [v.id for v in self.taxonomy.active_values() if v.id in self.centroids]
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        return ids, np.stack([self.centroids[i] for i in ids]).astype(np.float32)


def load_centroids(path: str | os.PathLike) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            ids, vecs = z["ids"].tolist(), z["vectors"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(path, f"not a moralgap centroids file ({exc})") from None
    return {i: v.astype(np.float32) for i, v in zip(ids, vecs)}


def save_centroids(path: str | os.PathLike, centroids: dict[str, np.ndarray]) -> None:
    path = Path(path)
    ids = sorted(centroids)
    vecs = np.stack([centroids[i] for i in ids]).astype(np.float32) if ids else np.zeros((0, 0), np.float32)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(tmp, ids=np.asarray(ids, dtype="<U64"), vectors=vecs)
    os.replace(tmp, path)


def write_version(old_dir: str | os.PathLike, new_folder: TaxonomyFolder, target: str | os.PathLike, *, in_place: bool,
                  old_version: int, manifest=None, extra: dict[str, object] | None = None) -> Path:
    """Write a new taxonomy version as a whole folder swapped in at once (never half-written).

    ``in_place`` rewrites ``old_dir`` (``target``) and keeps the previous ``taxonomy.json`` as
    ``taxonomy.v<N>.json`` and its manifest as ``manifest.v<N>.json``; otherwise ``target`` is a new
    folder and ``old_dir`` stays as it was. ``extra`` are JSON files written beside (a review report,
    say); ``manifest``, a :class:`moralgap.manifest.Manifest`, is written as the folder's manifest.json.
    """
    old_dir, target = Path(old_dir), Path(target)

    def write(tmp: Path) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        if in_place:
            for f in old_dir.iterdir():
                if f.is_file():
                    shutil.copy2(f, tmp / f.name)
            kept = tmp / f"taxonomy.v{old_version}.json"
            if kept.exists():
                raise InputError(kept, "a kept version with this number exists already; not overwriting it")
            shutil.copy2(old_dir / TAXONOMY_FILE, kept)
            if (old_dir / "manifest.json").exists():
                shutil.copy2(old_dir / "manifest.json", tmp / f"manifest.v{old_version}.json")
        new_folder.save(tmp)
        for name, obj in (extra or {}).items():
            write_json(tmp / name, obj)
        if manifest is not None:
            for name in (TAXONOMY_FILE, EXPRESSIONS_FILE, CENTROIDS_FILE, "manifest.json", *(extra or {})):
                manifest.add_output(target / name)
            manifest.write(tmp / "manifest.json")

    return write_folder_atomically(target, write)
