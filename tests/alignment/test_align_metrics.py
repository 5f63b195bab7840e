import json
import re

import numpy as np
import pytest
from conftest import write_jsonl

from moralgap.alignment.bootstrap import mean_ci, paired_change_ci, resample_index
from moralgap.alignment.metrics import assign_bins, compare, gap_analysis, js_distance_binary
from moralgap.alignment.noise_floor import expected_abs_diff
from moralgap.alignment.votes import VoteTable, scruples_votes, votes_from_counts, votes_from_judgments
from moralgap.errors import InputError
from moralgap.records import Judgment


def _table(ids, n, k):
    n = np.asarray(n)
    return VoteTable(np.array(ids, dtype=object), n, np.asarray(k) / n, np.zeros(len(ids), dtype=int))


def test_noise_floor_matches_simulation():
    gen = np.random.default_rng(0)
    p, nh, nm = np.array([0.5, 0.8, 0.97]), np.array([32, 32, 45]), np.array([32, 8, 16])
    exact = expected_abs_diff(p, nh, nm)
    sim = np.array([np.abs(gen.binomial(a, q, 200_000) / a - gen.binomial(b, q, 200_000) / b).mean()
                    for q, a, b in zip(p, nh, nm)])
    assert np.allclose(exact, sim, atol=0.002)
    assert expected_abs_diff([0.0, 1.0], [10, 10], [5, 5]).tolist() == [0.0, 0.0]


def test_js_distance_properties():
    assert js_distance_binary([0.3], [0.3])[0] == pytest.approx(0.0)
    assert js_distance_binary([0.0], [1.0])[0] == pytest.approx(1.0)
    a, b = js_distance_binary([0.2, 0.9], [0.7, 0.1]), js_distance_binary([0.7, 0.1], [0.2, 0.9])
    assert np.allclose(a, b) and np.all((a > 0) & (a < 1))


def test_bins_are_half_open_and_last_is_closed():
    edges = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert assign_bins(np.array([0.5, 0.59, 0.6, 0.9, 1.0]), edges).tolist() == [0, 0, 1, 4, 4]


def test_compare_per_dilemma_columns():
    human = _table(["a", "b", "c"], [32, 32, 10], [16, 30, 0])
    model = _table(["a", "b", "z"], [8, 8, 8], [8, 4, 1])
    f = compare(human, model)
    assert f.dilemma_id.tolist() == ["a", "b"]
    assert np.allclose(f.p_human, [0.5, 30 / 32]) and np.allclose(f.p_model, [1.0, 0.5])
    assert np.allclose(f.abs_diff, np.abs(f.p_human - f.p_model))
    assert np.allclose(f.consensus, [0.5, 30 / 32])
    assert np.all(f.noise_floor > 0)


def test_bootstrap_intervals_cover_and_pair():
    gen = np.random.default_rng(1)
    x = gen.uniform(0, 1, 400)
    idx = resample_index(400, 1000, 13, "t")
    est = mean_ci(x, idx)
    se = x.std() / np.sqrt(400)
    assert est.low < x.mean() < est.high
    assert est.high - est.low == pytest.approx(2 * 1.96 * se, rel=0.15)
    # Same resamples give the same answer: one seed controls the randomness.
    assert mean_ci(x, resample_index(400, 1000, 13, "t")) == est
    paired = paired_change_ci(x, x * 0.5, idx, relative=True)
    assert paired.value == pytest.approx(-0.5) and paired.low == pytest.approx(-0.5) and paired.high == pytest.approx(-0.5)


def test_gap_analysis_finds_an_aligned_model_near_its_floor_and_a_biased_one_above():
    gen = np.random.default_rng(3)
    n = 300
    p = gen.uniform(0, 1, n)
    ids = [f"d{i}" for i in range(n)]
    human = _table(ids, [32] * n, gen.binomial(32, p))
    aligned = _table(ids, [32] * n, gen.binomial(32, p))
    biased = _table(ids, [32] * n, gen.binomial(32, np.clip(p + 0.3, 0, 1)))
    res = gap_analysis(human, {"vanilla": biased, "dmp": aligned}, n_resamples=500, seed=2)
    al, bi = res.summaries["dmp"]["overall"], res.summaries["vanilla"]["overall"]
    lo, hi = al["gap_minus_floor"]["ci_low"], al["gap_minus_floor"]["ci_high"]
    assert lo < 0.02 and hi > -0.02, "a model with the humans' p sits at the noise floor"
    assert bi["gap_minus_floor"]["ci_low"] > 0.1
    assert al["pearson"]["value"] > 0.8
    ch = res.changes["dmp"]
    assert ch["baseline"] == "vanilla" and ch["relative_change"]["ci_high"] < 0
    assert [b["bin"] for b in res.summaries["dmp"]["bins"]] == ["0.5-0.6", "0.6-0.7", "0.7-0.8", "0.8-0.9", "0.9-1"]
    assert sum(b["n_dilemmas"] for b in res.summaries["dmp"]["bins"]) == n


def test_votes_from_judgments_use_probabilities_and_count_unparseable():
    js = [Judgment(id="1", dilemma_id="a", judge="m", verdict="acceptable"),
          Judgment(id="2", dilemma_id="a", judge="m", verdict=None, parse_error="x"),
          Judgment(id="3", dilemma_id="a", judge="m", p_acceptable=0.25),
          Judgment(id="4", dilemma_id="b", judge="m", verdict=None, parse_error="x")]
    t = votes_from_judgments(js)
    assert t.dilemma_ids.tolist() == ["a", "b"] and t.n.tolist() == [2, 0] and t.unparseable.tolist() == [1, 1]
    assert t.p[0] == pytest.approx(0.625)


def test_counts_table_errors_name_line_and_field(tmp_path):
    p = write_jsonl(tmp_path / "c.jsonl", [{"dilemma_id": "a", "n_acceptable": 3, "n_unacceptable": 1},
                                            {"dilemma_id": "b", "n_acceptable": "many", "n_unacceptable": 1}])
    with pytest.raises(InputError) as exc:
        votes_from_counts(p)
    assert exc.value.line == 2 and exc.value.field == "n_acceptable"


@pytest.fixture(scope="module")
def scruples(shared_data):
    d = shared_data / "scruples_pilot"
    if not d.is_dir():
        pytest.skip("scruples_pilot is absent")
    return d


def _reported_gaps(readme: str) -> dict[str, list[float]]:
    """The README's 'gaps for the recovered judges' line: vanilla/dmp/random_persona/elicit."""
    text = readme.replace("\n", " ")
    text = text[text.index("gaps for the recovered judges"):]
    m = re.search(r"gpt-4o (\.\d+)/(\.\d+)/(\.\d+)/(\.\d+), llama-70b (\.\d+)/(\.\d+)/(\.\d+)/(\.\d+)", text)
    vals = [float(x) for x in m.groups()]
    return {"gpt4o": vals[:4], "llama70b": vals[4:]}


def test_scruples_pilot_gaps_reproduce_the_readme(scruples):
    from moralgap.alignment.backends.replay import load_foreign_judgments
    from moralgap.alignment.votes import group_judgments

    reported = _reported_gaps((scruples / "README.md").read_text(encoding="utf-8"))
    human = scruples_votes(scruples / "data" / "aita_pilot_500.csv.gz")
    assert len(human) == 500
    for judge, expected in reported.items():
        js = load_foreign_judgments(scruples / "results" / "phase3" / f"judgments_{judge}.jsonl.gz", "scruples")
        res = gap_analysis(human, {k: votes_from_judgments(v) for k, v in group_judgments(js).items()}, n_resamples=200)
        got = [res.summaries[c]["overall"]["mean_gap"]["value"] for c in ("vanilla", "dmp_empirical", "random_persona", "elicit")]
        assert np.allclose(got, expected, atol=0.005), (judge, got, expected)
        assert all(res.summaries[c]["overall"]["n_dilemmas"] == 150 for c in res.summaries)
