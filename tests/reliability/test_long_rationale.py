"""A rationale longer than spaCy's limit is extracted in chunks, with nothing lost and true offsets."""
from __future__ import annotations

import pytest

from moralgap.taxonomy.chunking import ChunkPlan, split_points

SENTENCE = "You were rude and dishonest to your sister. "


def test_split_points_cut_at_boundaries_and_cover_everything():
    text = ("A first paragraph that is short.\n\n" + SENTENCE * 60 + "x" * 3000) * 3
    starts = split_points(text, 1000)
    pieces = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    assert "".join(pieces) == text and all(len(p) <= 1000 for p in pieces)
    # Cuts fall after a sentence or paragraph wherever the text has one in reach.
    cut_after = [text[s - 1] for s in starts[1:] if "x" * 600 not in text[max(0, s - 600):s]]
    assert cut_after and all(c in " \n" for c in cut_after)


@pytest.fixture(scope="module")
def extractor():
    from moralgap.taxonomy.extract import ValueExtractor

    return ValueExtractor()


def test_over_long_rationale_is_chunked_with_true_offsets_and_nothing_lost(extractor):
    text = SENTENCE * 400  # 17,600 characters
    whole = extractor.extract_texts([("r1", text)])
    saved = extractor.nlp.max_length
    extractor.nlp.max_length = 2_000  # the same code path as a 1,000,000+ character rationale, at test speed
    try:
        assert ChunkPlan([("r1", text)], extractor.nlp.max_length).chunked
        chunked = extractor.extract_texts([("r0", "You were kind."), ("r1", text), ("r2", "So honest.")])
    finally:
        extractor.nlp.max_length = saved
    mine = [e for e in chunked if e.rationale_id == "r1"]
    assert len(mine) == len(whole) == 800  # rude + dishonest in each of the 400 sentences
    assert [(e.start, e.end, e.norm) for e in mine] == [(e.start, e.end, e.norm) for e in whole]
    assert all(text[e.start:e.end] == e.text for e in mine)
    assert len({e.id for e in chunked}) == len(chunked)
    assert {e.rationale_id for e in chunked} == {"r0", "r1", "r2"}


@pytest.mark.slow
def test_a_rationale_over_one_million_characters_builds_through_the_cli(tmp_path):
    import json

    from kit import cli

    judgments = tmp_path / "j.jsonl"
    rows = [{"id": "long", "dilemma_id": "d1", "verdict": "YTA", "rationale": SENTENCE * 23_000}]  # 1,012,000 chars
    rows += [{"id": f"s{i}", "dilemma_id": "d1", "verdict": "NTA", "rationale": "You were honest and kind."} for i in range(5)]
    judgments.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # Chunking is under test, not the span filter: with four distinct words in the whole corpus,
    # one set apart would leave too few to cluster.
    r = cli("taxonomy", "build", judgments, "--out", tmp_path / "tax", "--n-values", "auto", "--span-filter", "none",
            timeout=1200)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    exprs = [json.loads(l) for l in (tmp_path / "tax" / "expressions.jsonl").read_text().splitlines()]
    assert sum(e["rationale_id"] == "long" for e in exprs) >= 2 * 23_000 * 0.99
