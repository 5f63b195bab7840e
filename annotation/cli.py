"""``moralgap annotate ...`` and ``moralgap studio ...``.

The commands live in modules owned by their features: Label Studio round trips
(``cli_studio``), automatic annotation (``cli_auto``) and expression-level coding
(``cli_expressions``). This file only assembles them.
"""
from __future__ import annotations

import click

from moralgap.cli_options import add_commands_from


@click.group("annotate")
def annotate_group() -> None:
    """Annotate rationales with values: automatically, or by people in Label Studio."""


@click.group("studio")
def studio_group() -> None:
    """Run a local Label Studio server (own virtual environment, bound to 127.0.0.1)."""


add_commands_from(annotate_group, ("moralgap.annotation.cli_studio", "moralgap.annotation.cli_auto",
                                   "moralgap.annotation.cli_expressions"), "ANNOTATE_COMMANDS")
add_commands_from(studio_group, ("moralgap.annotation.cli_studio",), "STUDIO_COMMANDS")
