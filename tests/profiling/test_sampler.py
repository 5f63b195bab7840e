"""Statistical and structural checks of the DMP sampler and its controls (numpy only, no model)."""
from __future__ import annotations

import numpy as np
import pytest

from moralgap.errors import ConfigError
from moralgap.profiling.profiles import GLOBAL, Profiles
from moralgap.profiling.sampler import DMPSampler, draw_dirichlet, largest_remainder_round, load_persona_items, top_k_weights

G0 = np.array([0.30, 0.20, 0.15, 0.12, 0.10, 0.08, 0.04, 0.009, 0.001])
N_DRAWS = 100_000


def make_profiles(g0=G0, alpha=10.0, mle_alpha=None) -> Profiles:
    """A profiles document with one group 'family' whose G0 is given directly."""
    ids = [f"v{i}" for i in range(len(g0))]
    group = {"g0": dict(zip(ids, map(float, g0))), "mle": {"fitted": mle_alpha is not None,
                                                           "alpha": dict(zip(ids, map(float, mle_alpha))) if mle_alpha is not None else {}}}
    return Profiles({
        "schema_version": 1, "kind": "moralgap.profiles", "taxonomy": {"version": 1},
        "grouping": {"by": "topic", "topics": "first", "parents": {}},
        "params": {"alpha": alpha}, "values": [{"id": i, "name": f"Value {i}"} for i in ids],
        "global": group, "groups": {"family": group},
    })


@pytest.fixture(scope="module")
def dmp_draws():
    sampler = DMPSampler(make_profiles(), seed=5)
    return np.array([sampler.theta("d1", i, "family") for i in range(N_DRAWS)])


def test_mean_of_theta_is_g0(dmp_draws):
    assert np.abs(dmp_draws.mean(axis=0) - G0).max() < 0.005
    assert np.allclose(dmp_draws.sum(axis=1), 1.0)


def test_variance_of_theta_is_the_dirichlets(dmp_draws):
    expected = G0 * (1 - G0) / (10.0 + 1)  # Var theta_k under Dirichlet(alpha * G0), alpha = 10
    centred_sq = (dmp_draws - dmp_draws.mean(axis=0)) ** 2
    observed = centred_sq.mean(axis=0)
    standard_error = centred_sq.std(axis=0) / np.sqrt(N_DRAWS)
    assert np.all(np.abs(observed - expected) < 5 * standard_error), (observed, expected)


def test_alpha_override_changes_the_spread():
    sampler = DMPSampler(make_profiles(), seed=5, alpha=100.0)
    draws = np.array([sampler.theta("d1", i, "family") for i in range(4000)])
    assert draws[:, 0].var() == pytest.approx(0.3 * 0.7 / 101, rel=0.15)


def test_top_k_always_sums_to_exactly_one():
    gen = np.random.default_rng(0)
    for trial in range(3000):
        theta = gen.dirichlet(np.full(12, gen.choice([0.05, 0.5, 5.0])))
        k = int(gen.integers(1, 8))
        idx, hundredths = top_k_weights(theta, k)
        assert hundredths.sum() == 100 and np.all(hundredths > 0) and len(idx) <= k
        assert f"{sum(h / 100 for h in hundredths):.2f}" == "1.00"
        assert list(theta[idx]) == sorted(theta[idx], reverse=True)


def test_largest_remainder_rounding():
    assert list(largest_remainder_round([1 / 3, 1 / 3, 1 / 3])) == [34, 33, 33]
    assert list(largest_remainder_round([0.995, 0.004, 0.001])) == [100, 0, 0]
    assert list(largest_remainder_round([0.125, 0.875])) == [12, 88]  # a tied remainder goes to the larger weight
    with pytest.raises(ValueError):
        largest_remainder_round([0.5, 0.6])


def test_same_seed_same_profile_other_seed_other_profile():
    profiles = make_profiles()
    a = DMPSampler(profiles, seed=7).profile("d3", 11, "family", "dmp")
    assert a == DMPSampler(profiles, seed=7).profile("d3", 11, "family", "dmp")
    assert a != DMPSampler(profiles, seed=8).profile("d3", 11, "family", "dmp")
    assert a != DMPSampler(profiles, seed=7).profile("d3", 12, "family", "dmp")


def test_shuffled_keeps_the_weights_and_moves_the_values():
    sampler = DMPSampler(make_profiles(), seed=3)
    moved = 0
    for i in range(200):
        dmp, shuf = sampler.theta("d1", i, "family", "dmp"), sampler.theta("d1", i, "family", "shuffled")
        assert np.array_equal(np.sort(dmp), np.sort(shuf))
        p, q = sampler.profile("d1", i, "family", "dmp"), sampler.profile("d1", i, "family", "shuffled")
        assert [x.weight for x in p] == [x.weight for x in q]
        moved += [x.value_id for x in p] != [x.value_id for x in q]
    assert moved > 150
    # shuffled breaks the link with G0: each value's mean weight is flat
    draws = np.array([sampler.theta("d1", i, "family", "shuffled") for i in range(10000)])
    assert np.abs(draws.mean(axis=0) - 1 / len(G0)).max() < 0.01


def test_uniform_is_flat_with_the_same_concentration():
    sampler = DMPSampler(make_profiles(), seed=3)
    assert np.allclose(sampler.parameters("family", "uniform"), 10.0 / len(G0))
    draws = np.array([sampler.theta("d2", i, "family", "uniform") for i in range(10000)])
    assert np.abs(draws.mean(axis=0) - 1 / len(G0)).max() < 0.005


def test_persona_is_format_matched_and_holds_no_values():
    sampler = DMPSampler(make_profiles(), seed=3)
    items = set(load_persona_items())
    value_names = {f"Value v{i}" for i in range(len(G0))}
    for i in range(100):
        dmp, persona = sampler.profile("d1", i, "family", "dmp"), sampler.profile("d1", i, "family", "persona")
        assert [x.weight for x in persona] == [x.weight for x in dmp]
        names = [x.name for x in persona]
        assert len(set(names)) == len(names) and set(names) <= items and not set(names) & value_names
        assert all(x.value_id.startswith("persona:") for x in persona)


def test_unprofiled_conditions_have_no_profile():
    sampler = DMPSampler(make_profiles())
    assert sampler.profile("d1", 0, "family", "vanilla") is None
    assert sampler.profile("d1", 0, "family", "population") is None


def test_zero_parameters_get_zero_weight_and_mle_sampling():
    gen = np.random.default_rng(0)
    theta = draw_dirichlet(gen, np.array([0.0, 2.0, 0.0, 1.0]))
    assert theta[0] == 0 and theta[2] == 0 and theta.sum() == pytest.approx(1.0)
    assert list(draw_dirichlet(gen, np.array([0.0, 3.0]))) == [0.0, 1.0]
    mle = np.array([4.0, 2.0, 1.0, 0, 0, 0, 0, 0, 1.0])
    sampler = DMPSampler(make_profiles(mle_alpha=mle), dirichlet="mle")
    draws = np.array([sampler.theta("d1", i, "family") for i in range(2000)])
    assert np.all(draws[:, 3:8] == 0)
    with pytest.raises(ConfigError):
        DMPSampler(make_profiles(), dirichlet="mle").theta("d1", 0, GLOBAL)


def test_tiny_g0_entries_and_tiny_alpha_do_not_break_sampling():
    g0 = np.array([1 - 3e-9, 1e-9, 1e-9, 1e-9])
    sampler = DMPSampler(make_profiles(g0=g0, alpha=0.01), seed=1)
    for i in range(500):
        theta = sampler.theta("d", i, "family")
        assert np.all(np.isfinite(theta)) and theta.sum() == pytest.approx(1.0)
        assert sum(x.weight for x in sampler.profile("d", i, "family", "dmp")) == pytest.approx(1.0)


def test_bad_sampler_parameters():
    for alpha in (0, -2):
        with pytest.raises(ValueError, match="alpha"):
            DMPSampler(make_profiles(), alpha=alpha)
    with pytest.raises(ValueError):
        DMPSampler(make_profiles(), k=0)
    with pytest.raises(ConfigError):
        DMPSampler(make_profiles(), k=3, persona_items=["Tea", "Chess"])
