"""Exporting a taxonomy (CSV, JSON, a Label Studio labelling config) and importing a hand-written one.

An imported list of names (with optional definitions and parent groups) becomes a taxonomy
folder of ``accepted`` values with fresh ids and no expressions; each centroid is the embedding
of "name: definition", so ``moralgap taxonomy update`` can assign expressions to the values
right away. Exporting to CSV or JSON and importing the file again gives back the same names,
definitions and parents (ids are new: an import starts a new taxonomy).
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from moralgap.errors import InputError
from moralgap.io import atomic_open, write_json
from moralgap.label_config import rationale_label_config
from moralgap.manifest import file_sha256
from moralgap.records import LineageEntry, Taxonomy, Value

from .folder import TaxonomyFolder

FORMATS = ("csv", "json", "labelstudio")
CSV_COLUMNS = ("id", "name", "definition", "parent", "status", "size", "merged_into", "keywords", "exemplars")
LIST_SEP = "; "


def _values(tax: Taxonomy, include_inactive: bool) -> list[Value]:
    return list(tax.values) if include_inactive else tax.active_values()


def to_csv(tax: Taxonomy, *, include_inactive: bool = False) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for v in _values(tax, include_inactive):
        w.writerow([v.id, v.name, v.definition, v.parent or "", v.status, v.size, v.merged_into or "",
                    LIST_SEP.join(v.keywords), LIST_SEP.join(v.exemplars)])
    return buf.getvalue()


def to_json(tax: Taxonomy, *, include_inactive: bool = False) -> dict:
    """The shape :func:`import_taxonomy` (and ``--seed-values``) read back: ``{"values": [...]}``."""
    keep = ("id", "name", "definition", "parent", "status", "size", "merged_into", "keywords", "exemplars")
    return {
        "name": tax.name, "version": tax.version, "embedding_model": tax.embedding_model,
        "values": [{k: v for k, v in val.to_json_dict().items() if k in keep} for val in _values(tax, include_inactive)],
    }


def to_labelstudio(tax: Taxonomy) -> str:
    """The labelling config of a rationale project (:func:`moralgap.label_config.rationale_label_config`):
    a ``<Taxonomy>`` of the active values grouped by parent, each value's ``alias`` its id (so
    annotations carry ids, which survive renames) and its ``hint`` its definition."""
    return rationale_label_config(tax)


def export_taxonomy(tax: Taxonomy, path: str | os.PathLike, fmt: str, *, include_inactive: bool = False) -> Path:
    if fmt not in FORMATS:
        raise InputError(None, f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}", field="format")
    path = Path(path)
    if fmt == "json":
        write_json(path, to_json(tax, include_inactive=include_inactive))
        return path
    text = to_csv(tax, include_inactive=include_inactive) if fmt == "csv" else to_labelstudio(tax)
    with atomic_open(path) as fh:
        fh.write(text)
    return path


# -- import --------------------------------------------------------------------------------
def _read_csv(path: Path):
    from .seed_values import SeedValue

    from moralgap.io import iter_raw_rows

    out, seen = [], set()
    for line, row in iter_raw_rows(path):
        name = (row.get("name") or "").strip()
        if not name:
            raise InputError(path, "each value needs a non-empty name", line=line, field="name")
        if name.lower() in seen:
            raise InputError(path, f"value {name!r} is listed twice", line=line, field="name")
        seen.add(name.lower())
        out.append(SeedValue(name, (row.get("definition") or "").strip(), (row.get("parent") or "").strip() or None))
    if not out:
        raise InputError(path, "no values in the file", field="name")
    return out


def read_value_list(path: str | os.PathLike):
    """Names with optional definitions and parents, from YAML, JSON or CSV (a ``name`` column)."""
    from .seed_values import load_seed_values

    p = Path(path)
    if p.suffix.lower() == ".csv":
        return _read_csv(p)
    return load_seed_values(p)


def import_taxonomy(path: str | os.PathLike, *, embedder=None, embedding_model: str | None = None,
                    name: str | None = None, author: str = "moralgap", reason: str = "") -> TaxonomyFolder:
    """A new taxonomy of ``accepted`` values from a hand-written list; see the module docstring."""
    from .build import value_id_for
    from .edits import now
    from .space import EmbeddingSpace

    p = Path(path)
    items = read_value_list(p)
    tax_name = name or p.stem
    taken: set[str] = set()
    values: list[Value] = []
    for item in items:
        vid = value_id_for(tax_name, ["import", item.name], taken)
        taken.add(vid)
        values.append(Value(id=vid, name=item.name, definition=item.definition, parent=item.parent, status="accepted",
                            seed_name=item.name))
    space = EmbeddingSpace(embedding_model, embedder=embedder)
    vectors = space.encode([item.text for item in items], desc="embedding value names")
    tax = Taxonomy(
        version=1, name=tax_name, embedding_model=space.model_id, values=values,
        # The space is recorded as a build records it, so updates refuse vectors of another model.
        params={**space.to_params(), "imported_from": p.name},
        stats={"n_values": len(values)},
        lineage=[LineageEntry(version=1, op="import", author=author, reason=reason, at=now(),
                              args={"source": str(p), "sha256": file_sha256(p), "n_values": len(values)})],
    )
    return TaxonomyFolder(tax, [], {v.id: vec for v, vec in zip(values, vectors)})
