"""Line splitting, resuming into foreign files, strict JSON out, and absurd numeric options."""
from __future__ import annotations

import json

import pytest

from fault_server import FaultServer
from kit import cli, one_error_line, snapshot, write_jsonl

SEPARATORS = "\u2028\u2029\u0085"


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_unicode_line_separators_inside_strings_do_not_split_records(data, tmp_path):
    rows = [dict(j, rationale=j["rationale"] + f" one{SEPARATORS}two") for j in json.loads("[" + ",".join(
        data["judgments"].read_text().splitlines()) + "]")]
    path = write_jsonl(tmp_path / "judgments.jsonl", rows)
    assert len(path.read_text(encoding="utf-8").splitlines()) > len(rows)  # str.splitlines would cut them
    out = tmp_path / "p.json"
    r = cli("profiles", "build", "--values", data["values"], "--judgments", path, "--dilemmas", data["dilemmas"],
            "--taxonomy", data["taxonomy"], "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"{len(rows)} read" in r.stderr


def test_judge_resumes_a_file_whose_answers_hold_line_separators(tmp_path):
    answer = f"Evaluation: ACCEPTABLE\nRationale: fine{SEPARATORS}really."
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [
        {"custom_id": f"d{i}::vanilla::0000", "body": {"model": "m", "messages": [
            {"role": "user", "content": f"Case {i}. ANSWER:<<{answer}>>" + (" FAULT:400:1" if i == 2 else "")}]}}
        for i in range(4)])
    out = tmp_path / "judged.jsonl"
    with FaultServer() as server:
        first = cli("judge", prompts, "--base-url", server.base_url, "--model", "m", "--out", out)
        assert first.returncode == 2  # d2 failed with a client error; the rest are written
        second = cli("judge", prompts, "--base-url", server.base_url, "--model", "m", "--out", out)
    assert "cannot resume" not in second.stderr and "Traceback" not in second.stderr
    rows = [json.loads(l) for l in out.read_bytes().decode().split("\n") if l]
    assert len(rows) == 3 + (second.returncode == 0) and len({r["id"] for r in rows}) == len(rows)
    assert all(SEPARATORS in r["raw"] for r in rows)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00binary", b"[1, 2, 3]\n", b'{"no_id": 1}\n', b"plain text\n",
                                     b'{"id": "x"}\nnot json at all'])
def test_resuming_into_a_file_that_is_not_the_tools_own_output_is_one_line_and_leaves_it(tmp_path, content):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"custom_id": "d1::vanilla::0000", "body": {
        "model": "m", "messages": [{"role": "user", "content": "x"}]}}])
    out = tmp_path / "foreign.jsonl"
    out.write_bytes(content)
    before = snapshot(tmp_path)
    with FaultServer() as server:
        line = one_error_line(cli("judge", prompts, "--base-url", server.base_url, "--model", "m", "--out", out))
    assert "cannot resume" in line and "foreign.jsonl" in line
    assert snapshot(tmp_path) == before


def test_align_writes_strict_json_with_null_for_undefined_numbers(data, tmp_path):
    model = write_jsonl(tmp_path / "model.jsonl", [
        {"id": f"m{i}", "dilemma_id": "d1", "judge": "gpt", "verdict": "acceptable", "rationale": "ok", "condition": "vanilla"}
        for i in range(3)])  # one dilemma: a correlation is undefined
    r = cli("align", "--human", data["judgments"], "--model", model, "--out", tmp_path / "report")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "report" / "metrics.json").read_text()
    metrics = _strict(text)
    assert "NaN" not in text and "null" in text and metrics["gap"]


@pytest.mark.parametrize("args, named", [
    (("align", "--human", "{j}", "--model", "{j}", "--out", "{t}/r", "--bins", "nan,1"), "--bins"),
    (("align", "--human", "{j}", "--model", "{j}", "--out", "{t}/r", "--bins", "0.5,7"), "--bins"),
    (("align", "--human", "{j}", "--model", "{j}", "--out", "{t}/r", "--bootstrap", "100000000"), "--bootstrap"),
    (("taxonomy", "build", "{j}", "--out", "{t}/tax", "--context-weight", "nan"), "--context-weight"),
    (("taxonomy", "build", "{j}", "--out", "{t}/tax", "--context-weight", "inf"), "--context-weight"),
    (("profiles", "build", "--values", "{v}", "--judgments", "{j}", "--dilemmas", "{d}", "--taxonomy", "{x}",
      "--out", "{t}/p.json", "--alpha", "nan"), "--alpha"),
    (("dmp", "prompts", "--dilemmas", "{d}", "--profiles", "{t}/p.json", "--condition", "vanilla", "--out", "{t}/o.jsonl",
      "--temperature", "inf"), "--temperature"),
    (("dmp", "prompts", "--dilemmas", "{d}", "--profiles", "{p}", "--condition", "vanilla", "--out", "{t}/o.jsonl",
      "--samples", "1000000000000"), "--samples"),
])
def test_absurd_numeric_options_are_refused_naming_the_option(data, tmp_path, args, named):
    fill = {"j": data["judgments"], "t": tmp_path, "v": data["values"], "d": data["dilemmas"], "x": data["taxonomy"],
            "p": data["dir"] / "profiles.json"}
    if "{p}" in args:
        r = cli("profiles", "build", "--values", data["values"], "--judgments", data["judgments"], "--dilemmas",
                data["dilemmas"], "--taxonomy", data["taxonomy"], "--out", fill["p"])
        assert r.returncode == 0, r.stderr
    before = snapshot(tmp_path)
    line = one_error_line(cli(*[a.format(**fill) for a in args], timeout=60))
    assert named in line
    assert snapshot(tmp_path) == before


def test_training_with_no_positive_label_fails_clearly(data, tmp_path):
    labels = write_jsonl(tmp_path / "labels.jsonl", [{"rationale_id": f"r{i}", "text": f"text {i}", "value_ids": []}
                                                      for i in range(8)])
    line = one_error_line(cli("annotate", "train", labels, "--taxonomy", data["dir"], "--out", tmp_path / "model"))
    assert "no labelled rationale has any value" in line
    assert not (tmp_path / "model").exists()


def test_bootstrap_blocks_give_the_same_intervals_as_one_matrix(monkeypatch):
    import numpy as np

    from moralgap.alignment import bootstrap as bs

    x = np.random.default_rng(0).random(257)
    whole = bs.mean_ci(x, bs.rng(5, "bootstrap", "k").integers(0, 257, size=(2000, 257)))
    monkeypatch.setattr(bs, "BLOCK_ENTRIES", 257 * 7)  # 7 rows per block
    assert bs.mean_ci(x, bs.resample_index(257, 2000, 5, "k")) == whole


@pytest.mark.slow
def test_taxonomy_build_says_when_n_values_cannot_be_met(repo_root, tmp_path):
    r = cli("taxonomy", "build", repo_root / "data" / "sample" / "judgments.jsonl", "--out", tmp_path / "tax",
            "--n-values", "100000", timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    tax = json.loads((tmp_path / "tax" / "taxonomy.json").read_text())
    n = len(tax["values"])
    # The clustering's own count, before values that were one word's forms were joined.
    clustered = n + sum(k - 1 for k in tax["stats"]["word_families_joined"].values())
    assert f"--n-values 100000 cannot be met" in r.stderr and f"support {clustered} values" in r.stderr
    assert f"the taxonomy has {n}" in r.stderr


@pytest.mark.slow
def test_build_on_rationales_without_value_expressions_names_the_file(tmp_path):
    # Found only once the real extractor has read every rationale, deep in the fit: the message
    # still names the file the user gave, and nothing is written.
    judgments = write_jsonl(tmp_path / "german.jsonl", [
        {"id": "a", "dilemma_id": "d", "verdict": "acceptable", "rationale": "Sie sollte ehrlich sein."}])
    line = one_error_line(cli("taxonomy", "build", judgments, "--out", tmp_path / "tax", timeout=600))
    assert f"{judgments}: field 'rationale': no value expressions were found" in line
    assert not (tmp_path / "tax").exists()


def test_an_error_about_no_file_starts_at_the_field():
    from moralgap.errors import InputError

    assert str(InputError(None, "an edit needs an author", field="author")) == "field 'author': an edit needs an author"
    assert str(InputError(None, "bad", line=3)) == "line 3: bad"
    moved = InputError(None, "none found", field="rationale").in_file("j.jsonl")
    assert str(moved) == "j.jsonl: field 'rationale': none found"
    kept = InputError("a.jsonl", "bad", line=2)
    assert kept.in_file("b.jsonl") is kept


def test_counts_in_build_messages_read_as_english():
    from moralgap.taxonomy.cli_build import counted

    assert counted(1, "value") == "1 value" and counted(0, "value") == "0 values"
    assert counted(5, "distinct expression") == "5 distinct expressions"


@pytest.mark.slow
def test_show_keeps_a_span_found_across_a_paragraph_break_on_one_line(tmp_path):
    # As on the real AITA comments ("esh\n\nyou told the truth"): the extractor's span runs over
    # the blank line and is set apart as a fragment; the listing still has one line per reason.
    rationales = ["esh\n\nyou told the truth, but in the bluntest and least tactful way.",
                  "NTA. Honesty matters and you respected her boundaries.",
                  "YTA. You lied to your sister and broke her trust.",
                  "NTA, she was being unfair to you.",
                  "YTA, that was disrespectful and rude to your mother."]
    judgments = write_jsonl(tmp_path / "j.jsonl", [
        {"id": f"r{i}", "dilemma_id": f"d{i}", "verdict": "acceptable", "rationale": t} for i, t in enumerate(rationales)])
    assert cli("taxonomy", "build", judgments, "--out", tmp_path / "tax", "--n-values", "3", timeout=600).returncode == 0
    crossing = [e for e in map(json.loads, (tmp_path / "tax" / "expressions.jsonl").read_text().splitlines())
                if "\n" in e["text"]]
    assert crossing and all(e["excluded"] for e in crossing)
    shown = cli("taxonomy", "show", tmp_path / "tax", "--excluded", timeout=600)
    assert shown.returncode == 0, shown.stderr
    # Each line is a reason's row (or the open words' header and row): none is a piece of a form.
    lines = shown.stdout.splitlines()
    assert all(ln.startswith("  ") or ln.startswith("open words") for ln in lines[1:]), lines
    row = next(ln for ln in lines if ln.split()[:1] == [crossing[0]["excluded"]])
    assert " ".join(crossing[0]["text"].split()) in row
