"""What a reviewer reads in a Label Studio review task (annotation/review.py), without a server."""
from __future__ import annotations

from moralgap.annotation.review import review_tasks
from moralgap.records import Expression, Taxonomy, Value


def mention(i: int, norm: str, sim: float, vid: str = "vunde0000001") -> Expression:
    return Expression(id=f"r{i}#0", rationale_id=f"r{i}", start=0, end=len(norm), text=norm, norm=norm,
                      rule="evaluative", value_id=vid, similarity=sim)


def test_a_card_shows_the_closest_members_and_the_furthest_with_the_reason_to_doubt():
    value = Value(id="vunde0000001", name="Undermining", size=14, status="needs_review",
                  review_reason="members are unlike each other (cohesion 0.70, build's lower fence 0.73)",
                  quality={"nearest_value": "vresp0000002", "nearest_similarity": 0.6049})
    other = Value(id="vresp0000002", name="Respect / Disrespectful", size=20)
    # 12 close mentions of 3 forms, then two far ones: a misfit said twice, and one in between
    close = [mention(i, ["undermining", "undermine your authority", "your authority"][i % 3], 0.95 - 0.01 * i)
             for i in range(12)]
    far = [mention(20, "a civic duty", 0.53), mention(21, "a civic duty", 0.53), mention(22, "being sneaky", 0.61)]
    rationales = {"r20": "a civic duty. Publicly shaming cheaters is one."}
    tax = Taxonomy(name="t", values=[value, other])
    task = review_tasks(tax, close + far, rationales)[0]
    card = task["data"]["card_html"]
    # a value the build doubts is reviewed too, with its name pre-filled but no decision
    assert [r["from_name"] for r in task["predictions"][0]["result"]] == ["new_name"]
    closest, _, furthest = card.partition("Furthest from the value")
    assert closest.count("<li>") == 10 and "civic" not in closest
    assert "Why the build doubts it:</b> members are unlike each other" in card
    assert "Nearest value:</b> Respect / Disrespectful (vresp0000002, centroid similarity 0.60)" in card
    # furthest first, one line per form not shown above, in its rationale where the text is known,
    # with its similarity
    items = furthest.split("<li>")[1:]
    assert len(items) == 2
    assert items[0].startswith("<mark>a civic duty</mark>. Publicly shaming") and "(similarity 0.53)" in items[0]
    assert "being sneaky" in items[1] and "(similarity 0.61)" in items[1]


def test_a_small_value_shows_every_member_once():
    value = Value(id="vunde0000001", name="Undermining", size=3)
    card = review_tasks(Taxonomy(name="t", values=[value]),
                        [mention(0, "undermining", 0.9), mention(1, "your authority", 0.8), mention(2, "a civic duty", 0.5)]
                        )[0]["data"]["card_html"]
    assert card.count("<li>") == 3 and "Furthest from the value" not in card and "Why the build doubts" not in card
    assert "Nearest value" not in card  # a value with no quality record


def test_merged_and_rejected_values_get_no_task_and_a_proposed_one_is_prefilled_keep():
    values = [Value(id=f"v{s[:4]}0000000"[:12], name=s.title(), size=1, status=s)
              for s in ("proposed", "accepted", "needs_review", "rejected")]
    tasks = review_tasks(Taxonomy(name="t", values=values))
    assert [t["data"]["name"] for t in tasks] == ["Proposed", "Accepted", "Needs_Review"]
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == ["keep"]
