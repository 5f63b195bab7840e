"""Running the real ``moralgap`` command in-process and judging how it handled one input.

``run_cli(argv)`` goes through :func:`moralgap.cli.run`, the console entry point itself (error
handling, output guard, locks), with stdout/stderr captured by click's test isolation. An
outcome is *clean* when the command

* exits 0, or exits 2 with exactly one ``error:``/``Error:`` line and no traceback;
* never lets an exception escape (anything but a clean exit is a crash);
* leaves every input byte-for-byte as it was;
* leaves no temporary or lock file, and no output at all when it refused.

Every outcome is tallied in :data:`TALLY`; the session prints the figures (see docs/reliability.md).
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

TALLY: Counter = Counter()


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    crash: BaseException | None = None


def run_cli(argv: list[str]) -> Outcome:
    from moralgap.cli import run

    runner = CliRunner()
    with runner.isolation(env={"MORALGAP_PROGRESS": "0"}) as (out, err, *_):
        code, crash = 0, None
        try:
            run([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # noqa: BLE001 - anything escaping run() is what we look for
            code, crash = None, exc
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace") if err is not None else ""
    return Outcome(code, stdout, stderr, crash)


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def check(kind: str, outcome: Outcome, workdir: Path, inputs_before: dict[str, str], outputs: list[Path]) -> None:
    """Assert the outcome is clean (see the module docstring) and tally it."""
    TALLY["tried"] += 1
    TALLY[f"tried:{kind}"] += 1
    problems = []
    if outcome.crash is not None:
        problems.append(f"exception escaped: {type(outcome.crash).__name__}: {outcome.crash}")
    elif outcome.code not in (0, 2):
        problems.append(f"exit status {outcome.code}")
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        problems.append("traceback printed")
    if outcome.code == 2:
        errors = [l for l in outcome.stderr.splitlines() if l.startswith(("error: ", "Error: "))]
        if len(errors) != 1:
            problems.append(f"{len(errors)} error lines")
        if any(p.exists() for p in outputs):
            problems.append("refused, but an output was written")
    after = {k: v for k, v in fingerprint(workdir).items() if k in inputs_before}
    if after != inputs_before:
        problems.append("an input changed")
    leftovers = [p.name for p in workdir.rglob(".*") if p.name.endswith((".tmp", ".old", ".lock"))]
    if leftovers:
        problems.append(f"leftovers {leftovers}")
    if problems:
        TALLY["unclean"] += 1
    else:
        TALLY["clean"] += 1
        TALLY[f"exit{outcome.code}"] += 1
    assert not problems, f"{kind}: {problems}\nstderr: {outcome.stderr[-1500:]}"


def summary() -> str:
    t = TALLY
    kinds = ", ".join(f"{k.split(':', 1)[1]} {n}" for k, n in sorted(t.items()) if k.startswith("tried:"))
    return (f"fuzz: {t['tried']} inputs tried, {t['clean']} handled cleanly (exit 0: {t['exit0']}, exit 2 with one "
            f"line: {t['exit2']}), {t['unclean']} not ({kinds})")


def workdir_for(tmp_root: Path, n: int) -> Path:
    d = tmp_root / f"case{n}"
    d.mkdir()
    return d


def env_ok() -> bool:
    return os.environ.get("MORALGAP_DEBUG") != "1"
