"""The profiles and dmp commands end to end on the hand-made dataset."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.manifest import file_sha256
from moralgap.profiling.batch import parse_custom_id


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def profiles_json(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "profiles.json"
    invoke("profiles", "build", "--values", toy["values"], "--judgments", toy["judgments"], "--dilemmas", toy["dilemmas"],
           "--taxonomy", toy["dir"], "--out", out, "--min-rationales", "3")
    return out


def test_profiles_build_writes_a_versioned_file_with_input_hashes_and_a_manifest(profiles_json, toy):
    data = json.loads(profiles_json.read_text())
    assert data["schema_version"] == 1 and data["taxonomy"] == {"name": "toy", "version": 3, "n_values": 4}
    assert data["inputs"]["values"]["sha256"] == file_sha256(toy["values"])
    assert data["inputs"]["taxonomy"]["sha256"] == file_sha256(toy["taxonomy"])
    assert set(data["groups"]) == {"family", "work", "money"} and data["params"]["alpha"] == 10
    manifest = json.loads(profiles_json.with_name("profiles.json.manifest.json").read_text())
    assert manifest["command"] == "profiles build" and manifest["counts"]["fallbacks"] == {"global": 1}


def test_profiles_show_and_diversity(profiles_json, toy):
    out = invoke("profiles", "show", profiles_json).stdout
    assert "family" in out and "uses __global__" in out
    group = json.loads(invoke("profiles", "show", profiles_json, "--group", "work").stdout)
    assert group["counts"] == {"v2": 2, "v4": 2}
    div = json.loads(invoke("profiles", "diversity", toy["values"], toy["values"], "--taxonomy", toy["dir"], "--json").stdout)
    assert div["files"][0]["distinct_values"] == 4 and div["pairs"][0]["js_divergence"] == pytest.approx(0.0, abs=1e-12)


def test_dmp_prompts_lines_have_the_batch_format(profiles_json, toy, tmp_path):
    out = tmp_path / "prompts.jsonl"
    invoke("dmp", "prompts", "--dilemmas", toy["dilemmas"], "--profiles", profiles_json, "--condition", "dmp",
           "--condition", "vanilla", "--condition", "population", "--samples", "3", "--unknown-group", "global",
           "--model", "smollm", "--out", out)
    lines = read_jsonl(out)
    assert len(lines) == 5 * 3 * 3 and len({l["custom_id"] for l in lines}) == len(lines)
    first = lines[0]
    assert list(first) == ["custom_id", "method", "url", "body", "moralgap"]
    assert first["custom_id"] == "d1::dmp::0000" and first["method"] == "POST" and first["url"] == "/v1/chat/completions"
    assert list(first["body"]) == ["model", "messages", "temperature", "max_tokens"] and first["body"]["model"] == "smollm"
    meta = first["moralgap"]
    assert list(meta) == ["dilemma_id", "condition", "sample", "seed", "profile", "group", "template", "template_sha256",
                          "taxonomy_version", "profiles_sha256"]
    assert meta["group"] == "family" and meta["taxonomy_version"] == 3 and meta["profiles_sha256"] == file_sha256(profiles_json)
    assert round(sum(p["weight"] for p in meta["profile"]), 2) == 1.0
    for line in lines:
        d, cond, sample = parse_custom_id(line["custom_id"])
        assert (d, cond, sample) == (line["moralgap"]["dilemma_id"], line["moralgap"]["condition"], line["moralgap"]["sample"])
        assert (line["moralgap"]["profile"] is None) == (cond != "dmp")
    assert {l["moralgap"]["group"] for l in lines if l["moralgap"]["dilemma_id"] == "d5"} == {"__global__"}


def test_dmp_show_regenerates_one_line_alone(profiles_json, toy, tmp_path):
    out = tmp_path / "prompts.jsonl"
    invoke("dmp", "prompts", "--dilemmas", toy["dilemmas"], "--profiles", profiles_json, "--condition", "shuffled",
           "--condition", "persona", "--samples", "4", "--group", "family", "--seed", "21", "--out", out)
    wanted = [l for l in read_jsonl(out) if l["custom_id"] == "d3::persona::0002"][0]
    shown = invoke("dmp", "show", "--dilemmas", toy["dilemmas"], "--profiles", profiles_json, "--group", "family",
                   "--seed", "21", "--dilemma", "d3", "--condition", "persona", "--sample", "2").stdout
    assert json.loads(shown) == wanted


def test_plain_batch_and_own_template(profiles_json, toy, tmp_path):
    tpl = tmp_path / "mine.txt"
    tpl.write_text("[user]\nProfile:\n{{profile}}\n---\n{{dilemma}}\n---\n")
    out = tmp_path / "plain.jsonl"
    invoke("dmp", "prompts", "--dilemmas", toy["dilemmas"], "--profiles", profiles_json, "--condition", "uniform",
           "--condition", "vanilla", "--template", f"uniform={tpl}", "--samples", "2", "--unknown-group", "global",
           "--plain-batch", "--out", out)
    plain, meta = read_jsonl(out), read_jsonl(tmp_path / "plain.meta.jsonl")
    assert all("moralgap" not in l for l in plain) and [m["custom_id"] for m in meta] == [l["custom_id"] for l in plain]
    # Round trip: judge's reader finds the sidecar the writer wrote, without --meta.
    from moralgap.alignment.prompts_file import read_prompts

    lines = read_prompts(out)
    assert [(l.seed, l.meta.get("group"), l.meta.get("template")) for l in lines] == \
        [(m["seed"], m["group"], m["template"]) for m in meta]
    assert all(l.seed is not None and l.meta.get("template") for l in lines)
    uniform = [m for m in meta if m["condition"] == "uniform"]
    assert {m["template"] for m in uniform} == {"mine.txt"} and uniform[0]["template_sha256"] == file_sha256(tpl)
    assert {m["template"] for m in meta if m["condition"] == "vanilla"} == {"vanilla.txt"}


def test_errors_are_one_line_with_exit_status_2(profiles_json, toy, tmp_path):
    bad = tmp_path / "values.jsonl"
    bad.write_text('{"rationale_id": "d1-h1", "value_ids": ["v77"]}\n')
    run = lambda *a: subprocess.run([sys.executable, "-m", "moralgap.cli", *map(str, a)], capture_output=True, text=True)
    r = run("profiles", "build", "--values", bad, "--judgments", toy["judgments"], "--dilemmas", toy["dilemmas"],
            "--taxonomy", toy["taxonomy"], "--out", tmp_path / "p.json")
    assert r.returncode == 2 and f"{bad}:1: field 'value_ids.0'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "p.json").exists()
    r = run("dmp", "prompts", "--dilemmas", toy["dilemmas"], "--profiles", profiles_json, "--condition", "dmp",
            "--out", tmp_path / "x.jsonl")
    assert r.returncode == 2 and "'d5'" in r.stderr and not (tmp_path / "x.jsonl").exists()
    r = run("profiles", "build", "--values", toy["values"], "--judgments", toy["judgments"], "--dilemmas", toy["dilemmas"],
            "--taxonomy", toy["taxonomy"], "--out", tmp_path / "p.json", "--alpha", "0")
    assert r.returncode == 2 and "alpha" in r.stderr


def test_samples_match_the_number_of_human_judgments(profiles_json, toy, tmp_path):
    out = tmp_path / "match.jsonl"
    invoke("dmp", "prompts", "--dilemmas", toy["dilemmas"], "--profiles", profiles_json, "--condition", "vanilla",
           "--samples", "match", "--judgments", toy["judgments"], "--out", out)
    per_dilemma = {}
    for line in read_jsonl(out):
        per_dilemma[line["moralgap"]["dilemma_id"]] = per_dilemma.get(line["moralgap"]["dilemma_id"], 0) + 1
    assert per_dilemma == {"d1": 3, "d2": 2, "d3": 3, "d4": 1}  # d1-m1 is a model's judgment; d5 has none


def test_profiles_show_explains_its_columns(profiles_json):
    out = invoke("profiles", "show", profiles_json).stdout
    header = next(line for line in out.splitlines() if line.startswith("group"))
    assert header.split()[1:5] == ["rationales", "valued", "mentions", "H_norm"] and "MLE conc" in header
    assert "MLE conc: concentration of the group's" in " ".join(out.split()) and "1e+06: no spread beyond sampling noise" in out.replace("\n", " ")


def test_profiles_build_takes_the_taxonomy_folder_or_its_file(profiles_json, toy, tmp_path):
    out = tmp_path / "from_file.json"
    invoke("profiles", "build", "--values", toy["values"], "--judgments", toy["judgments"], "--dilemmas", toy["dilemmas"],
           "--taxonomy", toy["taxonomy"], "--out", out, "--min-rationales", "3")
    assert json.loads(out.read_text())["groups"] == json.loads(profiles_json.read_text())["groups"]
