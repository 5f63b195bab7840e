"""Cutting a stream into lists of a fixed size, without reading ahead of the list being filled.

The streaming paths (``taxonomy build``, ``judge`` and ``annotate auto`` on Ray) hold one batch
of their input at a time; ``itertools.batched`` does this from Python 3.12 on.
"""
from __future__ import annotations

from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items in order; the last may be shorter, none is empty."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
