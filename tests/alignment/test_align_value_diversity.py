"""``moralgap align --values`` prints and stores the human-minus-model value diversity with intervals.

Eight dilemmas over a 12-value taxonomy. Per dilemma two human rationales, annotated
rationale-level with v0..v5 and v6..v11; one model rationale coded expression-level with three
mentions of v0. Human: top-10 share 10/12, entropy 1; model: 1 and 0; 6 values per human
rationale against 1. Every dilemma looks the same, so every paired resample gives the same
difference and the intervals have no width.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import write_jsonl

from moralgap.alignment.cli import align_command

IDS = [f"v{i}" for i in range(12)]


def test_align_reports_the_paired_value_diversity_gap(tmp_path):
    (tmp_path / "tax").mkdir()
    (tmp_path / "tax" / "taxonomy.json").write_text(json.dumps(
        {"schema_version": 1, "version": 1, "name": "t", "values": [{"id": v, "name": v.upper()} for v in IDS]}))
    human, model, values = [], [], []
    for d in range(8):
        for r in range(2):
            human.append({"id": f"h{d}{r}", "dilemma_id": f"d{d}", "verdict": "NTA" if (d + r) % 3 else "YTA", "rationale": "x"})
            values.append({"rationale_id": f"h{d}{r}", "value_ids": IDS[6 * r: 6 * r + 6]})
        model.append({"id": f"m{d}", "dilemma_id": f"d{d}", "judge": "m", "condition": "vanilla", "verdict": "acceptable",
                      "rationale": "y"})
        values.append({"rationale_id": f"m{d}", "value_ids": ["v0"], "mentions": {"v0": 3}, "source": "expressions"})
    paths = {n: write_jsonl(tmp_path / f"{n}.jsonl", rows) for n, rows in (("human", human), ("model", model), ("values", values))}
    out = tmp_path / "report"
    res = CliRunner().invoke(align_command, ["--human", str(paths["human"]), "--model", str(paths["model"]), "--values",
                                             str(paths["values"]), "--taxonomy", str(tmp_path / "tax"), "--bootstrap", "200",
                                             "--counting", "mentions", "--counting", "rationale", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "human vs vanilla: 8 shared dilemmas, counting 'mentions'" in text and "counting 'rationale'" in text
    assert "pooled top-10 share       human 0.833 [0.833, 0.833]  vanilla 1.000 [1.000, 1.000]  diff -0.167 [-0.167, -0.167]" in text
    assert "values/rationale          human mean 6.000 [6.000, 6.000] median 6  vanilla mean 1.000" in text
    gap = json.loads((out / "metrics.json").read_text())["values"]["diversity_gap"]["vanilla"]
    assert set(gap) == {"mentions", "rationale"}
    m = gap["mentions"]
    assert m["entropy_normaliser"] == "log(12)" and m["sides"]["vanilla"]["mentions"] == 24
    assert m["difference"]["pooled"]["normalised_entropy"] == pytest.approx({"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "bias_corrected": 1.0})
    assert m["difference"]["values_per_rationale"]["value"] == 5.0
    assert m["difference"]["mentions_per_rationale"]["value"] == 3.0
    md = (out / "summary.md").read_text()
    assert "Value diversity, human − vanilla: counting 'rationale'" in md and "| top-10 share (pooled) |" in md
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["params"]["countings"] == ["mentions", "rationale"]
