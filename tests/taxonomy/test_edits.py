"""Edit operations: each one makes a new version with a lineage entry; bad edits write nothing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moralgap.errors import InputError, MoralgapError
from moralgap.records import Expression, LineageEntry, Taxonomy, Value
from moralgap.taxonomy import edits
from moralgap.taxonomy.folder import TaxonomyFolder

# A small hand-written taxonomy: four values and the expressions that support them. Centroids
# are the mean embedding of their members (real MiniLM), as a build would make them.
VALUES = {
    "respect": ["rude", "disrespectful", "respect for your wife", "inconsiderate", "so rude", "no respect"],
    "honesty": ["lying", "lie to her", "dishonest", "honest", "be honest", "deceive"],
    "privacy": ["her privacy", "snoop through her phone", "private diary", "read his messages", "privacy"],
    "family": ["family comes first", "your family", "family obligation", "blood relatives", "your parents"],
}
AUTHOR = dict(author="tester", reason="unit test")
pytestmark = pytest.mark.slow  # real MiniLM embeddings


def make_folder(embedder, values=VALUES, name="handmade") -> TaxonomyFolder:
    tax_values, expressions, centroids = [], [], {}
    n = 0
    for key, norms in values.items():
        vid = f"v{key[:4]}000000"[:11]
        vecs = embedder.encode(norms)
        cent = vecs.mean(axis=0)
        cent /= np.linalg.norm(cent)
        centroids[vid] = cent.astype(np.float32)
        tax_values.append(Value(id=vid, name=key.title(), definition=f"About {key}.", keywords=norms[:3],
                                exemplars=norms[:3], size=len(norms)))
        for text, vec in zip(norms, vecs):
            expressions.append(Expression(id=f"r{n}#0", rationale_id=f"r{n}", start=0, end=len(text), text=text,
                                          norm=text, rule="explicit_value", value_id=vid,
                                          similarity=round(float(vec @ cent), 4)))
            n += 1
    tax = Taxonomy(name=name, embedding_model="all-MiniLM-L6-v2", values=tax_values,
                   lineage=[LineageEntry(version=1, op="build")], params={"embed_text": "norm"})
    return TaxonomyFolder(tax, expressions, centroids)


@pytest.fixture(scope="module")
def folder(embedder) -> TaxonomyFolder:
    return make_folder(embedder)


def ids(folder):
    return {k: f"v{k[:4]}000000"[:11] for k in VALUES}


def snapshot(folder: TaxonomyFolder) -> str:
    return json.dumps([folder.taxonomy.to_json_dict(), [e.to_json_dict() for e in folder.expressions],
                       {k: v.tolist() for k, v in folder.centroids.items()}], sort_keys=True)


def check_new_version(old, new, op):
    assert new.taxonomy.version == old.taxonomy.version + 1
    entry = new.taxonomy.lineage[-1]
    assert (entry.version, entry.op, entry.author, entry.reason) == (new.taxonomy.version, op, "tester", "unit test")
    assert entry.at.endswith("+00:00")
    assert len(new.taxonomy.lineage) == len(old.taxonomy.lineage) + 1


def test_rename_keeps_id_and_records_lineage(folder):
    before = snapshot(folder)
    vid = ids(folder)["respect"]
    new = edits.rename(folder, vid, "Respect for others", **AUTHOR)
    check_new_version(folder, new, "rename")
    assert new.taxonomy.get(vid).name == "Respect for others"
    assert new.taxonomy.lineage[-1].args == {"value_id": vid, "old": "Respect", "new": "Respect for others"}
    assert snapshot(folder) == before  # the input folder is untouched


def test_set_definition_accept_reject_and_parent(folder):
    vid = ids(folder)["honesty"]
    v2 = edits.set_definition(folder, vid, "Telling the truth.", **AUTHOR)
    check_new_version(folder, v2, "set_definition")
    assert v2.taxonomy.get(vid).definition == "Telling the truth."
    v3 = edits.accept(v2, vid, **AUTHOR)
    check_new_version(v2, v3, "accept")
    assert v3.taxonomy.get(vid).status == "accepted"
    v4 = edits.reject(v3, vid, **AUTHOR)
    assert v4.taxonomy.get(vid).status == "rejected"
    assert vid not in {v.id for v in v4.taxonomy.active_values()}
    v5 = edits.accept(v4, vid, **AUTHOR)  # a rejected value can be accepted again
    assert v5.taxonomy.get(vid).status == "accepted"
    v6 = edits.set_parent(v5, vid, "Fairness", **AUTHOR)
    check_new_version(v5, v6, "set_parent")
    assert v6.taxonomy.get(vid).parent == "Fairness"
    v7 = edits.set_parent(v6, vid, None, **AUTHOR)
    assert v7.taxonomy.get(vid).parent is None
    assert [e.op for e in v7.taxonomy.lineage] == ["build", "set_definition", "accept", "reject", "accept",
                                                   "set_parent", "set_parent"]


def test_merge_moves_expressions_and_weights_centroid(folder):
    i = ids(folder)
    src, tgt = i["privacy"], i["respect"]
    new = edits.merge(folder, src, tgt, **AUTHOR)
    check_new_version(folder, new, "merge")
    s, t = new.taxonomy.get(src), new.taxonomy.get(tgt)
    assert (s.status, s.merged_into, s.size) == ("merged", tgt, 0)
    assert t.size == len(VALUES["privacy"]) + len(VALUES["respect"])
    assert sum(e.value_id == tgt for e in new.expressions) == t.size
    assert not any(e.value_id == src for e in new.expressions)
    ns, nt = len(VALUES["privacy"]), len(VALUES["respect"])
    expect = ns * folder.centroids[src] + nt * folder.centroids[tgt]
    expect /= np.linalg.norm(expect)
    np.testing.assert_allclose(new.centroids[tgt], expect, atol=1e-6)
    assert src not in {v.id for v in new.taxonomy.active_values()}
    assert edits.resolve(new, src) == tgt
    # the record `taxonomy show` prints follows the merged members; cohesion waits for an update
    members = [e for e in new.expressions if e.value_id == tgt]
    assert t.quality["n_rationales"] == len({e.rationale_id for e in members})
    assert "cohesion" not in t.quality and t.quality.get("nearest_value") != src


def test_split_by_groups(folder, embedder):
    vid = ids(folder)["family"]
    members = [e for e in folder.expressions if e.value_id == vid]
    group = [members[3].id, members[4].id]  # blood relatives, your parents
    new = edits.split(folder, vid, groups=[group], names=["Kinship"], embedder=embedder, **AUTHOR)
    check_new_version(folder, new, "split")
    entry = new.taxonomy.lineage[-1]
    (child,) = entry.args["children"]
    assert child not in edits.ids_ever_seen(folder)
    assert new.taxonomy.get(child).name == "Kinship"
    assert new.taxonomy.get(child).status == "proposed"
    assert {e.id for e in new.expressions if e.value_id == child} == set(group)
    assert new.taxonomy.get(vid).size == len(members) - 2
    assert new.taxonomy.get(child).size == 2
    assert child in new.centroids and abs(np.linalg.norm(new.centroids[child]) - 1) < 1e-5
    # both parts carry the record a build gives a value, over the members each holds now
    for v in (new.taxonomy.get(child), new.taxonomy.get(vid)):
        held = [e for e in new.expressions if e.value_id == v.id]
        assert v.quality["n_rationales"] == len({e.rationale_id for e in held}) and 0 < v.quality["cohesion"] <= 1


def test_split_by_k_is_seeded_and_gives_fresh_ids(folder, embedder):
    vid = ids(folder)["honesty"]
    a = edits.split(folder, vid, k=2, embedder=embedder, seed=3, **AUTHOR)
    b = edits.split(folder, vid, k=2, embedder=embedder, seed=3, **AUTHOR)
    assert [e.value_id for e in a.expressions] == [e.value_id for e in b.expressions]
    (child,) = a.taxonomy.lineage[-1].args["children"]
    sizes = a.taxonomy.lineage[-1].args["sizes"]
    assert sizes[vid] >= sizes[child] >= 1 and sizes[vid] + sizes[child] == len(VALUES["honesty"])
    # splitting again never hands out an id the taxonomy ever held
    again = edits.split(a, vid, k=2, embedder=embedder, seed=3, **AUTHOR)
    (child2,) = again.taxonomy.lineage[-1].args["children"]
    assert child2 != child and child2 not in edits.ids_ever_seen(a)


def test_ids_in_lineage_are_never_reused(folder):
    vid = "v1234567890"
    # an id that only the lineage remembers (e.g. a value a user deleted from the file by hand)
    f = TaxonomyFolder(folder.taxonomy.model_copy(deep=True), folder.expressions, folder.centroids)
    f.taxonomy.lineage.append(LineageEntry(version=2, op="split", args={"value_id": "x", "children": [vid]}))
    assert vid in edits.ids_ever_seen(f)
    assert edits.fresh_value_id(f, "anything") not in edits.ids_ever_seen(f)


@pytest.mark.parametrize("call", [
    lambda f, i: edits.rename(f, "vnope", "X", **AUTHOR),
    lambda f, i: edits.rename(f, i["respect"], "Honesty", **AUTHOR),  # name of another value
    lambda f, i: edits.rename(f, i["respect"], "  ", **AUTHOR),
    lambda f, i: edits.merge(f, i["respect"], i["respect"], **AUTHOR),
    lambda f, i: edits.merge(f, i["respect"], "vnope", **AUTHOR),
    lambda f, i: edits.accept(f, "vnope", **AUTHOR),
    lambda f, i: edits.set_parent(f, "vnope", "G", **AUTHOR),
    lambda f, i: edits.split(f, i["respect"], groups=[["r999#0"]], **AUTHOR),
    lambda f, i: edits.split(f, i["respect"], groups=[["r0#0"], ["r0#0"]], **AUTHOR),
    lambda f, i: edits.split(f, i["respect"], **AUTHOR),
    lambda f, i: edits.split(f, i["respect"], k=1, **AUTHOR),
    lambda f, i: edits.rename(f, i["respect"], "X", author="", reason=""),
], ids=["unknown-id", "name-taken", "empty-name", "merge-into-itself", "merge-unknown-target", "accept-unknown",
        "parent-unknown", "split-foreign-expression", "split-twice-listed", "split-no-method", "split-k1", "no-author"])
def test_bad_edits_raise_and_change_nothing(folder, call):
    before = snapshot(folder)
    with pytest.raises(InputError):
        call(folder, ids(folder))
    assert snapshot(folder) == before


def test_edits_of_merged_values_are_refused(folder):
    i = ids(folder)
    merged = edits.merge(folder, i["privacy"], i["respect"], **AUTHOR)
    for call in (lambda: edits.rename(merged, i["privacy"], "P", **AUTHOR),
                 lambda: edits.accept(merged, i["privacy"], **AUTHOR),
                 lambda: edits.merge(merged, i["honesty"], i["privacy"], **AUTHOR),
                 lambda: edits.merge(merged, i["privacy"], i["honesty"], **AUTHOR)):
        with pytest.raises(MoralgapError, match="merged"):
            call()
    rejected = edits.reject(folder, i["family"], **AUTHOR)
    with pytest.raises(InputError, match="already rejected"):
        edits.reject(rejected, i["family"], **AUTHOR)


def test_cli_edit_out_and_in_place(folder, tmp_path):
    from click.testing import CliRunner

    from moralgap.cli import main

    src = tmp_path / "tax"
    folder.save(src)
    vid = ids(folder)["respect"]
    runner = CliRunner()
    r = runner.invoke(main, ["taxonomy", "edit", "rename", str(src), vid, "Regard", "--out", str(tmp_path / "v2"),
                             "--author", "ana", "--reason", "clearer"])
    assert r.exit_code == 0, r.output
    v2 = TaxonomyFolder.load(tmp_path / "v2")
    assert v2.taxonomy.get(vid).name == "Regard" and v2.taxonomy.version == 2
    assert v2.taxonomy.lineage[-1].author == "ana" and (tmp_path / "v2" / "manifest.json").exists()
    assert TaxonomyFolder.load(src).taxonomy.version == 1

    r = runner.invoke(main, ["taxonomy", "edit", "accept", str(src), vid, "--in-place", "--author", "ana"])
    assert r.exit_code == 0, r.output
    assert TaxonomyFolder.load(src).taxonomy.get(vid).status == "accepted"
    assert json.loads((src / "taxonomy.v1.json").read_text())["version"] == 1

    # bad input: one line on stderr, exit status 2, nothing written
    before = (src / "taxonomy.json").read_bytes()
    for args in (["merge", str(src), vid, vid], ["rename", str(src), "vnope", "X"]):
        r = runner.invoke(main, ["taxonomy", "edit", *args, "--in-place"], standalone_mode=False)
        assert isinstance(r.exception, MoralgapError)
    assert (src / "taxonomy.json").read_bytes() == before
    assert not (src / "taxonomy.v2.json").exists()


def test_show_clips_a_long_name_at_a_word(folder, tmp_path):
    from click.testing import CliRunner

    from moralgap.cli import main

    src = tmp_path / "tax"
    folder.save(src)
    vid = ids(folder)["respect"]
    long_name = "Economic Sanctions / Should Limit Executive Compensation"
    runner = CliRunner()
    assert runner.invoke(main, ["taxonomy", "edit", "rename", str(src), vid, long_name, "--in-place",
                                "--author", "ana"]).exit_code == 0
    r = runner.invoke(main, ["taxonomy", "show", str(src)])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if line.startswith(vid))
    # 40 columns hold "... / Should Limit" and the cut is shown, never half a word ("Execut")
    assert "Economic Sanctions / Should Limit…" in row and "Execut" not in row
    shown = [line for line in r.output.splitlines() if line.startswith("v")]
    assert len({line.index(" 6 ") for line in shown if " 6 " in line}) == 1  # columns still line up
    r = runner.invoke(main, ["taxonomy", "show", str(src), "--json"])
    assert long_name in r.output


def test_cli_edit_split(folder, tmp_path):
    from click.testing import CliRunner

    from moralgap.cli import main

    src = tmp_path / "tax"
    folder.save(src)
    i = ids(folder)
    members = [e.id for e in folder.expressions if e.value_id == i["family"]]
    runner = CliRunner()
    r = runner.invoke(main, ["taxonomy", "edit", "split", str(src), i["family"], "--group", ",".join(members[3:5]),
                             "--name", "Kinship", "--out", str(tmp_path / "v2"), "--author", "ana"])
    assert r.exit_code == 0, r.output
    v2 = TaxonomyFolder.load(tmp_path / "v2")
    (child,) = v2.taxonomy.lineage[-1].args["children"]
    assert v2.taxonomy.get(child).name == "Kinship"
    assert {e.id for e in v2.expressions if e.value_id == child} == set(members[3:5])

    r = runner.invoke(main, ["taxonomy", "edit", "split", str(src), i["honesty"], "--k", "2", "--seed", "3",
                             "--in-place", "--author", "ana"])
    assert r.exit_code == 0, r.output
    v2 = TaxonomyFolder.load(src)
    parts = v2.taxonomy.lineage[-1].args["children"]
    honesty = [e for e in folder.expressions if e.value_id == i["honesty"]]
    assert sum(v2.taxonomy.get(c).size for c in parts) + v2.taxonomy.get(i["honesty"]).size == len(honesty)

    # neither --group nor --k: a usage error, nothing written
    before = (src / "taxonomy.json").read_bytes()
    r = runner.invoke(main, ["taxonomy", "edit", "split", str(src), i["respect"], "--in-place"])
    assert r.exit_code == 2 and "--group" in r.output
    assert (src / "taxonomy.json").read_bytes() == before


@pytest.mark.parametrize("breakage", ["newer-schema", "bad-status", "unknown-expression-value"])
def test_cli_refuses_broken_taxonomy_files(folder, tmp_path, breakage):
    from click.testing import CliRunner

    from moralgap.cli import main

    src = tmp_path / "tax"
    folder.save(src)
    data = json.loads((src / "taxonomy.json").read_text())
    if breakage == "newer-schema":
        data["schema_version"] = 99
    elif breakage == "bad-status":
        data["values"][0]["status"] = "maybe"
    else:
        lines = (src / "expressions.jsonl").read_text().splitlines()
        lines[0] = lines[0].replace(ids(folder)["respect"], "vghost00000")
        (src / "expressions.jsonl").write_text("\n".join(lines) + "\n")
    (src / "taxonomy.json").write_text(json.dumps(data))
    files = {f.name: f.read_bytes() for f in src.iterdir()}
    r = CliRunner().invoke(main, ["taxonomy", "edit", "rename", str(src),
                                  ids(folder)["honesty"], "Truth", "--in-place"], standalone_mode=False)
    assert isinstance(r.exception, InputError), r.output
    field = {"newer-schema": "schema_version", "bad-status": "values.0.status", "unknown-expression-value": "value_id"}
    assert r.exception.field == field[breakage]
    assert {f.name: f.read_bytes() for f in src.iterdir()} == files


# -- move ------------------------------------------------------------------------------------
def members_of(folder, vid):
    return [e for e in folder.expressions if e.value_id == vid]


def test_move_out_of_every_value_recounts_the_value(folder, embedder):
    from moralgap.taxonomy.move_members import forms_moved_out, move

    before = snapshot(folder)
    vid = ids(folder)["family"]
    gone = [e for e in members_of(folder, vid) if e.norm == "blood relatives"]
    new = move(folder, vid, [e.id for e in gone], **AUTHOR)
    check_new_version(folder, new, "move")
    assert snapshot(folder) == before  # the input folder is untouched
    args = new.taxonomy.lineage[-1].args
    assert (args["value_id"], args["to"], args["forms_out"]) == (vid, None, ["blood relatives"])
    assert args["expression_ids"] == [gone[0].id] and args["sizes"] == {vid: 4}
    out = next(e for e in new.expressions if e.id == gone[0].id)
    assert (out.value_id, out.similarity, out.excluded) == (None, None, None)  # an outlier, kept
    left = members_of(new, vid)
    vecs = embedder.encode([e.norm for e in left])
    cent = vecs.mean(axis=0) / np.linalg.norm(vecs.mean(axis=0))
    assert np.allclose(new.centroids[vid], cent, atol=1e-5)
    assert [e.similarity for e in left] == [round(float(v @ cent), 4) for v in vecs]
    value = new.taxonomy.get(vid)
    assert value.size == 4 and "blood relatives" not in value.exemplars
    assert value.quality["n_rationales"] == 4 and value.quality["cohesion"] > 0
    assert (value.name, value.definition, value.status) == ("Family", "About family.", "proposed")
    assert forms_moved_out(new) == {"blood relatives": {vid}}


def test_move_into_another_value_and_back_lifts_the_refusal(folder):
    from moralgap.taxonomy.move_members import forms_moved_in, forms_moved_out, member_ids_of_forms, move

    i = ids(folder)
    wanted = member_ids_of_forms(folder, i["respect"], ["Inconsiderate"])  # as written, any case
    new = move(folder, i["respect"], wanted, to=i["family"], **AUTHOR)
    assert {e.id for e in members_of(new, i["family"])} >= set(wanted)
    assert (new.taxonomy.get(i["respect"]).size, new.taxonomy.get(i["family"]).size) == (5, 6)
    assert all(e.similarity is not None for e in members_of(new, i["family"]))
    assert forms_moved_out(new) == {"inconsiderate": {i["respect"]}}
    back = move(new, i["family"], wanted, to=i["respect"], **AUTHOR)
    assert forms_moved_out(back) == {"inconsiderate": {i["family"]}}  # back where it was, and out of family
    # A value merged since: the refusal follows its members into the value that holds them.
    merged = edits.merge(new, i["respect"], i["honesty"], **AUTHOR)
    assert forms_moved_out(merged) == {"inconsiderate": {i["honesty"]}}
    # and what a person placed in a value stays placed by a person after that value merges
    merged = edits.merge(new, i["family"], i["privacy"], **AUTHOR)
    assert forms_moved_in(merged.taxonomy, i["privacy"]) == {"inconsiderate"}
    assert forms_moved_in(new.taxonomy, i["respect"]) == set()


@pytest.mark.parametrize("call", [
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["move"]).move(
        f, i["family"], [e.id for e in members_of(f, i["respect"])][:1], **AUTHOR),  # not its member
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["move"]).move(
        f, i["family"], [e.id for e in members_of(f, i["family"])], **AUTHOR),  # every member
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["move"]).move(
        f, i["family"], [e.id for e in members_of(f, i["family"])][:1], to=i["family"], **AUTHOR),
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["move"]).move(
        f, i["family"], [e.id for e in members_of(f, i["family"])][:1], to="vnope", **AUTHOR),
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["move"]).move(f, i["family"], [], **AUTHOR),
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["member_ids_of_forms"]).member_ids_of_forms(
        f, i["family"], ["kinship"]),
    lambda f, i: __import__("moralgap.taxonomy.move_members", fromlist=["member_ids_of_forms"]).member_ids_of_forms(
        f, "Family", ["your family"]),  # a name where the id goes
])
def test_bad_moves_raise_and_change_nothing(folder, call):
    before = snapshot(folder)
    with pytest.raises(InputError):
        call(folder, ids(folder))
    assert snapshot(folder) == before


def test_cli_edit_move_and_show_marks_the_far_forms(folder, tmp_path):
    from click.testing import CliRunner

    from moralgap.cli import main

    src = tmp_path / "tax"
    i = ids(folder)
    # The build's bar for an outlier to join, as a build records it: members below it are marked.
    far = max(e.similarity for e in members_of(folder, i["family"]) if e.norm == "blood relatives") + 0.001
    marked = TaxonomyFolder(folder.taxonomy.model_copy(deep=True), folder.expressions, folder.centroids)
    marked.taxonomy.stats = {"assign_threshold": far}
    marked.save(src)
    runner = CliRunner()
    r = runner.invoke(main, ["taxonomy", "show", str(src), "--value", i["family"]])
    assert r.exit_code == 0, r.output
    flagged = [line for line in r.output.splitlines() if line.startswith("!") and '"' in line]
    assert [line.split('"')[1] for line in flagged] == [e.norm for e in members_of(folder, i["family"])
                                                        if e.similarity < far]
    assert f"taxonomy edit move TAXDIR {i['family']} --form FORM" in r.output
    r = runner.invoke(main, ["taxonomy", "show", str(src), "--value", i["family"], "--json"])
    shown = json.loads(r.output)
    assert shown["outlier_bar"] == far
    assert [f["form"] for f in shown["forms"] if f["below_bar"]] == [line.split('"')[1] for line in flagged]
    r = runner.invoke(main, ["taxonomy", "edit", "move", str(src), i["family"], "--form", "blood relatives",
                             "--to", i["honesty"], "--out", str(tmp_path / "v2"), "--author", "ana",
                             "--reason", "kinship, not a family duty"])
    assert r.exit_code == 0, r.output
    v2 = TaxonomyFolder.load(tmp_path / "v2")
    entry = v2.taxonomy.lineage[-1]
    assert (entry.op, entry.author, entry.reason, entry.args["to"]) == ("move", "ana", "kinship, not a family duty",
                                                                         i["honesty"])
    assert [e.value_id for e in v2.expressions if e.norm == "blood relatives"] == [i["honesty"]]
    # far from its new value, but placed there by a person: noted as such, not marked as a doubt
    assert next(e.similarity for e in v2.expressions if e.norm == "blood relatives") < far
    r = runner.invoke(main, ["taxonomy", "show", str(tmp_path / "v2"), "--value", i["honesty"]])
    (line,) = [x for x in r.output.splitlines() if '"blood relatives"' in x]
    assert line.endswith("(moved here by a reviewer)") and not line.startswith("!")
    # no member named: a usage error; an unknown form: one line naming it; nothing written either way
    r = runner.invoke(main, ["taxonomy", "edit", "move", str(src), i["family"], "--in-place"])
    assert r.exit_code == 2 and "--form" in r.output
    r = runner.invoke(main, ["taxonomy", "edit", "move", str(src), i["family"], "--form", "kinship", "--in-place"],
                      standalone_mode=False)
    assert isinstance(r.exception, MoralgapError) and "no form 'kinship'" in str(r.exception)
    assert TaxonomyFolder.load(src).taxonomy.version == 1 and not (src / "taxonomy.v1.json").exists()
