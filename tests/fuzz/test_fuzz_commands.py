"""Property-based fuzzing of the commands that read user files (no model is loaded).

Each example writes hostile files next to valid ones in a fresh folder, runs the real command
in-process, and checks that it either succeeds or refuses with one line, without a traceback,
without touching an input and without leaving a temporary, lock or partial output file
(:mod:`fuzz_harness`). The figures are printed at the end of the session (``-s`` shows them).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_harness import TALLY, check, fingerprint, run_cli, summary
from fuzz_inputs import hostile_file, number_text

EXAMPLES = 40
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

TAXONOMY = {"schema_version": 1, "version": 1, "name": "tiny", "values": [
    {"id": "v1", "name": "Loyalty", "status": "accepted"}, {"id": "v2", "name": "Honesty", "status": "accepted"}]}
DILEMMAS = [{"id": f"d{i}", "title": "T", "text": f"The main actor did thing {i}.", "topics": ["family"]} for i in range(3)]
JUDGMENTS = [{"id": f"d{i}-h{k}", "dilemma_id": f"d{i}", "judge": "human", "verdict": v, "rationale": f"Loyal {i} {k}."}
             for i in range(3) for k, v in enumerate(["NTA", "YTA", "NTA"])]
MODEL = [{"id": f"d{i}-m{k}", "dilemma_id": f"d{i}", "judge": "gpt", "verdict": "acceptable", "rationale": "Fine.",
          "condition": "vanilla"} for i in range(3) for k in range(3)]
VALUES = [{"rationale_id": j["id"], "value_ids": ["v1"] if k % 2 else ["v2", "v1"]} for k, j in enumerate(JUDGMENTS)]
PROMPTS = [{"custom_id": f"d{i}::vanilla::0000", "body": {"model": "m", "messages": [{"role": "user", "content": "Judge."}]}}
           for i in range(3)]
EXPORT = [{"id": i, "data": {"rationale_id": f"d{i}-h0", "text": "t"}, "annotations": [
    {"id": i, "completed_by": {"email": "a@x"}, "result": [
        {"from_name": "values", "to_name": "text", "type": "taxonomy", "value": {"taxonomy": [["v1"]]}}]}]} for i in range(3)]

_n = count()


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzzbase")
    files = {"taxonomy.json": json.dumps(TAXONOMY).encode(), "dilemmas.jsonl": _jsonl(DILEMMAS),
             "judgments.jsonl": _jsonl(JUDGMENTS), "model.jsonl": _jsonl(MODEL), "values.jsonl": _jsonl(VALUES),
             "prompts.jsonl": _jsonl(PROMPTS), "export.json": json.dumps(EXPORT).encode()}
    for name, data in files.items():
        (d / name).write_bytes(data)
    r = run_cli(["profiles", "build", "--values", d / "values.jsonl", "--judgments", d / "judgments.jsonl",
                 "--dilemmas", d / "dilemmas.jsonl", "--taxonomy", d / "taxonomy.json", "--out", d / "profiles.json"])
    assert r.code == 0, r.stderr
    (d / "profiles.json.manifest.json").unlink()
    return d


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\n" + summary())


def _case(base: Path, replace: dict[str, bytes]) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"case{next(_n)}-", dir=base.parent))
    for p in base.iterdir():
        shutil.copy(p, work / p.name)
    for name, data in replace.items():
        (work / name).write_bytes(data)
    return work


def _run_and_check(kind: str, work: Path, argv: list, outputs: list[Path]) -> None:
    before = fingerprint(work)
    try:
        check(kind, run_cli(argv), work, before, outputs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _profiles_argv(w: Path) -> list:
    return ["profiles", "build", "--values", w / "values.jsonl", "--judgments", w / "judgments.jsonl",
            "--dilemmas", w / "dilemmas.jsonl", "--taxonomy", w / "taxonomy.json", "--out", w / "out" / "p.json"]


_PROFILE_INPUTS = {"values.jsonl": VALUES, "judgments.jsonl": JUDGMENTS, "dilemmas.jsonl": DILEMMAS}


@SETTINGS
@given(which=st.sampled_from(sorted(_PROFILE_INPUTS)), data=st.data())
def test_profiles_build_reads_hostile_files_cleanly(base, which, data):
    blob = data.draw(hostile_file(_PROFILE_INPUTS[which]))
    w = _case(base, {which: blob})
    _run_and_check("profiles-build", w, _profiles_argv(w), [w / "out" / "p.json"])


@SETTINGS
@given(data=st.data())
def test_profiles_build_reads_a_hostile_taxonomy_cleanly(base, data):
    raw = data.draw(hostile_file([TAXONOMY]))
    w = _case(base, {"taxonomy.json": raw})
    _run_and_check("taxonomy-file", w, _profiles_argv(w), [w / "out" / "p.json"])


@SETTINGS
@given(side=st.sampled_from(["human", "model"]), data=st.data())
def test_align_reads_hostile_judgments_cleanly(base, side, data):
    name, rows = ("judgments.jsonl", JUDGMENTS) if side == "human" else ("model.jsonl", MODEL)
    w = _case(base, {name: data.draw(hostile_file(rows))})
    argv = ["align", "--human", w / "judgments.jsonl", "--model", w / "model.jsonl", "--out", w / "report",
            "--bootstrap", "100"]
    _run_and_check("align", w, argv, [w / "report"])


@SETTINGS
@given(data=st.data())
def test_dmp_prompts_reads_hostile_dilemmas_cleanly(base, data):
    w = _case(base, {"dilemmas.jsonl": data.draw(hostile_file(DILEMMAS))})
    argv = ["dmp", "prompts", "--dilemmas", w / "dilemmas.jsonl", "--profiles", w / "profiles.json",
            "--condition", "vanilla", "--condition", "dmp", "--samples", "2", "--out", w / "prompts-out.jsonl",
            "--plain-batch"]
    _run_and_check("dmp-prompts", w, argv, [w / "prompts-out.jsonl", w / "prompts-out.meta.jsonl"])


@SETTINGS
@given(data=st.data())
def test_judge_reads_hostile_prompts_cleanly(base, data):
    w = _case(base, {"prompts.jsonl": data.draw(hostile_file(PROMPTS))})
    argv = ["judge", w / "prompts.jsonl", "--backend", "replay", "--replay-file", w / "model.jsonl", "--out", w / "j.jsonl"]
    _run_and_check("judge", w, argv, [w / "j.jsonl"])


@SETTINGS
@given(data=st.data())
def test_annotate_pull_reads_a_hostile_export_cleanly(base, data):
    blob = data.draw(st.one_of(hostile_file(EXPORT), hostile_file(EXPORT).map(lambda b: b"[" + b.replace(b"\n", b",") + b"]")))
    w = _case(base, {"export.json": blob})
    argv = ["annotate", "pull", "--from-export", w / "export.json", "--out", w / "pulled.jsonl", "--per-annotator", w / "per"]
    _run_and_check("annotate-pull", w, argv, [w / "pulled.jsonl"])


@SETTINGS
@given(option=st.sampled_from(["--alpha", "--smoothing", "--min-rationales"]), value=number_text)
def test_profiles_build_absurd_numbers(base, option, value):
    w = _case(base, {})
    _run_and_check("option-profiles", w, [*_profiles_argv(w), option, value], [w / "out" / "p.json"])


# --samples is drawn from fixed values only: a random mid-sized count (say 400,000) is a valid
# request that writes gigabytes, which is not what a fuzz case should spend its time on.
_SAMPLES = st.sampled_from(["nan", "-1", "0", "1.5", "1e3", "100000000", "9" * 30, "", "match", "3"])


@SETTINGS
@given(option=st.sampled_from(["--k", "--samples", "--temperature", "--max-tokens", "--alpha", "--seed"]), data=st.data())
def test_dmp_prompts_absurd_numbers(base, option, data):
    value = data.draw(_SAMPLES if option == "--samples" else number_text)
    w = _case(base, {})
    argv = ["dmp", "prompts", "--dilemmas", w / "dilemmas.jsonl", "--profiles", w / "profiles.json", "--condition", "dmp",
            "--out", w / "o.jsonl", option, value]
    if option != "--samples":
        argv += ["--samples", "2"]
    _run_and_check("option-dmp", w, argv, [w / "o.jsonl"])


@SETTINGS
@given(option=st.sampled_from(["--bins", "--bootstrap", "--n-values"]),
       value=st.one_of(number_text, st.lists(number_text, min_size=2, max_size=4).map(",".join)))
def test_align_absurd_numbers(base, option, value):
    w = _case(base, {})
    argv = ["align", "--human", w / "judgments.jsonl", "--model", w / "model.jsonl", "--out", w / "report", option, value]
    if option != "--bootstrap":
        argv += ["--bootstrap", "100"]
    _run_and_check("option-align", w, argv, [w / "report"])


ANNOTATIONS = [{"rationale_id": f"d{i}-h0", "value_ids": ["v1"] if k else ["v2"], "annotator": f"a{k}", "source": "human"}
               for i in range(3) for k in range(2)]


@SETTINGS
@given(data=st.data())
def test_annotate_agreement_reads_hostile_annotations_cleanly(base, data):
    w = _case(base, {"ann.jsonl": data.draw(hostile_file(ANNOTATIONS))})
    argv = ["annotate", "agreement", w / "ann.jsonl", "--out", w / "agreement.json", "--taxonomy", w / "taxonomy.json"]
    _run_and_check("annotate-agreement", w, argv, [w / "agreement.json"])


@SETTINGS
@given(data=st.data())
def test_profiles_diversity_reads_hostile_values_cleanly(base, data):
    w = _case(base, {"values.jsonl": data.draw(hostile_file(VALUES))})
    argv = ["profiles", "diversity", w / "values.jsonl", w / "values.jsonl", "--taxonomy", w / "taxonomy.json"]
    _run_and_check("profiles-diversity", w, argv, [])


@SETTINGS
@given(data=st.data())
def test_read_only_commands_read_hostile_json_cleanly(base, data):
    which = data.draw(st.sampled_from(["profiles.json", "taxonomy.json"]))
    valid = json.loads((base / which).read_text())
    w = _case(base, {which: data.draw(hostile_file([valid]))})
    argv = ["profiles", "show", w / which] if which == "profiles.json" else ["taxonomy", "show", w / which]
    _run_and_check("show", w, argv, [])


def test_every_case_was_handled_cleanly():
    """Runs last in this module: the tally over all examples above."""
    assert TALLY["tried"] > 0 and TALLY["unclean"] == 0, summary()
