"""Generated docs stay in step with their sources: the CLI reference and the measurements page."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script", ["cli_reference", "render_measurements"])
def test_generated_page_is_up_to_date(script):
    proc = subprocess.run([sys.executable, f"scripts/{script}.py", "--check"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_cli_reference_covers_every_command():
    from click.testing import CliRunner

    from moralgap.cli import SUBCOMMANDS, main

    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in SUBCOMMANDS:
        assert f"## `moralgap {name}`" in text
    # The reference is the help text itself, not a paraphrase of it.
    help_text = CliRunner().invoke(main, ["align", "--help"], terminal_width=100).output
    assert "--bootstrap" in help_text and "--bootstrap" in text


def test_measurements_tables_come_from_results_json(tmp_path):
    rm = _script("render_measurements")
    results = {"bench": {"command": "python benchmarks/bench.py --n 3", "measured_at": "2026-12-04T10:00Z",
                         "machine": {"cpus": 2, "load_average_1min": 0.5},
                         "tables": {"main": {"columns": ["method", "score", "n"], "rows": [["a", 0.51234, 1200]]}}}}
    text = rm.render("# T\n\n{{table bench/main}}\n\n{{source bench}}\n", results)
    assert "| method | score | n |" in text
    assert "| a | 0.512 | 1,200 |" in text
    assert "Command: `python benchmarks/bench.py --n 3`; measured 2026-12-04T10:00Z on 2 CPUs" in text


@pytest.mark.parametrize("template, message", [
    ("{{table missing/main}}", "no results file benchmarks/results/missing.json"),
    ("{{table bench/other}}", "benchmarks/results/bench.json has no table 'other' (it has main)"),
])
def test_measurements_placeholder_errors_name_the_line(template, message):
    rm = _script("render_measurements")
    results = {"bench": {"command": "x", "tables": {"main": {"columns": ["a"], "rows": [[1]]}}}}
    with pytest.raises(rm.RenderError, match="measurements.md.in:2: " + message.replace("(", r"\(").replace(")", r"\)")):
        rm.render("intro\n" + template + "\n", results)


def test_benchmark_writes_results_json_the_page_can_render(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import _common
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    monkeypatch.setattr(_common, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(_common, "_TABLES", {})
    monkeypatch.setattr(sys, "argv", ["benchmarks/demo.py", "--n", "5"])
    _common.print_table([{"method": "m", "purity": 0.6}], ["method", "purity"], name="main")
    path = _common.save_results()
    data = json.loads(path.read_text())
    assert data["command"] == "python benchmarks/demo.py --n 5"
    assert data["tables"]["main"] == {"columns": ["method", "purity"], "rows": [["m", 0.6]]}
    rm = _script("render_measurements")
    assert "| m | 0.6 |" in rm.render("{{table demo/main}}", rm.load_results(tmp_path))
