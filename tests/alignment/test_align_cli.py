"""``moralgap align`` and ``moralgap judge --backend replay`` end to end on small real files."""
import base64
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import prompt_line, write_jsonl

from moralgap.alignment.cli import align_command, judge_command

VALUES = ["v_care", "v_fair", "v_loyal", "v_auto", "v_honest", "v_safety"]


@pytest.fixture
def study(tmp_path):
    """12 dilemmas, 20 human votes each with values drawn from all six values; a model in two
    conditions with 8 samples, vanilla always naming one value and dmp three."""
    gen = np.random.default_rng(7)
    dilemmas, human, model, values = [], [], [], []
    for d in range(12):
        did = f"d{d:02d}"
        dilemmas.append({"id": did, "text": f"story {d}", "topics": ["family" if d % 2 else "work"]})
        p = gen.uniform(0.1, 0.9)
        for i in range(20):
            jid = f"h-{did}-{i}"
            human.append({"id": jid, "dilemma_id": did, "judge": "human", "verdict": "NTA" if gen.random() < p else "YTA",
                          "rationale": "because"})
            values.append({"rationale_id": jid, "value_ids": list(gen.choice(VALUES, size=2, replace=False)), "source": "auto"})
        for cond, k in (("vanilla", 1), ("dmp", 3)):
            for s in range(8):
                jid = f"{did}::{cond}::{s:04d}"
                model.append({"id": jid, "dilemma_id": did, "judge": "m", "condition": cond, "sample": s,
                              "verdict": "acceptable" if gen.random() < (0.9 if cond == "vanilla" else p) else "unacceptable",
                              "rationale": "r"})
                values.append({"rationale_id": jid, "value_ids": VALUES[:k], "source": "auto"})
        model.append({"id": f"{did}::dmp::bad", "dilemma_id": did, "judge": "m", "condition": "dmp", "verdict": None,
                      "parse_error": "no 'Evaluation:' line"})
    paths = {}
    for name, rows in (("dilemmas", dilemmas), ("human", human), ("model", model), ("values", values)):
        paths[name] = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    return paths


def test_align_writes_a_readable_report(tmp_path, study):
    out = tmp_path / "report"
    res = CliRunner().invoke(align_command, ["--human", str(study["human"]), "--model", str(study["model"]),
                                             "--values", str(study["values"]), "--dilemmas", str(study["dilemmas"]),
                                             "--bootstrap", "200", "--out", str(out)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    conds = metrics["gap"]["conditions"]
    assert set(conds) == {"vanilla", "dmp"}
    assert conds["dmp"]["overall"]["unparseable"] == 12
    assert metrics["gap"]["change_vs_baseline"]["dmp"]["baseline"] == "vanilla"
    sides = metrics["values"]["sides"]
    assert sides["human"]["distinct_values"] == 6 and sides["vanilla"]["distinct_values"] == 1
    assert sides["vanilla"]["normalised_entropy"] == 0.0
    assert sides["human"]["normalised_entropy"] > sides["dmp"]["normalised_entropy"] > 0
    assert sides["vanilla"]["top_10_share"] == 1.0 and sides["vanilla"]["js_divergence_vs_human"] > sides["dmp"]["js_divergence_vs_human"]
    assert set(metrics["values"]["topic_profiles"]) == {"family", "work"}
    html = (out / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == 4 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "http" not in html.lower().replace("http-equiv", "")
    md = (out / "summary.md").read_text()
    assert "| vanilla |" in md and "gap_by_consensus.png" in md
    rows = (out / "per_dilemma.csv").read_text().splitlines()
    assert rows[0].startswith("condition,dilemma_id,n_human") and len(rows) == 1 + 24
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "align" and manifest["inputs"]["human"]["sha256"]


def test_align_rejects_bad_bins_and_missing_models(tmp_path, study):
    r = CliRunner().invoke(align_command, ["--human", str(study["human"]), "--model", str(study["model"]),
                                           "--bins", "0.5,0.5", "--out", str(tmp_path / "r")])
    assert r.exit_code != 0 and "increasing" in str(r.exception)
    r = CliRunner().invoke(align_command, ["--human", str(study["human"]), "--model", str(study["model"]),
                                           "--condition", "nope", "--out", str(tmp_path / "r")])
    assert r.exit_code != 0 and "no model judgments" in str(r.exception)


def test_replay_backend_answers_prompts_from_stored_judgments(tmp_path, study):
    prompts = write_jsonl(tmp_path / "p.jsonl", [prompt_line("d00", "story", c, s) for c in ("vanilla", "dmp") for s in range(8)]
                          + [prompt_line("d00", "story", "vanilla", 99)])
    out = tmp_path / "replayed.jsonl"
    r = CliRunner().invoke(judge_command, [str(prompts), "--backend", "replay", "--replay-file", str(study["model"]),
                                           "--out", str(out)])
    assert r.exit_code != 0 and "1 prompt(s) could not be answered" in str(r.exception)
    stored = {j["id"]: j for j in map(json.loads, study["model"].read_text().splitlines())}
    got = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(got) == 16 and all(g["verdict"] == stored[g["id"]]["verdict"] for g in got)
    assert all(g["backend"] == "replay" and g["judge"] == "m" for g in got)


def test_align_accepts_aita_boraske_with_values(tmp_path, shared_data):
    d = shared_data / "aita_boraske"
    if not d.is_dir():
        pytest.skip("aita_boraske is absent")
    from moralgap.alignment.backends.replay import load_foreign_judgments

    human = load_foreign_judgments(d / "posts.jsonl.gz", "boraske-posts")
    model = [j for j in load_foreign_judgments(d / "llm_judgments.jsonl.gz", "boraske") if j.condition == "BASIC"]
    # Value annotations would come from `moralgap annotate`; here a stand-in keyed by real ids.
    anns = [{"rationale_id": j.id, "value_ids": [VALUES[i % 6], VALUES[(i * 7) % 6]]} for i, j in enumerate(human[:200])]
    anns += [{"rationale_id": j.id, "value_ids": [VALUES[i % 2]]} for i, j in enumerate(model)]
    values = write_jsonl(tmp_path / "values.jsonl", anns)
    out = tmp_path / "r"
    r = CliRunner().invoke(align_command, ["--human", str(d / "posts.jsonl.gz"), "--human-format", "boraske-posts",
                                           "--model", str(d / "llm_judgments.jsonl.gz"), "--model-format", "boraske",
                                           "--values", str(values), "--bootstrap", "100", "--out", str(out)])
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["values"]["sides"]["human"]["mentions"] > 0
    assert any(s != "human" and v["rationales"] > 0 for s, v in metrics["values"]["sides"].items())
