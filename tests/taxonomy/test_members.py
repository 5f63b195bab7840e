"""`taxonomy show --value`: one value's members form by form (taxonomy/members.py)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.errors import InputError
from moralgap.records import Expression
from moralgap.taxonomy import edits
from moralgap.taxonomy.members import find_value, member_forms

from test_edits import AUTHOR, ids, make_folder

pytestmark = pytest.mark.slow  # real MiniLM embeddings


@pytest.fixture(scope="module")
def folder(embedder):
    f = make_folder(embedder)
    # A second mention of "rude" in another rationale, written otherwise: one form, two mentions.
    vid = ids(f)["respect"]
    first = next(e for e in f.expressions if e.norm == "rude")
    f.expressions.append(Expression(id="r99#0", rationale_id="r99", start=4, end=11, text="so rude", norm="rude",
                                    rule="evaluative", value_id=vid, similarity=first.similarity))
    return f


def test_forms_come_closest_first_with_their_mentions(folder):
    vid = ids(folder)["respect"]
    forms = member_forms(folder, vid)
    assert {m.norm for m in forms} == {"rude", "disrespectful", "respect for your wife", "inconsiderate", "so rude",
                                       "no respect"}
    sims = [m.similarity for m in forms]
    assert sims == sorted(sims, reverse=True)
    rude = next(m for m in forms if m.norm == "rude")
    assert (rude.mentions, rude.rationales, rude.expression_ids) == (2, 2, ("r0#0", "r99#0"))
    # the example is the first mention by rationale id and offset
    assert (rude.example_rationale, rude.example_start) == ("r0", 0)


def test_a_value_is_found_by_id_by_name_and_through_a_merge(folder):
    i = ids(folder)
    assert find_value(folder, i["honesty"]).id == i["honesty"]
    assert find_value(folder, "  hONESTY ").id == i["honesty"]
    merged = edits.merge(folder, i["privacy"], i["honesty"], **AUTHOR)
    assert find_value(merged, i["privacy"]).id == i["honesty"]
    with pytest.raises(InputError, match="no value 'Loyalty'"):
        find_value(folder, "Loyalty")


def test_cli_lists_forms_with_their_sentences_and_ids_for_a_split(folder, tmp_path):
    src = tmp_path / "tax"
    folder.save(src)
    vid = ids(folder)["respect"]
    judgments = tmp_path / "judgments.jsonl"
    with judgments.open("w") as f:
        for e in folder.expressions:
            if e.value_id == vid and e.rationale_id != "r99":
                f.write(json.dumps({"id": e.rationale_id, "dilemma_id": "d", "verdict": "acceptable",
                                    "rationale": f"{e.text}. Then something else happened."}) + "\n")
    runner = CliRunner()
    r = runner.invoke(main, ["taxonomy", "show", str(src), "--value", "Respect", "--judgments", str(judgments)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith(f"{vid}  Respect  (proposed): {folder.taxonomy.get(vid).size} mentions")
    assert lines[1] == "definition (given): About respect."
    assert lines[2].startswith("6 forms, closest to the value's centroid first")
    rude = lines.index(next(line for line in lines if line.endswith('"rude"')))
    assert lines[rude].split()[1:3] == ["2", "2"]
    # the sentence the example mention stands in, not the rest of its rationale
    assert lines[rude + 1].strip() == "in r0: rude."

    r = runner.invoke(main, ["taxonomy", "show", str(src), "--value", vid, "--json", "--limit", "2"])
    shown = json.loads(r.output)
    assert shown["value"]["id"] == vid and len(shown["forms"]) == 2
    # the ids it lists are what a split takes
    group = ",".join(shown["forms"][-1]["expression_ids"])
    r = runner.invoke(main, ["taxonomy", "edit", "split", str(src), vid, "--group", group, "--in-place"])
    assert r.exit_code == 0, r.output

    r = runner.invoke(main, ["taxonomy", "show", str(src), "--judgments", str(judgments)])
    assert r.exit_code == 2 and "--judgments only serves --value" in r.output
    r = runner.invoke(main, ["taxonomy", "show", str(src), "--value", "nothing like it"], standalone_mode=False)
    assert isinstance(r.exception, InputError)


def test_cli_value_needs_a_build_folder(folder, tmp_path):
    src = tmp_path / "tax"
    folder.save(src)
    runner = CliRunner()
    # the taxonomy.json of a build folder leads to its folder
    r = runner.invoke(main, ["taxonomy", "show", str(src / "taxonomy.json"), "--value", "Honesty"])
    assert r.exit_code == 0 and '"lying"' in r.output
    (src / "expressions.jsonl").unlink()
    r = runner.invoke(main, ["taxonomy", "show", str(src), "--value", "Honesty"], standalone_mode=False)
    assert isinstance(r.exception, InputError) and "--value needs a build folder" in str(r.exception)
