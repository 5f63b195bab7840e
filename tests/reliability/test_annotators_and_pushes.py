"""annotate pull keeps every annotator's rows apart; push records land in the studio folder."""
from __future__ import annotations

import json

from kit import cli


def _export(tmp_path, annotators):
    tasks = [{"id": i + 1, "data": {"rationale_id": f"r{i}", "text": "t"},
              "annotations": [{"id": 10 * i + k, "completed_by": {"email": who}, "was_cancelled": False,
                               "result": [{"from_name": "values", "to_name": "text", "type": "taxonomy",
                                           "value": {"taxonomy": [[f"v{k}"]]}}]}
                              for k, who in enumerate(annotators)]}
             for i in range(3)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def test_annotators_whose_names_differ_only_in_unsafe_characters_or_case_get_their_own_files(tmp_path):
    names = ["Jo Smith", "Jo_Smith", "jo_smith", "ann@example.org"]
    per = tmp_path / "per"
    r = cli("annotate", "pull", "--from-export", _export(tmp_path, names), "--out", tmp_path / "all.jsonl",
            "--per-annotator", per)
    assert r.returncode == 0, r.stderr
    files = sorted(per.iterdir())
    assert len(files) == 4 and len({f.name.casefold() for f in files}) == 4
    owners = {}
    for f in files:
        rows = [json.loads(l) for l in f.read_text().splitlines()]
        assert len(rows) == 3 and len({row["annotator"] for row in rows}) == 1
        owners[rows[0]["annotator"]] = f.name
    assert sorted(owners) == sorted(names)
    assert owners["ann@example.org"] == "ann@example.org.jsonl"  # a safe name keeps its plain file name


def test_push_record_defaults_into_the_studio_folder_not_the_cwd(tmp_path):
    from moralgap.annotation.cli_studio import _push_record_path

    home = tmp_path / "studio"
    assert _push_record_path(home, "review-push-3.json") == home / "pushes" / "review-push-3.json"
