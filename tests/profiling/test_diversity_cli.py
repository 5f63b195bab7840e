"""``profiles diversity`` comparing people with a model, on data whose figures are known by hand.

Six dilemmas. Each has two human rationales annotated rationale-level (values a+b and c+d) and
one model rationale coded expression-level with two mentions of a (one written under e, which
was merged into a). Over the taxonomy's four active values: human top-1 share 1/4 and entropy
1, model top-1 share 1 and entropy 0, in every dilemma alike, so every resample gives the same
difference and the interval has no width.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.errors import ConfigError

VALUES = [{"id": v, "name": v.upper(), "status": "accepted"} for v in "abcd"] + [
    {"id": "e", "name": "E", "status": "merged", "merged_into": "a"}]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def study(tmp_path):
    (tmp_path / "taxonomy.json").write_text(json.dumps({"schema_version": 1, "version": 1, "name": "t", "values": VALUES}))
    judgments, human, model = [], [], []
    for d in range(6):
        for r, vals in enumerate((["a", "b"], ["c", "d"])):
            judgments.append({"id": f"h{d}{r}", "dilemma_id": f"d{d}", "verdict": "NTA", "rationale": "x"})
            human.append({"rationale_id": f"h{d}{r}", "value_ids": vals, "source": "auto"})
        judgments.append({"id": f"m{d}", "dilemma_id": f"d{d}", "judge": "gpt", "verdict": "acceptable", "rationale": "y"})
        model.append({"rationale_id": f"m{d}", "value_ids": ["a", "e"], "mentions": {"a": 1, "e": 1}, "source": "expressions"})
    return {"dir": tmp_path, "judgments": write_jsonl(tmp_path / "judgments.jsonl", judgments),
            "human": write_jsonl(tmp_path / "human.jsonl", human), "model": write_jsonl(tmp_path / "model.jsonl", model),
            "both": write_jsonl(tmp_path / "both.jsonl", human + model)}


def run(*args):
    res = CliRunner().invoke(main, ["profiles", "diversity", *map(str, args)])
    assert res.exit_code == 0, res.output
    return res


def refused(*args) -> str:
    res = CliRunner().invoke(main, ["profiles", "diversity", *map(str, args)])
    assert isinstance(res.exception, ConfigError), res.output
    return str(res.exception)


def test_human_and_model_files_give_the_paired_difference(study, tmp_path):
    out = tmp_path / "div.json"
    res = run("--human", study["human"], "--model", study["model"], "--judgments", study["judgments"], "--taxonomy",
              study["dir"], "--k", "1", "--bootstrap", "200", "--out", out)
    text = res.stdout
    assert "human vs model: 6 shared dilemmas, counting 'mentions'" in text and "entropy / log(4)" in text
    assert "pooled top-1 share" in text and "diff -0.750 [-0.750, -0.750]" in text
    assert "pooled normalised entropy human 1.000 [1.000, 1.000]  model 0.000 [0.000, 0.000]  diff 1.000" in text
    assert "values/rationale" in text and "human mean 2.000" in text and "model mean 1.000" in text
    data = json.loads(out.read_text())
    gap = data["gaps"]["model"]["mentions"]
    assert gap["sides"]["model"]["mentions"] == 12  # e was read as a: two mentions per rationale
    assert gap["difference"]["mentions_per_rationale"]["value"] == 0.0
    assert data["files"][1]["values_per_rationale_mean"] == 1.0 and data["files"][0]["values_per_rationale_median"] == 2.0
    manifest = json.loads((tmp_path / "div.json.manifest.json").read_text())
    assert manifest["command"] == "profiles diversity" and manifest["seed"] == 13


def test_sides_from_the_judge_field_and_several_countings(study):
    res = run(study["both"], "--judgments", study["judgments"], "--taxonomy", study["dir"], "--counting", "presence",
              "--counting", "rationale", "--bootstrap", "100", "--json")
    gaps = json.loads(res.stdout)["gaps"]
    assert list(gaps) == ["gpt"] and list(gaps["gpt"]) == ["presence", "rationale"]
    # presence: the model's a counts once per rationale; per rationale: each rationale weighs 1
    for counting in ("presence", "rationale"):
        g = gaps["gpt"][counting]
        assert g["counting"] == counting and g["sides"]["gpt"]["pooled"]["top_10_share"]["value"] == 1.0
        assert g["difference"]["pooled"]["normalised_entropy"]["value"] == pytest.approx(1.0)


def test_annotations_without_a_judgment_are_reported(study, tmp_path):
    extra = tmp_path / "extra.jsonl"
    extra.write_text(study["model"].read_text() + json.dumps({"rationale_id": "stray", "value_ids": ["b"]}) + "\n")
    res = CliRunner().invoke(main, ["profiles", "diversity", "--human", str(study["human"]), "--model", str(extra),
                                    "--judgments", str(study["judgments"]), "--taxonomy", str(study["dir"]), "--json"])
    assert res.exit_code == 0, res.output
    assert "1 annotation(s) name a rationale that no --judgments file holds" in res.stderr
    assert json.loads(res.stdout)["gaps"]["model"]["mentions"]["sides"]["model"]["rationales"] == 6


def test_comparison_needs_dilemmas_and_both_files(study):
    assert "need --judgments" in refused("--human", study["human"], "--model", study["model"], "--taxonomy", study["dir"])
    assert "go together" in refused("--human", study["human"], "--taxonomy", study["dir"])
