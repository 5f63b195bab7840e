"""``moralgap profiles ...`` and ``moralgap dmp ...``: thin commands over the profiling API."""
from __future__ import annotations

import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import click

from moralgap.cli_options import report_read, seed_option, skip_invalid_option, verdict_map_option
from moralgap.errors import ConfigError, InputError
from moralgap.manifest import Manifest, file_sha256, manifest_path_for

from .profiles import DEFAULT_ALPHA, DEFAULT_MIN_RATIONALES, DEFAULT_SMOOTHING, GLOBAL, Profiles
from .sampler import CONDITIONS, PROFILED

_POSITIVE = click.FloatRange(min=0, min_open=True)


def _read_mapping(path: Path) -> dict[str, str]:
    import yaml

    from moralgap.io import read_json

    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.suffix in (".yaml", ".yml") else read_json(path)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError(path, "expected an object mapping group names to parent group names")
    return data


@click.group("profiles")
def profiles_group() -> None:
    """Human value profiles, Dirichlet fits and value diversity."""


@profiles_group.command("build")
@click.option("--values", "values_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Value annotations (values.jsonl).")
@click.option("--judgments", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Judgments whose rationales were annotated.")
@click.option("--dilemmas", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Dilemmas (for topics).")
@click.option("--taxonomy", required=True, type=click.Path(path_type=Path), help="Taxonomy folder or taxonomy.json.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output profiles.json.")
@click.option("--by", default="topic", show_default=True, help="Group by 'topic', 'dilemma', 'verdict' or any judgment/dilemma field.")
@click.option("--topics", type=click.Choice(["first", "all"]), default="first", show_default=True,
              help="With --by topic: count a rationale for the dilemma's first topic only, or for each of its topics.")
@click.option("--parents", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON/YAML object group -> parent group, for fallbacks of groups with too little data.")
@click.option("--alpha", type=_POSITIVE, default=DEFAULT_ALPHA, show_default=True, help="Concentration of Dirichlet(alpha * G0).")
@click.option("--smoothing", type=_POSITIVE, default=DEFAULT_SMOOTHING, show_default=True, help="Pseudo-count added to every value's count.")
@click.option("--min-rationales", type=click.IntRange(min=1), default=DEFAULT_MIN_RATIONALES, show_default=True,
              help="Rationales with values a group needs for a G0 of its own.")
@click.option("--source", default=None, help="Use only annotations of this source (e.g. 'human', 'auto').")
@skip_invalid_option
@verdict_map_option
def build_cmd(values_path, judgments, dilemmas, taxonomy, out, by, topics, parents, alpha, smoothing, min_rationales,
              source, skip_invalid, verdict_map):
    """Build per-group value profiles (G0, Dirichlet models, diversity) into profiles.json."""
    from moralgap.datasets import load_dilemmas, load_judgments
    from moralgap.taxonomy_file import load_taxonomy, taxonomy_path
    from moralgap.verdicts import VerdictMap

    from .profiles import ProfileBuilder, load_value_annotations

    manifest = Manifest("profiles build", params=dict(by=by, topics=topics, parents=parents, alpha=alpha, smoothing=smoothing,
                                                       min_rationales=min_rationales, source=source, skip_invalid=skip_invalid,
                                                       verdict_map=verdict_map))
    tax_file = taxonomy_path(taxonomy)
    inputs = {}
    for role, path in (("values", values_path), ("judgments", judgments), ("dilemmas", dilemmas), ("taxonomy", tax_file)):
        manifest.add_input(path, role)
        inputs[role] = {"path": str(path), "sha256": file_sha256(path) if Path(path).is_file() else None}
    tax = load_taxonomy(tax_file)
    with manifest.timed("read"):
        d_read = load_dilemmas(dilemmas, skip_invalid=skip_invalid)
        report_read(d_read, dilemmas)
        j_read = load_judgments(judgments, verdict_map=VerdictMap.parse_option(verdict_map), skip_invalid=skip_invalid,
                                dilemma_ids={d.id for d in d_read.records})
        report_read(j_read, judgments)
        v_read = load_value_annotations(values_path, tax, source=source, skip_invalid=skip_invalid,
                                        rationale_ids={j.id for j in j_read.records})
        report_read(v_read, values_path)
    if parents:
        manifest.add_input(parents, "parents")
        inputs["parents"] = {"path": str(parents), "sha256": file_sha256(parents)}
    try:
        builder = ProfileBuilder(by, alpha=alpha, smoothing=smoothing, min_rationales=min_rationales, topics=topics,
                                 parents=_read_mapping(parents) if parents else None)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    with manifest.timed("build"):
        profiles = builder.fit(v_read.records, j_read.records, d_read.records, tax, inputs=inputs)
    profiles.save(out)
    manifest.add_output(out)
    groups = profiles.data["groups"]
    fallbacks = Counter(g["fallback"]["level"] for g in groups.values() if g["fallback"])
    manifest.count(annotations=len(v_read.records), judgments=len(j_read.records), dilemmas=len(d_read.records),
                   groups=len(groups), fallbacks=dict(fallbacks), skipped_invalid=len(v_read.skipped) + len(j_read.skipped))
    manifest.write(manifest_path_for(out))
    glob = profiles.data["global"]
    click.echo(f"{out}: {len(groups)} group(s) by {by} over {len(profiles.value_ids)} values of {tax.name} v{tax.version}; "
               f"{glob['n_with_values']} rationales with values, {glob['mentions']} mentions; "
               f"{sum(fallbacks.values())} group(s) fell back ({', '.join(f'{n} to {k}' for k, n in sorted(fallbacks.items())) or 'none'})")


def _top_values(profiles: Profiles, prof: dict, n: int) -> str:
    names = profiles.value_names
    total = prof["mentions"] or 1
    top = sorted(prof["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{names[v]} {c / total:.0%}" for v, c in top) or "-"


@profiles_group.command("show")
@click.argument("profiles_path", metavar="PROFILES", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--group", default=None, help="Show one group in full (use __global__ for the global profile).")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="Values listed per group.")
def show_cmd(profiles_path, group, top):
    """Print the groups of a profiles.json: data behind each, top values, fallbacks, MLE concentration.

    Columns: rationales on the group's dilemmas; valued, those naming at least one value; mentions,
    values named (each at most once per rationale); H_norm, value entropy divided by log of the
    number of values; MLE conc, the concentration (sum of alphas) of a Dirichlet-multinomial fitted
    to the group's per-dilemma value counts: small when each dilemma draws on its own few values,
    1e+06 when the data show no spread beyond sampling noise, "-" when not fitted or the group
    borrows its parent's G0.
    """
    profiles = Profiles.load(profiles_path)
    if group is not None:
        if not profiles.has_group(group):
            raise InputError(profiles_path, f"no group {group!r}", field="groups")
        json.dump(profiles.group(group), sys.stdout, ensure_ascii=False, indent=2)
        click.echo()
        return
    d = profiles.data
    click.echo(f"taxonomy {d['taxonomy']['name']} v{d['taxonomy']['version']}, by {d['grouping']['by']}, "
               f"alpha {d['params']['alpha']:g}, smoothing {d['params']['smoothing']:g}")
    click.echo(textwrap.fill(
        "rationales: on the group's dilemmas; valued: those naming a value; mentions: values named (once per "
        "rationale); H_norm: value entropy / log(number of values); MLE conc: concentration of the group's "
        "Dirichlet-multinomial fit (small: each dilemma draws on its own few values; 1e+06: no spread beyond "
        "sampling noise; -: not fitted, or the group borrows its parent's G0)", width=100))
    click.echo(f"{'group':24} {'rationales':>10} {'valued':>6} {'mentions':>8} {'H_norm':>6} {'MLE conc':>9}  "
               "top values / fallback")
    for name, prof in [(GLOBAL, d["global"]), *sorted(d["groups"].items())]:
        div = prof.get("diversity") or {}
        mle = prof.get("mle") or {}
        conc = f"{mle['concentration']:.3g}" if mle.get("fitted") and prof["g0_source"] == "self" else "-"
        tail = _top_values(profiles, prof, top)
        if prof.get("fallback"):
            tail += f"  [uses {prof['fallback']['to']}: {prof['fallback']['reason']}]"
        h = div.get("normalised_entropy")
        click.echo(f"{name[:24]:24} {prof['n_rationales']:10d} {prof['n_with_values']:6d} {prof['mentions']:8d} "
                   f"{'-' if h is None else f'{h:.3f}':>6} {conc:>9}  {tail}")


@profiles_group.command("diversity")
@click.argument("values_paths", metavar="[VALUES]...", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--taxonomy", type=click.Path(path_type=Path), default=None,
              help="Taxonomy: checks value ids and normalises entropy by its number of values.")
@click.option("--human", "human_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Values file of the human rationales, compared with --model (needs --judgments for their dilemmas).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Values file of the model rationales, compared with --human.")
@click.option("--judgments", "judgments_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Judgments of the annotated rationales (repeatable): give each rationale its dilemma and, without "
                   "--human/--model, its side (judge 'human' against each model judge or judge/condition).")
@click.option("--counting", "countings", multiple=True, type=click.Choice(["mentions", "presence", "rationale"]),
              help="How a rationale's values count (repeatable; default mentions): every coded expression or listed "
                   "value; each value once per rationale; or each rationale's mentions summing to 1.")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="k of the top-k share.")
@click.option("--normalise", type=click.Choice(["taxonomy", "observed"]), default="taxonomy", show_default=True,
              help="Entropy divided by log(values in the taxonomy) or log(distinct values observed).")
@click.option("--bootstrap", "n_resamples", type=click.IntRange(min=100), default=1000, show_default=True,
              help="Resamples of dilemmas for the paired intervals of the human-minus-model difference.")
@click.option("--interval", type=click.Choice(["basic", "percentile"]), default="basic", show_default=True,
              help="Bootstrap interval: basic corrects the small-sample bias of top-k share and entropy.")
@seed_option
@click.option("--source", default=None, help="Use only annotations of this source.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the figures as JSON here (with a manifest beside it).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@verdict_map_option
@skip_invalid_option
def diversity_cmd(values_paths, taxonomy, human_path, model_path, judgments_paths, countings, k, normalise, n_resamples,
                  interval, seed, source, out, as_json, verdict_map, skip_invalid):
    """Value diversity of each values file; with --judgments, human minus model with paired intervals.

    Each file gets its top-k share, normalised entropy and values per rationale. Given the
    judgments (for each rationale's dilemma and side), the human side is compared with each model
    side on the dilemmas both have: pooled over all mentions and per dilemma then averaged, with
    bootstrap 95% intervals that resample dilemmas for both sides together.
    """
    from moralgap.diversity_gap import format_gap, gaps_against, sides_by_judge
    from moralgap.io import write_json

    from .diversity_files import file_rows, read_values

    countings = list(dict.fromkeys(countings)) or ["mentions"]
    if (human_path is None) != (model_path is None):
        raise ConfigError("--human and --model go together")
    if human_path is not None and values_paths:
        raise ConfigError("give either VALUES files or --human and --model, not both")
    paths = [human_path, model_path] if human_path is not None else list(values_paths)
    if not paths:
        raise ConfigError("no values files: give VALUES... or --human and --model")
    if human_path is not None and not judgments_paths:
        raise ConfigError("--human/--model need --judgments (the dilemma of each rationale pairs the two sides)")
    manifest = Manifest("profiles diversity", seed=seed, params=dict(
        countings=countings, k=k, normalise=normalise, n_resamples=n_resamples, interval=interval, source=source,
        skip_invalid=skip_invalid, verdict_map=verdict_map))
    values = read_values(paths, taxonomy, source=source, skip_invalid=skip_invalid, manifest=manifest)
    if values.taxonomy is None and normalise == "taxonomy":
        raise ConfigError("--normalise taxonomy needs --taxonomy (or pass --normalise observed)")
    n_values = len(values.value_ids) if normalise == "taxonomy" else "observed"
    result: dict = {"files": file_rows(values, countings[0], k, n_values), "counting": countings[0]}
    result["pairs"] = values.pairs(countings[0])
    if judgments_paths:
        from moralgap.datasets import load_judgments
        from moralgap.verdicts import VerdictMap

        judgments = []
        for path in judgments_paths:
            manifest.add_input(path, "judgments")
            read = load_judgments(path, verdict_map=VerdictMap.parse_option(verdict_map), skip_invalid=skip_invalid)
            report_read(read, path)
            judgments += read.records
        sides = sides_by_judge(judgments)
        if human_path is not None:
            # The files, not the judge field, say which side a rationale is on.
            sides = {a.rationale_id: (side, sides[a.rationale_id][1])
                     for side, anns in zip(("human", "model"), values.annotations) for a in anns if a.rationale_id in sides}
        unmatched = sum(1 for anns in values.annotations for a in anns if a.rationale_id not in sides)
        if unmatched:
            click.echo(f"{unmatched} annotation(s) name a rationale that no --judgments file holds: left out of "
                       "the comparison", err=True)
        if normalise != "taxonomy":
            raise ConfigError("the human-minus-model comparison normalises entropy by the taxonomy: pass --taxonomy")
        try:
            result["gaps"] = gaps_against([a for anns in values.annotations for a in anns], sides, values.value_ids,
                                          countings=countings, k=k, n_resamples=n_resamples, interval=interval, seed=seed)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if out is not None:
        write_json(out, result)
        manifest.add_output(out)
        manifest.count(files=len(paths), comparisons=len(result.get("gaps", {})))
        manifest.write(manifest_path_for(out))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for r in result["files"]:
        click.echo(f"{r['file']}: {r['rationales']} rationales, {r['mentions']:g} mentions, {r['distinct_values']} distinct values, "
                   f"normalised entropy {r['normalised_entropy']:.3f} ({normalise}), top-{k} share {r[f'top_{k}_share']:.3f}, "
                   f"values per rationale mean {r['values_per_rationale_mean']:.2f} median {r['values_per_rationale_median']:g} "
                   f"(counting '{countings[0]}')")
    for p in result["pairs"]:
        click.echo(f"JS divergence (base 2) {p['a']} vs {p['b']}: {p['js_divergence']:.4f}")
    for side, by_counting in result.get("gaps", {}).items():
        for gap in by_counting.values():
            for line in format_gap(gap):
                click.echo(line)


@click.group("dmp")
def dmp_group() -> None:
    """Dynamic Moral Profiling: sampled profiles rendered into prompts."""


def _templates(options: tuple[str, ...], conditions: list[str]):
    """``FILE`` for every condition or ``CONDITION=FILE`` for one; the team's templates otherwise."""
    from .prompts import PromptTemplate

    chosen: dict[str, Path] = {}
    for opt in options:
        cond, sep, path = opt.partition("=")
        if sep and cond in CONDITIONS:
            chosen[cond] = Path(path)
        else:
            chosen.update({c: Path(opt) for c in conditions})
    out = {}
    for c in conditions:
        tpl = PromptTemplate.load(chosen[c]) if c in chosen else PromptTemplate.builtin(c)
        tpl.check_condition(c, chosen.get(c))
        out[c] = tpl
    return out


def _dmp_options(f):
    options = [
        click.option("--dilemmas", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Dilemmas JSONL/CSV."),
        click.option("--profiles", "profiles_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="profiles.json."),
        click.option("--k", type=click.IntRange(min=1), default=3, show_default=True, help="Values shown per profile."),
        click.option("--alpha", type=_POSITIVE, default=None, help="Dirichlet concentration (default: the one in profiles.json)."),
        click.option("--dirichlet", type=click.Choice(["paper", "mle"]), default="paper", show_default=True,
                     help="Sample Dirichlet(alpha * G0) or the group's maximum-likelihood Dirichlet."),
        click.option("--template", "templates", multiple=True, metavar="[CONDITION=]FILE",
                     help="Own template file, for all conditions or one (repeatable)."),
        click.option("--persona-items", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="List of non-value persona items, one a line (default: the team's list)."),
        click.option("--group", default=None, help="Use this profile group for every dilemma (e.g. __global__)."),
        click.option("--unknown-group", type=click.Choice(["error", "global"]), default="error", show_default=True,
                     help="What to do with a dilemma whose group has no profile."),
        click.option("--model", default="MODEL", show_default=True, help="Model name written into each request body."),
        click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True),
        click.option("--max-tokens", type=click.IntRange(min=1), default=256, show_default=True),
        seed_option,
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _make_batch(dilemmas, profiles_path, conditions, k, alpha, dirichlet, templates, persona_items, group, unknown_group,
                model, temperature, max_tokens, seed):
    from moralgap.datasets import load_dilemmas

    from .batch import PromptBatch, RequestSettings
    from .sampler import DMPSampler, load_persona_items

    profiles = Profiles.load(profiles_path)
    d_read = load_dilemmas(dilemmas)
    items = load_persona_items(persona_items)
    try:
        sampler = DMPSampler(profiles, k=k, seed=seed, alpha=alpha, dirichlet=dirichlet, persona_items=items)
        batch = PromptBatch(profiles, sampler, _templates(templates, conditions),
                            settings=RequestSettings(model, temperature, max_tokens), group=group, unknown_group=unknown_group)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return batch, d_read


def _sample_counts(samples: str, judgments: Path | None, verdict_map: str | None):
    if samples != "match":
        try:
            n = int(samples)
        except ValueError:
            raise click.BadParameter("an integer or 'match'", param_hint="--samples") from None
        if n < 1:
            raise click.BadParameter("must be at least 1", param_hint="--samples")
        return n
    if judgments is None:
        raise click.BadParameter("'match' needs --judgments (as many samples as human judgments per dilemma)", param_hint="--samples")
    from moralgap.datasets import load_judgments, vote_summaries
    from moralgap.verdicts import VerdictMap

    read = load_judgments(judgments, verdict_map=VerdictMap.parse_option(verdict_map))
    return {d: s.n for d, s in vote_summaries(read.records).items()}


# A request line is the template (~1.5 KB with its metadata) plus the dilemma's text.
_LINE_OVERHEAD_BYTES = 1500


def _check_room(out: Path, dilemmas, conditions, n_samples, samples_option: str) -> None:
    """An absurd --samples (10^8, say) is refused before writing, not after filling the disk."""
    from moralgap.outputs import check_room

    counts = [n_samples if isinstance(n_samples, int) else n_samples.get(d.id, 0) for d in dilemmas]
    n_bytes = sum(n * (len(d.text.encode("utf-8")) + _LINE_OVERHEAD_BYTES) for n, d in zip(counts, dilemmas))
    check_room(out, n_bytes * len(conditions), f"--samples {samples_option}: {sum(counts) * len(conditions):,} request lines")


@dmp_group.command("prompts")
@_dmp_options
@click.option("--condition", "conditions", required=True, multiple=True, type=click.Choice(CONDITIONS),
              help="Condition(s) to write (repeatable).")
@click.option("--samples", default="32", show_default=True, help="Generations per dilemma and condition, or 'match' (needs --judgments).")
@click.option("--judgments", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Human judgments, for --samples match.")
@verdict_map_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output prompts.jsonl.")
@click.option("--plain-batch", is_flag=True, help="Write plain OpenAI batch lines and the metadata beside them (prompts.jsonl -> prompts.meta.jsonl).")
def prompts_cmd(dilemmas, profiles_path, k, alpha, dirichlet, templates, persona_items, group, unknown_group, model,
                temperature, max_tokens, seed, conditions, samples, judgments, verdict_map, out, plain_batch):
    """Write one chat request per generation (dilemma x condition x sample) to a batch JSONL file."""
    from .batch import write_prompts

    conditions = list(dict.fromkeys(conditions))
    manifest = Manifest("dmp prompts", seed=seed, params=dict(
        conditions=conditions, samples=samples, k=k, alpha=alpha, dirichlet=dirichlet, templates=list(templates),
        persona_items=persona_items, group=group, unknown_group=unknown_group, model=model, temperature=temperature,
        max_tokens=max_tokens, plain_batch=plain_batch))
    manifest.add_input(dilemmas, "dilemmas")
    manifest.add_input(profiles_path, "profiles")
    if judgments:
        manifest.add_input(judgments, "judgments")
    n_samples = _sample_counts(samples, judgments, verdict_map)
    batch, d_read = _make_batch(dilemmas, profiles_path, conditions, k, alpha, dirichlet, templates, persona_items, group,
                                unknown_group, model, temperature, max_tokens, seed)
    from moralgap.prompts_format import sidecar_path

    meta = sidecar_path(out) if plain_batch else None
    _check_room(out, d_read.records, conditions, n_samples, samples)
    with manifest.timed("render"):
        by_condition = write_prompts(batch, d_read.records, conditions, n_samples, out, plain=plain_batch,
                                     source=str(dilemmas))
    n_lines = sum(by_condition.values())
    manifest.add_output(out)
    if meta:
        manifest.add_output(meta)
    manifest.count(dilemmas=len(d_read.records), lines=n_lines, lines_by_condition=dict(by_condition))
    manifest.data["templates"] = {c: {"name": t.name, "sha256": t.sha256} for c, t in batch.templates.items()}
    manifest.write(manifest_path_for(out))
    click.echo(f"{out}: {n_lines} request(s) for {len(d_read.records)} dilemma(s) x {', '.join(conditions)}")


@dmp_group.command("show")
@_dmp_options
@click.option("--dilemma", "dilemma_id", required=True, help="Dilemma id.")
@click.option("--condition", type=click.Choice(CONDITIONS), default="dmp", show_default=True)
@click.option("--sample", type=click.IntRange(min=0), default=0, show_default=True, help="Sample index.")
def show_prompt_cmd(dilemmas, profiles_path, k, alpha, dirichlet, templates, persona_items, group, unknown_group, model,
                    temperature, max_tokens, seed, dilemma_id, condition, sample):
    """Regenerate one request line alone (the same line `dmp prompts` writes for it) and print it."""
    batch, d_read = _make_batch(dilemmas, profiles_path, [condition], k, alpha, dirichlet, templates, persona_items, group,
                                unknown_group, model, temperature, max_tokens, seed)
    found = [d for d in d_read.records if d.id == dilemma_id]
    if not found:
        raise InputError(dilemmas, f"no dilemma with id {dilemma_id!r}", field="id")
    grp = batch.resolve_group(found[0], needed=condition in PROFILED, source=str(dilemmas))
    click.echo(json.dumps(batch.line(found[0], condition, sample, grp), ensure_ascii=False, indent=2))
