"""The README as a newcomer follows it: its command blocks in order, its Python blocks as one notebook.

Blocks run in a scratch folder holding a copy of ``data/sample``, so the commands run exactly as
printed (relative paths included). A block preceded by ``<!-- no-test: reason -->`` is skipped:
it installs packages or starts a server.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\s*$")
# Stage pages whose examples continue from the README's outputs; the others need a server or
# third-party data and say so block by block.
DOC_PAGES = ("taxonomy.md", "profiling.md", "alignment.md")
NO_TEST = re.compile(r"^<!--\s*no-test:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass
class Block:
    lang: str
    code: str
    line: int
    skip: str | None


def blocks(path: Path) -> list[Block]:
    out, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            start = i
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            skip = NO_TEST.match(prev)
            out.append(Block(m.group(1), "\n".join(lines[start + 1:j]), start + 1, skip["reason"] if skip else None))
            i = j + 1
        else:
            i += 1
    return out


def scratch(tmp: Path) -> Path:
    shutil.copytree(REPO / "data" / "sample", tmp / "data" / "sample")
    return tmp


def env() -> dict:
    bindir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), MORALGAP_PROGRESS="0")


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{p}" for p in DOC_PAGES)])
def test_skipped_blocks_say_why(page):
    for b in blocks(REPO / page):
        if b.skip is not None:
            assert b.skip, f"{page}:{b.line}: a no-test mark needs a reason"


def test_readme_blocks_are_marked_and_runnable_kinds():
    found = blocks(REPO / "README.md")
    assert [b for b in found if b.lang == "bash" and not b.skip], "the README has no tested command block"
    assert [b for b in found if b.lang == "python"], "the README has no Python example"
    for b in found:
        if b.skip is not None:
            assert b.skip, f"README.md:{b.line}: a no-test mark needs a reason"
            assert b.lang == "bash", f"README.md:{b.line}: only command blocks may be skipped"
    # Every stage has a Python example.
    code = "\n".join(b.code for b in found if b.lang == "python")
    for entry in ("TaxonomyBuilder", "ZeroShotAnnotator", "ProfileBuilder", "write_prompts", "JudgeRunner", "gap_analysis"):
        assert entry in code


def _run_blocks(page: Path, cwd: Path) -> int:
    ran = 0
    for b in blocks(page):
        if b.lang != "bash" or b.skip:
            continue
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", b.code], cwd=cwd, env=env(), capture_output=True,
                              text=True, timeout=1800)
        where = page.relative_to(REPO)
        assert proc.returncode == 0, f"{where}:{b.line}: block failed\n{b.code}\n--- stderr\n{proc.stderr[-3000:]}"
        ran += 1
    return ran


@pytest.mark.slow
@pytest.mark.llm
def test_readme_then_stage_pages_commands_run_in_order(tmp_path):
    """The README walk-through, then the stage pages that build on its outputs (runs/...)."""
    cwd = scratch(tmp_path)
    assert _run_blocks(REPO / "README.md", cwd) >= 1
    assert (cwd / "runs" / "report" / "report.html").is_file()
    for page in DOC_PAGES:
        assert _run_blocks(REPO / "docs" / page, cwd) >= 1, page
    # The taxonomy page's edit example and the annotation page's annotator example continue from
    # the same outputs (the taxonomy page's build example is the README notebook's, run below).
    code = "\n\n".join(b.code for b in blocks(REPO / "docs" / "taxonomy.md") if b.lang == "python" and "edits." in b.code)
    code += "\n\n" + "\n\n".join(b.code for b in blocks(REPO / "docs" / "annotation.md") if b.lang == "python")
    assert "edits." in code and "ZeroShotAnnotator.load" in code
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.llm
def test_readme_python_examples_run_as_one_notebook(tmp_path):
    cwd = scratch(tmp_path)
    code = "\n\n".join(b.code for b in blocks(REPO / "README.md") if b.lang == "python")
    (cwd / "notebook.py").write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "notebook.py"], cwd=cwd, env=env(), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("taxonomy/taxonomy.json", "profiles.json", "prompts.jsonl", "judgments.jsonl", "report/report.html"):
        assert (cwd / "runs" / "py" / name).is_file(), name
    assert "'vanilla':" in proc.stdout and "'dmp':" in proc.stdout
