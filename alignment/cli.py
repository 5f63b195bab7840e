"""``moralgap judge`` and ``moralgap align``: thin commands over the alignment API."""
from __future__ import annotations

import os
from itertools import islice
from pathlib import Path

import click

from moralgap.cli_options import seed_option, skip_invalid_option, verdict_map_option
from moralgap.errors import ConfigError, InputError, MoralgapError
from moralgap.manifest import Manifest, manifest_path_for
from moralgap.scale.engine import engine_options

_FILE = click.Path(dir_okay=False, path_type=Path)
# Memory is bounded at any count (resampling runs in blocks, alignment/bootstrap.py), but time is
# not: 10^8 resamples would run for hours, and past ~10,000 a 95% interval no longer moves in
# the third decimal. Refused above this (documented in docs/reliability.md).
MAX_RESAMPLES = 100_000


def _progress(summary) -> None:
    if os.environ.get("MORALGAP_PROGRESS", "1") != "0":
        done = summary.already_done + summary.answered
        click.echo(f"  {done}/{summary.total} answered ({summary.unparseable} unparseable, {summary.failed} failed) "
                   f"after {summary.elapsed_s:.0f}s", err=True)


@click.command("judge")
@click.argument("prompts", type=_FILE)
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Judgments JSONL, or a folder (no suffix) of JSONL shards; appended to and resumed if it exists.")
@click.option("--backend", type=click.Choice(["openai", "transformers", "replay"]), default="openai", show_default=True,
              help="openai: any OpenAI-compatible HTTP server (vLLM, llama.cpp, Ollama, a hosted API) at --base-url; "
                   "transformers: a local model in this process (--model-path); replay: answers stored in --replay-file.")
@click.option("--base-url", "base_urls", multiple=True, default=["http://127.0.0.1:8000/v1"], show_default=True,
              help="OpenAI-compatible API root (requests go to BASE_URL/chat/completions); with --engine ray, repeat it "
                   "to spread the prompts over several servers.")
@click.option("--model", default=None, help="Model name sent to the server and recorded as the judge.")
@click.option("--api-key-env", default=None, metavar="VAR", help="Environment variable holding the API key (never logged).")
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True, help="Requests in flight.")
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="At most this many requests per second.")
@click.option("--max-retries", type=click.IntRange(min=0), default=6, show_default=True,
              help="Retries per prompt after a timeout, a dropped connection, a malformed reply or HTTP 408/409/425/429/5xx, "
                   "with exponential backoff (Retry-After honoured); other HTTP errors fail at once.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True, help="Seconds per request.")
@click.option("--model-path", default="smollm2", show_default=True, help="transformers: model folder, .gguf file, or 'smollm2'.")
@click.option("--replay-file", type=_FILE, default=None, help="replay: stored judgments to answer from.")
@click.option("--replay-format", type=click.Choice(["moralgap", "scruples", "boraske"]), default="moralgap", show_default=True,
              help="Layout of --replay-file: moralgap judgments JSONL, the scruples_pilot judgments, or the aita_boraske "
                   "LLM judgments; answers are matched by (dilemma, condition, sample).")
@click.option("--logprobs", is_flag=True, help="Also read P(acceptable) from token probabilities (p_acceptable).")
@click.option("--temperature", type=float, default=None, help="Override every prompt's temperature.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="Override every prompt's max_tokens.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N prompt lines.")
@click.option("--meta", type=_FILE, default=None, help="Metadata sidecar (default: PROMPTS with .meta.jsonl).")
@engine_options
@seed_option
def judge_command(prompts, out, backend, base_urls, model, api_key_env, concurrency, rate_limit, max_retries, timeout_s,
                  model_path, replay_file, replay_format, logprobs, temperature, max_tokens, limit, meta, seed,
                  engine="local", ray_address=None, ray_workers=None):
    """Run every line of PROMPTS (prompts.jsonl) through a backend; one judgment per line.

    A killed run restarted with the same --out skips the prompts already answered.
    """
    from moralgap.datasets import iter_judgments
    from moralgap.io import ReadResult

    from .backends import make_backend
    from .prompts_file import iter_prompts, read_prompts
    from .runner import JudgeRunner

    from moralgap.scale import make_engine

    if len(base_urls) > 1 and engine == "local":
        raise ConfigError("several --base-url need --engine ray (one process talks to one server)")
    base_url = base_urls[0]
    eng = make_engine(engine, address=ray_address, workers=ray_workers)
    manifest = Manifest("judge", seed=seed, params=dict(backend=backend, base_url=list(base_urls), model=model,
                        api_key_env=api_key_env, concurrency=concurrency, rate_limit=rate_limit, max_retries=max_retries,
                        timeout_s=timeout_s, logprobs=logprobs, temperature=temperature, max_tokens=max_tokens, limit=limit))
    manifest.add_input(prompts, "prompts")
    if eng.name == "local":
        lines = read_prompts(prompts, meta_path=meta)[:limit]
    else:
        # Every line is checked before any request, as locally, but none is kept: the driver's
        # memory must not grow with the file; the prompts are read again as chunks go out.
        total = sum(1 for _ in iter_prompts(prompts, meta_path=meta))
        total = total if limit is None else min(total, limit)
        lines = islice(iter_prompts(prompts, meta_path=meta), limit)
    sampling = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    if backend == "openai":
        if not model:
            raise ConfigError("--model is required with --backend openai (the name the server knows the model by)")
        options = dict(base_url=base_url, model=model, api_key_env=api_key_env, concurrency=concurrency,
                       max_retries=max_retries, timeout_s=timeout_s, rate_limit=rate_limit, sampling=sampling, seed=seed)
    elif backend == "transformers":
        options = dict(model_path=model_path, model=model, sampling=sampling)
    else:
        if replay_file is None:
            raise ConfigError("--replay-file is required with --backend replay")
        manifest.add_input(replay_file, "replay")
        options = dict(path=replay_file, fmt=replay_format, model=model)
    be = make_backend(backend, **options)
    manifest.add_model("judge", be.model, **be.describe())
    with manifest.timed("judge"):
        if eng.name == "local":
            summary = JudgeRunner(be, seed=seed, logprobs=logprobs, progress=_progress).run(lines, out)
        else:
            # Scale hook (issue 17): prompts split across Ray workers, each with its own backend
            # (its own --concurrency) against one of the --base-url servers in turn.
            from moralgap.scale.ray_judge import run_judge_ray

            summary = run_judge_ray(eng, backend, options, list(base_urls) if backend == "openai" else [], lines, out,
                                    total=total, seed=seed, logprobs=logprobs, progress=_progress)
    manifest.set_engine(eng.describe())
    eng.close()
    # Counted as read, not held: the output can be as big as the prompts.
    written = unparseable = 0
    for j in iter_judgments(out, ReadResult()):
        written += 1
        unparseable += j.verdict is None and (j.model_extra or {}).get("p_acceptable") is None
    manifest.count(**summary.as_dict(), in_output=written, unparseable_in_output=unparseable)
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    click.echo(f"{out}: {written}/{summary.total} prompts answered ({summary.answered} this run, "
               f"{unparseable} unparseable in all), {summary.elapsed_s:.1f}s", err=True)
    if summary.failed:
        for e in summary.errors[:5]:
            click.echo(f"  failed: {e}", err=True)
        raise MoralgapError(f"{summary.failed} prompt(s) could not be answered; rerun the same command to retry them")


def _parse_edges(text: str) -> tuple[float, ...]:
    try:
        edges = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"--bins: expected comma-separated numbers, got {text!r}") from None
    bad = [x for x in edges if not 0.0 <= x <= 1.0]  # also catches nan and inf
    if bad:
        raise ConfigError(f"--bins: edges are consensus levels between 0 and 1, got {bad[0]!r} in {text!r}")
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ConfigError("--bins: need at least two increasing edges, e.g. 0.5,0.6,0.7,0.8,0.9,1.0")
    return edges


@click.command("align")
@click.option("--human", "human_path", required=True, type=_FILE, help="Human judgments (vote-only is fine) or a counts table.")
@click.option("--human-format", type=click.Choice(["judgments", "counts", "scruples", "boraske-posts"]), default="judgments",
              show_default=True, help="counts: dilemma_id, n_acceptable, n_unacceptable columns.")
@click.option("--model", "model_paths", required=True, multiple=True, type=_FILE, help="Model judgments (repeatable).")
@click.option("--model-format", type=click.Choice(["moralgap", "scruples", "boraske"]), default="moralgap", show_default=True)
@click.option("--values", "values_paths", multiple=True, type=_FILE, help="ValueAnnotation JSONL for human and/or model rationales (repeatable).")
@click.option("--dilemmas", type=_FILE, default=None, help="Dilemmas with topics (for per-topic value profiles).")
@click.option("--taxonomy", type=click.Path(path_type=Path), default=None, help="Taxonomy (value names; entropy normalised by its size).")
@click.option("--n-values", type=click.IntRange(min=2), default=None, help="Normalise value entropy by this many values.")
@click.option("--bins", "bins_text", default="0.5,0.6,0.7,0.8,0.9,1.0", show_default=True, help="Consensus bin edges.")
@click.option("--baseline", default="vanilla", show_default=True, help="Condition the others are compared with.")
@click.option("--condition", "conditions", multiple=True, help="Only these conditions (repeatable).")
@click.option("--bootstrap", "n_resamples",
              help="Bootstrap resamples of dilemmas behind every 95% confidence interval (percentile; paired for the "
                   "change against --baseline).",
              type=click.IntRange(min=100, max=MAX_RESAMPLES), default=1000, show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Report folder.")
@click.option("--title", default="moralgap alignment report", show_default=True)
@click.option("--counting", "countings", multiple=True, type=click.Choice(["mentions", "presence", "rationale"]),
              help="With --values: how a rationale's values count in the human-minus-model diversity comparison "
                   "(repeatable; default mentions): every coded expression or listed value; each value once per "
                   "rationale; or each rationale's mentions summing to 1.")
@click.option("--interval", type=click.Choice(["basic", "percentile"]), default="basic", show_default=True,
              help="Bootstrap interval of the value diversity figures (basic corrects the small-sample bias of "
                   "top-k share and entropy).")
@seed_option
@skip_invalid_option
@verdict_map_option
def align_command(human_path, human_format, model_paths, model_format, values_paths, dilemmas, taxonomy, n_values,
                  bins_text, baseline, conditions, n_resamples, out, title, countings, interval, seed, skip_invalid,
                  verdict_map):
    """Measure judgment and value gaps between humans and models; write a report folder."""
    from moralgap.datasets import load_dilemmas
    from moralgap.io import read_records
    from moralgap.records import ValueAnnotation
    from moralgap.verdicts import VerdictMap

    from .backends.replay import load_foreign_judgments
    from .metrics import gap_analysis
    from .report import write_report
    from .values_gap import side_of, values_gap
    from .votes import group_judgments, scruples_votes, votes_from_counts, votes_from_judgments

    edges = _parse_edges(bins_text)
    vmap = VerdictMap.parse_option(verdict_map)
    manifest = Manifest("align", seed=seed, params=dict(human_format=human_format, model_format=model_format, bins=list(edges),
                        baseline=baseline, conditions=list(conditions), n_resamples=n_resamples, n_values=n_values,
                        countings=list(countings), interval=interval))
    manifest.add_input(human_path, "human")
    human_judgments = []
    if human_format == "counts":
        human = votes_from_counts(human_path)
    elif human_format == "scruples":
        human = scruples_votes(human_path)
    else:
        fmt = "moralgap" if human_format == "judgments" else human_format
        human_judgments = [j for j in load_foreign_judgments(human_path, fmt, verdict_map=vmap, skip_invalid=skip_invalid)
                           if j.is_human]
        if not human_judgments:
            raise InputError(human_path, "no human judgments (judge == 'human') in this file")
        human = votes_from_judgments(human_judgments)
    model_judgments = []
    for p in model_paths:
        manifest.add_input(p, "model")
        model_judgments += [j for j in load_foreign_judgments(p, model_format, verdict_map=vmap, skip_invalid=skip_invalid)
                            if not j.is_human]
    groups = group_judgments(model_judgments)
    if conditions:
        groups = {k: v for k, v in groups.items() if k.rpartition("/")[2] in conditions}
    if not groups:
        raise InputError(model_paths[0], "no model judgments" + (f" for conditions {', '.join(conditions)}" if conditions else ""))
    with manifest.timed("gap"):
        analysis = gap_analysis(human, {k: votes_from_judgments(v) for k, v in groups.items()}, baseline=baseline,
                                edges=edges, n_resamples=n_resamples, seed=seed)
    values = names = None
    if values_paths:
        tax = None
        if taxonomy is not None:
            from moralgap.taxonomy_file import load_taxonomy

            tax = load_taxonomy(taxonomy)
            names = {v.id: v.name for v in tax.values}
            n_values = n_values or len(tax.active_values())
        annotations = []
        for p in values_paths:
            manifest.add_input(p, "values")
            if tax is not None:
                # Checked against the taxonomy (file, line, field) with merged ids followed, so both
                # sides are counted over its active values.
                from moralgap.profiling.profiles import load_value_annotations

                annotations += load_value_annotations(p, tax, skip_invalid=skip_invalid).records
            else:
                annotations += read_records(p, ValueAnnotation, skip_invalid=skip_invalid, unique_id=None).records
        dl = None
        if dilemmas is not None:
            manifest.add_input(dilemmas, "dilemmas")
            dl = load_dilemmas(dilemmas, skip_invalid=skip_invalid).records
        gap_settings = {"countings": list(dict.fromkeys(countings)) or ["mentions"], "n_resamples": n_resamples,
                        "interval": interval, "seed": seed}
        with manifest.timed("values"):
            try:
                values = values_gap(annotations, side_of(human_judgments, groups), n_values=n_values, dilemmas=dl,
                                    value_ids=[v.id for v in tax.active_values()] if tax is not None else None,
                                    gap_settings=gap_settings)
            except ValueError as exc:  # e.g. --n-values below the number of values the annotations use
                raise ConfigError(f"--values: {exc}") from None
    paths = write_report(out, analysis, values=values, value_names=names, title=title)
    for p in paths:
        manifest.add_output(p)
    manifest.count(human_dilemmas=len(human), model_judgments=len(model_judgments),
                   conditions={k: len(f) for k, f in analysis.frames.items()})
    manifest.write(manifest_path_for(out))
    for label, s in analysis.summaries.items():
        o = s["overall"]
        click.echo(f"{label}: gap {o['mean_gap']['value']:.3f} [{o['mean_gap']['ci_low']:.3f}, {o['mean_gap']['ci_high']:.3f}] "
                   f"floor {o['mean_noise_floor']:.3f} r {o['pearson']['value']:.3f} (n={o['n_dilemmas']}; "
                   f"{o['unparseable']}/{o['answers']} answers unparseable)")
    if values is not None:
        from moralgap.diversity_gap import format_gap

        for by_counting in values.gaps.values():
            for g in by_counting.values():
                for line in format_gap(g):
                    click.echo(line)
    click.echo(f"report written to {out}/report.html", err=True)
