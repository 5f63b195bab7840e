"""Lazy re-exports: ``from moralgap import TaxonomyBuilder`` without importing every stage.

A package lists the names it exports and the module each lives in; the module is imported on
first access. This keeps ``import moralgap`` (and ``moralgap --help``) free of torch,
sentence-transformers and spaCy, which the stage modules load.
"""
from __future__ import annotations

import importlib
from typing import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` exporting ``name -> module`` lazily.

    Module paths starting with ``.`` are relative to ``package``; a name equal to the last part
    of its module path exports the module itself (``"edits": ".edits"``).
    """

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        mod = importlib.import_module(module, package)
        value = mod if module.rpartition(".")[2] == name else getattr(mod, name)
        # Cache on the package so the next access is a plain attribute lookup.
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__
