"""``annotate auto`` says what it is doing: which annotator it loads, then a progress bar."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_auto_data import LABELLED, UNLABELLED, write_inputs

pytestmark = pytest.mark.slow


def test_auto_announces_the_annotator_and_shows_progress(tmp_path):
    # In its own process, as a user runs it: the bar must not depend on what other tests left
    # in this process (tqdm's and click's global state).
    paths = write_inputs(tmp_path)
    env = {**os.environ, "MORALGAP_PROGRESS": "1"}  # a bar even though stderr is not a terminal here
    res = subprocess.run([sys.executable, "-m", "moralgap.cli", "annotate", "auto", str(paths["judgments"]),
                          "--taxonomy", str(paths["taxonomy"]), "--out", str(tmp_path / "values.jsonl"),
                          "--no-expressions"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    n = len(LABELLED) + len(UNLABELLED)
    assert f"loading the zero-shot annotator for {n} rationales" in res.stderr
    # The bar opens at 0/n; whether n/n is drawn before it closes depends on tqdm's refresh
    # interval (a warm embedding cache finishes within it), so only the total is checked.
    assert "annotating" in res.stderr and f"0/{n}" in res.stderr and "rationale" in res.stderr
