"""``moralgap annotate ...`` and ``moralgap studio ...``.

The commands live in two modules owned by their features: Label Studio round trips
(``cli_studio``) and automatic annotation (``cli_auto``). This file only assembles them.
"""
from __future__ import annotations

import click


@click.group("annotate")
def annotate_group() -> None:
    """Annotate rationales with values: automatically, or by people in Label Studio."""


@click.group("studio")
def studio_group() -> None:
    """Run a local Label Studio server (own virtual environment, bound to 127.0.0.1)."""


def _register() -> None:
    import importlib

    for module in ("annotation.cli_studio", "annotation.cli_auto"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a missing dependency inside the module is a real error
                raise
            continue
        for cmd in getattr(mod, "ANNOTATE_COMMANDS", []):
            annotate_group.add_command(cmd)
        for cmd in getattr(mod, "STUDIO_COMMANDS", []):
            studio_group.add_command(cmd)


_register()
