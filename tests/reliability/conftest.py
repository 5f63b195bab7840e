"""Fixtures of the reliability tests; the helpers live in kit.py (importable by name)."""
from kit import data, deny_writes  # noqa: F401
