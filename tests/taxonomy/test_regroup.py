"""Regrouping updates: the unreviewed values form again from all the data, reviewed ones stay."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.errors import InputError
from moralgap.taxonomy import edits
from moralgap.taxonomy.build import TaxonomyBuilder
from moralgap.taxonomy.diff import diff_taxonomies
from moralgap.taxonomy.folder import TaxonomyFolder
from moralgap.taxonomy.regroup import regroup_builder, reviewed_value_ids
from moralgap.taxonomy.space import EmbeddingSpace
from moralgap.taxonomy.update import NO_SUPPORT, TaxonomyUpdater

from test_update import BASE, NEW, judgments

pytestmark = pytest.mark.slow  # real spaCy pipeline and MiniLM


def build(js, embedder, extractor):
    return TaxonomyBuilder(5, seed=13, embedder=embedder, extractor=extractor).fit(js).folder


def members(folder: TaxonomyFolder) -> dict[str, str | None]:
    return {e.id: e.value_id for e in folder.expressions}


@pytest.fixture(scope="module")
def unreviewed(embedder, extractor) -> TaxonomyFolder:
    return build(judgments(BASE, "b"), embedder, extractor)


def test_with_nothing_reviewed_a_regroup_is_the_build_on_all_the_data(embedder, extractor):
    # The build's recorded seed is the regroup's, whatever the updater's own (13 by default).
    half = TaxonomyBuilder(5, seed=14, embedder=embedder, extractor=extractor).fit(judgments(BASE, "b")).folder
    full = TaxonomyBuilder(5, seed=14, embedder=embedder, extractor=extractor).fit(
        judgments(BASE, "b") + judgments(NEW, "n")).folder
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, regroup=True).update(half, judgments(NEW, "n"))
    assert regroup_builder(half, 5, seed=13, space=EmbeddingSpace.of(half, embedder=embedder), extractor=None).seed == 14
    live = {v.id: v for v in res.folder.taxonomy.values if v.status != "merged" and v.size}
    assert {v.id: v.name for v in full.taxonomy.values} == {vid: v.name for vid, v in live.items()}
    assert members(res.folder) == members(full)
    # The plain update keeps the half's grouping instead: its new values are extra ones.
    plain = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=14).update(half, judgments(NEW, "n"))
    assert members(plain.folder) != members(full)


def test_a_regroup_joins_values_of_one_word_as_its_build_did(unreviewed, embedder):
    space = EmbeddingSpace.of(unreviewed, embedder=embedder)
    assert unreviewed.taxonomy.params["join_word_families"] is True
    assert regroup_builder(unreviewed, 5, seed=13, space=space, extractor=None).join_word_families
    # A build recorded before the join existed never joined values, so neither does its regroup.
    older = TaxonomyFolder(unreviewed.taxonomy.model_copy(update={"params": {
        k: v for k, v in unreviewed.taxonomy.params.items() if k != "join_word_families"}}),
        unreviewed.expressions, unreviewed.centroids)
    assert not regroup_builder(older, 5, seed=13, space=space, extractor=None).join_word_families


def test_reviewed_values_stay_and_every_old_id_still_leads_somewhere(unreviewed, embedder, extractor):
    big, second = sorted(unreviewed.taxonomy.values, key=lambda v: -v.size)[:2]
    folder = edits.accept(unreviewed, big.id, author="ana")
    folder = edits.rename(folder, second.id, "Renamed by a person", author="ana")
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=13, regroup=True).update(
        folder, judgments(NEW, "n"), author="bot")
    new = res.folder
    by_id = new.taxonomy.by_id()
    for vid in (big.id, second.id):
        before, after = folder.taxonomy.by_id()[vid], by_id[vid]
        assert (after.name, after.status, after.definition) == (before.name, before.status, before.definition)
        old_members = {e.id for e in folder.expressions if e.value_id == vid}
        assert old_members <= {e.id for e in new.expressions if e.value_id == vid}
    assert res.stats["pinned_values"] == 2
    entry = new.taxonomy.lineage[-1]
    assert entry.op == "update" and entry.args["regroup"] is True and entry.author == "bot"
    # Each earlier unreviewed value came back, was merged into the value holding most of its
    # members, or kept its id with no members left.
    for v in folder.taxonomy.values:
        w = by_id[v.id]
        if w.status == "merged":
            target = by_id[edits.resolve(new, v.id)]
            assert entry.args["merged"][v.id] == w.merged_into and target.status != "merged" and target.size > 0
            went = [m.value_id for m in new.expressions if m.id in {e.id for e in folder.expressions if e.value_id == v.id}]
            assert max(set(went) - {None}, key=went.count) == w.merged_into
        else:
            assert w.size > 0 or NO_SUPPORT in w.flags
    assert all(e.value_id is None or e.value_id in by_id for e in new.expressions)
    assert len(new.expressions) == len(folder.expressions) + res.stats["n_new_expressions"]
    # The diff reads the merges from the lineage; a successor is not also "split" from its source.
    assert entry.args["merged"] and entry.args["kept_ids"]  # this data exercises both
    d = diff_taxonomies(folder, new)
    assert {c.old_id: c.new_id for c in d.of_kind("merged")} == entry.args["merged"]
    assert not d.of_kind("split")


def test_what_counts_as_reviewed(unreviewed, embedder):
    values = sorted(unreviewed.taxonomy.values, key=lambda v: -v.size)
    assert reviewed_value_ids(unreviewed) == set()
    folder = edits.reject(unreviewed, values[0].id, author="ana")
    folder = edits.set_definition(folder, values[1].id, "a definition", author="ana")
    folder = edits.merge(folder, values[3].id, values[2].id, author="ana")
    assert reviewed_value_ids(folder) == {values[0].id, values[1].id, values[2].id, values[3].id}
    split = edits.split(folder, values[4].id, k=2, embedder=embedder, author="ana")
    child = next(e.args["children"] for e in split.taxonomy.lineage if e.op == "split")
    assert set(child) | {values[4].id} <= reviewed_value_ids(split)


@pytest.mark.parametrize("embed_text", ["context", "sentence"])
def test_a_context_embedded_taxonomy_regroups_with_its_earlier_rationales(embedder, extractor, embed_text):
    def fit(js):
        return TaxonomyBuilder(5, seed=13, embedder=embedder, extractor=extractor, embed_text=embed_text).fit(js).folder

    ctx = fit(judgments(BASE, "b"))
    assert ctx.taxonomy.params["embed_text"] == embed_text
    # Its earlier mentions are embedded in their rationales, whose texts a taxonomy does not keep.
    with pytest.raises(InputError, match=f"--embed-text {embed_text}.*regroups only with the texts of its earlier"):
        TaxonomyUpdater(embedder=embedder, extractor=extractor, regroup=True).update(ctx, judgments(NEW, "n"))
    # Given them, with nothing reviewed the regroup is the build on all the data, as under norm.
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, regroup=True).update(
        ctx, judgments(NEW, "n"), earlier=judgments(BASE, "b"))
    full = fit(judgments(BASE, "b") + judgments(NEW, "n"))
    assert members(res.folder) == members(full)
    live = {v.id: v.name for v in res.folder.taxonomy.values if v.status != "merged" and v.size}
    assert live == {v.id: v.name for v in full.taxonomy.values}
    # A plain update embeds the new mentions the way the build did, each with its own sentence.
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(ctx, judgments(NEW, "n"))
    assert res.folder.taxonomy.params["embed_text"] == embed_text
    assert any(e.value_id for e in res.folder.expressions if e.rationale_id.startswith("n"))


def test_how_many_values_a_regroup_forms(unreviewed, embedder, extractor):
    def live(res):
        return [v for v in res.folder.taxonomy.values if v.status != "merged" and v.size]

    two = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=13, regroup=True, n_new_values=2).update(
        unreviewed, judgments(NEW, "n"))
    assert len(live(two)) == 2 and two.stats["new_values_rule"] == "--n-new-values"
    # Every value reviewed: the new expressions that cluster with their members join them (a form
    # a reviewed value holds joins that value), and the animal-welfare ones form a value of their own.
    folder = unreviewed
    for v in unreviewed.taxonomy.values:
        folder = edits.accept(folder, v.id, author="ana")
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=13, regroup=True).update(
        folder, judgments(NEW, "n"))
    assert res.stats["pinned_values"] == 5 and res.stats["claimed_by_reviewed_values"] > 0
    assert [v.id for v in res.folder.taxonomy.values][:5] == [v.id for v in unreviewed.taxonomy.values]
    new_values = [v for v in res.folder.taxonomy.values if v.id in res.folder.taxonomy.lineage[-1].args["new_values"]]
    animal = {e.value_id for e in res.folder.expressions if e.rationale_id in {"n2", "n10"} and e.value_id}
    assert len(new_values) == 1 and animal == {new_values[0].id}
    holder = {e.norm: e.value_id for e in unreviewed.expressions if e.value_id}
    placed = [e for e in res.folder.expressions if e.rationale_id.startswith("n") and e.norm in holder]
    assert placed and all(e.value_id == holder[e.norm] for e in placed)


def test_cli_update_regroup(unreviewed, tmp_path):
    folder = edits.accept(unreviewed, unreviewed.taxonomy.values[0].id, author="ana")
    folder.save(tmp_path / "tax")
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({"id": j.id, "dilemma_id": j.dilemma_id, "verdict": "YTA", "rationale": j.rationale})
                           + "\n" for j in judgments(NEW, "n")))
    r = CliRunner().invoke(main, ["taxonomy", "update", str(tmp_path / "tax"), str(new), "--regroup", "--seed", "13",
                                  "--out", str(tmp_path / "v2"), "--author", "bot"])
    assert r.exit_code == 0, r.output
    assert "1 reviewed value(s) kept" in r.output
    out = TaxonomyFolder.load(tmp_path / "v2")
    assert out.taxonomy.lineage[-1].args["regroup"] is True
    manifest = json.loads((tmp_path / "v2" / "manifest.json").read_text())
    assert manifest["params"]["regroup"] is True and manifest["counts"]["pinned_values"] == 1


def test_an_imported_list_keeps_its_values_and_the_rest_forms_new_ones(tmp_path, embedder, extractor):
    from moralgap.taxonomy.export_import import import_taxonomy

    p = tmp_path / "list.yaml"
    p.write_text("- name: Honesty\n  definition: telling the truth, not lying\n"
                 "- name: Punctuality\n  definition: being on time\n")
    imported = import_taxonomy(p, embedder=embedder)
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=13, regroup=True).update(
        imported, judgments(BASE + NEW, "n"))
    by_name = {v.name: v for v in res.folder.taxonomy.values}
    assert by_name["Honesty"].status == "accepted" and by_name["Honesty"].size >= 3
    assert NO_SUPPORT in by_name["Punctuality"].flags and by_name["Punctuality"].status == "accepted"
    assert res.stats["pinned_values"] == 2 and res.stats["new_values"] >= 2
    assert res.stats["new_values_rule"].startswith("as large as the values this update filled")


def test_dilemma_counts_only_where_every_rationale_s_dilemma_is_known(unreviewed, embedder, extractor):
    up = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=13, regroup=True)
    res = up.update(unreviewed, judgments(NEW, "n"))
    with_earlier = {e.value_id for e in res.folder.expressions if e.value_id and e.rationale_id.startswith("b")}
    regrouped = [v for v in res.folder.taxonomy.values if v.status != "merged" and v.size]
    assert with_earlier and all("n_dilemmas" not in (v.quality or {}) for v in regrouped if v.id in with_earlier)
    # With --replace the file is the whole corpus, so every regrouped value is counted.
    whole = TaxonomyUpdater(embedder=embedder, extractor=extractor, seed=13, regroup=True, replace=True).update(
        unreviewed, judgments(BASE, "b") + judgments(NEW, "n"))
    live = [v for v in whole.folder.taxonomy.values if v.status != "merged" and v.size]
    assert live and all(v.quality["n_dilemmas"] >= 1 for v in live)


def test_cli_builds_with_each_mention_in_its_sentence(tmp_path):
    data = tmp_path / "base.jsonl"
    data.write_text("".join(json.dumps({"id": j.id, "dilemma_id": j.dilemma_id, "verdict": "YTA", "rationale": j.rationale})
                            + "\n" for j in judgments(BASE, "b")))
    r = CliRunner().invoke(main, ["taxonomy", "build", str(data), "--out", str(tmp_path / "tax"), "--n-values", "5",
                                  "--embed-text", "sentence", "--context-weight", "1"])
    assert r.exit_code == 0, r.output
    params = TaxonomyFolder.load(tmp_path / "tax").taxonomy.params
    assert (params["embed_text"], params["context_weight"]) == ("sentence", 1.0)
    # Under --embed-text sentence every mention is a point of its own, as under context.
    distinct = r.output.split("expressions (")[1].split(" distinct")[0]
    assert int(distinct) == int(r.output.split(" values from ")[1].split(" expressions")[0])
    # A regroup reads the earlier rationales' texts from --earlier-judgments, and says so without them.
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({"id": j.id, "dilemma_id": j.dilemma_id, "verdict": "YTA", "rationale": j.rationale})
                           + "\n" for j in judgments(NEW, "n")))
    update = ["taxonomy", "update", str(tmp_path / "tax"), str(new), "--regroup", "--author", "bot"]
    r = CliRunner().invoke(main, [*update, "--out", str(tmp_path / "v2")])
    assert isinstance(r.exception, InputError) and "--earlier-judgments" in str(r.exception)
    assert not (tmp_path / "v2").exists()
    r = CliRunner().invoke(main, [*update, "--earlier-judgments", str(data), "--out", str(tmp_path / "v2")])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "v2" / "manifest.json").read_text())
    assert "earlier_judgments" in json.dumps(manifest["inputs"]) and manifest["params"]["regroup"] is True
