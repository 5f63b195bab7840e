"""Build, split and update name new values through one step (naming.name_values), so a value's
name does not depend on which operation created it."""
from __future__ import annotations

import re

import pytest

from moralgap.datasets import load_judgments
from moralgap.taxonomy import edits
from moralgap.taxonomy.build import TaxonomyBuilder
from moralgap.taxonomy.naming import ClusterView, disambiguate, member_name
from moralgap.taxonomy.update import TaxonomyUpdater

pytestmark = pytest.mark.slow  # real spaCy pipeline and MiniLM


def assert_named_as_written(value, expressions):
    """A member name's first part is made of its members' words: as they were written, or
    their normal forms where the text does not hold them."""
    first = value.name.split(" / ")[0].split(" (")[0].lower()
    members = [e for e in expressions if e.value_id == value.id]
    words = {w for e in members for w in re.findall(r"[\w'’]+", f"{e.norm} {e.text}".lower())}
    assert first and set(first.split()) <= words, value.name


@pytest.fixture(scope="module")
def sample(sample_dir):
    return load_judgments(sample_dir / "judgments.jsonl", require_rationale=True).records


@pytest.fixture(scope="module")
def built(sample, embedder, extractor):
    return TaxonomyBuilder(20, seed=3, embedder=embedder, extractor=extractor).fit(sample).folder


def test_a_split_names_a_part_exactly_as_the_build_named_the_same_expressions(built, embedder):
    # Merge B into A, then split B's expressions back out: the part is the cluster the build named,
    # beside the same other values, so the build's naming step must give it B's name, keywords and
    # exemplars again.
    values = [v for v in built.taxonomy.values if "(" not in v.name]
    a, b = values[0], values[1]
    merged = edits.merge(built, b.id, a.id, author="t")
    b_expressions = [e.id for e in built.expressions if e.value_id == b.id]
    split = edits.split(merged, a.id, groups=[b_expressions], embedder=embedder, author="t")
    (child,) = split.taxonomy.lineage[-1].args["children"]
    got = split.taxonomy.get(child)
    assert (got.name, got.name_source, got.definition) == (b.name, "members", "")
    assert got.keywords == b.keywords and got.exemplars == b.exemplars
    assert {e.id for e in split.expressions if e.value_id == child} == set(b_expressions)
    kept = split.taxonomy.get(a.id)
    assert kept.name == a.name and kept.keywords == a.keywords and kept.exemplars == a.exemplars


def test_a_split_by_k_names_its_parts_from_their_members_and_clear_of_taken_names(built, embedder):
    big = built.taxonomy.values[0]
    split = edits.split(built, big.id, k=3, seed=13, embedder=embedder, author="t")
    children = [split.taxonomy.get(c) for c in split.taxonomy.lineage[-1].args["children"]]
    names = [v.name.lower() for v in split.taxonomy.active_values()]
    assert len(names) == len(set(names))
    for v in children:
        assert v.name_source == "members" and v.definition == "" and v.keywords and v.exemplars
        assert_named_as_written(v, split.expressions)


def test_update_names_new_values_with_the_build_namer_and_clear_of_existing_names(sample, embedder, extractor):
    half = len(sample) // 2
    base = TaxonomyBuilder(10, seed=3, embedder=embedder, extractor=extractor).fit(sample[:half]).folder
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=3).update(base, sample[half:], author="t")
    new_ids = res.folder.taxonomy.lineage[-1].args["new_values"]
    assert new_ids
    names = [v.name.lower() for v in res.folder.taxonomy.active_values()]
    assert len(names) == len(set(names))
    for vid in new_ids:
        v = res.folder.taxonomy.get(vid)
        assert v.name_source == "members" and v.definition == ""
        assert_named_as_written(v, res.folder.expressions)


def test_disambiguate_keeps_new_names_clear_of_taken_ones():
    assert disambiguate(["Rude", "Rude", "Kind"], [["rude", "mean"], ["rude", "cruel"], ["kind"]], taken=["rude"]) == \
        ["Rude (mean)", "Rude (cruel)", "Kind"]
    assert disambiguate(["Rude", "Rude"], [["mean"], ["cruel"]]) == ["Rude", "Rude (cruel)"]


def test_a_one_part_name_that_repeats_a_part_of_a_given_name_gets_a_keyword():
    # Seen on the bundled sample: "Respect" (cultural respect) listed below "Respect / Respectful".
    assert disambiguate(["Respect / Respectful", "Respect", "Respect / Dignity"],
                        [["respect"], ["respect", "cultural"], ["dignity"]]) == \
        ["Respect / Respectful", "Respect (cultural)", "Respect / Dignity"]
    assert disambiguate(["Fair"], [["fair", "share"]], taken=["Unfair / Fair"]) == ["Fair (share)"]


def test_member_names_skip_a_form_that_only_repeats_a_picked_one():
    # Seen on the AITA comments: "Manipulative / Manipjulative" named one idea twice.
    view = ClusterView(exemplars=[], keywords=["manipulative"], size=9, n_rationales=7,
                       forms=["manipulative", "so manipulative", "manipjulative", "controlling"])
    assert member_name(view) == "Manipulative / Controlling"
    assert member_name(ClusterView(exemplars=[], keywords=[], size=2, n_rationales=2,
                                   forms=["racist", "racism"])) == "Racist / Racism"


def test_member_names_skip_a_part_whose_written_words_repeat_a_picked_one():
    # Seen on the bundled sample as "Owe You The Money / Owe You" and "Protect / Protect The Baby":
    # the forms differ ("owe money" and "owe you", "should protect" and "protect baby"), but one
    # written part holds every word of the other.
    owe = ClusterView(exemplars=["owe you the money", "owe you", "owed you nothing"], keywords=[], size=4,
                      n_rationales=4, forms=["owe money", "owe you", "owe nothing"], form_rationales=[2, 2, 2])
    assert member_name(owe) == "Owe You The Money / Owed You Nothing"
    protect = ClusterView(exemplars=["obligated to protect someone", "protect the baby", "deserves protection"],
                          keywords=[], size=5, n_rationales=5, forms=["should protect", "protect baby", "deserve protection"],
                          form_rationales=[2, 2, 2])
    assert member_name(protect) == "Protect / Deserves Protection"
