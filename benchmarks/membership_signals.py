"""Can geometry tell a member that fits its value from one that does not? A measured lead.

    python benchmarks/membership_signals.py [--seeds 13]

Reading the AITA build value by value leaves a few members that do not belong ("a civic duty"
in "Undermining", "gossip" in "Disown"). Before building a step that takes such members out,
this measures whether the numbers a build already has could find them. It builds the default
taxonomy of the real AITA top comments (seed 13; ``--seeds`` pools more builds, but two builds
share most of their spans, so a span would be learned in one and scored in the other: the
folds below keep only a value's own members together), and takes every assigned expression the
team judged (``benchmarks/data/aita_expression_labels*.jsonl``, as ``taxonomy_eval_aita.py``
reads them, and ``aita_member_labels.jsonl``: one mention of every form of a value in the seed-13
build that those left unjudged, labelled so that the misfits are not too few to learn from; the
span filter never trains on it): a member *fits* when it is a value expression judged to fit that
value. For each member it computes

- ``similarity``: cosine to its value's centroid (what ``taxonomy show --value`` sorts by);
- ``margin``: that, less the cosine to the nearest other value's centroid;
- ``leaf_mate``: cosine to its nearest neighbour in HDBSCAN's finest group (0 for a form
  HDBSCAN left as noise; ``cluster_trace.py``);
- ``rank_share``: its place among its value's members by similarity (0 closest, 1 farthest);
- ``value_cohesion`` and ``log_value_size`` of the value it is in.

Prints each signal's ROC AUC for telling fits from misfits (0.5 is chance), the same for a
logistic regression on all of them cross-validated with folds grouped by value (so it is scored
on values it never saw), and for a *judge of meaning*: a logistic regression on the member's
vector beside its value's centroid (their product and absolute difference per dimension), at
each of three regularisation strengths, with the same folds. Then what taking out the members a
score ranks lowest would do: at 5% and 10% of the judged members taken out, how many misfits
and how many fits go, and the share of fits among those left (for the judge, at scikit-learn's
default C=1). Last, per build, the members below the cosine the build asked of an outlier to join
a value (``stats.assign_threshold``; `taxonomy show --value` marks them "!"), and how many of the
judged ones among them fit; and how many misfit forms a reviewer finds by reading each value's
forms furthest first (1, 2, 3 or 5 of them), against a random reading order.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from _common import REPO, aita_judgments, print_table, save_results
from cluster_trace import nearest_leaf_mates, traced_build
from taxonomy_eval_aita import fit_label, key, read_labels

JUDGE_C = (0.1, 1.0, 10.0)
# The members of the default seed-13 build that the evaluation samples left unjudged, one mention
# per (value, form), labelled in one pass (same fields as the samples' labels, plus the form and
# the value's name as they read then, for a reader; no comment text).
MEMBER_LABELS = REPO / "benchmarks" / "data" / "aita_member_labels.jsonl"
# Per seed: the members below the cosine the build asked of an outlier to join a value (what
# `taxonomy show --value` marks with "!"), filled by member_rows.
BELOW_BAR: list[dict] = []
SIGNALS = ("similarity", "margin", "leaf_mate", "rank_share", "value_cohesion", "log_value_size")


def all_labels(with_members: bool = True) -> dict[tuple, dict]:
    """The samples' labels and, with ``with_members``, the member labels: a span both judged keeps
    the samples' ``is_value`` and gains the member label's fit under ``fits_by_value``."""
    labels = read_labels()
    if not with_members:
        return labels
    for line in MEMBER_LABELS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        k = (r["rationale_id"], r["start"], r["end"])
        if k not in labels:
            labels[k] = r
        elif r["fits"] is not None:
            old = labels[k] = dict(labels[k])
            old["fits_by_value"] = {**(old.get("fits_by_value") or {}), r["value_id"]: r["fits"]}
    return labels


def member_rows(seed: int, judgments, labels: dict) -> list[dict]:
    """One row per assigned, judged expression of the seed's build: its signals and whether it fits."""
    from moralgap.taxonomy.space import EmbeddingSpace

    result, forms, vectors, trace = traced_build(judgments, seed)
    folder = result.folder
    mate_of = dict(zip(forms, nearest_leaf_mates(trace["leaves"], vectors)))
    values = {v.id: v for v in folder.taxonomy.active_values()}
    ids = [vid for vid in values if vid in folder.centroids]
    cents = np.stack([folder.centroids[vid] for vid in ids])
    members = [e for e in folder.expressions if e.value_id in values and not e.excluded and e.similarity is not None]
    judged = [e for e in members if key(e) in labels]
    by_value: dict[str, list[float]] = {}
    for e in members:
        by_value.setdefault(e.value_id, []).append(e.similarity)
    space = EmbeddingSpace.of(folder)
    vecs = space.expression_vectors(judged, None)
    bar = folder.taxonomy.stats["assign_threshold"]
    below = [e for e in members if e.similarity < bar]
    BELOW_BAR.append({"seed": seed, "bar": bar, "members": len(members), "below": len(below),
                      "forms_below": ", ".join(sorted({e.norm for e in below})),
                      "judged_below": sum(1 for e in below if key(e) in labels)})
    rows = []
    for e, v in zip(judged, vecs):
        label = labels[key(e)]
        fit = fit_label(label, e.value_id)
        if label.get("is_value") and fit is None:
            continue  # a value expression never judged against this value
        own = ids.index(e.value_id)
        centroid = cents[own]
        other = float(np.max(np.delete(cents @ v, own))) if len(ids) > 1 else 0.0
        peers = sorted(by_value[e.value_id], reverse=True)
        q = values[e.value_id].quality or {}
        rows.append({"seed": seed, "value_id": e.value_id, "form": e.norm, "fits": bool(label.get("is_value")) and fit,
                     "meaning": np.concatenate([v * centroid, np.abs(v - centroid)]),
                     "similarity": e.similarity, "margin": e.similarity - other, "below_bar": e.similarity < bar,
                     "leaf_mate": float(mate_of.get(e.norm, 0.0)),
                     "rank_share": peers.index(e.similarity) / max(1, len(peers) - 1),
                     "value_cohesion": float(q.get("cohesion", 0.0)), "log_value_size": float(np.log(len(peers)))})
    return rows


def reading_order(rows: list[dict], depths=(1, 2, 3, 5)) -> list[dict]:
    """What a reviewer finds reading each value's judged forms furthest first, as `taxonomy show
    --value` ends and a review task's check boxes begin, against the same number read in a random
    order. A form is a misfit when most of its judged mentions are (a tie counts as a misfit)."""
    votes: dict[tuple, list[bool]] = {}
    sim: dict[tuple, float] = {}
    for r in rows:
        k = (r["seed"], r["value_id"], r["form"])
        votes.setdefault(k, []).append(bool(r["fits"]))
        sim[k] = r["similarity"]
    by_value: dict[tuple, list[tuple[float, str, bool]]] = {}
    for (seed, vid, form), fits in votes.items():
        by_value.setdefault((seed, vid), []).append((sim[seed, vid, form], form, 2 * sum(fits) <= len(fits)))
    total = sum(misfit for forms in by_value.values() for _, _, misfit in forms)
    out = []
    for depth in depths:
        read = found = expected = 0.0
        for forms in by_value.values():
            n, bad = len(forms), sum(m for _, _, m in forms)
            take = min(depth, n)
            read += take
            found += sum(m for _, _, m in sorted(forms)[:take])
            expected += bad * take / n
        out.append({"furthest_forms_read_per_value": depth, "forms_read": int(read), "misfit_forms_found": int(found),
                    "share_of_misfit_forms": found / total if total else 0.0, "expected_in_random_order": expected})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="13", help="build seeds, comma-separated (pooled builds share spans: see above)")
    ap.add_argument("--samples-only", action="store_true",
                    help="only the evaluation samples' labels, without aita_member_labels.jsonl (as first measured; "
                         "results: membership_signals_samples_only)")
    opts = ap.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    judgments, labels = aita_judgments(), all_labels(not opts.samples_only)
    rows = [r for seed in (int(s) for s in opts.seeds.split(",")) for r in member_rows(seed, judgments, labels)]
    y = np.array([r["fits"] for r in rows])
    X = np.array([[r[s] for s in SIGNALS] for r in rows], dtype=float)
    print(f"{len(rows)} judged members over seeds {opts.seeds}: {int(y.sum())} fit, {int((~y).sum())} do not")
    # A farther member, a lower rank: higher means more likely to fit for every signal but rank_share.
    auc_rows = [{"signal": s, "roc_auc": float(roc_auc_score(y, -X[:, i] if s == "rank_share" else X[:, i]))}
                for i, s in enumerate(SIGNALS)]
    # Folds by value: a score is read on values it never saw, as a new build's would be.
    groups = [r["value_id"] for r in rows]
    score = np.zeros(len(rows))
    for train, test in GroupKFold(5).split(X, y, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, random_state=0))
        score[test] = model.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    auc_rows.append({"signal": "all six (logistic regression, folds by value)", "roc_auc": float(roc_auc_score(y, score))})
    # A judge of meaning: what the member's vector says beside its value's centroid (their
    # product and difference, dimension by dimension), learned from the fit labels, scored on
    # values held out. Every C tried is shown, since picking one on these folds would flatter it.
    M = np.array([r["meaning"] for r in rows])
    judged = {}
    for C in JUDGE_C:
        judged[C] = np.zeros(len(rows))
        for train, test in GroupKFold(5).split(M, y, groups):
            model = LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=0)
            judged[C][test] = model.fit(M[train], y[train]).predict_proba(M[test])[:, 1]
        auc_rows.append({"signal": f"judge of meaning, C={C:g} (member and centroid vectors, folds by value)",
                         "roc_auc": float(roc_auc_score(y, judged[C]))})
    print_table(auc_rows, ["signal", "roc_auc"], name="signals")

    cut_rows = [{"score": "-", "taken_out": "none", "misfits_out": 0, "fits_out": 0, "fit_share_left": float(y.mean())}]
    for name, s in (("all six signals", score), ("judge of meaning, C=1", judged[1.0])):
        order = np.argsort(s, kind="stable")
        for share in (0.05, 0.10):
            out = order[:round(share * len(rows))]
            left = np.setdiff1d(np.arange(len(rows)), out)
            cut_rows.append({"score": name, "taken_out": f"lowest {share:.0%} ({len(out)})",
                             "misfits_out": int((~y[out]).sum()), "fits_out": int(y[out].sum()),
                             "fit_share_left": float(y[left].mean())})
    print_table(cut_rows, list(cut_rows[0]), name="taking_out")
    for b in BELOW_BAR:
        mine = [r for r in rows if r["seed"] == b["seed"] and r["below_bar"]]
        b["misfits_below"] = sum(1 for r in mine if not r["fits"])
        b["fits_below"] = len(mine) - b["misfits_below"]
    print_table(BELOW_BAR, list(BELOW_BAR[0]), name="below_bar")
    print_table(reading_order(rows), ["furthest_forms_read_per_value", "forms_read", "misfit_forms_found",
                                      "share_of_misfit_forms", "expected_in_random_order"], name="reading_order")
    save_results("membership_signals_samples_only" if opts.samples_only else "membership_signals")


if __name__ == "__main__":
    main()
