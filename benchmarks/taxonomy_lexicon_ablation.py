"""Issue 14: does the default build discover values the lexicon does not list?

    python benchmarks/taxonomy_lexicon_ablation.py [--remove 15] [--seed 13] [--also-seeds 14,15,16,17] [--n-values 60]
        [--show-lost] [--open-threshold T] [--lexicon-free-copies] [--no-base-rate] [--name NAME]

1. Draw ``--remove`` values at random with ``--seed`` among the lexicon values with at least
   ``--min-mentions`` spans in a default build on the real AITA top comments
   (../shared/data/aita_boraske). The draw ranks the values by a hash of the seed and the
   value's name (``draw``), so a change to the build that makes one more value eligible, or one
   fewer, changes at most that one drawn value, and a round's count stays comparable with the
   last one's.
2. Retrain the span filter (train_span_filter.py's labels) without every label on those values'
   spans or words: the shipped filter learned from labels such as "a boundary", and would
   otherwise recognise the removed values from them. The labels left are weighed so that
   values keep the share they have among all labels (``--no-base-rate``: unweighted; see
   ``filter_without``).
3. Build with the full lexicon and that filter, noting the spans the lexicon tags with each
   removed value; remove the values and all their words from the lexicon and build again.
4. A removed value *comes back* when one value of the ablated build holds most (over half) of
   its earlier spans that the ablated build still assigns, at least ``--min-mentions`` of them,
   and no other removed value claims that same value. An earlier span counts as assigned when
   an assigned expression overlaps it ("your property" may come back as the open word
   "property").

Prints one row per removed value (how many earlier spans were still found and assigned, the
share in the best value and its name) and the count that came back, and two counts that say
where the shortfall lies:

- ``in_full_build``: the same count on the build with the whole lexicon. The induction groups
  expressions by what they mean, not by the lexicon's entries, so a broad entry (Communication:
  "tell the truth", "ignore him") can be several values before anything is removed; the
  ablation can only lose from this count.
- ``came_back_with_oracle_filter``: the ablated build again, with every open word that overlaps
  a removed value's earlier span admitted whatever the filter says (an oracle, not a method):
  what the count would be if the filter judged unseen value words perfectly.
- ``came_back_with_shipped_filter``: the ablated lexicon with the shipped filter, which was
  trained on labels of the removed values' spans: the test read literally (only the lexicon
  changes), with that leak. The earlier spans are still those of the retrained filter's full
  build, so all columns count the same mentions.

``kept_by_drawing_filter`` and ``kept_by_retrained_filter``: of the removed values' spans the
lexicon tags in the build the draw came from (those its filter judged), the share each filter
keeps at its cut, which is what retraining alone loses before anything is clustered. A span of
a rule a filter does not judge counts as kept, as the build keeps it.

``--show-lost`` lists, for the first seed, each earlier span the ablated build gives no value
and how it was lost (an open word the filter scored below its cut, a span set apart, a span
near no value); ``--open-threshold`` changes the retrained filters' cut for open words.
"""
from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from _common import aita_judgments, print_table, save_results
from moralgap.taxonomy.span_filter import SpanFilter
from moralgap.taxonomy.value_filter import OPEN_CANDIDATE


def build(js, lexicon_path, seed, n_values, embedder, span_filter="default"):
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.extract import ValueExtractor

    extractor = ValueExtractor(lexicon_path=lexicon_path, open_words=True)
    return TaxonomyBuilder(n_values, seed=seed, extractor=extractor, embedder=embedder, span_filter=span_filter).fit(js)


def training_spans(embedder, copies: bool = False):
    """The span filter's training set (train_span_filter.py), extracted and embedded once;
    ``copies`` adds its lexicon-free copies (``--lexicon-free-copies``)."""
    from train_span_filter import TRAIN_SOURCES, labelled_spans, lexicon_free_copies

    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.span_filter import SpanFilter

    extractor = ValueExtractor(open_words=True)
    picked, labels = [], []
    for source in TRAIN_SOURCES:
        spans, y, _ = labelled_spans(extractor, source)
        if copies:
            more, y_more = lexicon_free_copies(spans, y, source)
            spans, y = spans + more, np.concatenate([y, y_more])
        picked += spans
        labels += list(y)
    return picked, np.array(labels, dtype=bool), SpanFilter.vectors(picked, embedder)


def filter_without(training, removed: list[str], gone_words: set[str], seed: int, embedder,
                   open_threshold: float | None = None, base_rate: bool = True):
    """The span filter retrained without any label on a removed value's spans or words.

    The shipped filter learned from labels of spans such as "a boundary" or "loyalty"; judging
    the ablated build with it would let it recognise the removed values from their labels.
    ``open_threshold`` replaces the shipped cut for open words (``--open-threshold``).

    The labels left out are mostly values (71% with seed 13, against 40% of all labels), so a
    filter trained on the rest learns that values are rarer (28%) and scores every span lower,
    at cuts chosen for the shipped filter's 40%. With ``base_rate`` the remaining labels are
    weighed so that values keep the share they have among all labels: the retrained filter then
    differs from the shipped one in what it knows of the removed values, not in how common it
    takes values to be (``--no-base-rate``: unweighted, as measured before).

    Returns the filter, how many labels were left out, and the share of values among all
    labels, those kept and those left out.
    """
    from train_span_filter import RULE_THRESHOLD

    from moralgap.taxonomy.span_filter import SpanFilter

    picked, y, vectors = training
    gone = [f" {w} " for w in gone_words]

    def knows_removed(e) -> bool:
        if e.lexicon_value in removed:
            return True
        texts = (f" {' '.join(e.norm.lower().split())} ", f" {' '.join(e.text.lower().split())} ")
        return any(w in t for w in gone for t in texts)

    keep = np.array([not knows_removed(e) for e in picked])
    f = SpanFilter(threshold=RULE_THRESHOLD, random_state=seed)  # the shipped filter's cuts
    if open_threshold is not None:
        f.open_threshold = open_threshold
    weights = None
    whole, left = float(y.mean()), float(y[keep].mean())
    if base_rate and keep.any() and not keep.all():
        weights = np.where(y[keep], whole / left, (1 - whole) / (1 - left))
    f = f.fit([e for e, k in zip(picked, keep) if k], y[keep], embedder, sample_weight=weights, vectors=vectors[keep])
    shares = {"values_among_labels": round(whole, 3), "values_among_labels_kept": round(left, 3),
              "values_among_labels_left_out": round(float(y[~keep].mean()), 3) if (~keep).any() else None}
    return f, int((~keep).sum()), shares


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--remove", type=int, default=15)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--also-seeds", default="",
                    help="comma-separated further seeds: each draws other values and builds with that seed; "
                         "one summary row per seed (the draw moves the count a lot)")
    ap.add_argument("--n-values", type=int, default=60)
    ap.add_argument("--min-mentions", type=int, default=3)
    ap.add_argument("--lexicon-free-copies", action="store_true",
                    help="train every filter, the drawing one included, also on open-word copies of labelled "
                         "lexicon spans (an experiment; see train_span_filter.lexicon_free_copies)")
    ap.add_argument("--show-lost", action="store_true",
                    help="for the first seed, list each removed value's earlier spans the ablated build gives no "
                         "value, with the filter's score for the open word found there")
    ap.add_argument("--no-base-rate", dest="base_rate", action="store_false",
                    help="retrain the filter on the remaining labels unweighted (values then rarer among them than "
                         "among all labels; see filter_without), as measured before")
    ap.add_argument("--open-threshold", type=float, default=None,
                    help="the retrained filters' cut for open words (default: the shipped filter's); a lower cut "
                         "admits more unseen words, the removed values' among them (an experiment)")
    ap.add_argument("--name", default=None,
                    help="the results file's name (default: from the options, so that a run with more seeds "
                         "can be saved beside the five-seed one)")
    opts = ap.parse_args()

    from moralgap.taxonomy.embed import Embedder

    js = aita_judgments()
    embedder = Embedder()
    training = training_spans(embedder, opts.lexicon_free_copies)
    summaries = []
    for k, seed in enumerate([opts.seed] + [int(x) for x in opts.also_seeds.split(",") if x.strip()]):
        summaries.append(run(js, embedder, training, opts, seed, show=k == 0))
    if len(summaries) > 1:
        mean = sum(r["came_back"] for r in summaries) / len(summaries)
        print(f"came back, mean over {len(summaries)} seeds: {mean:.1f} of {opts.remove}")
    print_table(summaries, list(summaries[0]), name="summary")
    save_results(opts.name or ("taxonomy_lexicon_ablation" + ("_lexicon_free_copies" if opts.lexicon_free_copies else "")
                               + (f"_open{opts.open_threshold:g}" if opts.open_threshold is not None else "")
                               + ("" if opts.base_rate else "_no_base_rate")
                               + ("_lost" if opts.show_lost else "")))


def draw(eligible: list[str], k: int, seed: int) -> list[str]:
    """``k`` of the ``eligible`` values, the first by a hash of the seed and each name.

    ``random.sample`` of a sorted list moves every pick when one value joins or leaves the list,
    and a small extraction change does that: each seed then removed other values, and the count
    moved with the draw more than with the build. A value's rank here depends on its own name
    only, so the draw changes only where the eligible values do. ``moralgap.seeding.rng(seed,
    "lexicon-ablation", value)`` would rank as stably, but by other numbers: switching would
    redraw every seed and break the comparison with the counts published on this hash.
    """
    ranked = sorted(eligible, key=lambda v: hashlib.sha256(f"{seed}\x00{v}".encode("utf-8")).hexdigest())
    return sorted(ranked[:k])


def run(js, embedder, training, opts, seed: int, *, show: bool) -> dict:
    from importlib import resources

    # The draw comes from a build with the shipped filter; both builds compared below then use
    # the filter retrained without the drawn values' labels.
    # With copies, the drawing filter is trained the same way on every label, as shipped.
    drawing = filter_without(training, [], set(), seed, embedder)[0] if opts.lexicon_free_copies else "default"
    drawn = build(js, None, seed, opts.n_values, embedder, drawing)
    tagged = lexicon_tagged(drawn)
    eligible = sorted(v for v, spans in tagged.items() if len(spans) >= opts.min_mentions)
    removed = draw(eligible, opts.remove, seed)

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
    span_filter, dropped_labels, shares = filter_without(training, removed, gone_words, seed, embedder, opts.open_threshold,
                                                         base_rate=opts.base_rate)
    judged = removed_spans_kept(drawn, removed, drawing, span_filter, embedder)
    full = build(js, None, seed, opts.n_values, embedder, span_filter)
    tagged = lexicon_tagged(full)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ablated.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        ablated = build(js, str(path), seed, opts.n_values, embedder, span_filter)
        oracle = build(js, str(path), seed, opts.n_values, embedder,
                       AdmitsRemovedWords.around(span_filter, [s for v in removed for s in tagged.get(v, ())]))
        # The test as the issue words it: only the lexicon changes, the shipped filter stays,
        # although it learned the removed values' words from their labels.
        shipped = build(js, str(path), seed, opts.n_values, embedder, "default")
        if show and opts.show_lost:
            print_lost(js, str(path), ablated, removed, tagged, span_filter, embedder)

    rows = comebacks(ablated, removed, tagged, opts.min_mentions)
    # The same count on the build with the whole lexicon: how many removed values the induction
    # makes a value of their own when nothing was removed. The ablation can only lose from there.
    control = {r["removed_value"] for r in comebacks(full, removed, tagged, opts.min_mentions) if r["came_back"]}
    with_oracle = sum(r["came_back"] for r in comebacks(oracle, removed, tagged, opts.min_mentions))
    with_shipped = sum(r["came_back"] for r in comebacks(shipped, removed, tagged, opts.min_mentions))
    cols = ["removed_value", "earlier_spans", "still_assigned", "share_in_best_value", "best_value", "came_back"]
    if show:
        for r in rows:
            r["in_full_build"] = r["removed_value"] in control
        print_table(rows, cols + ["in_full_build"], name="ablation")
    return {"removed": len(removed), "came_back": sum(r["came_back"] for r in rows), "seed": seed,
            "filter_labels_left_out": dropped_labels, **shares,
            # How the retrained filter judges the removed values' spans, against the filter the
            # draw was made with: the part of the loss that happens before any clustering.
            "removed_spans_judged": judged["spans"], "kept_by_drawing_filter": judged["drawing"],
            "kept_by_retrained_filter": judged["retrained"],
            "removed_with_10_or_more_spans": sum(1 for r in rows if r["earlier_spans"] >= 10),
            # A value said a handful of times cannot make a cluster of its own among 60; how the
            # well-attested ones fare is the part of the count induction answers for.
            "came_back_of_those": sum(1 for r in rows if r["earlier_spans"] >= 10 and r["came_back"]),
            "in_full_build": len(control),
            "came_back_of_full_build_ones": sum(1 for r in rows if r["came_back"] and r["removed_value"] in control),
            "came_back_with_oracle_filter": with_oracle,
            "came_back_with_shipped_filter": with_shipped,
            # What a lower open-word cut costs: open words the ablated build gives a value, in mentions.
            "open_word_mentions_ablated": sum(1 for e in ablated.expressions if e.value_id and e.rule.startswith("open_")),
            "values_full": len(full.taxonomy.values), "values_ablated": len(ablated.taxonomy.values)}


def removed_spans_kept(drawn, removed: list[str], drawing, retrained: SpanFilter, embedder) -> dict:
    """Of the spans the lexicon tags with a removed value in the build the draw came from, which
    its filter judged (kept, or set apart as unlikely), the share each filter keeps at its cut
    (a span it does not judge is kept, as in the build)."""
    from moralgap.taxonomy.span_filter import REASON, default_span_filter

    spans = [e for e in drawn.expressions if e.lexicon_value in removed and e.excluded in (None, REASON)]
    first = default_span_filter() if drawing == "default" else drawing
    vectors = SpanFilter.vectors(spans, embedder)

    def kept(f: SpanFilter) -> float:
        p = f.proba_as_applied(spans, vectors)
        return round(float(np.mean([q >= f.cut_for(e) for e, q in zip(spans, p)])), 3) if spans else 0.0

    return {"spans": len(spans), "drawing": kept(first), "retrained": kept(retrained)}


def comebacks(result, removed: list[str], tagged: dict[str, set], min_mentions: int) -> list[dict]:
    """One row per removed value: where ``result`` put the spans the full lexicon tagged with it.

    It *comes back* when one value of ``result`` holds most (over half) of those it assigns, at
    least ``min_mentions`` of them, and no other removed value claims that same value.
    """
    names = {v.id: v.name for v in result.taxonomy.values}
    where = assigned_by_rationale(result.expressions)
    rows, homes = [], {}
    for v in removed:
        found = Counter(filter(None, (value_at(where, s) for s in sorted(tagged.get(v, ())))))
        n = sum(found.values())
        # A tie goes to the value named first in order, not to whichever a set's (hash-seeded)
        # order met first, so the table is the same on every run.
        best, k = min(found.items(), key=lambda kv: (-kv[1], names.get(kv[0], ""), kv[0])) if found else (None, 0)
        rows.append({"removed_value": v, "earlier_spans": len(tagged.get(v, ())), "still_assigned": n,
                     "share_in_best_value": k / n if n else None, "best_value": names.get(best, "-"), "_best": best})
        if best and k >= min_mentions and k / n > 0.5:
            homes.setdefault(best, []).append(v)
    for r in rows:
        r["came_back"] = bool(r["_best"] in homes and homes[r["_best"]] == [r["removed_value"]])
    return rows


@dataclass
class AdmitsRemovedWords(SpanFilter):
    """An oracle, for the ``came_back_with_oracle_filter`` column only: the retrained filter,
    except that every open word overlapping a removed value's earlier span is admitted. It
    separates what the filter loses (words it never saw, judged alone) from what the clustering
    does with the words once they are in."""

    spans: dict = field(default_factory=dict)

    @classmethod
    def around(cls, f: SpanFilter, spans) -> "AdmitsRemovedWords":
        by_rationale: dict[str, list] = {}
        for rid, start, end in spans:
            by_rationale.setdefault(rid, []).append((start, end))
        return cls(**{k: getattr(f, k) for k in f.__dataclass_fields__}, spans=by_rationale)

    def predict_proba(self, expressions, vectors):
        p = super().predict_proba(expressions, vectors)
        listed = [e.excluded == OPEN_CANDIDATE and any(overlaps(e, (e.rationale_id, start, end))
                                                        for start, end in self.spans.get(e.rationale_id, ()))
                  for e in expressions]
        return np.where(listed, 1.0, p)


def print_lost(js, lexicon_path: str, ablated, removed: list[str], tagged: dict[str, set], span_filter, embedder) -> None:
    """For each removed value, its earlier spans the ablated build gives no value, and why: the
    filter's score for the open word found there, the reason a rule-found span was set apart,
    or that no candidate was found there at all (``--show-lost``, first seed only)."""
    from moralgap.taxonomy.extract import ValueExtractor

    where = assigned_by_rationale(ablated.expressions)
    kept: dict[str, list] = {}
    for e in ablated.expressions:
        kept.setdefault(e.rationale_id, []).append(e)
    lost = {v: [s for s in sorted(tagged.get(v, ())) if value_at(where, s) is None] for v in removed}
    rids = sorted({s[0] for spans in lost.values() for s in spans})
    text = {j.id: j.rationale or "" for j in js}
    found = ValueExtractor(lexicon_path=lexicon_path, open_words=True).extract_texts([(r, text[r]) for r in rids])
    candidates = [e for e in found if e.excluded == OPEN_CANDIDATE]
    score = dict(zip((e.id for e in candidates),
                     span_filter.predict_proba(candidates, span_filter.vectors(candidates, embedder)) if candidates else []))
    by_rationale: dict[str, list] = {}
    for e in found:
        by_rationale.setdefault(e.rationale_id, []).append(e)

    print(f"earlier spans the ablated build gives no value (open words judged at {span_filter.open_threshold:g}):")
    causes: Counter = Counter()
    for v in removed:
        print(f"  {v}: {len(lost[v])} of {len(tagged.get(v, ()))}")
        for s in lost[v]:
            mine = [e for e in kept.get(s[0], ()) if overlaps(e, s)]
            why = [(f"{e.text!r} set apart as {e.excluded}", "set apart by a rule or the filter") if e.excluded
                   else (f"{e.text!r} found, near no value", "found, near no value") for e in mine]
            why += [(f"open word {e.norm!r} scored {score[e.id]:.2f}", "open word below the cut")
                    for e in by_rationale.get(s[0], ())
                    if overlaps(e, s) and e.id in score and not any((k.start, k.end) == (e.start, e.end) for k in mine)]
            # A span can be lost in more than one way ("invaded your privacy": the rule's "your
            # privacy" set apart, the open word "invade" below the cut); each way is counted.
            causes.update({c for _, c in why} or {"no candidate found there"})
            print(f"    {text[s[0]][s[1]:s[2]]!r}: " + ("; ".join(w for w, _ in why) or "no candidate found there"))
    print(f"{sum(len(x) for x in lost.values())} earlier spans lost; each way they were lost:")
    print_table([{"way_lost": c, "spans": n} for c, n in causes.most_common()], ["way_lost", "spans"], name="lost")


def overlaps(e, span: tuple) -> bool:
    """Whether expression ``e`` shares a character with ``span`` (rationale id, start, end) of its rationale."""
    return min(span[2], e.end) > max(span[1], e.start)


def lexicon_tagged(result) -> dict[str, set]:
    tagged: dict[str, set] = {}
    for e in result.expressions:
        if e.lexicon_value and not e.excluded:
            tagged.setdefault(e.lexicon_value, set()).add((e.rationale_id, e.start, e.end))
    return tagged


def assigned_by_rationale(expressions) -> dict[str, list[tuple[int, int, str]]]:
    out: dict[str, list[tuple[int, int, str]]] = {}
    for e in expressions:
        if e.value_id:
            out.setdefault(e.rationale_id, []).append((e.start, e.end, e.value_id))
    return out


def value_at(where: dict, span: tuple) -> str | None:
    """The value of the ablated build's expression that covers most of an earlier span.

    Spans need not match exactly: without its lexicon entry, "your property" comes back as the
    open word "property" (or a rule's longer span), which is the same mention.
    """
    rid, start, end = span
    best, most = None, 0
    for s, e, value in where.get(rid, ()):
        overlap = min(end, e) - max(start, s)
        if overlap > most:
            best, most = value, overlap
    return best


if __name__ == "__main__":
    main()
