"""Extracted expressions kept on disk beside the output while a build runs.

A build on Ray reads the rationales in windows of a fixed number. What the extractor found in
window ``w`` goes to ``raw-<w>.jsonl``, each line the rationale's number and the expression;
once the span filter has judged the window, its expressions go to ``part-<w>.jsonl`` and the raw
shard is dropped. Each shard is written as a hidden ``.<name>.open`` file that is fsynced and
renamed when the window is done (a rename is atomic), so the folder only ever shows whole
windows. ``spill.json`` records what the shards were made from (the input files, their
sizes and times, the extractor, the window size); a build started again with the same input and
settings reuses every whole window, raw or judged, and extracts only the others: nothing lost,
nothing twice. Any other leftover is removed.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from moralgap.io import write_json

META = "spill.json"


def spill_folder(out: str | os.PathLike) -> Path:
    """Where the spill of a build writing ``out`` lives: a hidden sibling, on the same filesystem."""
    out = Path(out)
    return out.parent / f".{out.name}.spill"


def input_fingerprint(path: str | os.PathLike) -> list:
    """Each input file's name, size and modification time: a changed input invalidates a spill."""
    from .datasets import dataset_files, is_dataset

    files = dataset_files(path) if is_dataset(path) else [Path(path)]
    return [[str(f.resolve()), (st := f.stat()).st_size, st.st_mtime_ns] for f in files]


class ExpressionSpill:
    def __init__(self, folder: str | os.PathLike, made_from: dict):
        self.folder = Path(folder)
        self.reused = 0
        made_from = json.loads(json.dumps(made_from, default=str))  # as it reads back from spill.json
        meta = self.folder / META
        if self.folder.exists():
            try:
                same = json.loads(meta.read_text(encoding="utf-8")) == made_from
            except (OSError, ValueError):
                same = False
            if not same:
                shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for f in self.folder.glob(".*.open"):  # a window a killed run did not finish
            f.unlink()
        if not meta.exists():
            write_json(meta, made_from)

    def shard(self, window: int, *, raw: bool = False) -> Path:
        return self.folder / f"{'raw' if raw else 'part'}-{window:05d}.jsonl"

    def has(self, window: int, *, raw: bool = False) -> bool:
        return self.shard(window, raw=raw).exists()

    def read(self, window: int, *, raw: bool = False) -> Iterator[str]:
        with open(self.shard(window, raw=raw), encoding="utf-8") as fh:
            for line in fh:
                yield line.rstrip("\n")

    def drop_raw(self, window: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.shard(window, raw=True).unlink()

    @contextlib.contextmanager
    def writing(self, window: int, *, raw: bool = False):
        """A file for window ``window``'s lines; it becomes ``part-<w>.jsonl`` (``raw-<w>.jsonl``)
        only if the block ends cleanly."""
        final = self.shard(window, raw=raw)
        tmp = self.folder / f".{final.name}.open"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def below_cut_path(self, window: int) -> Path:
        """What the span filter did not admit in window ``window`` (``span_filter.BelowCut``): kept
        beside the window's shard, so a resumed build reports what an unbroken one does."""
        return self.folder / f"below-{window:05d}.json"

    def write_below_cut(self, window: int, below: dict) -> None:
        # Written before the window's shard: a shard on disk always has its record.
        write_json(self.below_cut_path(window), below)

    def read_below_cut(self, window: int) -> dict:
        return json.loads(self.below_cut_path(window).read_text(encoding="utf-8"))

    def lines(self) -> Iterator[str]:
        """Every expression, in input order."""
        window = 0
        while self.has(window):
            yield from self.read(window)
            window += 1

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
