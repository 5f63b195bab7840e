"""Guarding a command's outputs before it does any work, and for as long as it runs.

Every ``moralgap`` command goes through :func:`guard_command` (applied by the top-level CLI), so
no command can forget it:

* an output that resolves to one of the command's inputs (same path, a symlink or hard link
  to it, an input file inside an output folder that the swap would remove) is refused;
* an output that cannot be written (a file where a folder goes, a folder where a file goes,
  no write permission) is refused before any model loads;
* each output is locked exclusively (a ``.<name>.lock`` file beside it, removed on release);
  a second run on the same output fails at once, naming the pid that holds it;
* a float option that is nan or inf is refused, naming the option;
* leftovers of earlier runs that were killed are repaired: an interrupted folder swap is
  rolled back to the previous version, temporary files and folders of dead processes are removed.

Outputs and inputs are read off the command's parameters: ``--out``, ``--per-annotator`` and
``--config-out`` are outputs, the positional taxonomy folder is the output of ``--in-place``,
and every other path parameter is an input. A few derived paths (the metadata sidecar of a
prompts file) come from :mod:`moralgap.prompts_format`, which owns that format.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import click

from .errors import BusyError, ConfigError
from .processes import pid_alive

log = logging.getLogger(__name__)

OUTPUT_PARAMS = ("out", "per_annotator", "config_out")
# Parameters that name neither an input nor an output (the Label Studio home is server state).
NEUTRAL_PARAMS = ("home",)


@dataclass(frozen=True)
class Output:
    path: Path
    kind: str  # "file" or "folder"


# -- locks --------------------------------------------------------------------------------------------
def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


def _holder_pid(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


class OutputLock:
    """An exclusive, non-blocking lock on one output path, with the holder's pid inside.

    filelock keeps the lock file's contents (it never truncates an existing lock file), so the
    pid written by ``on_acquired`` is what a refused run reads. The kernel drops the lock when
    the holder dies, so a SIGKILLed run never blocks the next one.
    """

    def __init__(self, out: Path):
        import filelock

        self.out = out
        self.path = lock_path(out)
        self._lock = filelock.FileLock(str(self.path), timeout=0, on_acquired=self._write_pid)

    @staticmethod
    def _write_pid(fd: int) -> None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)

    def acquire(self) -> None:
        import filelock

        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise BusyError(f"{self.out} is being written by another moralgap run (pid {_holder_pid(self.path)}); "
                            f"wait for it to finish or stop it") from None

    def release(self) -> None:
        # Unlinking while still holding the lock is safe: filelock re-checks that the inode it
        # locked is still linked, so a waiting process cannot end up holding a removed file.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._lock.release()


# -- leftovers of killed runs -------------------------------------------------------------------------
def _temp_pattern(name: str) -> re.Pattern:
    # ".<name>.<pid>.<random>.tmp|old"; names written before pids were added have no pid part.
    # <random> is exactly tempfile's 8 characters, so a user's own ".x.backup.tmp" never matches.
    return re.compile(rf"^\.{re.escape(name)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.(tmp|old)$")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def recover_leftovers(out: str | os.PathLike) -> list[str]:
    """Repair what killed runs left beside ``out``; returns what was done, for the log.

    Call only while holding ``out``'s lock (or when no other process can be writing it): a
    temporary entry of a live pid that is not this process is left alone.
    """
    out = Path(out)
    parent = out.parent
    if not parent.is_dir():
        return []
    pattern = _temp_pattern(out.name)
    done: list[str] = []
    olds: list[Path] = []
    for entry in parent.iterdir():
        m = pattern.match(entry.name)
        if not m:
            continue
        pid = int(m.group(1)) if m.group(1) else None
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            continue
        if m.group(2) == "old":
            olds.append(entry)
        else:
            _remove(entry)
            done.append(f"removed {entry.name} left by a killed run")
    if olds and not out.exists():
        # Killed between the two renames of a folder swap: the .old folder holds the previous version.
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        saved = newest / out.name
        if saved.exists():
            os.replace(saved, out)
            done.append(f"restored {out} from an interrupted swap ({newest.name})")
    for old in olds:
        _remove(old)
        done.append(f"removed {old.name} left by a killed run")
    return done


def repair_interrupted_swap(out: str | os.PathLike) -> bool:
    """Put back a folder a killed swap left only as ``.old``; True when ``out`` exists afterwards.

    For inputs that are checked before the output guard runs (a taxonomy folder named on the
    command line). Takes the output's lock, so a swap in progress in another run is never undone.
    """
    out = Path(out)
    if out.exists() or not out.parent.is_dir():
        return out.exists()
    pattern = _temp_pattern(out.name)
    if not any(pattern.match(e.name) and e.name.endswith(".old") for e in out.parent.iterdir()):
        return False
    lock = OutputLock(out)
    try:
        lock.acquire()
    except (BusyError, OSError):
        return out.exists()
    try:
        for note in recover_leftovers(out):
            log.warning("%s", note)
    finally:
        lock.release()
    return out.exists()


# -- checks -------------------------------------------------------------------------------------------
def _same(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(child: Path, folder: Path) -> bool:
    c, f = os.path.realpath(child), os.path.realpath(folder)
    return c != f and c.startswith(f.rstrip(os.sep) + os.sep)


# Files a command reads from a folder input: a taxonomy folder (moralgap/taxonomy_file.py,
# taxonomy/folder.py) or a trained classifier (annotation/classifier.py). Other files in those
# folders (an export written there, say) are not read, so writing them is fine.
FOLDER_FILES = ("taxonomy.json", "expressions.jsonl", "centroids.npz", "manifest.json",
                "model.json", "weights.npz", "tfidf.json", "encoder")


def _read_from_folder(out: Path, folder: Path) -> bool:
    rel = Path(os.path.relpath(os.path.realpath(out), os.path.realpath(folder)))
    return rel.parts[0] in FOLDER_FILES or rel.name.startswith("taxonomy.v")


def check_not_input(outputs: Iterable[Output], inputs: Iterable[Path]) -> None:
    inputs = [Path(p) for p in inputs]
    for out in outputs:
        for inp in inputs:
            if _same(out.path, inp):
                raise ConfigError(f"output {out.path} is also an input of this command ({inp}); "
                                  f"write to another path so the input stays as it is")
            if out.kind == "folder" and _inside(inp, out.path):
                raise ConfigError(f"output folder {out.path} holds an input of this command ({inp}), "
                                  f"which writing the folder would replace; write to another folder")
            if inp.is_dir() and _inside(out.path, inp) and _read_from_folder(out.path, inp):
                raise ConfigError(f"output {out.path} is a file of the input folder {inp}, which this command reads; "
                                  f"write to another path")


def check_writable(out: Output) -> None:
    """Refuse an output that cannot be written, with the reason, before any work is done."""
    p = out.path
    if p.exists() or p.is_symlink():
        if out.kind == "folder" and not p.is_dir():
            raise ConfigError(f"output folder {p} is a file; remove it or choose another --out")
        if out.kind == "file" and p.is_dir():
            raise ConfigError(f"output file {p} is a folder; choose a file path")
        if out.kind == "file" and not os.access(p, os.W_OK):
            raise ConfigError(f"output file {p} is not writable (permission denied)")
    ancestor = p.parent
    while not ancestor.exists():
        if ancestor.is_symlink():
            raise ConfigError(f"cannot create {p}: {ancestor} is a broken link")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"cannot create {p}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {p}: no write permission in {ancestor}")


def check_room(out: str | os.PathLike, n_bytes: int, what: str) -> None:
    """Refuse, before writing, an output that cannot fit on its disk (an absurd --samples, say)."""
    out = Path(out)
    folder = out.parent if out.parent.exists() else Path.cwd()
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if n_bytes > free:
        raise ConfigError(f"{what} would write about {_size(n_bytes)} to {out}, but only {_size(free)} is free there; "
                          f"ask for less")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


# -- the guard ----------------------------------------------------------------------------------------
def _kind(param: click.Parameter, value: Path) -> str:
    t = param.type
    if isinstance(t, click.Path):
        if not t.file_okay:
            return "folder"
        if not t.dir_okay:
            return "file"
    if value.is_dir():
        return "folder"
    return "file" if value.suffix else "folder"


def _paths(value) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [Path(v) for v in value if v is not None]
    return [Path(value)]


def command_io(command: click.Command, params: dict, command_path: str = "") -> tuple[list[Output], list[Path]]:
    """The outputs and inputs of one invocation, read off its parameters."""
    from .prompts_format import derived_io

    outputs: list[Output] = []
    inputs: list[Path] = []
    in_place = bool(params.get("in_place"))
    for param in command.params:
        value = params.get(param.name)
        if value is None or param.name in NEUTRAL_PARAMS:
            continue
        if param.name in OUTPUT_PARAMS:
            outputs += [Output(p, _kind(param, p)) for p in _paths(value)]
        elif isinstance(param.type, click.Path):
            if in_place and param.name == "taxdir":
                outputs += [Output(p, "folder") for p in _paths(value)]
            else:
                inputs += _paths(value)
    extra_in, extra_out = derived_io(command_path, params)
    return outputs + [Output(p, "file") for p in extra_out], inputs + extra_in


@contextlib.contextmanager
def guarded_outputs(outputs: list[Output], inputs: list[Path]) -> Iterator[None]:
    """Check, lock and repair every output for the duration of the block."""
    check_not_input(outputs, inputs)
    for out in outputs:
        check_writable(out)
    made: list[Path] = []
    locks: list[OutputLock] = []
    ok = False
    try:
        for out in outputs:
            missing = []
            parent = out.path.parent
            while not parent.exists():
                missing.append(parent)
                parent = parent.parent
            try:
                out.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create the folder of {out.path}: {exc.strerror}") from None
            made += reversed(missing)
            lock = OutputLock(out.path)
            try:
                lock.acquire()
            except PermissionError:
                raise ConfigError(f"cannot write {out.path}: no write permission in {out.path.parent}") from None
            locks.append(lock)
            for note in recover_leftovers(out.path):
                log.warning("%s", note)
        yield
        ok = True
    finally:
        for lock in reversed(locks):
            with contextlib.suppress(OSError):
                lock.release()
        if not ok:
            # Folders made only for this run's outputs go again when the run fails.
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def check_finite(command: click.Command, params: dict) -> None:
    """No float option of any command takes nan or inf (click's FloatRange lets nan through)."""
    import math

    for param in command.params:
        value = params.get(param.name)
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(v, float) and not math.isfinite(v):
                raise click.BadParameter(f"{v!r} is not a finite number", param=param)


def guard_command(cmd: click.Command) -> click.Command:
    """Wrap ``cmd`` (and every subcommand of a group) so its outputs are guarded; idempotent."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            guard_command(sub)
        return cmd
    callback = cmd.callback
    if callback is None or getattr(callback, "_moralgap_guarded", False):
        return cmd

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        ctx = click.get_current_context()
        check_finite(ctx.command, ctx.params)
        path = " ".join(ctx.command_path.split()[1:])
        outputs, inputs = command_io(ctx.command, ctx.params, path)
        with guarded_outputs(outputs, inputs):
            return callback(*args, **kwargs)

    guarded._moralgap_guarded = True
    cmd.callback = guarded
    return cmd
