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
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}")


class ConfigError(MoralgapError):
    """A model, option or environment setting that cannot be used."""


class SchemaVersionError(InputError):
    """A file written by a newer moralgap than this one."""


class BusyError(MoralgapError):
    """An output another run is writing right now (names that run's pid)."""
