"""Reading human value labels into a text x value matrix for training and evaluation.

Two inputs are accepted, line by line in the same file:
- the Label Studio pull (``rationale_id``, ``annotator``, ``value_ids``), whose texts come from
  the judgments file (``--judgments``);
- any JSONL/CSV with the text itself (``text`` or ``rationale``) and ``value_ids``.

Several annotators of one rationale are merged by majority: a value is positive when at least
half of that rationale's annotators chose it. Value ids are checked against the taxonomy: a
value merged into another counts as its target; an unknown or rejected id is an error naming
the file, line and field.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from moralgap.errors import InputError
from moralgap.io import iter_raw_rows
from moralgap.records import Taxonomy


@dataclass
class LabelledSet:
    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # bool, (n_items, n_values)
    value_ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def _value_list(raw, path, line: int) -> list[str]:
    if isinstance(raw, str):  # CSV cells: "v1; v2"
        raw = [x.strip() for x in raw.replace("|", ";").split(";") if x.strip()]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InputError(path, "expected a list of value ids", line=line, field="value_ids")
    return raw


def read_labelled(path: str | os.PathLike, taxonomy: Taxonomy, *, texts: dict[str, str] | None = None,
                  skip_invalid: bool = False, skipped: list | None = None) -> LabelledSet:
    """Read labels into a :class:`LabelledSet` over the taxonomy's active values.

    ``texts`` maps rationale ids to text for label rows without their own text.
    """
    redirects = taxonomy.coded_redirects()
    value_ids = [v.id for v in taxonomy.active_values()]
    votes: dict[str, list[set[str]]] = defaultdict(list)
    text_of: dict[str, str] = {}
    for line, row in iter_raw_rows(path):
        try:
            if isinstance(row, InputError):
                raise row
            rid = row.get("rationale_id", row.get("id"))
            if not isinstance(rid, (str, int)) or str(rid).strip() == "":
                raise InputError(path, "missing rationale id", line=line, field="rationale_id")
            rid = str(rid)
            if "value_ids" not in row:
                raise InputError(path, "missing required field", line=line, field="value_ids")
            chosen = set()
            for vid in _value_list(row["value_ids"], path, line):
                if vid not in redirects:
                    why = "is not active in" if vid in taxonomy.by_id() else "is not in"
                    raise InputError(path, f"value id {vid!r} {why} taxonomy {taxonomy.name!r} v{taxonomy.version}",
                                     line=line, field="value_ids")
                chosen.add(redirects[vid])
            text = row.get("text") or row.get("rationale") or (texts or {}).get(rid)
            if not isinstance(text, str) or not text.strip():
                where = "the judgments file" if texts is not None else "this row (give --judgments for texts)"
                raise InputError(path, f"no text for rationale {rid!r} in {where}", line=line, field="rationale_id")
        except InputError as err:
            if not skip_invalid:
                raise
            if skipped is not None:
                skipped.append(err)
            continue
        votes[rid].append(chosen)
        text_of[rid] = text
    if not votes:
        raise InputError(path, "no labelled rationales to learn from (the file is empty or every row was skipped)")
    ids = sorted(votes)
    col = {v: j for j, v in enumerate(value_ids)}
    labels = np.zeros((len(ids), len(value_ids)), dtype=bool)
    for i, rid in enumerate(ids):
        counts: dict[str, int] = defaultdict(int)
        for chosen in votes[rid]:
            for vid in chosen:
                counts[vid] += 1
        for vid, c in counts.items():
            if 2 * c >= len(votes[rid]):
                labels[i, col[vid]] = True
    return LabelledSet(ids, [text_of[r] for r in ids], labels, value_ids)
