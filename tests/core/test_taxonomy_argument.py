"""Every command that takes a taxonomy takes the folder or its taxonomy.json alike."""
from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.cli_options import TaxonomyDir

VALUES = [{"id": "v1", "name": "Loyalty", "status": "accepted"}, {"id": "v2", "name": "Honesty", "status": "proposed"}]
TAXONOMY_PARAMS = {"taxonomy", "taxdir", "old", "new"}


def _commands(group=main, ctx=None, path="moralgap"):
    ctx = ctx or click.Context(main, info_name="moralgap")
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        sub = click.Context(cmd, info_name=name, parent=ctx)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, sub, f"{path} {name}")
        else:
            yield f"{path} {name}", cmd


def test_no_taxonomy_parameter_insists_on_a_folder_or_a_file():
    seen = 0
    for path, cmd in _commands():
        for p in cmd.params:
            if p.name not in TAXONOMY_PARAMS:
                continue
            seen += 1
            t = p.type
            ok = isinstance(t, TaxonomyDir) or (isinstance(t, click.Path) and t.file_okay and t.dir_okay) \
                or isinstance(t, click.types.StringParamType)
            assert ok, f"{path} {p.name}: {t!r} refuses the folder or the file"
    assert seen >= 15


@pytest.fixture
def taxdir(tmp_path) -> Path:
    d = tmp_path / "tax"
    d.mkdir()
    (d / "taxonomy.json").write_text(json.dumps({"schema_version": 1, "version": 1, "name": "t", "values": VALUES}))
    (d / "expressions.jsonl").write_text("")
    return d


@pytest.mark.parametrize("as_file", [False, True])
def test_edit_and_export_take_the_folder_or_its_file(taxdir, tmp_path, as_file):
    arg = str(taxdir / "taxonomy.json" if as_file else taxdir)
    runner = CliRunner()
    res = runner.invoke(main, ["taxonomy", "edit", "rename", arg, "v2", "Truthfulness", "--out", str(tmp_path / "v2"),
                               "--author", "t"])
    assert res.exit_code == 0, res.output
    renamed = json.loads((tmp_path / "v2" / "taxonomy.json").read_text())
    assert renamed["version"] == 2 and [v["name"] for v in renamed["values"]] == ["Loyalty", "Truthfulness"]
    res = runner.invoke(main, ["taxonomy", "export", arg, "--format", "csv", "--out", str(tmp_path / "t.csv")])
    assert res.exit_code == 0, res.output
    assert "Honesty" in (tmp_path / "t.csv").read_text()


def test_another_json_file_is_refused_with_a_pointer_to_import(taxdir, tmp_path):
    other = tmp_path / "values.json"
    other.write_text("[]")
    res = CliRunner().invoke(main, ["taxonomy", "edit", "accept", str(other), "v2", "--in-place"])
    assert res.exit_code == 2
    assert "not a taxonomy folder or its taxonomy.json" in res.output and "taxonomy import" in res.output
