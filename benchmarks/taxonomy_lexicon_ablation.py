"""Issue 14: does the default build discover values the lexicon does not list?

    python benchmarks/taxonomy_lexicon_ablation.py [--remove 15] [--seed 13] [--also-seeds 14,15,16,17] [--n-values 60]

1. Build with the full lexicon on the real AITA top comments (../shared/data/aita_boraske) and
   note, for every lexicon value, the spans the lexicon tagged with it.
2. Remove ``--remove`` values, chosen at random with ``--seed`` among those with at least
   ``--min-mentions`` tagged spans, together with all their words, and build again with the
   same settings.
3. A removed value *comes back* when one value of the ablated build holds most (over half) of
   its earlier spans that the ablated build still assigns, at least ``--min-mentions`` of them,
   and no other removed value claims that same value.

Prints one row per removed value (how many earlier spans were still found and assigned, the
share in the best value and its name) and the count that came back.
"""
from __future__ import annotations

import argparse
import random
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from _common import print_table, read_jsonl_gz, save_results, shared_data


def judgments():
    from moralgap.records import Judgment

    posts = read_jsonl_gz(shared_data() / "aita_boraske" / "posts.jsonl.gz")
    return [Judgment(id=p["post_key"], dilemma_id=p["post_key"], verdict="acceptable", rationale=p["human_top_comment"])
            for p in posts if (p.get("human_top_comment") or "").strip()]


def build(js, lexicon_path, seed, n_values, embedder):
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.extract import ValueExtractor

    extractor = ValueExtractor(lexicon_path=lexicon_path, open_words=True)
    return TaxonomyBuilder(n_values, seed=seed, extractor=extractor, embedder=embedder).fit(js)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--remove", type=int, default=15)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--also-seeds", default="",
                    help="comma-separated further seeds: each draws other values and builds with that seed; "
                         "one summary row per seed (the draw moves the count a lot)")
    ap.add_argument("--n-values", type=int, default=60)
    ap.add_argument("--min-mentions", type=int, default=3)
    opts = ap.parse_args()

    from moralgap.taxonomy.embed import Embedder

    js = judgments()
    embedder = Embedder()
    summaries = []
    for k, seed in enumerate([opts.seed] + [int(x) for x in opts.also_seeds.split(",") if x.strip()]):
        summaries.append(run(js, embedder, opts, seed, show=k == 0))
    if len(summaries) > 1:
        mean = sum(r["came_back"] for r in summaries) / len(summaries)
        print(f"came back, mean over {len(summaries)} seeds: {mean:.1f} of {opts.remove}")
    print_table(summaries, list(summaries[0]), name="summary")
    save_results()


def run(js, embedder, opts, seed: int, *, show: bool) -> dict:
    from importlib import resources

    full = build(js, None, seed, opts.n_values, embedder)
    tagged: dict[str, set] = {}
    for e in full.expressions:
        if e.lexicon_value and not e.excluded:
            tagged.setdefault(e.lexicon_value, set()).add((e.rationale_id, e.start, e.end))
    eligible = sorted(v for v, spans in tagged.items() if len(spans) >= opts.min_mentions)
    removed = sorted(random.Random(seed).sample(eligible, min(opts.remove, len(eligible))))

    data = yaml.safe_load(resources.files("moralgap.taxonomy.resources").joinpath("value_lexicon.yaml").read_text())
    gone_words = set()
    for v in removed:
        entry = data["values"].pop(v) or {}
        for key in ("nouns", "upheld", "violated"):
            gone_words.update(" ".join(str(t).lower().split()) for t in entry.get(key) or [])
    # A removed value's words must not survive under another value either.
    for entry in data["values"].values():
        for key in ("nouns", "upheld", "violated"):
            if entry and entry.get(key):
                entry[key] = [t for t in entry[key] if " ".join(str(t).lower().split()) not in gone_words]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ablated.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        ablated = build(js, str(path), seed, opts.n_values, embedder)

    names = {v.id: v.name for v in ablated.taxonomy.values}
    where = {(e.rationale_id, e.start, e.end): e.value_id for e in ablated.expressions if e.value_id}
    rows, homes = [], {}
    for v in removed:
        found = Counter(where[s] for s in tagged[v] if s in where)
        n = sum(found.values())
        best, k = found.most_common(1)[0] if found else (None, 0)
        rows.append({"removed_value": v, "earlier_spans": len(tagged[v]), "still_assigned": n,
                     "share_in_best_value": k / n if n else None, "best_value": names.get(best, "-"), "_best": best, "_k": k})
        if best and k >= opts.min_mentions and k / n > 0.5:
            homes.setdefault(best, []).append(v)
    for r in rows:
        r["came_back"] = bool(r["_best"] in homes and homes[r["_best"]] == [r["removed_value"]])
    cols = ["removed_value", "earlier_spans", "still_assigned", "share_in_best_value", "best_value", "came_back"]
    if show:
        print_table(rows, cols, name="ablation")
    return {"removed": len(removed), "came_back": sum(r["came_back"] for r in rows), "seed": seed,
            "removed_with_10_or_more_spans": sum(1 for r in rows if r["earlier_spans"] >= 10),
            "values_full": len(full.taxonomy.values), "values_ablated": len(ablated.taxonomy.values)}


if __name__ == "__main__":
    main()
