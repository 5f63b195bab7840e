"""Diffs: a chain of known edits is reproduced exactly; independent builds are matched by centroids."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moralgap.records import LineageEntry, Taxonomy
from moralgap.taxonomy import edits
from moralgap.taxonomy.diff import diff_taxonomies
from moralgap.taxonomy.folder import TaxonomyFolder

from test_edits import AUTHOR, VALUES, ids, make_folder

pytestmark = pytest.mark.slow  # real MiniLM embeddings


@pytest.fixture(scope="module")
def folder(embedder) -> TaxonomyFolder:
    return make_folder(embedder)


def test_diff_reproduces_known_edits(folder, embedder):
    i = ids(folder)
    f = edits.rename(folder, i["respect"], "Regard", **AUTHOR)
    f = edits.set_definition(f, i["honesty"], "Telling the truth.", **AUTHOR)
    f = edits.accept(f, i["honesty"], **AUTHOR)
    f = edits.set_parent(f, i["family"], "Loyalty", **AUTHOR)
    members = [e.id for e in f.expressions if e.value_id == i["family"]][:2]
    f = edits.split(f, i["family"], groups=[members], embedder=embedder, **AUTHOR)
    child = f.taxonomy.lineage[-1].args["children"][0]
    f = edits.merge(f, i["privacy"], i["respect"], **AUTHOR)

    d = diff_taxonomies(folder, f)
    got = {(c.kind, c.old_id, c.new_id) for c in d.changes}
    n_family = len(VALUES["family"])
    assert got == {
        ("renamed", i["respect"], i["respect"]),
        ("resized", i["respect"], i["respect"]),
        ("redefined", i["honesty"], i["honesty"]),
        ("accepted", i["honesty"], i["honesty"]),
        ("reparented", i["family"], i["family"]),
        ("resized", i["family"], i["family"]),
        ("split", i["family"], i["family"]),
        ("merged", i["privacy"], i["respect"]),
    }
    assert d.split_map == {i["family"]: [i["family"], child]}
    assert d.id_map[i["privacy"]] == i["respect"]
    assert d.id_map[i["honesty"]] == i["honesty"]
    resized = {c.old_id: (c.old, c.new) for c in d.of_kind("resized")}
    assert resized[i["family"]] == (n_family, n_family - 2)
    assert all(c.how == "lineage" for c in d.changes)
    # nothing changed: nothing reported
    assert diff_taxonomies(f, f).changes == []
    js = json.loads(json.dumps(d.to_json()))
    assert js["summary"]["merged"] == 1 and js["id_map"][i["privacy"]] == i["respect"]
    table = d.format_table()
    assert "Regard" in table and "merged" in table


def rebuilt(folder: TaxonomyFolder, rng_seed: int, noise: float) -> TaxonomyFolder:
    """The same values under unrelated ids and slightly moved centroids, as an independent build gives."""
    rng = np.random.default_rng(rng_seed)
    tax = folder.taxonomy.model_copy(deep=True)
    mapping = {v.id: f"vb{k:09d}" for k, v in enumerate(tax.values)}
    for v in tax.values:
        v.id = mapping[v.id]
    tax.lineage = [LineageEntry(version=1, op="build")]
    cents = {}
    for old, new in mapping.items():
        c = folder.centroids[old] + noise * rng.standard_normal(folder.centroids[old].shape).astype(np.float32)
        cents[new] = c / np.linalg.norm(c)
    exprs = [e.model_copy(update={"value_id": mapping.get(e.value_id)}) for e in folder.expressions]
    return TaxonomyFolder(Taxonomy(**{**tax.model_dump(), "name": "other"}), exprs, cents), mapping


def test_diff_across_builds_matches_by_centroid(folder, embedder):
    other, mapping = rebuilt(folder, 1, noise=0.01)
    d = diff_taxonomies(folder, other)
    assert d.id_map == mapping
    assert not d.of_kind("added") and not d.of_kind("removed")
    assert all(c.how == "centroid" for c in d.changes)

    # drop one value and add an unrelated one: reported as removed and added
    i = ids(folder)
    tax = other.taxonomy.model_copy(deep=True)
    gone = mapping[i["privacy"]]
    tax.values = [v for v in tax.values if v.id != gone]
    cents = {k: v for k, v in other.centroids.items() if k != gone}
    newv = tax.values[0].model_copy(update={"id": "vbnew000000", "name": "Punctuality", "size": 4})
    tax.values.append(newv)
    cents["vbnew000000"] = embedder.encode(["arriving on time", "always late"]).mean(axis=0)
    d2 = diff_taxonomies(folder, TaxonomyFolder(tax, [], cents))
    assert [(c.old_id, c.new_id) for c in d2.of_kind("removed")] == [(i["privacy"], None)]
    assert [(c.old_id, c.new_id) for c in d2.of_kind("added")] == [(None, "vbnew000000")]


def test_diff_across_builds_finds_merges_and_splits(folder, embedder):
    i = ids(folder)
    # a later build that put respect and privacy in one value (centroid close to respect)
    merged = edits.merge(folder, i["privacy"], i["respect"], **AUTHOR)
    other, mapping = rebuilt(merged, 2, noise=0.0)
    other.taxonomy.values = [v for v in other.taxonomy.values if v.status != "merged"]
    sim_pr = float(folder.centroids[i["privacy"]] @ merged.centroids[i["respect"]])
    sim_hr = float(folder.centroids[i["honesty"]] @ merged.centroids[i["respect"]])
    threshold = (sim_pr + max(sim_hr, 0.6)) / 2  # between the merged value and its nearest non-member
    assert sim_pr > threshold > sim_hr
    d = diff_taxonomies(folder, other, threshold=threshold)
    assert [(c.old_id, c.new_id, c.how) for c in d.of_kind("merged")] == [(i["privacy"], mapping[i["respect"]], "centroid")]
    assert not d.of_kind("removed") and not d.of_kind("added")
    # and the reverse direction reads as a split
    back = diff_taxonomies(other, folder, threshold=threshold)
    assert back.split_map[mapping[i["respect"]]] == [i["respect"], i["privacy"]]
    assert not back.of_kind("added")
