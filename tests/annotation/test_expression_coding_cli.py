"""``moralgap annotate expressions`` end to end with the real spaCy pipeline and MiniLM."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.cli import main

pytestmark = pytest.mark.slow  # real spaCy pipeline and MiniLM


def test_cli_codes_each_expression_to_one_value(tmp_path):
    from moralgap.records import Taxonomy, Value
    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.folder import TaxonomyFolder

    # Two values whose centroids are the embedded names: no build needed to know where they are.
    names = {"vhonest": "honesty, lying and deceit", "vprivacy": "privacy, snooping and reading diaries"}
    vecs = Embedder().encode(list(names.values()))
    tax = Taxonomy(name="two", params={"embed_text": "norm"},
                   values=[Value(id=i, name=n.split(",")[0].title(), status="accepted") for i, n in names.items()])
    TaxonomyFolder(tax, [], {i: np.asarray(v, np.float32) for i, v in zip(names, vecs)}).save(tmp_path / "tax")
    rows = [{"id": "r1", "dilemma_id": "d1", "verdict": "YTA", "rationale": "You lied to her and you were dishonest about it."},
            {"id": "r2", "dilemma_id": "d2", "verdict": "YTA", "rationale": "Reading her diary was an invasion of her privacy."},
            {"id": "r3", "dilemma_id": "d3", "verdict": "NTA", "rationale": "The weather was nice."}]
    (tmp_path / "j.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, expr = tmp_path / "values.jsonl", tmp_path / "expressions.jsonl"
    res = CliRunner().invoke(main, ["annotate", "expressions", str(tmp_path / "j.jsonl"), "--taxonomy", str(tmp_path / "tax"),
                                    "--out", str(out), "--expressions-out", str(expr), "--threshold", "0.3"])
    assert res.exit_code == 0, res.output
    anns = {a["rationale_id"]: a for a in map(json.loads, out.read_text().splitlines())}
    assert list(anns) == ["r1", "r2", "r3"] and all(a["source"] == "expressions" for a in anns.values())
    assert set(anns["r1"]["mentions"]) == {"vhonest"} and sum(anns["r1"]["mentions"].values()) >= 1
    assert set(anns["r2"]["mentions"]) == {"vprivacy"}
    assert anns["r3"]["value_ids"] == []  # no value expression: a rationale with no values, still listed
    coded = [json.loads(line) for line in expr.read_text().splitlines()]
    assert coded and all(e.get("value_id") in (None, "vhonest", "vprivacy") for e in coded)
    assert sum(e.get("value_id") is not None for e in coded) == sum(sum(a.get("mentions", {}).values()) for a in anns.values())
    manifest = json.loads((tmp_path / "values.jsonl.manifest.json").read_text())
    assert manifest["command"] == "annotate expressions" and manifest["params"]["threshold"] == 0.3
    assert manifest["counts"]["rationales"] == 3
