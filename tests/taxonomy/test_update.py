"""Updating a taxonomy with new rationales: existing ids stay, leftovers become proposed values."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.datasets import load_judgments
from moralgap.records import Judgment
from moralgap.taxonomy import edits
from moralgap.taxonomy.build import TaxonomyBuilder
from moralgap.taxonomy.diff import diff_taxonomies
from moralgap.taxonomy.folder import TaxonomyFolder
from moralgap.taxonomy.update import NO_SUPPORT, TaxonomyUpdater

pytestmark = pytest.mark.slow  # real spaCy pipeline and MiniLM

# Five kinds of argument in the base; the new batch repeats them and adds animal welfare.
BASE = [
 "You lied to her about the money. Honesty matters and you were dishonest.",
 "Lying to your wife is never ok, you should have been honest.",
 "You deceived your friends; that's dishonest and a betrayal of trust.",
 "Be honest with him. The lie was worse than the mistake.",
 "She was dishonest and kept lying about where she was.",
 "Honesty is the basis of any relationship and you lied.",
 "You read her diary. That's a huge invasion of privacy.",
 "Snooping through his phone is a violation of his privacy.",
 "Her privacy matters, you had no right to read her messages.",
 "Going through your daughter's room is an invasion of privacy.",
 "He deserves privacy; reading his emails was wrong.",
 "You respected her privacy and did nothing wrong.",
 "You were rude to the waiter and that was disrespectful.",
 "That was so rude and inconsiderate of you.",
 "Being disrespectful to your mother in law was uncalled for.",
 "You showed no respect for your wife's family.",
 "Rude behaviour at the wedding, very disrespectful.",
 "She was rude and condescending to her coworkers.",
 "Family comes first, you should support your brother.",
 "You abandoned your family when they needed you.",
 "Your parents raised you, you owe them some loyalty.",
 "Family should stick together through hard times.",
 "You should have been there for your sister.",
 "Loyalty to family matters more than a party.",
 "It's your money, you have the right to spend it how you want.",
 "You're entitled to decide what to do with your own money.",
 "It's your right to decide who comes to your house.",
 "Your body, your choice; it's your right to decide.",
 "You have every right to set that boundary.",
 "It's your house and your right to make the rules.",
]
NEW = [
 "Kicking the dog is animal cruelty, you were cruel to the dog.",
 "Leaving the cat outside in winter is cruel to the animal.",
 "Animal welfare matters; you neglected the puppy.",
 "You were cruel to your pets and neglected them.",
 "Abandoning your dog at the shelter was cruel to the animal.",
 "You lied again and were dishonest with your husband.",
 "Reading her texts is a violation of her privacy.",
 "You were rude to your guests.",
 "Family comes first, support your mother.",
 "It's your right to spend your money.",
 "Neglecting the horse is animal cruelty.",
]


def judgments(texts, prefix):
    return [Judgment(id=f"{prefix}{i}", dilemma_id=f"d{i % 5}", verdict="unacceptable", rationale=t)
            for i, t in enumerate(texts)]


@pytest.fixture(scope="module")
def base(embedder, extractor) -> TaxonomyFolder:
    folder = TaxonomyBuilder(5, seed=13, embedder=embedder, extractor=extractor).fit(judgments(BASE, "b")).folder
    # a reviewer accepted, renamed and grouped the largest value before the update
    big = max(folder.taxonomy.values, key=lambda v: v.size)
    folder = edits.accept(folder, big.id, author="ana")
    folder = edits.rename(folder, big.id, "Reviewed value", author="ana")
    return edits.set_parent(folder, big.id, "Group A", author="ana")


@pytest.fixture(scope="module")
def updated(base, embedder, extractor):
    return TaxonomyUpdater(embedder=embedder, extractor=extractor).update(base, judgments(NEW, "n"), author="bot")


def test_update_keeps_existing_values_exactly(base, updated):
    new = updated.folder.taxonomy
    assert new.version == base.taxonomy.version + 1 and new.lineage[-1].op == "update"
    new_by_id = new.by_id()
    for v in base.taxonomy.values:
        w = new_by_id[v.id]  # nothing removed or renumbered
        assert (w.name, w.definition, w.status, w.parent) == (v.name, v.definition, v.status, v.parent)
        assert w.size >= v.size
    accepted = [v for v in new.values if v.status == "accepted"]
    assert [v.name for v in accepted] == ["Reviewed value"]


def test_update_assigns_known_values_and_proposes_new_ones(base, updated):
    f, st = updated.folder, updated.stats
    added = [v for v in f.taxonomy.values if v.id not in base.taxonomy.by_id()]
    assert added and all(v.status == "proposed" for v in added)
    assert not {v.id for v in added} & edits.ids_ever_seen(base)
    assert st["new_values"] == len(added) == len(f.taxonomy.lineage[-1].args["new_values"])
    new_expr = [e for e in f.expressions if e.rationale_id.startswith("n")]
    assert len(new_expr) == st["n_new_expressions"] == (st["assigned_to_existing"] + st["assigned_to_new"]
                                                        + st["unassigned"] + st["set_apart"])
    # the animal-welfare rationales (n0-n4, n10) form a value of their own
    animal = [e for e in new_expr if e.rationale_id in {"n0", "n1", "n2", "n3", "n4", "n10"}]
    added_ids = {v.id for v in added}
    assert sum(e.value_id in added_ids for e in animal) >= 0.8 * len(animal)
    # a repeated argument joins the value its twin in the base belongs to
    privacy_new = next(e for e in new_expr if e.rationale_id == "n6" and "privacy" in e.norm)
    privacy_old = [e.value_id for e in base.expressions if e.norm == privacy_new.norm]
    assert privacy_old and privacy_new.value_id == max(set(privacy_old), key=privacy_old.count)
    # sizes are the expression counts
    for v in f.taxonomy.active_values():
        assert v.size == sum(e.value_id == v.id for e in f.expressions)
    d = diff_taxonomies(base, f)
    assert {c.new_id for c in d.of_kind("added")} == added_ids and not d.of_kind("removed")


def test_set_apart_expressions_are_never_assigned(base, embedder, extractor):
    # "to be honest" is a hedge (an idiom) and "asshole" a verdict: both are set apart, though the
    # first reads as "honest", next to the base's honesty value. An update once placed such spans
    # by their vectors alone, and counted them as leftovers when sizing new values.
    batch = judgments(["To be honest, your sister is the asshole here.",
                       "To be honest, I think you did nothing wrong, NTA.",
                       "You lied to him and were dishonest about the money."], "s")
    r = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(base, batch)
    new_expr = [e for e in r.folder.expressions if e.rationale_id.startswith("s")]
    apart = [e for e in new_expr if e.excluded]
    assert {e.excluded for e in apart} >= {"idiom", "verdict"}
    assert all(e.value_id is None and e.similarity is None for e in apart)
    assert r.stats["set_apart"] == len(apart)
    assert any(e.value_id for e in new_expr if "dishonest" in e.norm)
    assert len(new_expr) == (r.stats["assigned_to_existing"] + r.stats["assigned_to_new"]
                             + r.stats["unassigned"] + r.stats["set_apart"])
    assert r.folder.taxonomy.lineage[-1].args["set_apart"] == len(apart)
    # what `taxonomy show` reports as set apart counts the whole folder now
    everything = [e for e in r.folder.expressions if e.excluded]
    assert sum(r.folder.taxonomy.stats["excluded_by_reason"].values()) == r.folder.taxonomy.stats["n_excluded"] == len(everything)


def test_update_places_new_expressions_by_the_reviewed_values_too(base, embedder, extractor):
    # A reviewer rejected the value that holds "rude": a new "rude" joins it, as its own members
    # stay with it, instead of landing in the next nearest value or starting the value again.
    rude = next(e.value_id for e in base.expressions if e.value_id and "rude" in e.norm)
    folder = edits.reject(base, rude, author="ana")
    r = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(folder, judgments(["You were rude to the waiter."], "r"))
    new = [e for e in r.folder.expressions if e.rationale_id == "r0" and "rude" in e.norm]
    assert new and all(e.value_id == rude for e in new)
    assert r.folder.taxonomy.by_id()[rude].status == "rejected" and r.stats["new_values"] == 0


def test_quality_records_are_recounted_after_an_update(base, updated):
    import copy

    from moralgap.taxonomy.quality import refresh_quality
    from moralgap.taxonomy.space import EmbeddingSpace

    # On a fresh build the recount gives exactly the build's own record...
    again = copy.deepcopy(base)
    space = EmbeddingSpace.of(base)
    refresh_quality(again, space)
    for v, w in zip(base.taxonomy.values, again.taxonomy.values):
        assert w.quality == pytest.approx(v.quality, abs=2e-4)
    # ...and after an update it describes the members each value has now, not those it had.
    for v in updated.folder.taxonomy.values:
        members = [e for e in updated.folder.expressions if e.value_id == v.id]
        if members:
            assert v.quality["n_rationales"] == len({e.rationale_id for e in members})
    grown = [v for v in updated.folder.taxonomy.values if v.id in base.taxonomy.by_id()
             and v.quality["n_rationales"] > base.taxonomy.by_id()[v.id].quality["n_rationales"]]
    assert grown


def test_default_threshold_is_the_builds_outlier_rule(base, embedder, extractor):
    from moralgap.taxonomy.update import MIN_THRESHOLD, value_thresholds

    ids = [v.id for v in base.taxonomy.values]
    rule = max(MIN_THRESHOLD, base.taxonomy.stats["assign_threshold"])
    assert set(value_thresholds(base, ids, percentile=None, min_members=5, floor=MIN_THRESHOLD)) == {rule}
    per_value = value_thresholds(base, ids, percentile=1.0, min_members=5, floor=MIN_THRESHOLD)
    assert (per_value >= rule).all() and (per_value > rule).any()
    # stricter per-value thresholds leave more new expressions for new values, never fewer
    strict = TaxonomyUpdater(embedder=embedder, extractor=extractor, percentile=50.0).update(base, judgments(NEW, "n"))
    default = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(base, judgments(NEW, "n"))
    assert strict.stats["assigned_to_existing"] <= default.stats["assigned_to_existing"]
    assert default.stats["threshold_min"] == default.stats["threshold_median"] == round(rule, 4)


def test_a_known_form_joins_its_value_even_when_another_centroid_is_nearer(base, embedder, extractor):
    import numpy as np

    from moralgap.taxonomy.space import EmbeddingSpace

    space = EmbeddingSpace.of(base, embedder=embedder)
    new = judgments(["Reading her texts is a violation of her privacy."], "k")
    known = {space.key(e): e for e in base.expressions if e.value_id}
    key = next(k for k in (space.key(e) for e in extractor.extract(new)) if k in known)
    old = known[key]
    other = next(v.id for v in base.taxonomy.values if v.id != old.value_id)
    # Move another value's centroid onto the form's own vector: nearest-centroid alone would
    # now send a new occurrence of the form there.
    moved = TaxonomyFolder(base.taxonomy, list(base.expressions), dict(base.centroids))
    moved.centroids[other] = space.expression_vectors([old])[0].astype(np.float32)
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(moved, new)
    twin = [e for e in res.folder.expressions if e.rationale_id == "k0" and space.key(e) == key]
    assert twin and all(e.value_id == old.value_id for e in twin)
    assert res.stats["assigned_by_known_form"] >= len(twin)


def test_update_embeds_only_new_texts(base, updated, embedder, extractor):
    again = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(base, judgments(NEW, "n"))
    assert again.stats["embedded"] == 0 and again.stats["embedding_cache_hits"] > 0
    assert [e.value_id for e in again.folder.expressions] == [e.value_id for e in updated.folder.expressions]


def test_resubmitted_rationales_replace_their_expressions(updated, embedder, extractor):
    f = updated.folder
    twice = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(f, judgments(NEW[:3], "n"))
    ids = [e.id for e in twice.folder.expressions]
    assert len(ids) == len(set(ids)) == len(f.expressions)


def test_replace_flags_values_without_support(base, embedder, extractor):
    only_animals = judgments([NEW[i] for i in (0, 1, 2, 3, 4, 10)], "a")
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor, replace=True).update(base, only_animals)
    by_id = res.folder.taxonomy.by_id()
    flagged = [vid for vid in by_id if NO_SUPPORT in by_id[vid].flags]
    assert flagged and set(flagged) == set(res.folder.taxonomy.lineage[-1].args["flagged"])
    for v in base.taxonomy.values:
        assert v.id in by_id and by_id[v.id].status == v.status  # flagged, never dropped
        if by_id[v.id].size == 0:
            assert NO_SUPPORT in by_id[v.id].flags
    assert all(e.rationale_id.startswith("a") for e in res.folder.expressions)


def test_update_of_an_imported_list(tmp_path, embedder, extractor):
    from moralgap.taxonomy.export_import import import_taxonomy

    p = tmp_path / "list.yaml"
    p.write_text("- name: Honesty\n  definition: telling the truth, not lying\n"
                 "- name: Privacy\n  definition: not snooping on others' messages and space\n"
                 "- name: Animal Welfare\n  definition: not being cruel to animals\n"
                 "- name: Punctuality\n  definition: being on time\n")
    imported = import_taxonomy(p, embedder=embedder)
    res = TaxonomyUpdater(embedder=embedder, extractor=extractor).update(imported, judgments(NEW, "n"))
    by_name = {v.name: v for v in res.folder.taxonomy.values}
    assert by_name["Animal Welfare"].size >= 3 and by_name["Privacy"].size >= 1
    assert by_name["Punctuality"].size == 0 and NO_SUPPORT in by_name["Punctuality"].flags
    assert {v.status for v in imported.taxonomy.values} == {"accepted"}


def test_cli_update(base, tmp_path):
    base.save(tmp_path / "tax")
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({"id": j.id, "dilemma_id": j.dilemma_id, "verdict": "YTA", "rationale": j.rationale}) + "\n"
                           for j in judgments(NEW, "n")))
    r = CliRunner().invoke(main, ["taxonomy", "update", str(tmp_path / "tax"), str(new), "--out", str(tmp_path / "v2"),
                                  "--author", "bot"])
    assert r.exit_code == 0, r.output
    out = TaxonomyFolder.load(tmp_path / "v2")
    assert out.taxonomy.version == base.taxonomy.version + 1
    manifest = json.loads((tmp_path / "v2" / "manifest.json").read_text())
    assert manifest["command"] == "taxonomy update" and manifest["counts"]["n_new_rationales"] == len(NEW)
    assert load_judgments(new, require_rationale=True).records


def test_update_refuses_an_embedding_model_other_than_the_builds(base, embedder, extractor):
    from moralgap.errors import ConfigError

    assert base.taxonomy.params["embedding_fingerprint"] == embedder.fingerprint
    other = base.taxonomy.model_copy(deep=True)
    other.params["embedding_fingerprint"] = "0" * 16  # as if built with another model
    moved = TaxonomyFolder(other, list(base.expressions), dict(base.centroids))
    with pytest.raises(ConfigError, match="not comparable"):
        TaxonomyUpdater(embedder=embedder, extractor=extractor).update(moved, judgments(NEW[:2], "x"))


def test_a_doubt_whose_figures_moved_says_when_it_held():
    from moralgap.taxonomy.quality import reason_now

    reason = "found in only 2 rationale(s); members are unlike each other (cohesion 0.73, build's lower fence 0.78)"
    once = reason_now(reason, {"n_rationales": 9, "cohesion": 0.7712})
    assert once == ("found in only 2 rationale(s) when found, 9 now; members are unlike each other "
                    "(cohesion 0.73 when found, 0.77 now, build's lower fence 0.78)")
    assert reason_now(once, {"n_rationales": 11, "cohesion": 0.7712}) == once.replace("9 now", "11 now")
    assert reason_now(reason, {"n_rationales": 2, "cohesion": 0.7301}) == reason


@pytest.mark.parametrize("regroup", [False, True])
def test_a_form_a_reviewer_moved_out_of_a_value_stays_out(base, embedder, extractor, regroup):
    from moralgap.taxonomy.move_members import move

    form = "dishonest"
    home = next(e.value_id for e in base.expressions if e.norm == form)
    new = judgments(["You lied again and were dishonest with your husband."], "m")
    updater = TaxonomyUpdater(embedder=embedder, extractor=extractor, regroup=regroup)
    # Unedited, the update puts the new mention with the form's other mentions.
    before = updater.update(base, new).folder
    assert [e.value_id for e in before.expressions if e.rationale_id == "m0" and e.norm == form] == [home]
    moved = move(base, home, [e.id for e in base.expressions if e.norm == form], author="ana",
                 reason="a trait, not the act", embedder=embedder)
    after = updater.update(moved, new)
    placed = [e.value_id for e in after.folder.expressions if e.norm == form]
    assert len(placed) == 3 and home not in placed
    # the form's other words still join the value: only the form a person moved is kept out
    assert any(e.value_id == home for e in after.folder.expressions if e.rationale_id == "m0" and e.norm != form)
    if not regroup:
        assert after.stats["kept_out_by_review"] == 1


def test_cli_update_says_what_a_reviewer_kept_out(base, embedder, tmp_path):
    from moralgap.taxonomy.move_members import move

    home = next(e.value_id for e in base.expressions if e.norm == "dishonest")
    move(base, home, [e.id for e in base.expressions if e.norm == "dishonest"], author="ana",
         embedder=embedder).save(tmp_path / "tax")
    new = tmp_path / "new.jsonl"
    new.write_text(json.dumps({"id": "m0", "dilemma_id": "d0", "verdict": "YTA",
                               "rationale": "You lied again and were dishonest with your husband."}) + "\n")
    r = CliRunner().invoke(main, ["taxonomy", "update", str(tmp_path / "tax"), str(new), "--out", str(tmp_path / "v3"),
                                  "--author", "bot"])
    assert r.exit_code == 0, r.output
    assert "1 kept out of the value a reviewer moved their form out of" in r.output


def test_moving_part_of_a_forms_mentions_refuses_nothing(base, embedder):
    from moralgap.taxonomy.move_members import forms_moved_out, move

    twice = [e for e in base.expressions if e.norm == "dishonest"]
    assert len(twice) == 2
    moved = move(base, twice[0].value_id, [twice[0].id], author="ana", embedder=embedder)
    # one mention left in the value: the form is still its own, and updates may place it there
    assert moved.taxonomy.lineage[-1].args["forms_out"] == [] and forms_moved_out(moved) == {}


@pytest.mark.parametrize("embed_text", ["context", "sentence"])
def test_a_move_in_a_taxonomy_embedded_with_its_rationales_needs_the_texts(embedder, extractor, embed_text, tmp_path):
    from moralgap.errors import ConfigError
    from moralgap.taxonomy.move_members import move

    js = judgments(BASE, "b")
    folder = TaxonomyBuilder(5, seed=13, embedder=embedder, extractor=extractor, embed_text=embed_text).fit(js).folder
    vid = max(folder.taxonomy.values, key=lambda v: v.size).id
    one = next(e for e in folder.expressions if e.value_id == vid)
    with pytest.raises(ConfigError, match="give the rationale texts"):
        move(folder, vid, [one.id], author="ana", embedder=embedder)
    texts = {j.id: j.rationale for j in js}
    moved = move(folder, vid, [one.id], author="ana", embedder=embedder, texts=texts)
    assert next(e for e in moved.expressions if e.id == one.id).value_id is None
    assert moved.taxonomy.get(vid).size == folder.taxonomy.get(vid).size - 1
    # the command line takes the texts from the judgments file
    folder.save(tmp_path / "tax")
    (tmp_path / "j.jsonl").write_text("".join(json.dumps(j.to_json_dict()) + "\n" for j in js))
    r = CliRunner().invoke(main, ["taxonomy", "edit", "move", str(tmp_path / "tax"), vid, "--expression", one.id,
                                  "--judgments", str(tmp_path / "j.jsonl"), "--in-place", "--author", "ana"])
    assert r.exit_code == 0, r.output
    assert TaxonomyFolder.load(tmp_path / "tax").taxonomy.get(vid).size == folder.taxonomy.get(vid).size - 1
