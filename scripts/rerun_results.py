"""List, or rerun, the commands behind benchmarks/results/*.json.

    python scripts/rerun_results.py                          # every results file and its command
    python scripts/rerun_results.py 'taxonomy_*' 'span_filter*'   # only those names (shell globs)
    python scripts/rerun_results.py 'taxonomy_aita*' --run   # rerun them, one after another

Every results file records the exact command that wrote it, so a change that moves the build
(an extraction rule, a retrained span filter) is remeasured by rerunning the commands of the
files it touches, then ``python scripts/render_measurements.py``. ``--run`` runs them from the
repository root in name order, each with its output in ``--logs`` (one file per results name),
and stops at the first that fails unless ``--keep-going``; a command that is not one (a note
such as "(scratch copy; see the notes)") is listed and skipped. It runs what the files say and
nothing else: read the list first, since some commands take an hour or start servers.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def recorded(results: Path, patterns: list[str]) -> list[tuple[str, str, str]]:
    """``(name, command, measured_at)`` of each results file whose name matches a pattern."""
    rows = []
    for path in sorted(results.glob("*.json")):
        name = path.stem
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}: not JSON ({exc})") from None
        command = data.get("command") if isinstance(data, dict) else None
        if not isinstance(command, str) or not command.strip():
            raise SystemExit(f"{path}: no 'command' recorded")
        rows.append((name, command.strip(), str(data.get("measured_at") or "?")))
    return rows


def runnable(command: str) -> list[str] | None:
    """The command as arguments, or ``None`` for a note that is no command ("(scratch copy...)")."""
    try:
        args = shlex.split(command)
    except ValueError:
        return None
    if not args or args[0] not in ("python", "bash") or any(a.startswith("(") for a in args):
        return None
    return [sys.executable if args[0] == "python" else "bash", *args[1:]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("patterns", nargs="*", help="results names to keep (shell globs, no .json); default all")
    ap.add_argument("--run", action="store_true", help="rerun the listed commands, one after another")
    ap.add_argument("--keep-going", action="store_true", help="with --run, go on after a command fails")
    ap.add_argument("--logs", type=Path, default=Path("runs/rerun_logs"), help="with --run, where each output goes")
    ap.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)

    rows = recorded(opts.results, opts.patterns)
    if not rows:
        print(f"no results file in {opts.results} matches {' '.join(opts.patterns)}", file=sys.stderr)
        return 1
    width = max(len(name) for name, _, _ in rows)
    for name, command, when in rows:
        note = "" if runnable(command) else "   (not a command: skipped by --run)"
        print(f"{name:<{width}}  {when:<17}  {command}{note}")
    if not opts.run:
        return 0
    opts.logs.mkdir(parents=True, exist_ok=True)
    failed = []
    for n, (name, command, _) in enumerate(rows, 1):
        args = runnable(command)
        if args is None:
            continue
        log = opts.logs / f"{name}.log"
        print(f"[{n}/{len(rows)}] {name}: {command} > {log}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        with open(log, "w", encoding="utf-8") as out:
            code = subprocess.run(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
        print(f"[{n}/{len(rows)}] {name}: exit {code} after {time.perf_counter() - start:.0f} s",
              file=sys.stderr, flush=True)
        if code:
            failed.append(name)
            if not opts.keep_going:
                break
    if failed:
        print(f"failed: {', '.join(failed)} (see {opts.logs})", file=sys.stderr)
        return 1
    print("now: python scripts/render_measurements.py", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
