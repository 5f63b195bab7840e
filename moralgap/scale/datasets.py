"""Inputs and outputs too large for one file: Parquet files and folders of shards.

Reading. A Parquet file, or a folder of ``.jsonl``/``.jsonl.gz``/``.csv``/``.parquet`` shards,
is one logical dataset: :func:`iter_dataset_rows` yields its rows lazily (Parquet a record
batch at a time, shards in name order), so every reader in :mod:`moralgap.io` validates them
exactly as it validates a JSONL file. A bad row is reported with the folder, the shard and the
line (``row`` for Parquet) and the field::

    error: corpus/:part-00003.parquet:row 17: field 'verdict': unknown verdict 'MAYBE' ...

Files whose names start with ``.`` or ``_`` (temporary files, ``_SUCCESS`` markers) and
anything else (``manifest.json``) are not shards.

Writing. :class:`ShardedKeyedWriter` keeps :class:`~moralgap.io.KeyedAppender`'s rules over a
folder: records are appended to a hidden open shard, which is renamed into place as
``part-NNNNN.jsonl`` once it holds ``shard_size`` records (a rename is atomic), so the folder
only ever shows whole shards. A restarted run reads the keys of every shard, cuts a torn last
line off the open one and goes on: nothing lost, nothing written twice.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

from moralgap.errors import InputError

SHARD_SUFFIXES = (".jsonl", ".jsonl.gz", ".csv", ".csv.gz", ".parquet")
PARQUET_BATCH_ROWS = 8192
DEFAULT_SHARD_SIZE = 100_000
_PART = re.compile(r"^part-(\d{5,})\.jsonl$")
_OPEN = re.compile(r"^\.part-(\d{5,})\.jsonl\.open$")


class ShardLine(int):
    """A 1-based line (or Parquet row) number that also names its shard, for error messages.

    It is an ``int``, so readers compare and store it as before; it prints as
    ``part-00003.jsonl:17`` (``row 17`` for Parquet), which :class:`InputError` shows after
    the dataset's path.
    """

    def __new__(cls, number: int, shard: str | None, kind: str = "line"):
        obj = int.__new__(cls, number)
        obj.shard = shard
        obj.kind = kind
        return obj

    def __str__(self) -> str:
        where = f"row {int(self)}" if self.kind == "row" else str(int(self))
        return f"{self.shard}:{where}" if self.shard else where

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else int.__format__(self, spec)


def is_dataset(path: str | os.PathLike) -> bool:
    """True for what :func:`iter_dataset_rows` reads: a folder or a Parquet file."""
    p = Path(path)
    return p.is_dir() or p.name.lower().endswith(".parquet")


def is_shard(p: Path) -> bool:
    name = p.name
    return p.is_file() and not name.startswith((".", "_")) and name.lower().endswith(SHARD_SUFFIXES)


def dataset_files(path: str | os.PathLike) -> list[Path]:
    """The shards of a dataset in reading order (a Parquet file is its own one shard)."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_file():
        return [p]
    files = sorted((f for f in p.rglob("*") if is_shard(f)), key=lambda f: f.relative_to(p).as_posix())
    if not files:
        raise InputError(p, f"is a folder with no shards in it ({', '.join(SHARD_SUFFIXES)}); expected a JSONL, CSV "
                              "or Parquet file or a folder of them")
    return files


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(path, "reading Parquet needs pyarrow: pip install 'moralgap[ray]' (or pip install pyarrow)") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(path, f"not a readable Parquet file ({exc})") from None
    number = 0
    for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for row in batch.to_pylist():
            number += 1
            # A null cell is a missing field, as an empty CSV cell is, so a required field
            # missing from one shard's schema is reported as missing rather than as null.
            yield number, {k: v for k, v in row.items() if v is not None}


def iter_dataset_rows(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """``(line, row)`` pairs over every shard, as :func:`moralgap.io.iter_raw_rows` yields them."""
    from moralgap.io import iter_raw_rows

    root = Path(path)
    for f in dataset_files(root):
        shard = f.relative_to(root).as_posix() if root.is_dir() else None
        if f.name.lower().endswith(".parquet"):
            for number, row in _parquet_rows(f):
                yield ShardLine(number, shard, "row"), row
        else:
            for number, row in iter_raw_rows(f):
                yield ShardLine(number, shard), row


def write_parquet(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write plain JSON-like rows as one Parquet file, atomically (for datasets and tests)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from moralgap.io import atomic_open

    with atomic_open(path, "wb") as fh:
        pq.write_table(pa.Table.from_pylist(rows), fh)


class ShardedKeyedWriter:
    """:class:`~moralgap.io.KeyedAppender` over a folder of JSONL shards (see the module doc)."""

    def __init__(self, folder: str | os.PathLike, key: str = "id", *, shard_size: int = DEFAULT_SHARD_SIZE):
        from moralgap.io import KeyedAppender

        self.folder = Path(folder)
        self.key = key
        self.shard_size = shard_size
        self.done: set[str] = set()
        self.folder.mkdir(parents=True, exist_ok=True)
        finished: dict[int, Path] = {}
        open_: dict[int, Path] = {}
        for f in self.folder.iterdir():
            if m := _PART.match(f.name):
                finished[int(m.group(1))] = f
            elif m := _OPEN.match(f.name):
                open_[int(m.group(1))] = f
        for n in sorted(finished):
            self._read_keys(finished[n])
        for n in sorted(open_):
            if n in finished:  # killed between sealing and cleaning up: the shard holds it all
                open_[n].unlink()
                del open_[n]
        self._index = max([*finished, *open_], default=-1) + 1
        self._appender = None
        self._n = 0
        for n in sorted(open_):
            # Each leftover open shard is recovered like a KeyedAppender file (torn line cut)
            # and sealed, so new records always go to a fresh shard.
            app = KeyedAppender(open_[n], key=key)
            self.done.update(app.done)
            app.close()
            self._seal(open_[n], n)

    def _read_keys(self, shard: Path) -> None:
        with open(shard, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    self.done.add(str(json.loads(line)[self.key]))
                except (json.JSONDecodeError, KeyError):
                    raise InputError(shard, f"cannot resume: not a record with {self.key!r} in an earlier run's shard",
                                     line=number) from None

    def _open_path(self, n: int) -> Path:
        return self.folder / f".part-{n:05d}.jsonl.open"

    def _seal(self, open_path: Path, n: int) -> None:
        if open_path.stat().st_size == 0:
            open_path.unlink()
            return
        with open(open_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(open_path, self.folder / f"part-{n:05d}.jsonl")

    def write(self, record: Any) -> None:
        from moralgap.io import KeyedAppender, _jsonable

        row = _jsonable(record)
        k = str(row[self.key])
        if k in self.done:
            return
        if self._appender is None:
            self._appender = KeyedAppender(self._open_path(self._index), key=self.key)
            self._n = 0
        self._appender.write(row)
        self.done.add(k)
        self._n += 1
        if self._n >= self.shard_size:
            self._close_shard()

    def _close_shard(self) -> None:
        if self._appender is None:
            return
        self._appender.close()
        self._seal(self._open_path(self._index), self._index)
        self._appender = None
        self._index += 1

    def close(self) -> None:
        self._close_shard()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # Sealed on error too: every line in the open shard is a whole record already.
        self.close()


def is_folder_output(out: str | os.PathLike) -> bool:
    """An output path names a folder of shards when it is one, or has no file suffix."""
    p = Path(out)
    return p.is_dir() or (not p.exists() and p.suffix == "")


def open_keyed_output(out: str | os.PathLike, key: str, *, shard_size: int = DEFAULT_SHARD_SIZE):
    """A resumable keyed output: one JSONL file, or a folder of shards (see :func:`is_folder_output`)."""
    if is_folder_output(out):
        return ShardedKeyedWriter(out, key, shard_size=shard_size)
    from moralgap.io import KeyedAppender

    return KeyedAppender(out, key=key)


def first_record(out: str | os.PathLike) -> dict | None:
    """The first record of a keyed output (file or shard folder), or None when it is empty."""
    p = Path(out)
    files = [p] if p.is_file() else sorted(
        [f for f in p.iterdir() if _PART.match(f.name)] + [f for f in p.iterdir() if _OPEN.match(f.name)],
        key=lambda f: f.name.lstrip("."))
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    return json.loads(line)
    return None
