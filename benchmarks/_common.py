"""Helpers shared by the benchmark scripts: locating ../shared/data, timing, memory, tables."""
from __future__ import annotations

import gzip
import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def shared_data() -> Path:
    d = Path(os.environ.get("MORALGAP_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not d.is_dir():
        sys.exit(f"third-party data folder {d} not found (set MORALGAP_SHARED_DATA)")
    return d


def read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


@contextmanager
def stopwatch(times: dict, key: str):
    t = time.perf_counter()
    yield
    times[key] = times.get(key, 0.0) + time.perf_counter() - t


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)
