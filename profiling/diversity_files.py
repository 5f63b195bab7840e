"""Values files read for ``profiles diversity``: one value list for all, figures per file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from moralgap.cli_options import report_read
from moralgap.diversity import diversity_summary, js_divergence
from moralgap.records import Taxonomy, ValueAnnotation
from moralgap.value_mentions import MentionMatrix


@dataclass
class ValuesFiles:
    paths: list[Path]
    annotations: list[list[ValueAnnotation]]
    value_ids: list[str]
    taxonomy: Optional[Taxonomy]

    def matrix(self, i: int) -> MentionMatrix:
        anns = self.annotations[i]
        # One row per rationale; dilemmas play no part in a single file's pooled figures.
        return MentionMatrix.from_annotations(anns, {a.rationale_id: a.rationale_id for a in anns}, self.value_ids)

    def pooled(self, i: int, counting: str) -> np.ndarray:
        return self.matrix(i).weights(counting).sum(axis=0)

    def pairs(self, counting: str) -> list[dict]:
        pooled = [self.pooled(i, counting) for i in range(len(self.paths))]
        return [{"a": str(self.paths[i]), "b": str(self.paths[j]), "js_divergence": js_divergence(pooled[i], pooled[j])}
                for i in range(len(pooled)) for j in range(i + 1, len(pooled))]


def read_values(paths: list[Path], taxonomy: Optional[Path], *, source: Optional[str], skip_invalid: bool,
                manifest=None) -> ValuesFiles:
    """Read every file (checked against the taxonomy when given); the value list is the taxonomy's
    active values, or without one every value any file uses."""
    from moralgap.io import read_records
    from moralgap.taxonomy_file import load_taxonomy, taxonomy_path

    from .profiles import load_value_annotations

    tax = load_taxonomy(taxonomy) if taxonomy else None
    if manifest is not None and taxonomy:
        manifest.add_input(taxonomy_path(taxonomy), "taxonomy")
    annotations = []
    for path in paths:
        if manifest is not None:
            manifest.add_input(path, "values")
        if tax:
            read = load_value_annotations(path, tax, source=source, skip_invalid=skip_invalid)
        else:
            read = read_records(path, ValueAnnotation, unique_id="rationale_id", skip_invalid=skip_invalid,
                                prepare=(lambda row, line: row if source is None or row.get("source", "auto") == source else None))
        report_read(read, path)
        annotations.append(read.records)
    if tax:
        ids = [v.id for v in tax.active_values()]
    else:
        ids = sorted({v for anns in annotations for a in anns for v in (a.mentions or {}) or a.value_ids})
    return ValuesFiles(list(paths), annotations, ids, tax)


def file_rows(values: ValuesFiles, counting: str, k: int, n_values) -> list[dict]:
    """Per file: rationales, raw mentions, pooled diversity under ``counting``, values per rationale."""
    rows = []
    for i, path in enumerate(values.paths):
        m = values.matrix(i)
        vpr = m.values_per_rationale()
        summary = diversity_summary(m.weights(counting).sum(axis=0), n_values=n_values, k=k)
        summary.pop("mentions")
        rows.append({"file": str(path), "rationales": len(m), "mentions": float(m.counts.sum()), **summary,
                     "values_per_rationale_mean": float(vpr.mean()) if len(m) else float("nan"),
                     "values_per_rationale_median": float(np.median(vpr)) if len(m) else float("nan"),
                     "mentions_per_rationale_mean": float(m.mentions_per_rationale().mean()) if len(m) else float("nan")})
    return rows
