"""Running the stages at scale: datasets of shards and the optional Ray engine.

``--engine local`` (the default) runs every stage in this process, as moralgap always has;
``--engine ray`` hands extraction, embedding, annotation scoring and judging to a Ray cluster
(``--ray-address``, or a Ray started on this machine). The two engines share one code path for
every decision (which forms the clustering is fitted on, how the rest are assigned, what is
written), so the same input and seed give the same outputs on either.

Nothing here imports Ray unless ``--engine ray`` is asked for: Ray is an optional extra
(``pip install 'moralgap[ray]'``).
"""
from __future__ import annotations

from .engine import ENGINES, Engine, engine_options, make_engine

__all__ = ["ENGINES", "Engine", "engine_options", "make_engine"]
