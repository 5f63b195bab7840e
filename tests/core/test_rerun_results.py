"""scripts/rerun_results.py lists the commands recorded in results files and reruns them."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rerun():
    spec = importlib.util.spec_from_file_location("rerun_results", REPO / "scripts" / "rerun_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def results(tmp_path: Path, commands: dict[str, str]) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for name, command in commands.items():
        (folder / f"{name}.json").write_text(json.dumps({"command": command, "measured_at": "2026-12-07T00:00Z"}))
    return folder


def test_lists_the_matching_files_with_their_commands(rerun, tmp_path, capsys):
    folder = results(tmp_path, {"bench_a": "python benchmarks/a.py --n 3", "bench_b": "python benchmarks/b.py",
                                "other": "python benchmarks/c.py (scratch copy; see the notes)"})
    assert rerun.main(["--results", str(folder), "bench_*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["bench_a", "bench_b"]
    assert "python benchmarks/a.py --n 3" in out[0]
    assert rerun.main(["--results", str(folder), "other"]) == 0
    assert "not a command" in capsys.readouterr().out
    assert rerun.main(["--results", str(folder), "nothing*"]) == 1


def test_runs_each_command_with_its_output_in_a_log_and_stops_at_a_failure(rerun, tmp_path):
    folder = results(tmp_path, {"a_prints": "python -c \"print('measured a')\"",
                                "b_fails": "python -c \"import sys; print('broke'); sys.exit(3)\"",
                                "c_prints": "python -c \"print('measured c')\"",
                                "d_note": "(carried over from the README)"})
    logs = tmp_path / "logs"
    assert rerun.main(["--results", str(folder), "--run", "--logs", str(logs)]) == 1
    assert (logs / "a_prints.log").read_text().strip() == "measured a"
    assert (logs / "b_fails.log").read_text().strip() == "broke"
    assert not (logs / "c_prints.log").exists()
    assert rerun.main(["--results", str(folder), "--run", "--keep-going", "--logs", str(logs)]) == 1
    assert (logs / "c_prints.log").read_text().strip() == "measured c"
    assert not (logs / "d_note.log").exists()


def test_a_results_file_without_a_command_is_named(rerun, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "bare.json").write_text(json.dumps({"tables": {}}))
    with pytest.raises(SystemExit, match="bare.json: no 'command' recorded"):
        rerun.main(["--results", str(folder)])


def test_every_published_results_file_records_a_command(rerun):
    rows = rerun.recorded(REPO / "benchmarks" / "results", [])
    assert rows and all(command for _, command, _ in rows)
    assert sum(rerun.runnable(command) is None for _, command, _ in rows) <= 2
