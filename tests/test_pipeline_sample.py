"""scripts/sample_pipeline.sh end to end on a cut-down sample: every stage through the real CLI,
SmolLM2-135M-Instruct served by a real llama-cpp-python server on 127.0.0.1, then a rerun that
must skip every stage and change nothing."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "sample_pipeline.sh"
N_DILEMMAS, SAMPLES = 3, 2


def _subset(sample_dir: Path, out: Path) -> tuple[Path, Path]:
    dilemmas = [json.loads(l) for l in (sample_dir / "dilemmas.jsonl").read_text().splitlines() if l.strip()][:N_DILEMMAS]
    keep = {d["id"] for d in dilemmas}
    judgments = [l for l in (sample_dir / "judgments.jsonl").read_text().splitlines()
                 if l.strip() and json.loads(l)["dilemma_id"] in keep]
    (out / "dilemmas.jsonl").write_text("".join(json.dumps(d) + "\n" for d in dilemmas))
    (out / "judgments.jsonl").write_text("\n".join(judgments) + "\n")
    return out / "dilemmas.jsonl", out / "judgments.jsonl"


def _run(out: Path, env: dict) -> str:
    res = subprocess.run(["bash", str(SCRIPT), str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


@pytest.mark.slow
@pytest.mark.llm
def test_sample_pipeline_end_to_end_and_rerun(tmp_path, sample_dir, benchmark_module, monkeypatch):
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python server not installed (scripts/llama_server_wheel.sh)")
    dilemmas, judgments = _subset(Path(sample_dir), tmp_path)
    out = tmp_path / "run"
    env = {**os.environ, "DILEMMAS": str(dilemmas), "JUDGMENTS": str(judgments), "SAMPLES": str(SAMPLES),
           "MAX_TOKENS": "32", "N_VALUES": "8", "BOOTSTRAP": "200", "MORALGAP_PROGRESS": "0"}
    first = _run(out, env)

    report = out / "report_server_grammar"
    for name in ("report.html", "summary.md", "metrics.json", "per_dilemma.csv", "gap_by_consensus.png",
                 "p_human_vs_model.png", "value_rank_frequency.png"):
        assert (report / name).stat().st_size > 0, name
    model = [json.loads(l) for l in (out / "judgments_server_grammar.jsonl").read_text().splitlines()]
    assert len(model) == N_DILEMMAS * 2 * SAMPLES == len({j["id"] for j in model})
    # The answer grammar makes every reply parse; the verdict is still the model's.
    assert all(j["verdict"] in ("acceptable", "unacceptable") and j["rationale"] for j in model)

    metrics = json.loads((report / "metrics.json").read_text())
    conditions = metrics["gap"]["conditions"]
    assert set(conditions) == {"vanilla", "dmp"}
    for s in conditions.values():
        o = s["overall"]
        assert o["n_dilemmas"] == N_DILEMMAS and o["unparseable"] == 0
        assert 0.0 <= o["mean_gap"]["value"] <= 1.0 and o["mean_noise_floor"] > 0
    assert "dmp" in metrics["gap"]["change_vs_baseline"]
    sides = metrics["values"]["sides"]
    assert set(sides) == {"human", "vanilla", "dmp"}
    assert sides["human"]["rationales"] == len((out / "values_human.jsonl").read_text().splitlines()) > 0
    assert {sides[c]["rationales"] for c in ("vanilla", "dmp")} == {N_DILEMMAS * SAMPLES}
    assert "mean gap" in first and "parse failures 0/" in first

    # benchmarks/sample_pipeline.py saves its figures from what a run leaves behind.
    bench, common = benchmark_module("sample_pipeline"), benchmark_module("_common")
    monkeypatch.setattr(common, "_TABLES", {})
    bench.tables_of_run(out)
    tables = common._TABLES
    stages = {r[0]: r[1] for r in tables["stages"]["rows"]}
    assert all(stages[name] for _, name in bench.STAGES) and stages["total"]
    gap = {r[0]: dict(zip(tables["gap"]["columns"], r)) for r in tables["gap"]["rows"]}
    for condition in ("vanilla", "dmp"):
        assert gap[condition]["dilemmas"] == N_DILEMMAS and gap[condition]["parse failures"] == f"0 / {N_DILEMMAS * SAMPLES}"
    assert 0.0 <= float(gap["human"]["P(acceptable), mean over dilemmas"]) <= 1.0 and "dmp − vanilla" in gap
    assert {r[0] for r in tables["values"]["rows"]} == {"human", "vanilla", "dmp"}

    # A rerun finds every stage stamped: nothing is recomputed or rewritten.
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".stamps" not in p.parts}
    second = _run(out, env)
    assert "skipped" in second and "starting llama-cpp-python server" not in second
    assert {p: p.read_bytes() for p in before} == before
