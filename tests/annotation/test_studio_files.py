"""Offline Label Studio files and the pieces that need no server: configs, exports, majority rule."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from moralgap.annotation import label_config as lc
from moralgap.errors import InputError
from moralgap.records import Taxonomy, Value


def _big_taxonomy(n=64):
    groups = ["Care/Harm", "Fairness", "Loyalty", None]
    return Taxonomy(values=[Value(id=f"v{i:03d}", name=f"Value {i}", parent=groups[i % 4], definition=f"def {i} & <x>")
                            for i in range(n)])


@pytest.mark.parametrize("make", [lc.review_label_config, lc.rationale_label_config])
def test_label_configs_group_all_values_and_are_valid_xml(make):
    tax = _big_taxonomy()
    root = ET.fromstring(make(tax))
    taxo = [el for el in root.iter("Taxonomy")]
    assert len(taxo) == 1
    groups = list(taxo[0])
    assert [g.get("value") for g in groups] == ["Care/Harm", "Fairness", "Loyalty", lc.UNGROUPED]
    leaves = [c.get("alias") for g in groups for c in g]
    assert sorted(leaves) == sorted(v.id for v in tax.values)


def test_duplicate_names_stay_distinguishable():
    tax = Taxonomy(values=[Value(id="a1", name="Care"), Value(id="b2", name="Care"), Value(id="c3", name="Duty")])
    assert lc.display_names(tax.values) == {"a1": "Care (a1)", "b2": "Care (b2)", "c3": "Duty"}


def _export(tasks):
    return [{"id": i + 1, "data": data, "annotations": anns, "brand_new_field": {"x": 1}, "inner_id": i}
            for i, (data, anns) in enumerate(tasks)]


def _ann(who, result, **extra):
    return {"id": abs(hash((who, json.dumps(result)))) % 10**6, "completed_by": {"id": 7, "email": who},
            "result": result, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "some_future_field": True, **extra}


def test_export_with_unknown_fields_is_read_and_bad_export_names_the_field(tmp_path):
    from moralgap.annotation.labelstudio_files import read_export_file

    good = tmp_path / "export.json"
    good.write_text(json.dumps(_export([({"rationale_id": "j1"}, [_ann("a@x", [])])])))
    tasks = read_export_file(good)
    assert tasks[0].annotations[0].annotator == "a@x"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": 1, "data": {}, "annotations": {"oops": 1}}]))
    with pytest.raises(InputError, match=r"field '\[0\]\.annotations'"):
        read_export_file(bad)
    bad.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(InputError, match="list of tasks"):
        read_export_file(bad)


def test_review_pull_from_export_file_majority_and_tie(small_folder, tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.taxonomy.folder import TaxonomyFolder

    folder, _ = small_folder
    folder.save(tmp_path / "tax")
    keep = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["keep"])]
    reject = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["reject"])]
    export = _export([
        ({"value_id": "vpriv000005"}, [_ann("a@x", reject), _ann("b@x", reject), _ann("c@x", keep)]),  # 2:1
        ({"value_id": "vfami000004"}, [_ann("a@x", keep), _ann("b@x", reject)]),                       # tie
        ({"value_id": "vgone000009"}, [_ann("a@x", keep)]),                                            # not in taxonomy
    ])
    (tmp_path / "export.json").write_text(json.dumps(export))
    res = CliRunner().invoke(annotate_group, ["review", "pull", str(tmp_path / "tax"), "--from-export",
                                              str(tmp_path / "export.json"), "--out", str(tmp_path / "new")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    new = TaxonomyFolder.load(tmp_path / "new").taxonomy
    assert new.get("vpriv000005").status == "rejected" and new.get("vfami000004").status == "proposed"
    assert new.version == folder.taxonomy.version + 1
    assert new.lineage[-1].author == "review: a@x, b@x"
    report = json.loads((tmp_path / "new" / "review_report.json").read_text())
    assert [t["value_id"] for t in report["ties"]] == ["vfami000004"]
    assert report["skipped"][0]["value_id"] == "vgone000009"
    assert "tie on vfami000004" in res.output


def test_review_pull_in_place_keeps_the_previous_version(small_folder, tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.taxonomy.folder import TaxonomyFolder

    folder, _ = small_folder
    folder.save(tmp_path / "tax")
    before = (tmp_path / "tax" / "taxonomy.json").read_text()
    reject = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["reject"])]
    (tmp_path / "export.json").write_text(json.dumps(_export([({"value_id": "vpriv000005"}, [_ann("a@x", reject)])])))
    args = ["review", "pull", str(tmp_path / "tax" / "taxonomy.json"), "--from-export", str(tmp_path / "export.json")]
    res = CliRunner().invoke(annotate_group, args)
    assert res.exit_code == 2 and "give exactly one of --out DIR or --in-place" in res.output
    res = CliRunner().invoke(annotate_group, args + ["--in-place"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    new = TaxonomyFolder.load(tmp_path / "tax").taxonomy
    assert new.get("vpriv000005").status == "rejected" and new.version == folder.taxonomy.version + 1
    kept = tmp_path / "tax" / f"taxonomy.v{folder.taxonomy.version}.json"
    assert kept.read_text() == before
    assert (tmp_path / "tax" / "review_report.json").is_file()
    assert json.loads((tmp_path / "tax" / "manifest.json").read_text())["params"]["in_place"] is True


def test_tasks_file_offline(small_folder, tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.io import write_jsonl

    folder, rationales = small_folder
    folder.save(tmp_path / "tax")
    write_jsonl(tmp_path / "j.jsonl", [{"id": r, "dilemma_id": "d1", "verdict": "acceptable", "rationale": t}
                                       for r, t in rationales.items()])
    res = CliRunner().invoke(annotate_group, ["tasks-file", str(tmp_path / "j.jsonl"), "--taxonomy", str(tmp_path / "tax"),
                                              "--out", str(tmp_path / "tasks.json"), "--config-out", str(tmp_path / "c.xml")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert [t["data"]["rationale_id"] for t in tasks] == ["j1", "j2", "j3"]
    assert "<mark>compassion</mark>" in tasks[1]["data"]["rationale_html"]
    ET.fromstring((tmp_path / "c.xml").read_text())
    assert (tmp_path / "tasks.json.manifest.json").exists()


def test_ensure_venv_never_deletes_a_folder_it_did_not_make(tmp_path):
    from moralgap.annotation.studio_server import StudioServerError, ensure_venv, venv_ready

    foreign = tmp_path / "venv"
    (foreign / "bin").mkdir(parents=True)
    (foreign / "keep.txt").write_text("mine")
    assert not venv_ready(foreign)
    with pytest.raises(StudioServerError, match="not made by moralgap"):
        ensure_venv(foreign)
    assert (foreign / "keep.txt").read_text() == "mine"


def test_connection_needs_a_target(tmp_path, monkeypatch):
    from moralgap.annotation.studio_client import resolve_target
    from moralgap.errors import ConfigError

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="moralgap studio start"):
        resolve_target(home=tmp_path)


@pytest.mark.slow
def test_split_decision_reclusters_with_the_real_embedder(embedder):
    from moralgap.annotation.labelstudio_files import parse_export
    from moralgap.annotation.review import apply_review
    from moralgap.records import Expression
    from moralgap.taxonomy.folder import TaxonomyFolder

    words = ["honesty", "truthfulness", "telling the truth", "money", "savings", "paying rent"]
    exprs = [Expression(id=f"e{i}", rationale_id=f"j{i}", start=0, end=len(w), text=w, norm=w, rule="test",
                        value_id="vmix000001") for i, w in enumerate(words)]
    folder = TaxonomyFolder(Taxonomy(values=[Value(id="vmix000001", name="Mixed", size=6)]), exprs, {})
    split = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["split"]),
             lc.number_result(lc.SPLIT_K, lc.REVIEW_TARGET, 2)]
    tasks = parse_export(_export([({"value_id": "vmix000001"}, [_ann("a@x", split), _ann("b@x", split)])]))
    new, report = apply_review(folder, tasks, 1, embedder=embedder, seed=13)
    assert [a["edits"] for a in report.applied] == [["split"]]
    parts = {}
    for e in new.expressions:
        parts.setdefault(e.value_id, set()).add(e.norm)
    assert sorted(map(sorted, parts.values())) == sorted([sorted(words[:3]), sorted(words[3:])])


def test_members_out_need_more_than_half_of_the_votes():
    from moralgap.annotation.review import Vote, members_out

    def votes(*ticked):
        return [Vote(value_id="v1", annotator=f"a{i}@x", action="keep", members_out=tuple(t)) for i, t in enumerate(ticked)]

    assert members_out(votes(["gossip"], ["gossip", "spite"], [])) == ["gossip"]  # 2 of 3
    assert members_out(votes(["gossip"], [])) == []  # 1 of 2: no majority
    assert members_out(votes(["a", "b"], ["b", "a"], ["a"], ["c"])) == ["a"]  # 3 of 4; b has 2 of 4


def test_ticking_out_every_member_is_a_conflict_and_changes_nothing(small_folder, tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.taxonomy.folder import TaxonomyFolder

    folder, _ = small_folder
    folder.save(tmp_path / "tax")
    keep = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["keep"])]
    out = lc.choices_result(lc.MEMBERS_OUT, lc.REVIEW_TARGET, ["honesty"])  # its only member
    reject = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["reject"])]
    export = _export([({"value_id": "vhone000003"}, [_ann("a@x", [*keep, out]), _ann("b@x", [*keep, out])]),
                      ({"value_id": "vpriv000005"}, [_ann("a@x", reject), _ann("b@x", reject)])])
    (tmp_path / "export.json").write_text(json.dumps(export))
    res = CliRunner().invoke(annotate_group, ["review", "pull", str(tmp_path / "tax"), "--from-export",
                                              str(tmp_path / "export.json"), "--out", str(tmp_path / "new")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    new = TaxonomyFolder.load(tmp_path / "new")
    assert new.taxonomy.get("vhone000003").status == "proposed"  # neither accepted nor emptied
    assert [e.value_id for e in new.expressions if e.norm == "honesty"] == ["vhone000003"]
    assert new.taxonomy.get("vpriv000005").status == "rejected"  # the other task still applies
    report = json.loads((tmp_path / "new" / "review_report.json").read_text())
    (conflict,) = report["conflicts"]
    assert conflict["value_id"] == "vhone000003" and "every member" in conflict["why"]
    assert conflict["decision"] == "keep; take out 'honesty'"
