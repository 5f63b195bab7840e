"""The one helper every streaming path cuts its input with."""
from __future__ import annotations

import pytest

from moralgap.scale.batches import batches


def test_batches_keep_order_and_read_no_further_than_the_batch_being_filled():
    read = []

    def stream():
        for i in range(7):
            read.append(i)
            yield i

    it = batches(stream(), 3)
    assert next(it) == [0, 1, 2] and read == [0, 1, 2]
    assert list(it) == [[3, 4, 5], [6]]
    assert list(batches([], 3)) == []
    with pytest.raises(ValueError):
        list(batches([1], 0))
