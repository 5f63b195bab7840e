"""EmbeddingSpace: the model, its fingerprint and the embed-text rule, recorded in taxonomy.json and read back."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moralgap.errors import ConfigError
from moralgap.records import Judgment, Taxonomy
from moralgap.taxonomy.build import TaxonomyBuilder
from moralgap.taxonomy.diff import diff_taxonomies
from moralgap.taxonomy.folder import TaxonomyFolder
from moralgap.taxonomy.space import EmbeddingSpace, sentence_around, sentence_count

pytestmark = pytest.mark.slow  # real spaCy pipeline and MiniLM

TEXTS = [
    "You lied to her about the money. Honesty matters and you were dishonest.",
    "Lying to your wife is never ok, you should have been honest.",
    "You read her diary. That's a huge invasion of privacy.",
    "Snooping through his phone is a violation of his privacy.",
    "You were rude to the waiter and that was disrespectful.",
    "That was so rude and inconsiderate of you.",
    "Family comes first, you should support your brother.",
    "You abandoned your family when they needed you.",
]


@pytest.fixture(scope="module")
def saved(embedder, extractor, tmp_path_factory):
    judgments = [Judgment(id=f"s{i}", dilemma_id="d", verdict="unacceptable", rationale=t) for i, t in enumerate(TEXTS)]
    space = EmbeddingSpace(embed_text="norm+value", context_weight=2.0, embedder=embedder)
    result = TaxonomyBuilder(3, seed=13, space=space, extractor=extractor, min_cluster_size=2).fit(judgments)
    out = tmp_path_factory.mktemp("space") / "tax"
    result.save(out)
    return space, out


def test_the_space_round_trips_through_taxonomy_json(saved, embedder):
    space, out = saved
    raw = json.loads((out / "taxonomy.json").read_text())
    assert raw["embedding_model"] == space.model_id == "all-MiniLM-L6-v2"
    assert {k: raw["params"][k] for k in space.to_params()} == space.to_params()
    assert raw["params"]["embedding_fingerprint"] == embedder.fingerprint

    folder = TaxonomyFolder.load(out)
    back = EmbeddingSpace.of(folder)
    assert (back.model_id, back.embed_text, back.context_weight, back.recorded_fingerprint) == \
           ("all-MiniLM-L6-v2", "norm+value", 2.0, embedder.fingerprint)
    again = EmbeddingSpace.from_params(back.to_params(), model=back.model_id)
    assert (again.model_id, again.embed_text, again.context_weight, again.fingerprint) == \
           (back.model_id, back.embed_text, back.context_weight, back.fingerprint)
    # Read back, the space embeds as the build did: each member's recorded similarity to its value comes out again.
    live = [e for e in folder.expressions if e.value_id]
    vecs = EmbeddingSpace.of(folder, embedder=embedder).expression_vectors(live)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    sims = {e.id: float(v @ folder.centroids[e.value_id]) for e, v in zip(live, vecs)}
    assert all(abs(sims[e.id] - e.similarity) < 1e-3 for e in live)
    # norm+value embeds the lexicon value beside the form
    with_value = next(e for e in live if e.lexicon_value)
    assert back.texts([with_value]) == [f"{with_value.norm} ({with_value.lexicon_value.lower()})"]


def test_older_files_without_the_fields_still_load(saved, tmp_path):
    _, out = saved
    raw = json.loads((out / "taxonomy.json").read_text())
    for key in ("embed_text", "context_weight", "embedding_fingerprint"):
        del raw["params"][key]
    del raw["embedding_model"]
    (tmp_path / "taxonomy.json").write_text(json.dumps(raw))
    folder = TaxonomyFolder.load(tmp_path / "taxonomy.json", with_expressions=False)
    space = EmbeddingSpace.of(folder)
    assert (space.model_id, space.embed_text, space.context_weight, space.recorded_fingerprint) == \
           ("all-MiniLM-L6-v2", "norm", 3.0, None)
    assert space.to_params()["embedding_fingerprint"]  # the model found now, nothing to check against


def test_a_model_with_another_fingerprint_is_refused_naming_both(saved, embedder):
    _, out = saved
    tax = TaxonomyFolder.load(out, with_expressions=False).taxonomy
    tax.params["embedding_fingerprint"] = "0" * 16  # as if built with another model
    space = EmbeddingSpace.of(tax, embedder=embedder)
    with pytest.raises(ConfigError) as err:
        space.encode(["honesty"])
    msg = str(err.value)
    assert "all-MiniLM-L6-v2" in msg and embedder.model_path in msg  # the recorded model and the loaded one
    assert "0" * 16 in msg and embedder.fingerprint in msg and "not comparable" in msg


def test_a_diff_across_models_does_not_compare_centroids(saved):
    _, out = saved
    a = TaxonomyFolder.load(out)
    other = a.taxonomy.model_copy(deep=True)
    other.params["embedding_fingerprint"] = "0" * 16
    for v in other.values:
        v.id = "x" + v.id[1:]  # unrelated ids: only centroids could match them
    b = TaxonomyFolder(other, [], {"x" + k[1:]: c for k, c in a.centroids.items()})
    result = diff_taxonomies(a, b)
    assert result.centroids_skipped and "0" * 16 in result.centroids_skipped
    assert set(result.kinds()) == {"added", "removed"}
    assert "centroids not compared" in result.format_table()
    assert diff_taxonomies(a, a).centroids_skipped is None


def test_context_needs_the_rationales(embedder):
    tax = Taxonomy(name="t", params={"embed_text": "context"})
    from moralgap.records import Expression

    e = Expression(id="r#0", rationale_id="r", start=0, end=4, text="rude", norm="rude", rule="evaluative")
    space = EmbeddingSpace.of(tax, embedder=embedder)
    assert space.key(e) == "rude\x00r"
    with pytest.raises(ConfigError, match="rationale texts"):
        space.expression_vectors([e])
    assert space.expression_vectors([e], {"r": "You were rude to her."}).shape == (1, embedder.dimension)


@pytest.mark.parametrize("offset, sentence", [
    (0, "You were rude."), (9, "You were rude."),
    (16, 'She "lied"!'),  # closing quotes stay with their sentence
    (29, "Why?"),
    (34, "No more"),  # a line break ends a sentence without a full stop
    (43, "Trust matters"),  # the last sentence needs no full stop
])
def test_sentence_around(offset, sentence):
    text = 'You were rude. She "lied"! Why?\nNo more\n\nTrust matters'
    assert sentence_around(text, offset) == sentence
    assert sentence_around("", 0) == "" and sentence_around("  one  ", 3) == "one"


def test_sentence_count_counts_the_sentences_sentence_around_finds():
    text = 'You were rude. She "lied"! Why?\nNo more\n\nTrust matters'
    found = {sentence_around(text, i) for i in range(len(text)) if not text[i].isspace()}
    assert sentence_count(text) == len(found) == 5
    assert sentence_count("") == sentence_count("  one, no end  ") == 1
    assert sentence_count("It is costly. ") == 1


def test_sentence_embeds_each_mention_with_its_own_sentence(embedder):
    from moralgap.records import Expression

    text = "You lied about the money. Later you were rude to the waiter at the wedding."
    rude = text.index("rude")
    e = Expression(id="r#0", rationale_id="r", start=rude, end=rude + 4, text="rude", norm="rude", rule="evaluative")
    space = EmbeddingSpace.from_params({"embed_text": "sentence", "context_weight": 1.0}, embedder=embedder)
    assert space.key(e) == f"rude\x00r\x00{rude}"
    with pytest.raises(ConfigError, match="--embed-text sentence"):
        space.expression_vectors([e])
    got = space.expression_vectors([e], {"r": text})[0]
    # The form's vector plus the weighted vector of its sentence, not of the whole rationale.
    parts = embedder.encode(["rude", "Later you were rude to the waiter at the wedding.", text])
    want = parts[0] + parts[1]
    whole = parts[0] + parts[2]
    assert np.allclose(got, want / np.linalg.norm(want), atol=1e-5)
    assert not np.allclose(got, whole / np.linalg.norm(whole), atol=1e-3)
