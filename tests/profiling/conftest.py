"""A tiny hand-made dataset whose profiles can be computed by hand (see test_profiles.py).

Taxonomy: four active values (v1..v4), v5 merged into v3, v6 rejected.
Dilemmas: d1 (family, weddings), d2 (family), d3 (work), d4 (money, no annotations), d5 (no topic).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

VALUES = [
    {"id": "v1", "name": "Loyalty", "status": "accepted"},
    {"id": "v2", "name": "Honesty", "status": "accepted"},
    {"id": "v3", "name": "Care", "status": "accepted"},
    {"id": "v4", "name": "Tradition", "status": "proposed"},
    {"id": "v5", "name": "Compassion", "status": "merged", "merged_into": "v3"},
    {"id": "v6", "name": "Junk", "status": "rejected"},
]
DILEMMAS = [
    {"id": "d1", "title": "Wedding", "text": "The main actor skipped a rehearsal.", "topics": ["family", "weddings"]},
    {"id": "d2", "text": "The main actor refused to host a holiday dinner.", "topics": ["family"]},
    {"id": "d3", "text": "The main actor reported a colleague.", "topics": ["work"]},
    {"id": "d4", "text": "The main actor did not split the bill.", "topics": ["money"]},
    {"id": "d5", "text": "The main actor kept a found wallet's cash.", "topics": []},
]
# rationale id -> (dilemma, verdict, value ids)
ANNOTATED = {
    "d1-h1": ("d1", "NTA", ["v1", "v2"]),
    "d1-h2": ("d1", "YTA", ["v1"]),
    "d1-h3": ("d1", "NTA", ["v5"]),
    "d2-h1": ("d2", "YTA", ["v1", "v3", "v1"]),
    "d2-h2": ("d2", "NAH", []),
    "d3-h1": ("d3", "NTA", ["v2"]),
    "d3-h2": ("d3", "NTA", ["v2", "v4"]),
    "d3-h3": ("d3", "YTA", ["v4"]),
}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def toy(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("toy")
    (d / "taxonomy.json").write_text(json.dumps({"schema_version": 1, "version": 3, "name": "toy", "values": VALUES}))
    judgments = [{"id": rid, "dilemma_id": did, "verdict": verdict, "rationale": f"rationale {rid}"}
                 for rid, (did, verdict, _) in ANNOTATED.items()]
    judgments += [
        {"id": "d4-h1", "dilemma_id": "d4", "verdict": "YTA", "rationale": "pay your share"},
        {"id": "d1-m1", "dilemma_id": "d1", "judge": "gpt", "verdict": "acceptable", "rationale": "fine", "condition": "vanilla"},
    ]
    values = [{"rationale_id": rid, "value_ids": vids} for rid, (_, _, vids) in ANNOTATED.items()]
    values.append({"rationale_id": "d1-m1", "value_ids": ["v2"]})
    return {
        "dir": d,
        "taxonomy": d / "taxonomy.json",
        "dilemmas": write_jsonl(d / "dilemmas.jsonl", DILEMMAS),
        "judgments": write_jsonl(d / "judgments.jsonl", judgments),
        "values": write_jsonl(d / "values.jsonl", values),
    }


@pytest.fixture(scope="session")
def toy_records(toy):
    from moralgap.datasets import load_dilemmas, load_judgments
    from moralgap.taxonomy_file import load_taxonomy
    from moralgap.profiling.profiles import load_value_annotations

    tax = load_taxonomy(toy["taxonomy"])
    return {
        "taxonomy": tax,
        "dilemmas": load_dilemmas(toy["dilemmas"]).records,
        "judgments": load_judgments(toy["judgments"]).records,
        "values": load_value_annotations(toy["values"], tax).records,
    }
