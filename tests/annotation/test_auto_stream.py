"""How ``annotate auto --engine ray`` reads its judgments: checked whole, then streamed.

The Ray run itself is in tests/scale/test_ray.py (its records equal the local engine's); this
is the reader, which needs no cluster.
"""
from __future__ import annotations

import json

import pytest

from moralgap.errors import InputError
from moralgap.manifest import Manifest


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_judgments_are_counted_then_read_again_each_time(tmp_path):
    from moralgap.annotation.cli_auto import _LazyJudgments

    p = _write(tmp_path / "j.jsonl", [{"id": "a", "dilemma_id": "d", "verdict": "acceptable", "rationale": "Kind."},
                                      {"id": "b", "dilemma_id": "d", "verdict": "acceptable", "rationale": "  "},
                                      {"id": "c", "dilemma_id": "d", "verdict": "unacceptable", "rationale": "Rude."}])
    m = Manifest("unit")
    lazy = _LazyJudgments(str(p), False, m)
    # The one without a rationale is counted as read, not as one to annotate.
    assert len(lazy) == 2 and m.data["counts"]["judgments"] == 3 and m.data["counts"]["with_rationale"] == 2
    assert [j.id for j in lazy] == ["a", "c"] == [j.id for j in lazy]


def test_a_bad_record_stops_before_any_work(tmp_path):
    from moralgap.annotation.cli_auto import _LazyJudgments

    rows = [{"id": f"j{i}", "dilemma_id": "d", "verdict": "acceptable", "rationale": "Fine."} for i in range(5)]
    rows.append({"id": "j9", "dilemma_id": "d", "verdict": "MAYBE", "rationale": "Hm."})
    with pytest.raises(InputError) as exc:
        _LazyJudgments(str(_write(tmp_path / "j.jsonl", rows)), False, Manifest("unit"))
    assert exc.value.line == 6 and exc.value.field == "verdict"
    # With --skip-invalid the bad record is reported and left out.
    lazy = _LazyJudgments(str(tmp_path / "j.jsonl"), True, Manifest("unit"))
    assert len(lazy) == 5 and len(list(lazy)) == 5
