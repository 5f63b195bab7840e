"""``moralgap studio start|stop|status`` and the Label Studio round trips of ``moralgap annotate``.

Thin shells over :mod:`annotation.studio_server`, :mod:`annotation.review`,
:mod:`annotation.rationale_tasks` and :mod:`annotation.agreement`. Every output is written
once, at the end, atomically, with a manifest beside it; the API key never appears in
output, logs or manifests.
"""
from __future__ import annotations

from pathlib import Path

import click

from moralgap.cli_options import report_read, seed_option, skip_invalid_option
from moralgap.errors import InputError
from moralgap.io import read_records, write_json, write_jsonl
from moralgap.manifest import Manifest, manifest_path_for
from moralgap.records import ValueAnnotation

PathArg = click.Path(path_type=Path)


# -- shared options ----------------------------------------------------------------------------
def _home_option(f):
    return click.option("--home", type=PathArg, default=None, envvar="MORALGAP_STUDIO_HOME",
                        help="Studio folder (venv, data, token) [default: ~/.local/share/moralgap/studio].")(f)


def _connection_options(f):
    f = click.option("--api-key", default=None, envvar="LABEL_STUDIO_API_KEY", show_envvar=True,
                     help="Personal access token or legacy token (default: the local server's).")(f)
    f = click.option("--url", default=None, envvar="LABEL_STUDIO_URL", show_envvar=True,
                     help="Label Studio URL (default: the local server's).")(f)
    return _home_option(f)


def _export_option(f):
    return click.option("--export", "method", type=click.Choice(["snapshot", "pages"]), default="snapshot",
                        show_default=True, help="Read the project through an export snapshot or page by page.")(f)


def _client(url, api_key, home):
    from .studio_client import connect

    return connect(url, api_key, home=home)


def _load_folder(taxonomy: Path, manifest: Manifest):
    from moralgap.taxonomy_file import taxonomy_path
    from moralgap.taxonomy.folder import TaxonomyFolder

    manifest.add_input(taxonomy_path(taxonomy), "taxonomy")
    folder = TaxonomyFolder.load(taxonomy)
    manifest.set_params(taxonomy_name=folder.taxonomy.name, taxonomy_version=folder.taxonomy.version)
    return folder


def _judgments(path: Path, skip_invalid: bool, manifest: Manifest):
    from moralgap.datasets import load_judgments

    result = load_judgments(path, skip_invalid=skip_invalid)
    report_read(result, path, "judgments")
    manifest.add_input(path, "judgments")
    return result.records


def _exported_tasks(from_export: Path | None, project: int | None, method: str, url, api_key, home,
                    manifest: Manifest):
    from .labelstudio_files import read_export_file
    from .studio_client import export_tasks

    if from_export is not None:
        manifest.add_input(from_export, "export")
        return read_export_file(from_export)
    if project is None:
        raise click.UsageError("give --project ID (or --from-export FILE for an offline export)")
    client = _client(url, api_key, home)
    manifest.set_params(url=client.url, project=project, export=method)
    return export_tasks(client, project, method=method)


# -- studio ----------------------------------------------------------------------------------
@click.command("start")
@_home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--timeout", type=float, default=240, show_default=True, help="Seconds to wait for it to answer.")
def start(home, host, port, timeout):
    """Start a local Label Studio (installs it into its own venv on first use)."""
    from .studio_server import StudioServer

    st = StudioServer(home, host=host, port=port).start(timeout_s=timeout)
    click.echo(st.describe())
    click.echo("API token: stored with mode 0600 in the studio folder (moralgap reads it from there).")


@click.command("stop")
@_home_option
def stop(home):
    """Stop the local Label Studio started from this studio folder."""
    from .studio_server import StudioServer

    click.echo("stopped" if StudioServer(home).stop() else "no local Label Studio was running")


@click.command("status")
@_home_option
def status(home):
    """Say whether the local Label Studio runs and answers, and where. Exit status 1 when it does not answer."""
    from .studio_server import StudioServer

    st = StudioServer(home).status()
    click.echo(st.describe())
    if not st.answers:
        raise SystemExit(1)


STUDIO_COMMANDS = [start, stop, status]


# -- taxonomy review ------------------------------------------------------------------------------
@click.group("review")
def review_group() -> None:
    """Review a taxonomy's values in Label Studio (keep, rename, merge, split, reject)."""


def _rationale_texts(path: Path | None, skip_invalid: bool, manifest: Manifest) -> dict[str, str]:
    if path is None:
        return {}
    return {j.id: j.rationale for j in _judgments(path, skip_invalid, manifest) if j.rationale}


def _push_record_path(home: Path | None, name: str) -> Path:
    """Default home of a push record: the studio folder's ``pushes/``, not wherever the shell happens to be."""
    from .studio_server import studio_home

    return Path(home or studio_home()) / "pushes" / name


def _record_push(out: Path, manifest: Manifest, client, pid: int, folder, taxonomy: Path, fields: dict,
                 **counts) -> None:
    """Write what a push sent where (the record 'pull' and people read later) and its manifest."""
    write_json(out, {**fields, "url": client.url, "project": pid, "taxonomy": str(taxonomy),
                     "taxonomy_version": folder.taxonomy.version})
    manifest.set_params(url=client.url, project=pid)
    manifest.count(**counts)
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    click.echo(f"push record: {out}", err=True)


@review_group.command("push")
@click.argument("taxonomy", type=PathArg)
@click.option("--judgments", type=PathArg, default=None, help="Judgments JSONL, to show exemplars inside their rationales.")
@click.option("--title", default=None, help="Project title.")
@click.option("--reviewers", type=int, default=2, show_default=True, help="Reviewers per value.")
@click.option("--exemplars", type=int, default=10, show_default=True, help="Exemplar expressions per value.")
@click.option("--out", type=PathArg, default=None, help="Push record JSON [default: <studio home>/pushes/review-push-<project>.json].")
@skip_invalid_option
@_connection_options
def review_push(taxonomy, judgments, title, reviewers, exemplars, out, skip_invalid, home, url, api_key):
    """Create a review project with one task per value of TAXONOMY."""
    from .review import push_review

    manifest = Manifest("annotate review push", params={"reviewers": reviewers, "exemplars": exemplars})
    folder = _load_folder(taxonomy, manifest)
    texts = _rationale_texts(judgments, skip_invalid, manifest)
    client = _client(url, api_key, home)
    pid, n = push_review(client, folder, rationales=texts, title=title, n_exemplars=exemplars, reviewers=reviewers)
    _record_push(out or _push_record_path(home, f"review-push-{pid}.json"), manifest, client, pid, folder, taxonomy,
                 {"kind": "review", "tasks": n}, tasks=n)
    click.echo(f"project {pid}: {n} value tasks at {client.url}/projects/{pid}")


@review_group.command("pull")
@click.argument("taxonomy", type=PathArg)
@click.option("--project", type=int, default=None, help="Review project id (printed by 'review push').")
@click.option("--out", type=PathArg, default=None, help="Folder for the next taxonomy version (TAXONOMY is left as it was).")
@click.option("--in-place", is_flag=True,
              help="Rewrite TAXONOMY's folder instead; the previous taxonomy.json is kept as taxonomy.v<N>.json.")
@click.option("--from-export", type=PathArg, default=None, help="Read a Label Studio JSON export file instead of the server.")
@click.option("--judgments", type=PathArg, default=None,
              help="Judgments JSONL: rationale texts for split decisions on taxonomies built with --embed-text context or sentence.")
@_export_option
@seed_option
@skip_invalid_option
@_connection_options
def review_pull(taxonomy, project, out, in_place, from_export, judgments, method, seed, skip_invalid, home, url, api_key):
    """Apply the reviewers' decisions to TAXONOMY and write the next version to --out or, with --in-place, over it."""
    from moralgap.taxonomy.folder import write_version
    from moralgap.taxonomy_file import taxonomy_path

    from .review import apply_review

    old_dir = taxonomy_path(taxonomy).parent
    if in_place == (out is not None):
        raise click.UsageError("give exactly one of --out DIR or --in-place")
    if out is not None and Path(out).resolve() == old_dir.resolve():
        raise click.UsageError("--out is the input taxonomy folder: use --in-place to rewrite it")
    target = old_dir if in_place else Path(out)
    manifest = Manifest("annotate review pull", seed=seed, params={"in_place": in_place})
    folder = _load_folder(taxonomy, manifest)
    tasks = _exported_tasks(from_export, project, method, url, api_key, home, manifest)
    texts = _rationale_texts(judgments, skip_invalid, manifest)
    new, report = apply_review(folder, tasks, project if project is not None else 0, seed=seed, texts=texts or None)
    manifest.count(tasks=len(tasks), applied=len(report.applied), ties=len(report.ties),
                   conflicts=len(report.conflicts), skipped=len(report.skipped))
    write_version(old_dir, new, target, in_place=in_place, old_version=folder.taxonomy.version, manifest=manifest,
                  extra={"review_report.json": report.to_dict()})
    click.echo(report.summary())
    for t in report.ties:
        click.echo(f"  tie on {t['value_id']} ({t['name']}): {t['tally']} -> left as it was", err=True)
    for c in report.conflicts:
        click.echo(f"  not applied on {c['value_id']}: {c['decision']}: {c['why']}", err=True)


# -- rationale annotation ----------------------------------------------------------------------------
def _rationale_inputs(taxonomy, dilemmas, predictions, skip_invalid, manifest):
    from moralgap.datasets import load_dilemmas

    folder = _load_folder(taxonomy, manifest)
    dil = {}
    if dilemmas is not None:
        res = load_dilemmas(dilemmas, skip_invalid=skip_invalid)
        report_read(res, dilemmas, "dilemmas")
        manifest.add_input(dilemmas, "dilemmas")
        dil = {d.id: d for d in res.records}
    preds = {}
    if predictions is not None:
        res = read_records(predictions, ValueAnnotation, skip_invalid=skip_invalid, unique_id="rationale_id")
        report_read(res, predictions, "predictions")
        manifest.add_input(predictions, "predictions")
        preds = {p.rationale_id: p for p in res.records}
    return folder, dict(dilemmas=dil, expressions=folder.expressions, predictions=preds)


def _rationale_options(f):
    f = skip_invalid_option(f)
    f = click.option("--predictions", type=PathArg, default=None,
                     help="ValueAnnotation JSONL from 'moralgap annotate auto', sent as pre-annotations with scores.")(f)
    f = click.option("--dilemmas", type=PathArg, default=None, help="Dilemmas JSONL, to show each dilemma.")(f)
    f = click.option("--taxonomy", type=PathArg, required=True, help="Taxonomy folder or taxonomy.json.")(f)
    return click.argument("judgments", type=PathArg)(f)


@click.command("push")
@_rationale_options
@click.option("--project", type=int, default=None, help="Add to this project (tasks already there are not re-sent).")
@click.option("--title", default=None)
@click.option("--overlap", type=int, default=2, show_default=True, help="Annotators per rationale.")
@click.option("--out", type=PathArg, default=None, help="Push record JSON [default: <studio home>/pushes/annotate-push-<project>.json].")
@_connection_options
def push(judgments, taxonomy, dilemmas, predictions, skip_invalid, project, title, overlap, out, home, url, api_key):
    """Send rationales of JUDGMENTS to Label Studio for value annotation."""
    from .rationale_tasks import push_rationales

    manifest = Manifest("annotate push", params={"overlap": overlap})
    folder, kwargs = _rationale_inputs(taxonomy, dilemmas, predictions, skip_invalid, manifest)
    rows = _judgments(judgments, skip_invalid, manifest)
    client = _client(url, api_key, home)
    pid, plan = push_rationales(client, rows, folder.taxonomy, project_id=project, title=title, overlap=overlap, **kwargs)
    _record_push(out or _push_record_path(home, f"annotate-push-{pid}.json"), manifest, client, pid, folder, taxonomy,
                 {"kind": "rationales", "tasks_sent": len(plan.tasks), "already_there": plan.skipped_existing,
                  "without_rationale": plan.no_rationale,
                  "dropped_prediction_values": dict(plan.dropped_prediction_values)},
                 tasks_sent=len(plan.tasks), already_there=plan.skipped_existing,
                 with_predictions=sum("predictions" in t for t in plan.tasks))
    click.echo(f"project {pid}: {len(plan.tasks)} tasks sent, {plan.skipped_existing} already there "
               f"({client.url}/projects/{pid})")
    if plan.dropped_prediction_values:
        click.echo(f"  predictions named {len(plan.dropped_prediction_values)} value ids not active in the taxonomy: "
                   f"{', '.join(sorted(plan.dropped_prediction_values))}", err=True)


@click.command("tasks-file")
@_rationale_options
@click.option("--out", type=PathArg, required=True, help="Label Studio tasks JSON to import by hand.")
@click.option("--config-out", type=PathArg, default=None, help="Also write the labeling config XML here.")
def tasks_file(judgments, taxonomy, dilemmas, predictions, skip_invalid, out, config_out):
    """Offline: write rationale tasks (and the labeling config) for a server moralgap cannot reach."""
    from moralgap.io import atomic_open

    from moralgap.label_config import rationale_label_config
    from .labelstudio_files import write_tasks_file
    from .rationale_tasks import rationale_tasks

    manifest = Manifest("annotate tasks-file")
    folder, kwargs = _rationale_inputs(taxonomy, dilemmas, predictions, skip_invalid, manifest)
    plan = rationale_tasks(_judgments(judgments, skip_invalid, manifest), folder.taxonomy, **kwargs)
    write_tasks_file(out, plan.tasks)
    manifest.add_output(out)
    if config_out is not None:
        with atomic_open(config_out) as fh:
            fh.write(rationale_label_config(folder.taxonomy))
        manifest.add_output(config_out)
    manifest.count(tasks=len(plan.tasks))
    manifest.write(manifest_path_for(out))
    click.echo(f"{out}: {len(plan.tasks)} tasks")


def annotator_file_names(annotators) -> dict[str, str]:
    """One distinct, safe file name per annotator.

    Characters a file name cannot safely hold become ``_``; a name that had any, or that
    differs only in case from another (one file on macOS and Windows), also gets a short hash of
    the full name, so "Jo Smith" and "Jo_Smith" never share a file.
    """
    import hashlib

    safe = {who: "".join(ch if ch.isalnum() or ch in "._-@" else "_" for ch in who).lstrip(".") or "_" for who in annotators}
    folded: dict[str, int] = {}
    for name in safe.values():
        folded[name.casefold()] = folded.get(name.casefold(), 0) + 1
    out = {}
    for who, name in safe.items():
        if name != who or folded[name.casefold()] > 1:
            name = f"{name}-{hashlib.sha256(who.encode('utf-8')).hexdigest()[:8]}"
        out[who] = f"{name}.jsonl"
    return out


@click.command("pull")
@click.option("--project", type=int, default=None, help="Rationale project id (printed by 'annotate push').")
@click.option("--out", type=PathArg, required=True, help="Annotations JSONL, one row per rationale and annotator.")
@click.option("--taxonomy", type=PathArg, default=None, help="Check value ids against this taxonomy (merged ids follow their target).")
@click.option("--per-annotator", type=PathArg, default=None, help="Also write one JSONL per annotator into this folder.")
@click.option("--from-export", type=PathArg, default=None, help="Read a Label Studio JSON export file instead of the server.")
@_export_option
@_connection_options
def pull(project, out, taxonomy, per_annotator, from_export, method, home, url, api_key):
    """Fetch every annotator's values for every rationale."""
    from .rationale_tasks import annotations_from_tasks

    manifest = Manifest("annotate pull")
    tax = _load_folder(taxonomy, manifest).taxonomy if taxonomy is not None else None
    tasks = _exported_tasks(from_export, project, method, url, api_key, home, manifest)
    rows, report = annotations_from_tasks(tasks, tax)
    write_jsonl(out, rows)
    manifest.add_output(out)
    if per_annotator is not None:
        by: dict[str, list] = {}
        for r in rows:
            by.setdefault(r.annotator, []).append(r)
        names = annotator_file_names(by)
        for who, rs in by.items():
            write_jsonl(Path(per_annotator) / names[who], rs)
            manifest.add_output(Path(per_annotator) / names[who])
    manifest.count(tasks=report.tasks, annotations=report.annotations, rows=report.rows,
                   unknown_values=sum(report.unknown_values.values()), mapped_merged=sum(report.mapped_merged.values()))
    manifest.write(manifest_path_for(out))
    click.echo(f"{out}: {report.summary()}")


@click.command("agreement")
@click.argument("annotations", type=PathArg)
@click.option("--out", type=PathArg, required=True, help="Agreement report JSON.")
@click.option("--taxonomy", type=PathArg, default=None, help="Taxonomy: names values and lists every active value in the per-value kappas.")
@click.option("--top", type=int, default=10, show_default=True, help="How many confused value pairs to list.")
@skip_invalid_option
def agreement(annotations, out, taxonomy, top, skip_invalid):
    """Krippendorff's alpha (MASI), per-value kappas, agreement with the majority, confused pairs."""
    from .agreement import agreement_report

    manifest = Manifest("annotate agreement", params={"top": top})
    res = read_records(annotations, ValueAnnotation, skip_invalid=skip_invalid, unique_id=None)
    report_read(res, annotations, "annotations")
    manifest.add_input(annotations, "annotations")
    rows = [r for r in res.records if r.annotator]
    if len(rows) != len(res.records):
        click.echo(f"  {len(res.records) - len(rows)} rows without an annotator ignored", err=True)
    if not rows:
        raise InputError(annotations, "no annotated rows with an annotator")
    names, value_ids = {}, None
    if taxonomy is not None:
        tax = _load_folder(taxonomy, manifest).taxonomy
        names = {v.id: v.name for v in tax.values}
        value_ids = [v.id for v in tax.active_values()]
    report = agreement_report(rows, value_ids=value_ids, names=names, top_pairs=top)
    write_json(out, report)
    manifest.add_output(out)
    manifest.count(units=report["units"], annotators=len(report["annotators"]))
    manifest.write(manifest_path_for(out))
    alpha = report["krippendorff_alpha_masi"]
    click.echo(f"Krippendorff's alpha (MASI) = {alpha:.3f}" if alpha is not None else "alpha undefined (no variation)")
    for who, d in report["annotator_vs_majority"].items():
        click.echo(f"  {who}: agreement with majority {d['masi_agreement']:.3f} over {d['units']} rationales")
    for p in report["confused_pairs"][:5]:
        click.echo(f"  confused: {p['names'][0]} / {p['names'][1]} ({p['count']})")


ANNOTATE_COMMANDS = [review_group, push, pull, agreement, tasks_file]
