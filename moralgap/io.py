"""Reading validated records and writing outputs that are never half-written.

Readers report the file, the 1-based line and the field of every problem. With
``skip_invalid=True`` they go on and return what they skipped, so the command can report it.
Writers go through a temporary file in the destination folder and ``os.replace`` it, so a
crash leaves either the old file or the new one. Long runs append to a JSONL file keyed by
record id (:class:`KeyedAppender`), so a restart neither loses nor duplicates a record.
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import InputError

R = TypeVar("R", bound=BaseModel)


@dataclass
class ReadResult:
    """Records read from one file plus what was skipped and why."""

    records: list = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    def count(self) -> int:
        return len(self.records)

    def summary(self) -> str:
        parts = [f"{self.count()} read"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} invalid skipped")
        for why, n in sorted(self.dropped.items()):
            parts.append(f"{n} dropped ({why})")
        return ", ".join(parts)


@dataclass
class CountedRead(ReadResult):
    """A :class:`ReadResult` whose records were counted as they streamed past, not kept."""

    n_read: int = 0

    def count(self) -> int:
        return self.n_read


def _open_text(path: Path):
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text (byte {exc.start} cannot be decoded)", line=line) from None


# JSON strings may hold U+2028, U+2029 and U+0085 unescaped; str.splitlines() would cut a record
# there. A raw CR or LF can never be inside a JSON value, so these are the only true line ends.
_LINE_END = re.compile(r"\r\n|\r|\n")


def jsonl_lines(text: str) -> list[str]:
    """Split JSONL text into lines at CR/LF only, never inside a record."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a JSONL file as :func:`jsonl_lines` splits it, read a line at a
    time: a corpus of millions of rationales is never held whole (issue 17). A line that is
    not UTF-8 stops the read with its line and byte."""
    number, pos = 0, 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for raw in fh:  # binary lines end at LF only, like JSONL's
            start, pos = pos, pos + len(raw)
            if start == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw, start = raw[3:], 3
            body = raw[:-1] if raw.endswith(b"\n") else raw
            body = body[:-1] if body.endswith(b"\r") else body
            # A lone CR ends a line too (old Mac files); it can never be inside a JSON value.
            for part in body.split(b"\r"):
                number += 1
                try:
                    yield number, part.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(path, f"not UTF-8 text (byte {start + exc.start} cannot be decoded)",
                                     line=number) from None
                start += len(part) + 1


def iter_raw_rows(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, row)`` from JSONL or CSV; a bad JSON line yields an InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    # Scale hook (issue 17): a Parquet file or a folder of shards is one dataset, read lazily.
    from .scale.datasets import is_dataset, iter_dataset_rows

    if is_dataset(path):
        yield from iter_dataset_rows(path)
        return
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        reader = csv.DictReader(io.StringIO(_open_text(path), newline=""))
        if not reader.fieldnames:
            return
        for row in reader:
            # DictReader counts physical lines; a quoted newline makes a row span several.
            yield reader.line_num, {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        return
    for number, line in _read_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, InputError(path, f"malformed JSON ({exc.msg} at column {exc.colno})", line=number)
            continue
        if not isinstance(row, dict):
            yield number, InputError(path, f"expected a JSON object, got {type(row).__name__}", line=number)
            continue
        yield number, row


def _validation_to_input_error(path, line: int, exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or None
    msg = err.get("msg", "invalid value")
    if err.get("type") == "missing":
        msg = "missing required field"
    elif "input" in err and err.get("type") != "missing":
        shown = json.dumps(err["input"], ensure_ascii=False, default=str)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = f"{msg} (got {shown})"
    return InputError(path, msg, line=line, field=loc)


def read_records(
    path: str | os.PathLike,
    model: type[R],
    *,
    skip_invalid: bool = False,
    prepare: Callable[[dict, int], dict | None] | None = None,
    check: Callable[[R, int], None] | None = None,
    unique_id: str | None = "id",
    result: ReadResult | None = None,
) -> ReadResult:
    """Read and validate every row of ``path`` as ``model``.

    ``prepare(row, line)`` may rewrite a raw row, or return ``None`` to drop it on purpose (it
    then records the reason in ``result.dropped`` itself); ``check(record, line)`` adds rules
    that need more than the schema. Both raise :class:`InputError` for bad rows.
    """
    result = result if result is not None else ReadResult()
    result.records.extend(iter_records(path, model, skip_invalid=skip_invalid, prepare=prepare, check=check,
                                       unique_id=unique_id, result=result))
    return result


def iter_records(
    path: str | os.PathLike,
    model: type[R],
    *,
    skip_invalid: bool = False,
    prepare: Callable[[dict, int], dict | None] | None = None,
    check: Callable[[R, int], None] | None = None,
    unique_id: str | None = "id",
    result: ReadResult | None = None,
) -> Iterator[R]:
    """:func:`read_records` one record at a time, so a reader need not hold them all.

    Skipped rows and drops still go to ``result``; the ids seen are kept to refuse duplicates.
    """
    result = result if result is not None else ReadResult()
    seen: dict[str, int] = {}

    def fail(err: InputError):
        if not skip_invalid:
            raise err
        result.skipped.append(err)

    for line, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            fail(row)
            continue
        try:
            if prepare is not None:
                row = prepare(row, line)
                if row is None:
                    continue
            try:
                record = model.model_validate(row)
            except ValidationError as exc:
                raise _validation_to_input_error(path, line, exc) from None
            if check is not None:
                check(record, line)
            if unique_id:
                key = getattr(record, unique_id)
                if key in seen:
                    raise InputError(path, f"duplicate id {key!r} (first seen on line {seen[key]})", line=line, field=unique_id)
                seen[key] = line
        except InputError as err:
            fail(err.in_file(path, line))
            continue
        yield record


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, expected a JSON file")
    text = _open_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"malformed JSON ({exc.msg} at column {exc.colno})", line=exc.lineno) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", *, file_mode: int | None = None):
    """Open a temporary sibling of ``path``; on success it replaces ``path``, on error it is removed.

    ``file_mode`` (e.g. ``0o600`` for a token file) is set before the file becomes visible.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name lets a later run tell a dead run's leftover from a live one's file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        kwargs = {"encoding": encoding} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes 0600 files; outputs should get the permissions any new file would.
        os.chmod(tmp, file_mode if file_mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_folder_atomically(out: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Have ``write(tmp)`` fill a fresh folder beside ``out``, then swap it in whole.

    An error (or SIGTERM/SIGINT) leaves the previous ``out`` and no temporary folder behind. A
    SIGKILL can leave ``.<out>.<pid>.*.tmp`` / ``.old`` folders, or (between the two renames) no
    ``out`` at all; :func:`moralgap.outputs.recover_leftovers`, run first here and by every
    command on its outputs, removes them and moves the ``.old`` copy (the previous version) back.
    """
    from .outputs import recover_leftovers

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_leftovers(out)
    prefix = f".{out.name}.{os.getpid()}."
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=out.parent))
    try:
        write(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _finite(value: Any) -> Any:
    # Strict JSON has no NaN/Infinity (Python writes bare NaN, which other parsers reject): null.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _jsonable(record: Any) -> Any:
    if isinstance(record, BaseModel):
        record = record.model_dump(mode="json", exclude_none=True)
    return _finite(record)


def dumps(record: Any) -> str:
    return json.dumps(_jsonable(record), ensure_ascii=False, sort_keys=False)


def write_jsonl(path: str | os.PathLike, records: Iterable[Any]) -> int:
    n = 0
    with atomic_open(path) as fh:
        for record in records:
            fh.write(dumps(record) + "\n")
            n += 1
    return n


def write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2) -> None:
    with atomic_open(path) as fh:
        json.dump(_jsonable(obj), fh, ensure_ascii=False, indent=indent, allow_nan=False)
        fh.write("\n")


class KeyedAppender:
    """Append-only JSONL output keyed by one field, for runs that must survive a crash.

    On open it reads the keys already written and cuts off a torn last line (the process died
    mid-write), so ``done`` tells a restarted run exactly what is left to do.
    """

    def __init__(self, path: str | os.PathLike, key: str = "id"):
        self.path = Path(path)
        self.key = key
        self.done: set[str] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._recover()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _recover(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        hint = "; it does not look like this command's own output: choose another output path"
        try:
            text = data[:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(self.path, "cannot resume: not UTF-8 text" + hint, line=line) from None
        for number, line in enumerate(jsonl_lines(text), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(self.path, "cannot resume: malformed JSON line" + hint, line=number) from None
            if not isinstance(row, dict):
                raise InputError(self.path, f"cannot resume: a JSON {type(row).__name__}, not a record" + hint, line=number)
            key = row.get(self.key)
            if not isinstance(key, (str, int)) or isinstance(key, bool) or key == "":
                raise InputError(self.path, "cannot resume: no record key" + hint, line=number, field=self.key)
            self.done.add(str(key))
        if end != len(data):
            if not data[end:].lstrip().startswith(b"{"):
                raise InputError(self.path, "cannot resume: the last line is not a JSON record" + hint,
                                 line=text.count("\n") + 1)
            # Only after every complete line proved to be ours: never cut a stranger's file.
            with open(self.path, "r+b") as fh:
                fh.truncate(end)

    def write(self, record: Any) -> None:
        row = _jsonable(record)
        k = str(row[self.key])
        if k in self.done:
            return
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()
        self.done.add(k)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
