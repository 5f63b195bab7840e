"""``moralgap annotate expressions``: code each value expression to one value (the paper's way)."""
from __future__ import annotations

import click

from moralgap.cli_options import skip_invalid_option
from moralgap.errors import ConfigError
from moralgap.manifest import Manifest, manifest_path_for

from .cli_auto import _folder, _judgments, _taxonomy_option


@click.command("expressions")
@click.argument("judgments", type=click.Path(dir_okay=False))
@_taxonomy_option
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="values.jsonl to write: one annotation per rationale, source 'expressions', with mention counts.")
@click.option("--expressions-out", default=None, type=click.Path(dir_okay=False),
              help="Also write every expression found, with the value it was coded to (or none).")
@click.option("--threshold", type=click.FloatRange(-1, 1), default=None,
              help="One cosine similarity every value needs (default: the build's outlier rule, as in 'taxonomy update').")
@click.option("--percentile", type=click.FloatRange(0, 100), default=None,
              help="Per-value thresholds: this percentile of each value's members' similarity (as in 'taxonomy update').")
@click.option("--recode", is_flag=True,
              help="Recode rationales the taxonomy already holds instead of keeping the build's assignment.")
@click.option("--spacy-model", default=None, help="spaCy pipeline for extraction (default as for build).")
@skip_invalid_option
def expressions_command(judgments, taxonomy, out, expressions_out, threshold, percentile, recode, spacy_model,
                        skip_invalid):
    """Code every value expression in JUDGMENTS' rationales to exactly one value of the taxonomy.

    Unlike 'annotate auto', which gives a rationale every value scoring above a threshold,
    each expression counts once for the one value it is nearest to. 'profiles diversity'
    and 'align' read the output like any values file and count its mentions.
    """
    from moralgap.io import write_jsonl
    from moralgap.taxonomy.extract import ValueExtractor

    from .expression_coding import ExpressionCoder

    if threshold is not None and percentile is not None:
        raise ConfigError("--threshold and --percentile are two different rules: give one")
    manifest = Manifest("annotate expressions", params={"threshold": threshold, "percentile": percentile, "recode": recode})
    items = _judgments(judgments, skip_invalid, manifest)
    folder = _folder(taxonomy, manifest)
    # New rationales are extracted as `taxonomy update` extracts them (spaCy), so coding and
    # updating a taxonomy agree on what an expression is.
    extractor = ValueExtractor(spacy_model)
    coder = ExpressionCoder(folder, threshold=threshold, percentile=percentile, reuse=not recode, extractor=extractor)
    with manifest.timed("code"):
        result = coder.code(items)
    manifest.add_model("spacy", extractor.spacy_model)
    embedder = coder.space.embedder
    manifest.add_model("embedding", embedder.model_name, fingerprint=embedder.fingerprint)
    write_jsonl(out, result.annotations)
    manifest.add_output(out)
    if expressions_out:
        write_jsonl(expressions_out, result.expressions)
        manifest.add_output(expressions_out)
    manifest.set_params(**coder.params())
    manifest.count(**result.stats)
    manifest.write(manifest_path_for(out))
    s = result.stats
    click.echo(f"wrote {len(result.annotations)} annotations to {out}: {s['mentions']} value mentions, "
               f"{s['rationales_with_values']} rationales with a value; {s['rationales_from_taxonomy']} rationales "
               f"coded as the taxonomy holds them, the rest by nearest value ({s.get('coded', 0)} expressions coded, "
               f"{s.get('uncoded', 0) - s.get('nearest_value_left_out', 0)} too far from every value, "
               f"{s.get('nearest_value_left_out', 0)} nearest a value under review or rejected, "
               f"{s.get('excluded', 0)} set apart as not values)", err=True)


ANNOTATE_COMMANDS = [expressions_command]
