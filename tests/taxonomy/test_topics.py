"""A value whose rationales mostly judge one dilemma is sent to review as that dilemma's topic."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from moralgap.taxonomy.build import TaxonomyBuilder
from moralgap.records import Taxonomy, Value
from moralgap.taxonomy.topics import (TOPIC_FORM_SHARE, TOPIC_MIN_RATIONALES, TOPIC_SHARE, dilemma_spread,
                                      flag_topics, form_spread, topic_reason)


@pytest.mark.parametrize("spread, sizes, doubted", [
    # 90 of 95 premises argue one of 332 conclusions (Touché23's "Economic Sanctions").
    ({"sanctions": 85, "killing": 3, "trade": 2}, {"sanctions": 20, "killing": 20, "trade": 20, "other": 5333}, True),
    # Two rationales from the dilemma: too little to call it a topic.
    ({"d1": 2}, {"d1": 12, "d2": 12, "d3": 500}, False),
    # Three, all the value's, from one of 42 dilemmas (as the bundled sample's "Authorship"):
    # chance puts three random rationales in one of these dilemmas about once in 1,700 values.
    ({"d03": 3}, {"d03": 20, **{f"d{k}": 12 for k in range(41)}}, True),
    # Three of four from one of ten dilemmas of the same size: chance does that for 4% of values.
    ({"d1": 3, "d2": 1}, {f"d{k}": 10 for k in range(10)}, False),
    # Less than two thirds of the value's rationales (the bundled sample's "Protect", five of whose
    # nine rationales judge the dilemma about a premature newborn).
    ({"d27": 5, "d1": 1, "d2": 1, "d3": 1, "d4": 1}, {"d27": 12, "d1": 12, "d2": 12, "d3": 12, "d5": 457}, False),
    # One dilemma holds most of the corpus: the value only follows the corpus.
    ({"d1": 9, "d2": 1}, {"d1": 80, "d2": 20}, False),
])
def test_topic_reason_needs_a_dilemma_to_dominate_the_value(spread, sizes, doubted):
    why = topic_reason(Counter(spread), sizes, sum(sizes.values()))
    assert (why is not None) == doubted
    if doubted:
        assert f'"{max(spread, key=spread.get)}"' in why and "topic" in why


def test_dilemma_spread_counts_a_rationale_once_per_value():
    pairs = [("v1", "r1"), ("v1", "r1"), ("v1", "r2"), ("v2", "r1"), (None, "r3"), ("v1", "unknown")]
    assert dilemma_spread(pairs, {"r1": "d1", "r2": "d2", "r3": "d1"}) == {"v1": Counter(d1=1, d2=1), "v2": Counter(d1=1)}


def test_a_build_sends_a_single_dilemma_value_to_review_and_keeps_its_members(sample_judgments, embedder, extractor):
    # Without the span filter, so that what it sets apart does not decide which values form.
    result = TaxonomyBuilder(60, seed=13, embedder=embedder, extractor=extractor, span_filter=None).fit(sample_judgments)
    dilemma_of = {j.id: j.dilemma_id for j in sample_judgments}
    topics = [v for v in result.taxonomy.values if v.review_reason and "topic" in v.review_reason]
    assert topics, "the bundled sample has a dilemma whose subject forms a value"
    for v in topics:
        members = [e for e in result.expressions if e.value_id == v.id]
        top, n = Counter(dilemma_of[r] for r in {e.rationale_id for e in members}).most_common(1)[0]
        assert v.status == "needs_review" and members and n >= TOPIC_MIN_RATIONALES
        assert v.quality["top_dilemma_share"] >= TOPIC_SHARE and f'"{top}"' in v.review_reason
    assert all("n_dilemmas" in v.quality for v in result.taxonomy.values if v.size)
    assert result.stats["values_needing_review"] == sum(v.status == "needs_review" for v in result.taxonomy.values)
    # Each rationale its own dilemma (one comment per post): no value can be one dilemma's topic.
    alone = [j.model_copy(update={"dilemma_id": j.id}) for j in sample_judgments]
    again = TaxonomyBuilder(60, seed=13, embedder=embedder, extractor=extractor, span_filter=None).fit(alone)
    assert not any("topic" in (v.review_reason or "") for v in again.taxonomy.values)
    assert {v.id for v in again.taxonomy.values} == {v.id for v in result.taxonomy.values}


def test_an_update_doubts_the_values_it_adds_and_leaves_the_others(sample_judgments, embedder, extractor):
    from moralgap.taxonomy.update import TaxonomyUpdater

    topic = "d03"  # the sample's dilemma whose subject, authorship, forms a value of its own
    base = TaxonomyBuilder(40, seed=13, embedder=embedder, extractor=extractor).fit(
        [j for j in sample_judgments if j.dilemma_id != topic])
    before = {v.id: (v.status, v.review_reason) for v in base.taxonomy.values}
    result = TaxonomyUpdater(seed=13, embedder=embedder, extractor=extractor).update(
        base.folder, [j for j in sample_judgments if j.dilemma_id == topic])
    added = set(result.folder.taxonomy.lineage[-1].args["new_values"])
    doubted = [v for v in result.folder.taxonomy.values if v.id in added and "topic" in (v.review_reason or "")]
    assert doubted and all(v.status == "needs_review" and f'"{topic}"' in v.review_reason for v in doubted)
    assert result.stats["new_values_doubted_as_topics"] == len(doubted)
    # The others keep their status and their doubts; a doubt's figures may say what they are now
    # ("found in only 2 rationale(s) when found, 3 now": quality.reason_now).
    as_found = lambda reason: reason and re.sub(r" when found, [\d.]+ now", "", reason)  # noqa: E731
    assert {v.id: (v.status, as_found(v.review_reason))
            for v in result.folder.taxonomy.values if v.id in before} == before


def _many_topics(topical_mentions: int, other_mentions: int):
    """A value like Touché23's "Economic Sanctions": each of its topical forms is argued in one
    dilemma of its own, so no single dilemma dominates the value."""
    triples = []
    for form in ["economic sanction", "limit executive compensation", "abolish intellectual property"]:
        for i in range(topical_mentions):
            triples.append(("v1", form, f"{form}-{i}"))
    for i in range(other_mentions):  # said across the rest of the corpus
        triples.append(("v1", "fairness", f"other{i % 40}-{i}"))
    dilemma_of = {r: r.split("-")[0] for _, _, r in triples}
    sizes = Counter(dilemma_of.values())
    for d in range(40):
        sizes[f"other{d}"] = 20
    return triples, dilemma_of, sizes


@pytest.mark.parametrize("topical, other, doubted", [(10, 20, True), (6, 30, False)])
def test_a_value_made_of_many_dilemmas_topics_is_sent_to_review_naming_them(topical, other, doubted):
    triples, dilemma_of, sizes = _many_topics(topical, other)
    taxonomy = Taxonomy(values=[Value(id="v1", name="Economic Sanctions"), Value(id="v2", name="Kept", status="accepted")])
    spread = dilemma_spread(((v, r) for v, _, r in triples), dilemma_of)
    assert topic_reason(spread["v1"], sizes, sum(sizes.values())) is None  # no one dilemma dominates it
    forms = form_spread(triples, dilemma_of)
    assert forms[0]["v1"]["economic sanction"] == topical and sum(forms[1]["fairness"].values()) == other
    assert flag_topics(taxonomy, spread, sizes, forms) == int(doubted)
    v = taxonomy.values[0]
    share = 3 * topical / (3 * topical + other)
    assert v.quality["topical_form_share"] == round(share, 4) and (share >= TOPIC_FORM_SHARE) == doubted
    assert (v.status == "needs_review") == doubted
    if doubted:
        assert '"economic sanction" in "economic sanction"' in v.review_reason and "topics, not a value" in v.review_reason


def test_form_spread_counts_a_rationale_once_per_form_and_every_mention():
    triples = [("v1", "honesty", "r1"), ("v1", "honesty", "r1"), ("v1", "honesty", "r2"), (None, "honesty", "r3"),
               ("v2", "trust", "r1"), ("v1", "trust", "unknown")]
    mentions, spread = form_spread(triples, {"r1": "d1", "r2": "d2", "r3": "d1"})
    assert mentions == {"v1": Counter(honesty=3), "v2": Counter(trust=1)}
    assert spread == {"honesty": Counter(d1=1, d2=1), "trust": Counter(d1=1)}


def test_a_build_records_each_values_share_of_topical_forms(shared_data, embedder, extractor):
    # Real debate premises: many premises argue each conclusion, so some forms are topical.
    import csv
    import gzip

    from moralgap.records import Judgment
    from moralgap.taxonomy.space import form_key
    from moralgap.taxonomy.topics import topical_forms

    with gzip.open(shared_data / "valueeval" / "touche23" / "arguments-training.tsv.gz", "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    conclusions = {c for c, _ in Counter(r["Conclusion"] for r in rows).most_common(12)}  # ~110 premises each
    judgments = [Judgment(id=r["Argument ID"], dilemma_id=r["Conclusion"], verdict="acceptable", rationale=r["Premise"])
                 for r in rows if r["Conclusion"] in conclusions]
    result = TaxonomyBuilder(20, seed=13, embedder=embedder, extractor=extractor).fit(judgments)
    dilemma_of = {j.id: j.dilemma_id for j in judgments}
    assigned = [e for e in result.expressions if e.value_id]
    topical = topical_forms(form_spread(((e.value_id, form_key("norm", e), e.rationale_id) for e in assigned),
                                        dilemma_of)[1], Counter(dilemma_of.values()))
    assert topical
    shares = []
    for v in result.taxonomy.values:
        mine = [form_key("norm", e) for e in assigned if e.value_id == v.id]
        shares.append(v.quality["topical_form_share"])
        assert shares[-1] == round(sum(f in topical for f in mine) / len(mine), 4)
        if shares[-1] >= TOPIC_FORM_SHARE:
            assert v.status == "needs_review" and "topic" in v.review_reason
    assert max(shares) > 0
