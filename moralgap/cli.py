"""The ``moralgap`` command: a thin shell over the Python API.

Subcommands live with their stage (``taxonomy/cli.py``, ...) and are imported only when
used, so ``moralgap --help`` does not pay for loading torch. Errors the toolkit raises on
purpose become one line on stderr and exit status 2; nothing prints a traceback unless
``MORALGAP_DEBUG=1``.
"""
from __future__ import annotations

import importlib
import logging
import os
import signal
import sys

import click

from .errors import MoralgapError

SUBCOMMANDS = {
    "taxonomy": ("moralgap.taxonomy.cli", "taxonomy_group", "Build, show, edit, diff and update value taxonomies."),
    "annotate": ("moralgap.annotation.cli", "annotate_group", "Annotate rationales with values (automatic and Label Studio)."),
    "studio": ("moralgap.annotation.cli", "studio_group", "Start, stop and check a local Label Studio server."),
    "profiles": ("moralgap.profiling.cli", "profiles_group", "Human value profiles, Dirichlet fits and value diversity."),
    "dmp": ("moralgap.profiling.cli", "dmp_group", "Dynamic Moral Profiling: sampled profiles rendered into prompts."),
    "judge": ("moralgap.alignment.cli", "judge_command", "Run prompts through an LLM backend, resumably."),
    "align": ("moralgap.alignment.cli", "align_command", "Measure judgment and value gaps between humans and models."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attr, _ = SUBCOMMANDS[name]
        try:
            command = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            if os.environ.get("MORALGAP_DEBUG") == "1":
                raise

            @click.command(name=name, help=f"(unavailable: {exc})")
            def unavailable():
                raise click.ClickException(f"'{name}' is not available in this install: {exc}")

            return unavailable
        from .outputs import guard_command

        # Every command's outputs are checked, locked and repaired before it runs (moralgap/outputs.py).
        return guard_command(command)

    def format_commands(self, ctx, formatter):
        rows = [(name, SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="moralgap")
def main(verbose: int) -> None:
    """Measure and close the pluralistic moral gap between people and LLMs."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from .redact import install_log_filter

    install_log_filter()
    from .models import offline_mode

    offline_mode()


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so every ``finally`` (temp files, locks) runs."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _os_error_line(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    return f"{what}{where}"


def run(argv: list[str] | None = None) -> None:
    """Console entry point; ``argv`` lets tests run the real command in-process."""
    from .redact import redact

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _run(argv, redact)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(argv, redact) -> None:
    try:
        main.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MoralgapError as exc:
        if os.environ.get("MORALGAP_DEBUG") == "1":
            raise
        click.echo(f"error: {redact(str(exc))}", err=True)
        sys.exit(2)
    except OSError as exc:
        # Disk full, permissions changed mid-run, ...: the OS's reason and the path, in one line.
        if os.environ.get("MORALGAP_DEBUG") == "1":
            raise
        click.echo(f"error: {redact(_os_error_line(exc))}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Terminated:
        click.echo("terminated", err=True)
        sys.exit(143)


if __name__ == "__main__":
    run()
