"""Errors users see. Every one is turned into a one-line message by the CLI, never a traceback."""
from __future__ import annotations


class MoralgapError(Exception):
    """Base class for every error the toolkit raises on purpose."""


class InputError(MoralgapError):
    """Bad input: names the file, the line (1-based, when there is one) and the field."""

    def __init__(self, path, message: str, line: int | None = None, field: str | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.message = message
        # An option or an in-memory record has no file; the message then starts at the field.
        where = [self.path] if self.path else []
        if line is not None:
            where = [f"{self.path}:{line}"] if self.path else [f"line {line}"]
        if field:
            where.append(f"field '{field}'")
        super().__init__(": ".join([*where, message]))

    def in_file(self, path, line: int | None = None) -> "InputError":
        """This error about ``path`` (at ``line`` unless it names one): for a check that sees a
        record, not the file it came from. An error that already names a file keeps it."""
        if self.path is not None:
            return self
        return type(self)(path, self.message, line=self.line or line, field=self.field)


class ConfigError(MoralgapError):
    """A model, option or environment setting that cannot be used."""


class SchemaVersionError(InputError):
    """A file written by a newer moralgap than this one."""


class BusyError(MoralgapError):
    """An output another run is writing right now (names that run's pid)."""
