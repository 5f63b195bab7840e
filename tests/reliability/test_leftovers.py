"""Killed runs leave nothing behind that the next run does not clean or repair."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit import cli, cli_cmd, write_jsonl


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def profiles(data, tmp_path):
    out = tmp_path / "profiles.json"
    r = cli("profiles", "build", "--values", data["values"], "--judgments", data["judgments"], "--dilemmas",
            data["dilemmas"], "--taxonomy", data["taxonomy"], "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def _start_big_dmp(data, profiles, out):
    args = ("dmp", "prompts", "--dilemmas", data["dilemmas"], "--profiles", profiles, "--condition", "vanilla",
            "--samples", "100000", "--out", out)
    # A shell running the suite in the background hands its children SIGINT ignored, and Python
    # then keeps ignoring it; the job must see the signals as it would from a terminal.
    proc = subprocess.Popen(cli_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        temps = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.") and p.name.endswith(".tmp")]
        if temps and temps[0].stat().st_size > 1_000_000:
            return proc, temps[0]
        time.sleep(0.05)
    proc.kill()
    pytest.fail("dmp prompts never started writing")


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_remove_the_temp_file_and_the_lock(data, profiles, tmp_path, sig, status):
    out = tmp_path / "prompts.jsonl"
    proc, temp = _start_big_dmp(data, profiles, out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert not temp.exists() and not out.exists() and _hidden(tmp_path) == []


def test_sigkill_leaves_a_temp_file_that_the_next_run_removes(data, profiles, tmp_path):
    out = tmp_path / "prompts.jsonl"
    proc, temp = _start_big_dmp(data, profiles, out)
    proc.kill()
    proc.wait()
    assert temp.exists()  # nothing can run on SIGKILL ...
    r = cli("dmp", "prompts", "--dilemmas", data["dilemmas"], "--profiles", profiles, "--condition", "vanilla",
            "--samples", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    assert not temp.exists() and _hidden(tmp_path) == []  # ... so the next run on that output cleans up
    assert len(out.read_text().splitlines()) == 6


@pytest.fixture(scope="module")
def taxonomy_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("tax")
    (d / "values.yaml").write_text("- name: Loyalty\n- name: Honesty\n- name: Care\n")
    r = cli("taxonomy", "import", d / "values.yaml", "--out", d / "tax", timeout=300)
    assert r.returncode == 0, r.stderr
    return d / "tax"


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _first_value_id(tax: Path) -> str:
    return json.loads((tax / "taxonomy.json").read_text())["values"][0]["id"]


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_swap_interrupted_between_its_two_renames_is_rolled_back_by_the_next_run(taxonomy_folder, tmp_path):
    tax = _copy(taxonomy_folder, tmp_path / "tax")
    before = (tax / "taxonomy.json").read_bytes()
    # The state a SIGKILL between the two os.replace calls leaves (a window of two adjacent
    # system calls, which no signal can be timed to hit, so it is laid out here by hand):
    # the old version moved into the .old folder, the new one still in its .tmp folder, no tax/.
    pid = _dead_pid()
    old = tmp_path / f".tax.{pid}.k2j4h5g6.old"
    old.mkdir()
    os.replace(tax, old / "tax")
    (tmp_path / f".tax.{pid}.a1b2c3d4.tmp").mkdir()
    (tmp_path / ".tax.mine.tmp").write_text("the user's own file, not a leftover")
    r = cli("taxonomy", "edit", "rename", tax, _first_value_id(old / "tax"), "Fidelity", "--in-place")
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stderr
    data = json.loads((tax / "taxonomy.json").read_text())
    assert data["values"][0]["name"] == "Fidelity"
    assert json.loads(before)["values"][0]["name"] != "Fidelity"
    assert _hidden(tmp_path) == [".tax.mine.tmp"]


def test_a_temp_folder_of_a_sigkilled_writer_is_removed_by_the_next_run(taxonomy_folder, tmp_path):
    tax = _copy(taxonomy_folder, tmp_path / "tax")
    writer = ("import sys, time; from moralgap.io import write_folder_atomically\n"
              "def write(tmp):\n    (tmp / 'taxonomy.json').write_text('{}'); print('writing', flush=True); time.sleep(60)\n"
              "write_folder_atomically(sys.argv[1], write)\n")
    proc = subprocess.Popen([sys.executable, "-c", writer, str(tax)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    assert any(n.endswith(".tmp") for n in _hidden(tmp_path))
    r = cli("taxonomy", "edit", "rename", tax, _first_value_id(tax), "Fidelity", "--in-place")
    assert r.returncode == 0, r.stderr
    assert _hidden(tmp_path) == []
    assert json.loads((tax / "taxonomy.json").read_text())["values"][0]["name"] == "Fidelity"


def test_sigterm_during_judge_releases_the_lock_and_the_rerun_finishes_the_job(tmp_path):
    from fault_server import FaultServer

    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"custom_id": f"d{i}::vanilla::0000", "body": {
        "model": "m", "messages": [{"role": "user", "content": f"Case {i}."}]}} for i in range(10)])
    out = tmp_path / "judged.jsonl"
    with FaultServer(delay_s=0.3) as server:
        args = ("judge", prompts, "--base-url", server.base_url, "--model", "m", "--concurrency", "1", "--out", out)
        proc = subprocess.Popen(cli_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "MORALGAP_PROGRESS": "0"})
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_text().count("\n") >= 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143 and "Traceback" not in err, err
        assert _hidden(tmp_path) == []  # lock released and removed
        r = cli(*args)
    assert r.returncode == 0, r.stderr
    ids = [json.loads(l)["id"] for l in out.read_text().splitlines()]
    assert sorted(ids) == sorted(f"d{i}::vanilla::0000" for i in range(10))
