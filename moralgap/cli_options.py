"""Options shared by several subcommands, so they read the same everywhere."""
from __future__ import annotations

from pathlib import Path

import click

from .seeding import DEFAULT_SEED


class TaxonomyDir(click.ParamType):
    """A taxonomy folder, given as the folder or as its ``taxonomy.json``; converts to the folder.

    Commands that write a new version work on the whole folder (expressions and centroids too),
    so any other JSON file (an export, say) is refused rather than silently ignored.
    """

    name = "taxonomy"

    def convert(self, value, param, ctx):
        from .taxonomy_file import TAXONOMY_FILE

        p = Path(value)
        if p.is_dir():
            return p
        if p.is_file() and p.name == TAXONOMY_FILE:
            return p.parent
        if not p.exists():
            from .outputs import repair_interrupted_swap

            # A run killed mid-swap leaves no folder, only its previous version beside it.
            if repair_interrupted_swap(p):
                return p
        if p.is_file():
            self.fail(f"{p} is not a taxonomy folder or its {TAXONOMY_FILE} (to start a taxonomy from a list of "
                      "values, use 'moralgap taxonomy import')", param, ctx)
        self.fail(f"{p} does not exist (expected a taxonomy folder or its {TAXONOMY_FILE})", param, ctx)


TAXONOMY_DIR = TaxonomyDir()


def add_commands_from(group: click.Group, modules: tuple[str, ...], attr: str) -> None:
    """Add the commands listed in ``module.<attr>`` of each module that exists.

    A stage's feature modules register themselves this way, so one missing optional module
    does not break the others; a module that exists but fails to import is a real error.
    """
    import importlib

    for module in modules:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        for cmd in getattr(mod, attr, []):
            group.add_command(cmd)


class SeedInt(click.ParamType):
    """A non-negative integer of any size (numpy seeds refuse negatives); reads as INTEGER in help."""

    name = "integer"

    def convert(self, value, param, ctx):
        try:
            n = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a valid integer", param, ctx)
        if n < 0:
            self.fail(f"{n} is negative; a seed is a whole number >= 0", param, ctx)
        return n


def seed_option(f):
    return click.option("--seed", type=SeedInt(), default=DEFAULT_SEED, show_default=True,
                        help="Seed for every random step of the run.")(f)


def skip_invalid_option(f):
    return click.option("--skip-invalid", is_flag=True,
                        help="Skip invalid input lines (reported) instead of stopping at the first.")(f)


def verdict_map_option(f):
    return click.option("--verdict-map", default=None, metavar="MAP",
                        help="Verdict label overrides, e.g. 'ESH=acceptable,INFO=drop', or a JSON/YAML file.")(f)


def report_read(result, path, what: str = "records") -> None:
    """Tell the user what was read and, with --skip-invalid, what was skipped and where."""
    click.echo(f"{path}: {result.summary()}", err=True)
    for err in result.skipped[:20]:
        click.echo(f"  skipped {err}", err=True)
    if len(result.skipped) > 20:
        click.echo(f"  ... and {len(result.skipped) - 20} more", err=True)
