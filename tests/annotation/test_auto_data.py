"""Small hand-written taxonomy and labelled rationales shared by the automatic-annotation tests.

Kept in a test module (it holds no tests) so the fixtures stay inside this feature's files.
"""
from __future__ import annotations

import json
from pathlib import Path

from moralgap.records import Judgment, Taxonomy, Value
from moralgap.taxonomy.folder import TaxonomyFolder

VALUES = [
    Value(id="v-honesty", name="Honesty", definition="telling the truth and not deceiving people",
          keywords=["honesty", "lying", "truth"], status="accepted",
          exemplars=["lying to her", "being honest with him", "hid the truth", "deceived his wife", "broke her trust"]),
    Value(id="v-family", name="Family", definition="duties and loyalty toward parents, children and siblings",
          keywords=["family", "parents", "siblings"], status="accepted",
          exemplars=["family comes first", "your own mother", "supporting your siblings", "family obligations",
                     "skipping your dad's birthday"]),
    Value(id="v-privacy", name="Privacy", definition="respecting personal boundaries and private information",
          keywords=["privacy", "boundaries", "snooping"], status="accepted",
          exemplars=["reading her diary", "snooping through his phone", "her private messages",
                     "personal boundaries", "went through her things"]),
    Value(id="v-safety", name="Safety", definition="protecting people from physical harm and danger",
          keywords=["safety", "danger", "harm"], status="accepted",
          exemplars=["drunk driving", "put the kids in danger", "keeping everyone safe", "risk of injury",
                     "leaving a toddler alone near the pool"]),
    Value(id="v-truth", name="Truthfulness", status="merged", merged_into="v-honesty"),
    Value(id="v-misc", name="Miscellany", status="rejected"),
]

LABELLED = [
    ("r01", "You lied to your wife for months about the debt. That is deception, plain and simple.", ["v-honesty"]),
    ("r02", "He should have been honest from the start instead of hiding the truth.", ["v-honesty"]),
    ("r03", "Faking the receipts to fool your roommate was dishonest.", ["v-honesty"]),
    ("r04", "She deceived everyone about where the money went and broke their trust.", ["v-honesty"]),
    ("r05", "Telling your friend a made-up story so you could skip the party is a lie.", ["v-honesty"]),
    ("r06", "Your brother needed you at the hospital and you chose a concert over your family.", ["v-family"]),
    ("r07", "Family comes first; missing your mother's sixtieth birthday for work was cold.", ["v-family"]),
    ("r08", "Supporting your sister through her divorce is what siblings do.", ["v-family"]),
    ("r09", "Cutting off your parents over a small argument hurts the whole family.", ["v-family"]),
    ("r10", "Your dad raised you alone; helping him move is the least you owe him.", ["v-family"]),
    ("r11", "Reading your daughter's diary is a huge violation of her privacy.", ["v-privacy"]),
    ("r12", "Going through his phone and his private messages crossed a boundary.", ["v-privacy"]),
    ("r13", "Your roommate's room is her space; you had no business snooping through her drawers.", ["v-privacy"]),
    ("r14", "Posting her medical records in the group chat exposed private information.", ["v-privacy"]),
    ("r15", "Installing a tracker on your teenager's phone without telling him ignores his privacy.", ["v-privacy"]),
    ("r16", "Driving home after six beers put everyone on the road in danger.", ["v-safety"]),
    ("r17", "Leaving a toddler alone near the pool is dangerous, he could have drowned.", ["v-safety"]),
    ("r18", "The space heater next to the curtains was a fire hazard and someone could get hurt.", ["v-safety"]),
    ("r19", "Letting the kids ride without seatbelts risks serious injury.", ["v-safety"]),
    ("r20", "Keeping a loaded gun on the kitchen table with children around is reckless.", ["v-safety"]),
    ("r21", "You lied to your mother about the wedding and it tore the family apart.", ["v-honesty", "v-family"]),
    ("r22", "Secretly reading your husband's emails and then lying about it is a double betrayal.",
     ["v-privacy", "v-honesty"]),
    ("r23", "Your parents let your little brother play on the highway, putting a family member in danger.",
     ["v-family", "v-safety"]),
    ("r24", "Snooping in your sister's room and finding her pills was wrong, even if you worried about her.",
     ["v-privacy", "v-family"]),
]

UNLABELLED = [
    ("u01", "He never told his girlfriend the truth about his job."),
    ("u02", "Skipping your grandmother's funeral for a football game is cold."),
    ("u03", "She read her son's text messages while he slept."),
    ("u04", "Texting while driving with your baby in the back seat is dangerous."),
    ("u05", "The neighbour's dog keeps barking and nobody cares."),
    ("u06", "You borrowed the car without asking and returned it with an empty tank."),
    ("u07", "Pretending to be sick so you did not have to visit your in-laws was dishonest."),
    ("u08", "Her parents looked through her diary and then drove drunk to confront her boyfriend."),
]


def make_folder(version: int = 1) -> TaxonomyFolder:
    return TaxonomyFolder(Taxonomy(name="test-values", version=version, values=[v.model_copy() for v in VALUES]))


def judgments(rows) -> list[Judgment]:
    return [Judgment(id=i, dilemma_id="d1", verdict="unacceptable", rationale=t) for i, t, *_ in rows]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_inputs(tmp: Path, version: int = 1) -> dict[str, Path]:
    """Taxonomy folder, judgments of every rationale, and a Label Studio-style labels pull."""
    folder = make_folder(version)
    folder.save(tmp / "taxonomy")
    jrows = [j.to_json_dict() for j in judgments(LABELLED + UNLABELLED)]
    labels = [{"rationale_id": i, "annotator": "a1", "value_ids": v} for i, _, v in LABELLED]
    return {
        "taxonomy": tmp / "taxonomy",
        "judgments": write_jsonl(tmp / "judgments.jsonl", jrows),
        "labels": write_jsonl(tmp / "labels.jsonl", labels),
    }
