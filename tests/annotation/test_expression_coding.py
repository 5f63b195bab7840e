"""Expression-level coding on a hand-made taxonomy with a stand-in extractor and embedder.

Values: a (accepted), b (proposed), c merged into a, d rejected. Centroids a = e1, b = e2,
d = e3; the build's outlier threshold is 0.6, so a vector nearest to nothing active stays uncoded.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from moralgap.annotation.expression_coding import SOURCE, ExpressionCoder
from moralgap.records import Expression, Judgment, Taxonomy, Value
from moralgap.taxonomy.folder import TaxonomyFolder

VECTORS = {"lie": [1, 0, 0], "snoop": [0.2, 0.98, 0], "shrug": [0.3, 0.3, 0.9], "meh": [0.52, 0.5, 0.5],
           "hedge": [0.62, 0, 0.78]}


class Extractor:
    """Finds the words of VECTORS (and 'asshole', which the filter sets apart) in each rationale."""

    def __init__(self):
        self.seen: list[str] = []

    def extract(self, judgments):
        out = []
        for j in judgments:
            self.seen.append(j.id)
            for k, m in enumerate(re.finditer(r"\w+", j.rationale)):
                word = m.group()
                if word in VECTORS or word == "asshole":
                    out.append(Expression(id=f"{j.id}#{k}", rationale_id=j.id, start=m.start(), end=m.end(), text=word,
                                          norm=word, rule="test", excluded="verdict" if word == "asshole" else None))
        return out


class Embedder:
    dimension = 3
    stats = {"cached": 0, "embedded": 0}

    def encode(self, texts, desc=""):
        rows = np.array([VECTORS[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def folder():
    tax = Taxonomy(name="toy", version=2, params={"embed_text": "norm"}, stats={"assign_threshold": 0.6}, values=[
        Value(id="a", name="Honesty", status="accepted"), Value(id="b", name="Privacy"),
        Value(id="c", name="Truth", status="merged", merged_into="a"), Value(id="d", name="Junk", status="rejected")])
    stored = [Expression(id="old#0", rationale_id="old", start=4, end=8, text="lied", norm="lie", rule="t", value_id="c"),
              Expression(id="old#1", rationale_id="old", start=13, end=20, text="snooped", norm="snoop", rule="t", value_id="b"),
              Expression(id="changed#0", rationale_id="changed", start=0, end=4, text="lied", norm="lie", rule="t", value_id="a")]
    cents = {"a": np.array([1, 0, 0], np.float32), "b": np.array([0, 1, 0], np.float32), "d": np.array([0, 0, 1], np.float32)}
    return TaxonomyFolder(tax, stored, cents)


def test_each_expression_gets_one_value_and_each_rationale_its_mention_counts(folder):
    extractor = Extractor()
    judgments = [Judgment(id="old", dilemma_id="x", verdict="acceptable", rationale="you lied and snooped"),
                 Judgment(id="new1", dilemma_id="x", verdict="acceptable", rationale="lie lie snoop asshole shrug"),
                 Judgment(id="new2", dilemma_id="y", verdict="acceptable", rationale="shrug"),
                 Judgment(id="changed", dilemma_id="y", verdict="acceptable", rationale="snoop around"),
                 Judgment(id="empty", dilemma_id="y", verdict="acceptable", rationale="  ")]
    result = ExpressionCoder(folder, embedder=Embedder(), extractor=extractor).code(judgments)
    # the stored rationale is read from the taxonomy, not extracted again; a reused id with other text is
    assert extractor.seen == ["new1", "new2", "changed"]
    anns = {a.rationale_id: a for a in result.annotations}
    assert list(anns) == ["old", "new1", "new2", "changed"]
    assert all(a.source == SOURCE and a.taxonomy_version == 2 for a in anns.values())
    assert anns["old"].mentions == {"a": 1, "b": 1}  # c was merged into a
    assert anns["new1"].value_ids == ["a", "b"] and anns["new1"].mentions == {"a": 2, "b": 1}
    assert anns["new2"].value_ids == [] and anns["new2"].mentions == {}  # nothing near enough: no value, still a rationale
    assert anns["changed"].mentions == {"b": 1}
    new1 = [e for e in result.expressions if e.rationale_id == "new1"]
    assert [(e.text, e.value_id) for e in new1] == [("lie", "a"), ("lie", "a"), ("snoop", "b"), ("asshole", None), ("shrug", None)]
    assert new1[2].similarity == pytest.approx(0.98, abs=1e-3)
    s = result.stats
    assert (s["rationales"], s["rationales_from_taxonomy"], s["excluded"], s["coded"], s["uncoded"], s["mentions"]) == (4, 1, 1, 4, 2, 6)


def test_recode_ignores_the_stored_assignment_and_a_threshold_can_be_set(folder):
    j = [Judgment(id="old", dilemma_id="x", verdict="acceptable", rationale="you lied and snooped meh shrug")]
    extractor = Extractor()
    coded = ExpressionCoder(folder, embedder=Embedder(), extractor=extractor, reuse=False, threshold=0.2).code(j)
    assert extractor.seen == ["old"]
    # 'lied'/'snooped' are not words the stand-in extractor knows; 'meh' reaches a at 0.59 >= 0.2;
    # 'shrug' is nearest the rejected d, so no threshold codes it
    assert coded.annotations[0].mentions == {"a": 1}
    assert coded.stats["nearest_value_left_out"] == 1


def test_an_expression_nearest_a_value_left_out_of_coding_is_not_passed_on(folder):
    # 'hedge' reaches a (0.62) above the threshold, but the rejected d (0.78) is nearer: the
    # reviewer's "not a value" holds for it too, rather than its landing in the next value.
    j = [Judgment(id="h", dilemma_id="x", verdict="acceptable", rationale="hedge lie")]
    coded = ExpressionCoder(folder, embedder=Embedder(), extractor=Extractor()).code(j)
    assert [(e.text, e.value_id) for e in coded.expressions] == [("hedge", None), ("lie", "a")]
    assert (coded.stats["coded"], coded.stats["uncoded"], coded.stats["nearest_value_left_out"]) == (1, 1, 1)


def test_new_rationales_get_the_values_taxonomy_update_would_give(folder):
    from moralgap.taxonomy.update import TaxonomyUpdater

    j = [Judgment(id="n1", dilemma_id="x", verdict="acceptable", rationale="lie snoop shrug lie"),
         Judgment(id="n2", dilemma_id="x", verdict="acceptable", rationale="snoop asshole")]
    coded = ExpressionCoder(folder, embedder=Embedder(), extractor=Extractor()).code(j)
    found = Extractor().extract(j)
    # min_new_size above the leftovers: the update only assigns, it proposes no new value
    updated = TaxonomyUpdater(embedder=Embedder(), extractor=Extractor(), min_new_size=100).update_expressions(
        folder, [e for e in found if not e.excluded], rationale_ids={"n1", "n2"})
    # The update puts 'shrug' in the rejected value nearest it, as that value's own members are;
    # annotations read neither as a value.
    resolve = updated.folder.taxonomy.coded_redirects()
    by_update = {e.id: resolve.get(e.value_id) for e in updated.folder.expressions if e.rationale_id in ("n1", "n2")}
    by_coder = {e.id: e.value_id for e in coded.expressions if not e.excluded}
    assert by_coder == by_update and set(by_coder.values()) == {"a", "b", None}
    assert [e.value_id for e in updated.folder.expressions if e.text == "shrug"] == ["d"]
