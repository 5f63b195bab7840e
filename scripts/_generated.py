"""The shared tail of the scripts that generate a docs page: write it, or with ``--check`` only compare."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_or_check(out: Path, text: str, *, check: bool, script: str) -> int:
    """Exit status: with ``check``, 1 when ``out`` differs from ``text``; otherwise write ``out`` atomically.

    ``script`` is the command that regenerates the page, named in the out-of-date message.
    """
    rel = out.relative_to(REPO)
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            print(f"{rel} is out of date: run python {script}", file=sys.stderr)
            return 1
        return 0
    out.parent.mkdir(exist_ok=True)
    # Written beside and renamed, so a reader (or a killed run) never sees half a page.
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"wrote {rel}")
    return 0
