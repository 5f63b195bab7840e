"""``annotate auto`` says what it is doing: which annotator it loads, then a progress bar."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from test_auto_data import LABELLED, UNLABELLED, write_inputs

pytestmark = pytest.mark.slow


def test_auto_announces_the_annotator_and_shows_progress(tmp_path, monkeypatch):
    from moralgap.annotation.cli import annotate_group

    monkeypatch.setenv("MORALGAP_PROGRESS", "1")  # a bar even though stderr is not a terminal here
    paths = write_inputs(tmp_path)
    res = CliRunner().invoke(annotate_group, ["auto", str(paths["judgments"]), "--taxonomy", str(paths["taxonomy"]),
                                              "--out", str(tmp_path / "values.jsonl"), "--no-expressions"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    n = len(LABELLED) + len(UNLABELLED)
    assert f"loading the zero-shot annotator for {n} rationales" in res.stderr
    assert "annotating" in res.stderr and f"{n}/{n}" in res.stderr and "rationale" in res.stderr
