"""``moralgap taxonomy ...``: build and show here; versioning commands come from ``cli_versions``."""
from __future__ import annotations

import importlib

import click


@click.group("taxonomy")
def taxonomy_group() -> None:
    """Build, show, edit, diff, update, export and import value taxonomies."""


def _register() -> None:
    for module in ("taxonomy.cli_build", "taxonomy.cli_versions"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        for cmd in getattr(mod, "COMMANDS", []):
            taxonomy_group.add_command(cmd)


_register()
