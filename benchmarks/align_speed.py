"""Metrics speed: 1,618 dilemmas x 32 votes per side, 1,000 bootstrap resamples.

    python benchmarks/align_speed.py [--dilemmas 1618] [--votes 32] [--resamples 1000] [--conditions 1]

Times ``alignment.metrics.gap_analysis`` (per-dilemma columns, exact noise floor, overall and
per-bin bootstrap CIs, correlations; with --conditions 2 also the paired change) on
synthetic vote counts. Target: under 2 s for one condition.
"""
from __future__ import annotations

import argparse
import time

from _common import record_table, save_results  # also puts the repo on sys.path
import numpy as np

from moralgap.alignment.metrics import gap_analysis
from moralgap.alignment.votes import VoteTable


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dilemmas", type=int, default=1618)
    ap.add_argument("--votes", type=int, default=32)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--conditions", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    gen = np.random.default_rng(0)
    ids = np.array([f"d{i:05d}" for i in range(a.dilemmas)], dtype=object)
    p = gen.beta(2, 2, a.dilemmas)
    n = np.full(a.dilemmas, a.votes)

    def table(q):
        return VoteTable(ids, n, gen.binomial(a.votes, q) / a.votes, np.zeros(a.dilemmas, dtype=int))

    human = table(p)
    models = {"vanilla": table(np.clip(p + 0.2, 0, 1))}
    for c in range(1, a.conditions):
        models[f"cond{c}"] = table(p)
    times = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        res = gap_analysis(human, models, n_resamples=a.resamples, seed=13)
        times.append(time.perf_counter() - t)
    o = res.summaries["vanilla"]["overall"]
    record_table([{"dilemmas": a.dilemmas, "votes_per_side": a.votes, "resamples": a.resamples, "conditions": a.conditions,
                   "best_s": round(min(times), 3), "median_s": round(sorted(times)[len(times) // 2], 3)}],
                 ["dilemmas", "votes_per_side", "resamples", "conditions", "best_s", "median_s"], name="speed")
    print(f"{a.dilemmas} dilemmas x {a.votes} votes/side, {a.resamples} resamples, {a.conditions} condition(s): "
          f"best {min(times):.3f}s, median {sorted(times)[len(times) // 2]:.3f}s "
          f"(gap {o['mean_gap']['value']:.3f}, floor {o['mean_noise_floor']:.3f})")
    save_results()


if __name__ == "__main__":
    main()
