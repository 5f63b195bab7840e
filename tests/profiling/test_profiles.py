"""Profile building on the hand-made dataset of conftest.py, with every figure worked out by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moralgap.errors import InputError, SchemaVersionError
from moralgap.records import ValueAnnotation
from moralgap.profiling.profiles import GLOBAL, ProfileBuilder, Profiles, load_value_annotations


@pytest.fixture(scope="module")
def built(toy_records):
    r = toy_records
    return ProfileBuilder("topic", alpha=10, smoothing=0.5, min_rationales=3).fit(r["values"], r["judgments"], r["dilemmas"], r["taxonomy"])


def test_topic_profiles_match_the_hand_computation(built):
    fam = built.group("family")
    # family = d1 (first topic) + d2: rationales d1-h1 {v1,v2}, d1-h2 {v1}, d1-h3 {v5->v3}, d2-h1 {v1,v3}, d2-h2 {}
    assert (fam["n_rationales"], fam["n_with_values"], fam["n_dilemmas"], fam["mentions"]) == (5, 4, 2, 6)
    assert fam["counts"] == {"v1": 3, "v2": 1, "v3": 2}
    # (count + 0.5) / (6 + 0.5 * 4)
    assert built.g0("family") == pytest.approx(np.array([3.5, 1.5, 2.5, 0.5]) / 8)
    assert fam["fallback"] is None and fam["g0_source"] == "self"
    work = built.group("work")
    assert work["counts"] == {"v2": 2, "v4": 2} and work["n_with_values"] == 3
    assert built.g0("work") == pytest.approx(np.array([0.5, 2.5, 0.5, 2.5]) / 6)
    assert work["mle"]["fitted"] is False  # one dilemma cannot show between-dilemma spread


def test_global_profile_skips_model_judgments(built):
    glob = built.group(GLOBAL)
    assert glob["counts"] == {"v1": 3, "v2": 3, "v3": 2, "v4": 2}  # d1-m1's Honesty is a model's, not counted
    assert glob["n_rationales"] == 8 and glob["mentions"] == 10
    assert built.data["counts"]["annotations_on_model_judgments_skipped"] == 1
    assert glob["diversity"]["distinct_values"] == 4
    assert glob["mle"]["fitted"] and glob["mle"]["n_dilemmas"] == 3


def test_group_without_data_falls_back_to_global_and_says_so(built):
    money = built.group("money")
    assert money["n_rationales"] == 0 and money["counts"] == {}
    assert money["fallback"]["to"] == GLOBAL and "0 rationale" in money["fallback"]["reason"]
    assert np.allclose(built.g0("money"), built.g0(GLOBAL))


def test_all_topics_and_parent_fallback(toy_records):
    r = toy_records
    prof = ProfileBuilder("topic", smoothing=0.5, min_rationales=3, topics="all", parents={"weddings": "family"}).fit(
        r["values"], r["judgments"], r["dilemmas"], r["taxonomy"])
    assert prof.group("weddings")["counts"] == {"v1": 2, "v2": 1, "v3": 1}
    assert prof.group("family")["counts"] == {"v1": 3, "v2": 1, "v3": 2}
    strict = ProfileBuilder("topic", smoothing=0.5, min_rationales=4, topics="all", parents={"weddings": "family"}).fit(
        r["values"], r["judgments"], r["dilemmas"], r["taxonomy"])
    wed = strict.group("weddings")
    assert wed["fallback"]["level"] == "parent" and wed["g0_source"] == "family"
    assert np.allclose(strict.g0("weddings"), strict.g0("family"))


def test_per_dilemma_groups_fall_back_to_their_topic(toy_records):
    r = toy_records
    prof = ProfileBuilder("dilemma", smoothing=0.5, min_rationales=3).fit(r["values"], r["judgments"], r["dilemmas"], r["taxonomy"])
    d2 = prof.group("d2")  # one rationale with values: its parent is topic 'family' = d1 + d2
    assert d2["fallback"]["to"] == "family"
    assert prof.g0("d2") == pytest.approx(np.array([3.5, 1.5, 2.5, 0.5]) / 8)
    assert prof.group("d1")["fallback"] is None


def test_by_verdict_groups_judgments(toy_records):
    r = toy_records
    prof = ProfileBuilder("verdict", smoothing=0.5, min_rationales=1).fit(r["values"], r["judgments"], r["dilemmas"], r["taxonomy"])
    # unacceptable: d1-h2 {v1}, d2-h1 {v1,v3}, d3-h3 {v4}; NAH -> acceptable
    assert prof.group("unacceptable")["counts"] == {"v1": 2, "v3": 1, "v4": 1}
    assert not prof.grouping.is_dilemma_level


def test_save_load_roundtrip_and_schema_check(built, tmp_path):
    path = built.save(tmp_path / "profiles.json")
    loaded = Profiles.load(path)
    assert loaded.value_ids == ["v1", "v2", "v3", "v4"] and loaded.taxonomy_version == 3
    assert len(loaded.sha256) == 64
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    (tmp_path / "new.json").write_text(json.dumps(data))
    with pytest.raises(SchemaVersionError):
        Profiles.load(tmp_path / "new.json")
    data["schema_version"] = 1
    data["groups"]["family"]["g0"]["v9"] = 0.1
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="v9"):
        Profiles.load(tmp_path / "bad.json")


def test_value_not_in_taxonomy_is_refused_with_file_line_and_field(toy, toy_records, tmp_path):
    bad = tmp_path / "values.jsonl"
    bad.write_text('{"rationale_id": "d1-h1", "value_ids": ["v1"]}\n{"rationale_id": "d1-h2", "value_ids": ["v1", "v42"]}\n')
    with pytest.raises(InputError) as exc:
        load_value_annotations(bad, toy_records["taxonomy"])
    assert (exc.value.path, exc.value.line, exc.value.field) == (str(bad), 2, "value_ids.1")
    bad.write_text('{"rationale_id": "d1-h1", "value_ids": ["v6"]}\n')
    with pytest.raises(InputError, match="rejected"):
        load_value_annotations(bad, toy_records["taxonomy"])
    bad.write_text('{"rationale_id": "nope", "value_ids": ["v1"]}\n')
    with pytest.raises(InputError) as exc:
        load_value_annotations(bad, toy_records["taxonomy"], rationale_ids={"d1-h1"})
    assert exc.value.field == "rationale_id" and exc.value.line == 1
    skipped = load_value_annotations(bad, toy_records["taxonomy"], rationale_ids={"d1-h1"}, skip_invalid=True)
    assert skipped.records == [] and len(skipped.skipped) == 1


def test_bad_parameters_and_no_data(toy_records):
    r = toy_records
    for alpha in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            ProfileBuilder(alpha=alpha)
    with pytest.raises(ValueError, match="smoothing"):
        ProfileBuilder(smoothing=0)
    empty = [ValueAnnotation(rationale_id="d1-h1", value_ids=[])]
    with pytest.raises(InputError, match="no annotated human rationale"):
        ProfileBuilder().fit(empty, r["judgments"], r["dilemmas"], r["taxonomy"])
    with pytest.raises(InputError, match="not in the judgments"):
        ProfileBuilder().fit([ValueAnnotation(rationale_id="zz", value_ids=["v1"])], r["judgments"], r["dilemmas"], r["taxonomy"])
    with pytest.raises(InputError, match="v42"):
        ProfileBuilder().fit([ValueAnnotation(rationale_id="d1-h1", value_ids=["v42"])], r["judgments"], r["dilemmas"], r["taxonomy"])
