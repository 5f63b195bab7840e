"""Outputs are never an input, are locked for the whole run, and are checked before any work."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from kit import cli, cli_cmd, one_error_line, snapshot, write_jsonl
from fault_server import FaultServer


def prompts_file(path: Path, n: int) -> Path:
    rows = [{"custom_id": f"d{i}::vanilla::0000", "body": {"model": "m", "messages": [
        {"role": "user", "content": f"Dilemma number {i}. Evaluation: ACCEPTABLE or UNACCEPTABLE?"}]}}
        for i in range(n)]
    return write_jsonl(path, rows)


def profiles_args(data, out):
    return ("profiles", "build", "--values", data["values"], "--judgments", data["judgments"],
            "--dilemmas", data["dilemmas"], "--taxonomy", data["taxonomy"], "--out", out)


@pytest.mark.parametrize("case", ["profiles-own-values", "profiles-symlink", "profiles-hardlink", "dmp-dilemmas",
                                  "judge-human-file", "judge-sidecar", "align-folder-holds-input",
                                  "file-of-input-folder"])
def test_output_that_is_an_input_is_refused_and_input_unchanged(data, tmp_path, case):
    d = data["dir"]
    if case == "profiles-own-values":
        args = profiles_args(data, data["values"])
    elif case == "profiles-symlink":
        (tmp_path / "link.json").symlink_to(data["values"])
        args = profiles_args(data, tmp_path / "link.json")
    elif case == "profiles-hardlink":
        os.link(data["judgments"], tmp_path / "hard.json")
        args = profiles_args(data, tmp_path / "hard.json")
    elif case == "dmp-dilemmas":
        args = ("dmp", "prompts", "--dilemmas", data["dilemmas"], "--profiles", tmp_path / "p.json",
                "--condition", "vanilla", "--out", data["dilemmas"])
    elif case == "judge-human-file":
        args = ("judge", prompts_file(tmp_path / "prompts.jsonl", 2), "--backend", "replay",
                "--replay-file", data["judgments"], "--out", data["judgments"])
    elif case == "judge-sidecar":
        # The default metadata sidecar is read by judge although no option names it.
        prompts = prompts_file(d / "prompts.jsonl", 2)
        write_jsonl(d / "prompts.meta.jsonl", [{"custom_id": "d0::vanilla::0000", "seed": 1}])
        args = ("judge", prompts, "--backend", "replay", "--replay-file", data["judgments"], "--out", d / "prompts.meta.jsonl")
    elif case == "file-of-input-folder":
        # --taxonomy names the folder; its taxonomy.json is what the command reads.
        args = profiles_args({**data, "taxonomy": d}, d / "taxonomy.json")
    else:
        args = ("align", "--human", data["judgments"], "--model", data["judgments"], "--out", d)
    before = snapshot(tmp_path)
    r = cli(*args)
    line = one_error_line(r)
    assert "input" in line
    assert snapshot(tmp_path) == before


def test_second_run_on_the_same_output_fails_at_once_naming_the_holder(tmp_path):
    prompts = prompts_file(tmp_path / "prompts.jsonl", 8)
    out = tmp_path / "judged.jsonl"
    with FaultServer(delay_s=0.4) as server:
        args = ("judge", prompts, "--base-url", server.base_url, "--model", "m", "--concurrency", "1", "--out", out)
        env = {**os.environ, "MORALGAP_PROGRESS": "0"}
        first = subprocess.Popen(cli_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            lock = tmp_path / ".judged.jsonl.lock"
            deadline = time.monotonic() + 60
            while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
                time.sleep(0.05)
            t = time.monotonic()
            second = cli(*args)
            refused_in = time.monotonic() - t
            line = one_error_line(second)
            assert f"pid {first.pid}" in line and str(out) in line
            assert refused_in < 15  # at once: no waiting for the first run (interpreter start-up included)
            # A second concurrent taxonomy-style folder output is refused the same way (here: align's report).
        finally:
            _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(f"d{i}::vanilla::0000" for i in range(8))  # each exactly once
    assert not (tmp_path / ".judged.jsonl.lock").exists()


def test_sigkilled_holder_does_not_block_and_resume_loses_nothing(tmp_path):
    prompts = prompts_file(tmp_path / "prompts.jsonl", 10)
    out = tmp_path / "judged.jsonl"
    with FaultServer(delay_s=0.3) as server:
        args = ("judge", prompts, "--base-url", server.base_url, "--model", "m", "--concurrency", "1", "--out", out)
        env = {**os.environ, "MORALGAP_PROGRESS": "0"}
        first = subprocess.Popen(cli_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_text().count("\n") >= 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()
        first.wait()
        r = cli(*args)
    assert r.returncode == 0, r.stderr
    ids = [json.loads(l)["id"] for l in out.read_text().splitlines()]
    assert sorted(ids) == sorted(f"d{i}::vanilla::0000" for i in range(10))
    assert not (tmp_path / ".judged.jsonl.lock").exists()


def test_unwritable_outputs_fail_before_any_model_loads(data, tmp_path, deny_writes):
    (tmp_path / "afile").write_text("x")
    t = time.monotonic()
    # A file where the output folder goes: refused before the spaCy/embedding models load.
    line = one_error_line(cli("taxonomy", "build", data["judgments"], "--out", tmp_path / "afile"))
    assert "is a file" in line and "afile" in line
    line = one_error_line(cli("taxonomy", "build", data["judgments"], "--out", tmp_path / "afile" / "sub"))
    assert "is a file, not a folder" in line
    assert time.monotonic() - t < 30
    # A folder where the output file goes.
    (tmp_path / "adir").mkdir()
    line = one_error_line(cli(*profiles_args(data, tmp_path / "adir")))
    assert "adir" in line and ("is a folder" in line or "is a directory" in line)
    # No write permission (enforced for root too: the bypassing capability is dropped).
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = one_error_line(cli(*profiles_args(data, ro / "p.json"), prefix=deny_writes))
        assert "permission" in line and str(ro) in line
        line = one_error_line(cli("taxonomy", "build", data["judgments"], "--out", ro / "tax", prefix=deny_writes))
        assert "permission" in line
    finally:
        ro.chmod(0o755)
    assert sorted(p.name for p in ro.iterdir()) == []


def test_taxonomy_json_that_is_a_folder_is_one_line(data, tmp_path):
    tax = tmp_path / "tax"
    (tax / "taxonomy.json").mkdir(parents=True)
    line = one_error_line(cli(*profiles_args({**data, "taxonomy": tax}, tmp_path / "p.json")))
    assert "is a folder" in line and "taxonomy.json" in line


def test_no_lock_or_temp_file_is_left_after_a_run(data, tmp_path):
    out = tmp_path / "out" / "profiles.json"
    r = cli(*profiles_args(data, out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["profiles.json", "profiles.json.manifest.json"]


def test_two_runs_writing_one_taxonomy_folder_second_refused_first_complete(tmp_path):
    (tmp_path / "values.yaml").write_text("- name: Loyalty\n- name: Honesty\n")
    out = tmp_path / "tax"
    args = ("taxonomy", "import", tmp_path / "values.yaml", "--out", out)
    first = subprocess.Popen(cli_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = tmp_path / ".tax.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = cli(*args)  # the first is still loading its embedding model (seconds) while this runs
        line = one_error_line(second)
        assert f"pid {first.pid}" in line and "tax" in line
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads((out / "taxonomy.json").read_text())["values"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_other_files_in_an_input_folder_may_be_written(data):
    out = data["dir"] / "profiles.json"  # beside the taxonomy.json this command reads, not over it
    r = cli(*profiles_args({**data, "taxonomy": data["dir"]}, out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["groups"]
