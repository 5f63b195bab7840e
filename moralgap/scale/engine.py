"""``--engine local|ray``: where the heavy steps run, behind the same swappable parts.

An engine hands out the parts the stages already take as arguments: an extractor (anything
with ``extract(judgments)``) and an embedder (an :class:`~moralgap.taxonomy.embed.Embedder`).
The local engine gives the usual in-process ones; the Ray engine gives ones whose work runs as
Ray Data ``map_batches`` over actor pools, while the embedding cache, every decision and every
write stay in this process. So a stage never knows which engine it runs on.

This module must not import Ray: the local path never needs it.
"""
from __future__ import annotations

import click

from moralgap.errors import ConfigError

ENGINES = ("local", "ray")
RAY_INSTALL_HINT = "--engine ray needs Ray: pip install 'moralgap[ray]' (Ray Data and pyarrow)"


def engine_options(f):
    """``--engine``, ``--ray-address`` and ``--ray-workers`` for a command."""
    f = click.option("--ray-workers", type=click.IntRange(min=1), default=None,
                     help="--engine ray: actors per stage (default: one per CPU of the cluster).")(f)
    f = click.option("--ray-address", default=None, metavar="ADDRESS",
                     help="--engine ray: an existing cluster ('auto', or host:port of its head); default starts Ray here.")(f)
    f = click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
                     help="Run in this process (local) or on a Ray cluster (ray; needs moralgap[ray]).")(f)
    return f


class Engine:
    """The local engine: this process does everything, exactly as without ``--engine``."""

    name = "local"

    def extractor(self, spacy_model: str | None = None, **options):
        from moralgap.taxonomy.extract import ValueExtractor

        return ValueExtractor(spacy_model, **options)

    def embedder(self, model: str | None = None, **options):
        from moralgap.taxonomy.embed import Embedder

        return Embedder(model, **options)

    def describe(self) -> dict:
        """What the run manifest records about the engine."""
        return {"engine": self.name}

    def record(self, manifest) -> None:
        manifest.data["engine"] = self.describe()

    def close(self) -> None:
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_engine(name: str = "local", *, address: str | None = None, workers: int | None = None) -> Engine:
    if name == "local":
        if address is not None or workers is not None:
            raise ConfigError("--ray-address and --ray-workers need --engine ray")
        return Engine()
    if name != "ray":
        raise ConfigError(f"unknown engine {name!r} ({', '.join(ENGINES)})")
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError(RAY_INSTALL_HINT) from None
    from .ray_engine import RayEngine

    return RayEngine(address=address, workers=workers)
