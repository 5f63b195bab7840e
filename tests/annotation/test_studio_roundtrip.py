"""Round trips through a real Label Studio: review and rationale annotation, by two real users."""
from __future__ import annotations

import json

import pytest

from moralgap.annotation import label_config as lc
from moralgap.records import Judgment, ValueAnnotation

pytestmark = [pytest.mark.slow, pytest.mark.studio]

ONE, TWO = "ann.one@example.org", "ann.two@example.org"


def _tasks_by(client, project_id, key):
    return {t["data"][key]: t for t in client.iter_tasks(project_id)}


def _review_result(decision, *, name=None, merge_into=None, groups=None):
    result = [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, [decision])]
    if name:
        result.append(lc.textarea_result(lc.NEW_NAME, lc.REVIEW_TARGET, [name]))
    if merge_into:
        result.append(lc.taxonomy_result(lc.MERGE_INTO, lc.REVIEW_TARGET, [merge_into], groups))
    return result


@pytest.fixture(scope="module")
def review_project(studio, small_folder):
    """A review project on which both users decided: merge, rename, a tie, and one value left alone."""
    from moralgap.annotation.review import push_review

    folder, rationales = small_folder
    pid, n = push_review(studio.client, folder, rationales=rationales)
    assert n == 5
    tasks = _tasks_by(studio.client, pid, "value_id")
    groups = lc.group_of(folder.taxonomy.active_values())
    decisions = {
        "vcomp000002": {ONE: _review_result("merge", merge_into="vcare000001", groups=groups),
                        TWO: _review_result("merge", merge_into="vcare000001", groups=groups)},
        "vhone000003": {ONE: _review_result("rename", name="Truthfulness"),
                        TWO: _review_result("rename", name="Truthfulness")},
        "vfami000004": {ONE: _review_result("keep"), TWO: _review_result("reject")},
    }
    for vid, by_user in decisions.items():
        for email, result in by_user.items():
            studio.annotators[email].create_annotation(tasks[vid]["id"], result, project_id=pid)
    return pid, folder, tasks


def test_review_push_shows_values_with_prefilled_proposal(studio, review_project):
    pid, folder, tasks = review_project
    project = studio.client.get_project(pid)
    assert "Taxonomy" in project["label_config"] and 'alias="vcare000001"' in project["label_config"]
    care = tasks["vcare000001"]
    assert "<mark>care</mark>" in care["data"]["card_html"]  # exemplar highlighted inside its rationale
    pred = care["predictions"][0]["result"]
    assert pred[1]["from_name"] == lc.NEW_NAME and pred[1]["value"]["text"] == ["Care"]
    assert pred[0]["value"]["choices"] == ["keep"]


def test_review_pull_applies_majority_through_edits(studio, review_project, tmp_path):
    from moralgap.annotation.review import apply_review
    from moralgap.annotation.studio_client import export_tasks

    pid, folder, _ = review_project
    new, report = apply_review(folder, export_tasks(studio.client, pid), pid)
    tax = new.taxonomy
    assert tax.version == folder.taxonomy.version + 3  # rename, accept, merge
    assert tax.get("vhone000003").name == "Truthfulness" and tax.get("vhone000003").status == "accepted"
    comp = tax.get("vcomp000002")
    assert comp.status == "merged" and comp.merged_into == "vcare000001"
    assert all(e.value_id == "vcare000001" for e in new.expressions if e.rationale_id == "j2")
    assert tax.get("vfami000004").status == "proposed"  # tie: left as it was
    assert [t["value_id"] for t in report.ties] == ["vfami000004"]
    assert report.unreviewed == ["vcare000001", "vpriv000005"]
    ops = [(e.op, e.args.get("value_id", e.args.get("source_id"))) for e in tax.lineage[-3:]]
    assert sorted(ops) == [("accept", "vhone000003"), ("merge", "vcomp000002"), ("rename", "vhone000003")]
    assert all(e.author == f"review: {ONE}, {TWO}" and f"project {pid}" in e.reason for e in tax.lineage[-3:])

    # pulling again onto the result changes nothing: the decisions are already in the lineage
    again, report2 = apply_review(new, export_tasks(studio.client, pid, method="pages"), pid)
    assert again.taxonomy.version == tax.version and not report2.applied
    assert {s["value_id"] for s in report2.skipped} == {"vcomp000002", "vhone000003"}


def test_review_pull_cli_writes_next_version_and_skips_removed_value(studio, review_project, tmp_path):
    from click.testing import CliRunner

    from moralgap.annotation.cli import annotate_group
    from moralgap.taxonomy import edits
    from moralgap.taxonomy.folder import TaxonomyFolder

    pid, folder, _ = review_project
    # the value under review was rejected by someone else since the push
    edited = edits.reject(folder, "vhone000003", author="someone", reason="not a value")
    edited.save(tmp_path / "in")
    env = {"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    res = CliRunner().invoke(annotate_group, ["review", "pull", str(tmp_path / "in"), "--project", str(pid),
                                              "--out", str(tmp_path / "out")], env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert studio.token not in res.output
    out = TaxonomyFolder.load(tmp_path / "out")
    assert out.taxonomy.version == edited.taxonomy.version + 1  # only the merge
    assert out.taxonomy.get("vhone000003").status == "rejected"
    report = json.loads((tmp_path / "out" / "review_report.json").read_text())
    assert any(s["value_id"] == "vhone000003" and "rejected" in s["why"] for s in report["skipped"])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["command"] == "annotate review pull" and manifest["params"]["project"] == pid


# -- rationale annotation -------------------------------------------------------------------------
# Two annotators, three rationales: x = Care, y = Honesty, z = Family.
#   j1: {x} / {x}     j2: {x, y} / {x}     j3: {y} / {z}
# MASI distances: 0, 1 - (1/2)(2/3) = 2/3, 1.  Observed disagreement Do = (0 + 2/3 + 1) / 3 = 5/9.
# Pooled sets {x},{x},{x,y},{x},{y},{z}: the 15 unordered pairs sum to 32/3, so
# De = 2 * (32/3) / (6 * 5) = 32/45 and alpha = 1 - (5/9) / (32/45) = 7/32.
X, Y, Z = "vcare000001", "vhone000003", "vfami000004"
CHOICES = {ONE: {"j1": [X], "j2": [X, Y], "j3": [Y]}, TWO: {"j1": [X], "j2": [X], "j3": [Z]}}
EXPECTED_ALPHA = 7 / 32


@pytest.fixture(scope="module")
def rationale_project(studio, small_folder, tmp_path_factory):
    from moralgap.annotation.rationale_tasks import push_rationales
    from moralgap.io import write_jsonl

    folder, rationales = small_folder
    judgments = [Judgment(id=rid, dilemma_id="d1", verdict="unacceptable", rationale=text)
                 for rid, text in rationales.items()]
    # pre-annotations travel as a file, the way 'moralgap annotate auto' writes them
    pred_file = tmp_path_factory.mktemp("preds") / "values.jsonl"
    write_jsonl(pred_file, [ValueAnnotation(rationale_id="j1", value_ids=[X, "vgone999999"], scores={X: 0.8}),
                            ValueAnnotation(rationale_id="j2", value_ids=["vcomp000002"], scores={"vcomp000002": 0.6})])
    from moralgap.io import read_records

    preds = {p.rationale_id: p for p in read_records(pred_file, ValueAnnotation, unique_id="rationale_id").records}
    pid, plan = push_rationales(studio.client, judgments, folder.taxonomy, expressions=folder.expressions,
                                predictions=preds)
    tasks = _tasks_by(studio.client, pid, "rationale_id")
    groups = lc.group_of(folder.taxonomy.active_values())
    for email, by_rid in CHOICES.items():
        for rid, ids in by_rid.items():
            result = [lc.taxonomy_result(lc.VALUES, lc.RATIONALE_TARGET, ids, groups)]
            if email == TWO and rid == "j3":
                result.append(lc.textarea_result(lc.OTHER_VALUES, lc.RATIONALE_TARGET, ["Punctuality"]))
            studio.annotators[email].create_annotation(tasks[rid]["id"], result, project_id=pid)
    return pid, folder, judgments, plan, tasks


def test_rationale_push_sends_highlights_and_scored_predictions(rationale_project):
    _, _, _, plan, tasks = rationale_project
    assert len(tasks) == 3 and plan.dropped_prediction_values == {"vgone999999": 1}
    assert "<mark>Honesty</mark>" in tasks["j3"]["data"]["rationale_html"]
    assert "<mark>family</mark>" in tasks["j3"]["data"]["rationale_html"]
    p1 = tasks["j1"]["predictions"][0]
    assert p1["score"] == pytest.approx(0.8)
    assert p1["result"][0]["value"]["taxonomy"] == [["group:Care/Harm", X]]
    assert tasks["j3"]["predictions"] == []


def test_rationale_pull_and_agreement_match_hand_computation(studio, rationale_project, tmp_path):
    from click.testing import CliRunner

    from moralgap.annotation.cli import annotate_group

    pid, folder, *_ = rationale_project
    folder.save(tmp_path / "tax")
    env = {"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    runner = CliRunner()
    out = tmp_path / "ann.jsonl"
    args = ["pull", "--project", str(pid), "--out", str(out), "--taxonomy", str(tmp_path / "tax"),
            "--per-annotator", str(tmp_path / "per")]
    res = runner.invoke(annotate_group, args, env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6
    got = {(r["annotator"], r["rationale_id"]): sorted(r["value_ids"]) for r in rows}
    assert got == {(who, rid): sorted(ids) for who, by in CHOICES.items() for rid, ids in by.items()}
    assert all(r["created_at"] and r["updated_at"] and r["source"] == "human" for r in rows)
    assert [r["free_text"] for r in rows if r["annotator"] == TWO and r["rationale_id"] == "j3"] == [["Punctuality"]]
    assert sorted(p.name for p in (tmp_path / "per").iterdir()) == [f"{ONE}.jsonl", f"{TWO}.jsonl"]

    first = out.read_bytes()  # a second pull, page by page this time, gives the same file
    res = runner.invoke(annotate_group, args + ["--export", "pages"], env=env, catch_exceptions=False)
    assert res.exit_code == 0 and out.read_bytes() == first

    res = runner.invoke(annotate_group, ["agreement", str(out), "--out", str(tmp_path / "agr.json"),
                                         "--taxonomy", str(tmp_path / "tax")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "agr.json").read_text())
    assert report["krippendorff_alpha_masi"] == pytest.approx(EXPECTED_ALPHA)
    assert report["per_value"][X]["cohen_kappa_mean"] == pytest.approx(1.0)
    assert report["confused_pairs"][0]["values"] == sorted([Y, Z])


def test_pull_maps_merged_values_and_drops_removed_ones(studio, rationale_project):
    from moralgap.annotation.rationale_tasks import annotations_from_tasks
    from moralgap.annotation.studio_client import export_tasks
    from moralgap.taxonomy import edits

    pid, folder, *_ = rationale_project
    later = edits.merge(folder, Y, X, author="t", reason="test")        # Honesty merged into Care
    later = edits.reject(later, Z, author="t", reason="test")           # Family removed
    rows, report = annotations_from_tasks(export_tasks(studio.client, pid), later.taxonomy)
    j3 = {r.annotator: r.value_ids for r in rows if r.rationale_id == "j3"}
    assert j3 == {ONE: [X], TWO: []}
    assert report.mapped_merged[Y] == 2 and report.unknown_values[Z] == 1


def test_push_clis_write_their_records(studio, small_folder, tmp_path):
    from click.testing import CliRunner

    from moralgap.annotation.cli import annotate_group
    from moralgap.io import write_jsonl
    from moralgap.manifest import manifest_path_for

    folder, rationales = small_folder
    folder.save(tmp_path / "tax")
    write_jsonl(tmp_path / "judgments.jsonl", [Judgment(id=rid, dilemma_id="d1", verdict="unacceptable", rationale=text)
                                               for rid, text in rationales.items()])
    env = {"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    runs = {"review": (["review", "push", str(tmp_path / "tax")], {"tasks": 5}),
            "rationales": (["push", str(tmp_path / "judgments.jsonl"), "--taxonomy", str(tmp_path / "tax")],
                           {"tasks_sent": len(rationales), "already_there": 0})}
    for kind, (args, counts) in runs.items():
        record = tmp_path / f"{kind}-record.json"
        res = CliRunner().invoke(annotate_group, [*args, "--out", str(record)], env=env, catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert studio.token not in res.output and studio.token not in record.read_text()
        rec = json.loads(record.read_text())
        assert rec["kind"] == kind and rec["url"] == studio.url
        assert rec["taxonomy_version"] == folder.taxonomy.version and rec["taxonomy"] == str(tmp_path / "tax")
        assert {k: rec[k] for k in counts} == counts
        n_tasks = counts["tasks_sent"] if kind == "rationales" else counts["tasks"]
        assert len(list(studio.client.iter_tasks(rec["project"]))) == n_tasks
        manifest = json.loads(manifest_path_for(record).read_text())
        assert manifest["params"]["project"] == rec["project"]
        assert all(manifest["counts"][k] == v for k, v in counts.items())
    # Without --out the record goes to the studio folder's pushes/, never into the current folder.
    home = tmp_path / "studio-home"
    res = CliRunner().invoke(annotate_group, ["review", "push", str(tmp_path / "tax")],
                             env={**env, "MORALGAP_STUDIO_HOME": str(home)}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    records = sorted(p for p in (home / "pushes").glob("review-push-*.json") if ".manifest" not in p.name)
    assert len(records) == 1 and json.loads(records[0].read_text())["kind"] == "review"


# -- members ticked out in review -------------------------------------------------------------------
@pytest.fixture(scope="module")
def members_folder(embedder):
    """Two values with real centroids; "Loyalty" holds one form that is about money, not loyalty."""
    import numpy as np

    from moralgap.records import Expression, LineageEntry, Taxonomy, Value
    from moralgap.taxonomy.folder import TaxonomyFolder

    forms = {"vloya000001": ["loyalty", "loyal to his friends", "stand by your family", "betrayal", "owe him money"],
             "vhone000002": ["honesty", "lied to her", "tell the truth"]}
    values, expressions, centroids, rationales = [], [], {}, {}
    for vid, norms in forms.items():
        vecs = embedder.encode(norms)
        cent = vecs.mean(axis=0) / np.linalg.norm(vecs.mean(axis=0))
        centroids[vid] = cent.astype(np.float32)
        values.append(Value(id=vid, name=norms[0].title(), size=len(norms), exemplars=norms[:3]))
        for text, vec in zip(norms, vecs):
            rid = f"r{len(rationales)}"
            rationales[rid] = f"I think {text} is what counts here."
            expressions.append(Expression(id=f"{rid}#0", rationale_id=rid, start=8, end=8 + len(text), text=text,
                                          norm=text, rule="test", value_id=vid, similarity=round(float(vec @ cent), 4)))
    loyal = sorted(e.similarity for e in expressions if e.value_id == "vloya000001")
    tax = Taxonomy(name="members", embedding_model="all-MiniLM-L6-v2", values=values,
                   lineage=[LineageEntry(version=1, op="build")], params={"embed_text": "norm"},
                   stats={"assign_threshold": (loyal[0] + loyal[1]) / 2})
    return TaxonomyFolder(tax, expressions, centroids), rationales


def test_members_ticked_out_in_review_leave_the_value(studio, members_folder, embedder):
    from moralgap.annotation.review import apply_review, push_review
    from moralgap.annotation.studio_client import export_tasks

    folder, rationales = members_folder
    pid, _ = push_review(studio.client, folder, rationales=rationales)
    tasks = _tasks_by(studio.client, pid, "value_id")
    offered = [c["value"] for c in tasks["vloya000001"]["data"][lc.MEMBER_FORMS]]
    # every form, the furthest from the value first
    assert offered == [e.norm for e in sorted((e for e in folder.expressions if e.value_id == "vloya000001"),
                                              key=lambda e: e.similarity)]
    # the fixture's build bar lies between the two furthest forms: only the furthest is marked
    marked = [c["value"] for c in tasks["vloya000001"]["data"][lc.MEMBER_FORMS] if "below the build's bar" in c["html"]]
    assert marked == offered[:1]
    out = lc.choices_result(lc.MEMBERS_OUT, lc.REVIEW_TARGET, ["owe him money"])
    votes = {ONE: [*_review_result("keep"), out], TWO: [*_review_result("rename", name="Loyalty To Friends"), out]}
    for email, result in votes.items():
        studio.annotators[email].create_annotation(tasks["vloya000001"]["id"], result, project_id=pid)
    # one of two ticks a member of the other value: not a majority, it stays
    studio.annotators[ONE].create_annotation(
        tasks["vhone000002"]["id"], [*_review_result("keep"), lc.choices_result(lc.MEMBERS_OUT, lc.REVIEW_TARGET,
                                                                                 ["tell the truth"])], project_id=pid)
    studio.annotators[TWO].create_annotation(tasks["vhone000002"]["id"], _review_result("keep"), project_id=pid)

    new, report = apply_review(folder, export_tasks(studio.client, pid), pid, embedder=embedder)
    money = next(e for e in new.expressions if e.norm == "owe him money")
    assert money.value_id is None  # the decision itself was a tie (keep against rename), reported as such
    assert [t["value_id"] for t in report.ties] == ["vloya000001"]
    move = next(e for e in new.taxonomy.lineage if e.op == "move")
    assert move.args["forms_out"] == ["owe him money"] and move.args["review"]["task"] == tasks["vloya000001"]["id"]
    assert move.author == f"review: {ONE}, {TWO}"
    assert new.taxonomy.get("vloya000001").size == 4
    assert all(e.value_id == "vhone000002" for e in new.expressions if e.norm == "tell the truth")
    # pulled again, nothing moves twice
    again, _ = apply_review(new, export_tasks(studio.client, pid), pid, embedder=embedder)
    assert again.taxonomy.version == new.taxonomy.version
