"""Agreement statistics on small cases computed by hand (no server)."""
from __future__ import annotations

import pytest

from moralgap.annotation.agreement import agreement_report, krippendorff_alpha_masi, majority_set, masi_distance, units_from_rows
from moralgap.records import ValueAnnotation


def _rows(table: dict[str, dict[str, list[str]]]) -> list[ValueAnnotation]:
    return [ValueAnnotation(rationale_id=rid, annotator=who, value_ids=ids, source="human")
            for who, by in table.items() for rid, ids in by.items()]


def test_masi_distance_follows_passonneau():
    a, b = frozenset("x"), frozenset("xy")
    assert masi_distance(a, a) == 0.0
    assert masi_distance(a, b) == pytest.approx(1 - 0.5 * 2 / 3)          # subset
    assert masi_distance(frozenset("xy"), frozenset("yz")) == pytest.approx(1 - (1 / 3) * (1 / 3))  # overlap
    assert masi_distance(frozenset("x"), frozenset("z")) == 1.0           # disjoint
    assert masi_distance(frozenset(), frozenset()) == 0.0


def test_report_matches_hand_computation():
    # see test_studio_roundtrip for the derivation of alpha = 7/32
    rows = _rows({"A": {"r1": ["x"], "r2": ["x", "y"], "r3": ["y"]}, "B": {"r1": ["x"], "r2": ["x"], "r3": ["z"]}})
    rep = agreement_report(rows)
    assert rep["krippendorff_alpha_masi"] == pytest.approx(7 / 32)
    # y: A = [0,1,1], B = [0,0,0]: po = 1/3, pe = 1/3 -> 0.  Fleiss: P = 1/3, Pe = 5/9 -> -1/2
    assert rep["per_value"]["y"]["cohen_kappa_mean"] == pytest.approx(0.0)
    assert rep["per_value"]["y"]["fleiss_kappa"] == pytest.approx(-0.5)
    # z: P = 2/3, Pe = 13/18 -> -1/5
    assert rep["per_value"]["z"]["fleiss_kappa"] == pytest.approx(-0.2)
    assert rep["per_value"]["x"]["cohen_kappa_mean"] == pytest.approx(1.0)
    # majority with two annotators = what both chose: {x}, {x}, {}
    assert rep["annotator_vs_majority"]["A"]["masi_agreement"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert rep["annotator_vs_majority"]["B"]["exact_match"] == pytest.approx(2 / 3)
    assert rep["confused_pairs"] == [{"values": ["y", "z"], "count": 1, "names": ["y", "z"]}]


def test_alpha_with_missing_annotations_and_three_coders():
    # C annotates only r1; r4 has a single annotator and does not count
    rows = _rows({"A": {"r1": ["x"], "r2": ["y"], "r4": ["x"]}, "B": {"r1": ["x"], "r2": ["y"]}, "C": {"r1": ["y"]}})
    units = units_from_rows(rows)
    # r1: {x},{x},{y}; r2: {y},{y}. Do = (1/5) * (4/2) = 2/5 (two disagreeing ordered pairs per
    # mismatch in r1, weighted 1/(3-1)); pooled 3 x {x}... n = 5 values: {x}x2, {y}x3 -> De = 2*2*3/(5*4) = 3/5
    assert krippendorff_alpha_masi(units) == pytest.approx(1 - (2 / 5) / (3 / 5))
    assert majority_set(units["r1"]) == frozenset("x")


def test_alpha_undefined_without_pairs_or_variation():
    assert krippendorff_alpha_masi(units_from_rows(_rows({"A": {"r1": ["x"]}}))) is None
    assert krippendorff_alpha_masi(units_from_rows(_rows({"A": {"r1": ["x"]}, "B": {"r1": ["x"]}}))) is None
