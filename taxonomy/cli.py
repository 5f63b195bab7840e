"""``moralgap taxonomy ...``: build and show from ``cli_build``, versioning from ``cli_versions``,
the span filter from ``cli_filter``."""
from __future__ import annotations

import click

from moralgap.cli_options import add_commands_from


@click.group("taxonomy")
def taxonomy_group() -> None:
    """Build, show, edit, diff, update, export and import value taxonomies."""


add_commands_from(taxonomy_group, ("moralgap.taxonomy.cli_build", "moralgap.taxonomy.cli_versions", "moralgap.taxonomy.cli_filter"), "COMMANDS")
