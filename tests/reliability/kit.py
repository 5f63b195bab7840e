"""Shared pieces of the reliability tests (a module of its own: every test folder has a conftest): a small valid dataset and a way to run the real CLI.

``cli(...)`` runs ``python -m moralgap.cli`` in a fresh process (real signals, real locks, the
real exit status and stderr). ``deny_writes`` gives a command prefix under which write
permissions are enforced even for root (the capability that bypasses them is dropped).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "alignment"))  # fault_server

TAXONOMY = {"schema_version": 1, "version": 1, "name": "tiny", "values": [
    {"id": "v1", "name": "Loyalty", "status": "accepted"},
    {"id": "v2", "name": "Honesty", "status": "accepted"},
    {"id": "v3", "name": "Care", "status": "accepted"},
]}
DILEMMAS = [
    {"id": "d1", "title": "Rehearsal", "text": "The main actor skipped a rehearsal for work.", "topics": ["family"]},
    {"id": "d2", "text": "The main actor refused to host a dinner.", "topics": ["family"]},
    {"id": "d3", "text": "The main actor reported a colleague.", "topics": ["work"]},
]
JUDGMENTS = [
    {"id": f"{d}-h{i}", "dilemma_id": d, "judge": "human", "verdict": v, "rationale": f"Because of loyalty and care {d} {i}."}
    for d in ("d1", "d2", "d3") for i, v in enumerate(("NTA", "YTA", "NTA"))
]
VALUES = [{"rationale_id": j["id"], "value_ids": [["v1"], ["v2"], ["v3", "v1"]][k % 3]} for k, j in enumerate(JUDGMENTS)]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path) -> dict[str, Path]:
    d = tmp_path / "data"
    d.mkdir()
    (d / "taxonomy.json").write_text(json.dumps(TAXONOMY), encoding="utf-8")
    return {"dir": d, "taxonomy": d / "taxonomy.json", "dilemmas": write_jsonl(d / "dilemmas.jsonl", DILEMMAS),
            "judgments": write_jsonl(d / "judgments.jsonl", JUDGMENTS), "values": write_jsonl(d / "values.jsonl", VALUES)}


def cli_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "moralgap.cli", *map(str, args)]


def cli(*args, prefix=(), env=None, timeout=120, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "MORALGAP_PROGRESS": "0", **(env or {})}
    return subprocess.run([*prefix, *cli_cmd(*args)], capture_output=True, text=True, env=full_env, timeout=timeout, **kw)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    """The single error line of a refused run: ``error: ...`` (moralgap) or ``Error: ...`` (click's usage check)."""
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [l for l in lines if l.startswith(("error: ", "Error: "))]
    assert len(errors) == 1, r.stderr
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (hidden ones too), to prove nothing changed or was left."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def deny_writes():
    """Command prefix under which a read-only folder really is read-only, also for root."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the capability that bypasses permissions")
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")
