"""Helpers shared by the benchmark scripts: locating ../shared/data, timing, memory, tables.

Every table a benchmark prints is also kept, and :func:`save_results` writes them with the
exact command to ``benchmarks/results/<name>.json``. ``scripts/render_measurements.py`` builds
``docs/measurements.md`` from those files, so the figures in the docs are the benchmarks' own
output, never hand copies.
"""
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


def aita_judgments() -> list:
    """The real AITA top comments (../shared/data/aita_boraske) as judgments, one per post with a
    comment; each post is its own dilemma."""
    from moralgap.records import Judgment

    posts = read_jsonl_gz(shared_data() / "aita_boraske" / "posts.jsonl.gz")
    return [Judgment(id=p["post_key"], dilemma_id=p["post_key"], verdict="acceptable", rationale=p["human_top_comment"])
            for p in posts if (p.get("human_top_comment") or "").strip()]


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


# MORALGAP_RESULTS_DIR sends a trial run's JSON elsewhere, leaving the published figures alone.
RESULTS_DIR = Path(os.environ.get("MORALGAP_RESULTS_DIR", REPO / "benchmarks" / "results"))
_TABLES: dict[str, dict] = {}


def print_table(rows: list[dict], columns: list[str], name: str | None = None) -> None:
    """Print ``rows`` as a text table and keep them for :func:`save_results` under ``name``."""
    record_table(rows, columns, name)
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def record_table(rows: list[dict], columns: list[str], name: str | None = None) -> None:
    name = name or f"table{len(_TABLES) + 1}"
    _TABLES[name] = {"columns": list(columns), "rows": [[_plain(r.get(c)) for c in columns] for r in rows]}


def _plain(v):
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)


def embed_text_suffix(embed_text: str, context_weight: float) -> str:
    """What a run with a non-default ``--embed-text`` adds to its results name (``_sentence_w3``),
    so that it never overwrites the default build's figures; ``""`` for the default."""
    from moralgap.taxonomy.space import embeds_context

    if embed_text == "norm":
        return ""
    return f"_{embed_text.replace('+', '_')}" + (f"_w{context_weight:g}" if embeds_context(embed_text) else "")


def save_results(name: str | None = None) -> Path:
    """Write the tables printed so far, the command and the machine's state to the results folder."""
    import platform
    import shlex
    from datetime import datetime, timezone

    name = name or Path(sys.argv[0]).stem
    data = {
        "benchmark": name,
        "command": "python " + shlex.join(["benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]]),
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
        "machine": {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 1),
                    "python": platform.python_version()},
        "tables": _TABLES,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(results_json(data), encoding="utf-8")
    os.replace(tmp, path)
    print(f"results written to {path}", file=sys.stderr)
    return path


def results_json(data: dict) -> str:
    """JSON with one table row per line, so a rerun's diff shows which figures moved."""
    tables = data.get("tables", {})
    head = json.dumps({k: v for k, v in data.items() if k != "tables"}, indent=1, ensure_ascii=False)
    parts = []
    for name, t in tables.items():
        rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in t["rows"])
        extra = "".join(f', {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}' for k, v in t.items()
                        if k not in ("columns", "rows"))
        parts.append(f'  {json.dumps(name)}: {{"columns": {json.dumps(t["columns"], ensure_ascii=False)}{extra}, "rows": [\n{rows}\n  ]}}')
    return head[:-2] + ',\n "tables": {\n' + ",\n".join(parts) + "\n }\n}\n"
