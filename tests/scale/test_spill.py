"""The spill of a streaming build: raw shards per window as the one extraction job streams back."""
import pytest

from moralgap.scale.spill import ExpressionSpill
from moralgap.scale.stream_build import _write_raw


def test_every_window_sent_gets_a_raw_shard_even_without_expressions(tmp_path):
    spill = ExpressionSpill(tmp_path / ".out.spill", {"input": "x"})
    # Windows 0 and 2 found nothing, so the job's output never mentions them.
    rows = iter([(1, 10, '{"a": 1}'), (1, 11, '{"a": 2}'), (3, 30, '{"a": 3}')])
    _write_raw(spill, [0, 1, 2, 3], rows)
    assert [list(spill.read(w, raw=True)) for w in range(4)] == [
        [], ['10\t{"a": 1}', '11\t{"a": 2}'], [], ['30\t{"a": 3}']]
    assert not list(spill.folder.glob(".*.open"))


def test_a_failure_mid_window_leaves_only_whole_shards(tmp_path):
    spill = ExpressionSpill(tmp_path / ".out.spill", {"input": "x"})

    def rows():
        yield 0, 1, "{}"
        yield 1, 2, "{}"
        raise OSError("the job died")

    with pytest.raises(OSError):
        _write_raw(spill, [0, 1, 2], rows())
    assert spill.has(0, raw=True) and not spill.has(1, raw=True)
    assert not list(spill.folder.glob(".*.open"))
    # Started again, the folder keeps the whole window and drops nothing else.
    again = ExpressionSpill(spill.folder, {"input": "x"})
    assert list(again.read(0, raw=True)) == ["1\t{}"]


def test_a_window_the_driver_did_not_send_is_a_bug_not_data(tmp_path):
    spill = ExpressionSpill(tmp_path / ".out.spill", {"input": "x"})
    with pytest.raises(RuntimeError, match="window 5"):
        _write_raw(spill, [0, 1], iter([(5, 0, "{}")]))
