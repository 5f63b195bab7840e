from __future__ import annotations

import json

import numpy as np

from moralgap.manifest import Manifest, file_sha256, manifest_path_for
from moralgap.seeding import rng


def test_manifest_records_inputs_params_and_redacts_secrets(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    m = Manifest("unit", seed=7, params={"n": 3, "api_key": "sk-secret"})
    m.add_input(src)
    with m.timed("step"):
        pass
    out = m.write(manifest_path_for(tmp_path / "result.jsonl"))
    data = json.loads(out.read_text())
    assert out.name == "result.jsonl.manifest.json"
    assert data["inputs"]["input"]["sha256"] == file_sha256(src)
    assert data["params"] == {"n": 3, "api_key": "<redacted>"}
    assert "sk-secret" not in out.read_text()
    assert data["seed"] == 7 and "step" in data["timings_s"] and "numpy" in data["packages"]


def test_rng_streams_are_keyed_and_reproducible():
    a = rng(1, "d1", 0).random(3)
    assert np.array_equal(a, rng(1, "d1", 0).random(3))
    assert not np.array_equal(a, rng(1, "d1", 1).random(3))
    assert not np.array_equal(a, rng(2, "d1", 0).random(3))
