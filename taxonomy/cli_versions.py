"""``moralgap taxonomy edit|diff|update|export|import``: a thin shell over edits, diff, update, export_import."""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click

from moralgap.cli_options import TAXONOMY_DIR, report_read, seed_option, skip_invalid_option, verdict_map_option
from moralgap.errors import InputError
from moralgap.manifest import Manifest, manifest_path_for
from moralgap.models import DEFAULT_EMBEDDING_MODEL
from moralgap.scale.engine import engine_options

TAXONOMY_FILE = "taxonomy.json"


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def version_options(f):
    """Where the new version goes, and who made it and why."""
    f = click.option("--reason", default="", help="Why the change was made (recorded in the lineage).")(f)
    f = click.option("--author", default=_default_author, show_default="login name", help="Who made the change.")(f)
    f = click.option("--in-place", is_flag=True,
                     help="Rewrite TAXDIR; the previous taxonomy.json is kept as taxonomy.v<N>.json.")(f)
    f = click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder for the new version (TAXDIR is left as it was).")(f)
    return f


def _load(taxdir: Path):
    from .edits import check_folder
    from .folder import TaxonomyFolder

    folder = TaxonomyFolder.load(taxdir)
    check_folder(folder)
    return folder


def _target(taxdir: Path, out: Path | None, in_place: bool) -> Path:
    if in_place == (out is not None):
        raise click.UsageError("give exactly one of --out DIR or --in-place")
    if out is not None and out.resolve() == Path(taxdir).resolve():
        raise click.UsageError("--out is TAXDIR itself: use --in-place to rewrite it")
    if not Path(taxdir).is_dir():
        raise InputError(taxdir, "expected a taxonomy folder (taxonomy.json, expressions.jsonl, centroids.npz)")
    return Path(taxdir) if in_place else out


def save_version(old_dir: Path, new_folder, target: Path, manifest: Manifest, *, in_place: bool,
                 old_version: int) -> None:
    """Write the new version as a whole folder swapped in at once; in place, older files are kept."""
    from .folder import write_version

    write_version(old_dir, new_folder, target, in_place=in_place, old_version=old_version, manifest=manifest)


def _run_edit(ctx_name: str, taxdir: Path, out: Path | None, in_place: bool, author: str, reason: str, apply, **params):
    target = _target(taxdir, out, in_place)
    manifest = Manifest(f"taxonomy edit {ctx_name}", params={"author": author, "reason": reason, "in_place": in_place, **params})
    manifest.add_input(Path(taxdir) / TAXONOMY_FILE, "taxonomy")
    folder = _load(taxdir)
    with manifest.timed("edit"):
        new = apply(folder)
    manifest.count(version=new.taxonomy.version, n_active_values=len(new.taxonomy.active_values()))
    save_version(Path(taxdir), new, target, manifest, in_place=in_place, old_version=folder.taxonomy.version)
    entry = new.taxonomy.lineage[-1]
    click.echo(f"{target}: {new.taxonomy.name} v{new.taxonomy.version} ({entry.op} {json.dumps(entry.args, ensure_ascii=False)})")


@click.group("edit")
def edit_group() -> None:
    """Edit a taxonomy; every edit writes a new version and records who, when and why."""


@edit_group.command("rename")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("value_id")
@click.argument("name")
@version_options
def rename_cmd(taxdir, value_id, name, out, in_place, author, reason):
    """Give VALUE_ID a new NAME (the id stays)."""
    from .edits import rename

    _run_edit("rename", taxdir, out, in_place, author, reason,
              lambda f: rename(f, value_id, name, author=author, reason=reason), value_id=value_id, name=name)


@edit_group.command("define")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("value_id")
@click.argument("definition")
@version_options
def define_cmd(taxdir, value_id, definition, out, in_place, author, reason):
    """Set the one-line DEFINITION of VALUE_ID."""
    from .edits import set_definition

    _run_edit("define", taxdir, out, in_place, author, reason,
              lambda f: set_definition(f, value_id, definition, author=author, reason=reason),
              value_id=value_id, definition=definition)


def _status_command(name: str, op_name: str, doc: str):
    @click.argument("taxdir", type=TAXONOMY_DIR)
    @click.argument("value_id")
    @version_options
    def cmd(taxdir, value_id, out, in_place, author, reason):
        from . import edits

        op = getattr(edits, op_name)
        _run_edit(name, taxdir, out, in_place, author, reason,
                  lambda f: op(f, value_id, author=author, reason=reason), value_id=value_id)

    cmd.__doc__ = doc
    return edit_group.command(name)(cmd)


accept_cmd = _status_command("accept", "accept", "Mark VALUE_ID as accepted (a person kept it).")
reject_cmd = _status_command("reject", "reject", "Mark VALUE_ID as rejected (kept in the file, no longer used).")


@edit_group.command("merge")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("source_id")
@click.argument("target_id")
@version_options
def merge_cmd(taxdir, source_id, target_id, out, in_place, author, reason):
    """Merge SOURCE_ID into TARGET_ID: its expressions move, it keeps its id with status merged."""
    from .edits import merge

    _run_edit("merge", taxdir, out, in_place, author, reason,
              lambda f: merge(f, source_id, target_id, author=author, reason=reason),
              source_id=source_id, target_id=target_id)


@edit_group.command("split")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("value_id")
@click.option("--group", "groups", multiple=True, metavar="EXPR_IDS",
              help="Comma-separated expression ids that form one new value (repeat per value).")
@click.option("-k", "--k", "k", type=int, default=None, help="Re-cluster the value's expressions into K parts.")
@click.option("--name", "names", multiple=True, help="Names of the new values, in order (default: from their expressions).")
@click.option("--embedding-model", default=None, help="Model for the expression vectors (default: the taxonomy's).")
@seed_option
@version_options
def split_cmd(taxdir, value_id, groups, k, names, embedding_model, seed, out, in_place, author, reason):
    """Split VALUE_ID by lists of its expressions (--group) or by k-means (--k)."""
    from .edits import split

    if bool(groups) == (k is not None):
        raise click.UsageError("give either --group (one or more) or --k")
    parsed = [[x.strip() for x in g.split(",") if x.strip()] for g in groups] or None
    embedder = None
    if embedding_model:
        from .embed import Embedder

        embedder = Embedder(embedding_model)
    _run_edit("split", taxdir, out, in_place, author, reason,
              lambda f: split(f, value_id, groups=parsed, k=k, names=list(names) or None, embedder=embedder,
                              seed=seed, author=author, reason=reason),
              value_id=value_id, groups=parsed, k=k, names=list(names), seed=seed)


@edit_group.command("move")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("value_id")
@click.option("--form", "forms", multiple=True,
              help="A form to move, as `taxonomy show --value` prints it: every mention of it goes (repeatable).")
@click.option("--expression", "expressions", multiple=True, metavar="EXPR_IDS",
              help="Comma-separated expression ids to move (`taxonomy show --value --json` lists them).")
@click.option("--to", "to", default=None, metavar="VALUE_ID",
              help="The value they join (default: none; they become outliers, and an update keeps them "
                   "out of VALUE_ID).")
@click.option("--judgments", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The judgments the taxonomy was built from; needed only for one built with --embed-text "
                   "context or sentence.")
@version_options
def move_cmd(taxdir, value_id, forms, expressions, to, judgments, out, in_place, author, reason):
    """Move members of VALUE_ID to another value (--to) or out of every value."""
    from .move_members import member_ids_of_forms, move

    if not forms and not expressions:
        raise click.UsageError("give the members to move: --form (one or more) or --expression")
    texts = None
    if judgments is not None:
        from moralgap.datasets import load_judgments

        texts = {j.id: j.rationale for j in load_judgments(judgments, skip_invalid=True).records if j.rationale}
    ids = [x.strip() for g in expressions for x in g.split(",") if x.strip()]

    def apply(folder):
        wanted = ids + [i for i in member_ids_of_forms(folder, value_id, forms) if i not in ids] if forms else ids
        return move(folder, value_id, wanted, to=to, texts=texts, author=author, reason=reason)

    _run_edit("move", taxdir, out, in_place, author, reason, apply, value_id=value_id, forms=list(forms),
              expression_ids=ids, to=to)


@edit_group.command("set-parent")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("value_id")
@click.argument("parent")
@version_options
def set_parent_cmd(taxdir, value_id, parent, out, in_place, author, reason):
    """Put VALUE_ID in the parent group PARENT ("" removes it from its group)."""
    from .edits import set_parent

    _run_edit("set-parent", taxdir, out, in_place, author, reason,
              lambda f: set_parent(f, value_id, parent, author=author, reason=reason), value_id=value_id, parent=parent)


# -- diff ----------------------------------------------------------------------------------
@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--threshold", type=float, default=None,
              help="Cosine similarity two centroids need to count as the same value across builds (default 0.8).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with old -> new id maps) instead of the table.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON diff to this file (with a run manifest beside it).")
def diff(old, new, threshold, as_json, out):
    """What changed from taxonomy OLD to NEW (folders or taxonomy.json files)."""
    from .diff import DEFAULT_THRESHOLD, diff_taxonomies
    from .folder import TaxonomyFolder

    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    manifest = Manifest("taxonomy diff", params={"threshold": threshold})
    a = TaxonomyFolder.load(old, with_expressions=False)
    b = TaxonomyFolder.load(new, with_expressions=False)
    result = diff_taxonomies(a, b, threshold=threshold)
    if as_json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        click.echo()
    else:
        click.echo(result.format_table())
    if out is not None:
        from moralgap.io import write_json

        for role, p in (("old", old), ("new", new)):
            manifest.add_input(Path(p) / TAXONOMY_FILE if Path(p).is_dir() else p, role)
        write_json(out, result.to_json())
        manifest.add_output(out)
        manifest.count(**result.kinds())
        manifest.write(manifest_path_for(out))


# -- update --------------------------------------------------------------------------------
@click.command("update")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.argument("judgments", type=click.Path(path_type=Path))
@click.option("--threshold", type=float, default=None,
              help="One cosine similarity for every value (default: the build's own outlier threshold).")
@click.option("--percentile", type=float, default=None,
              help="Per-value thresholds instead: this percentile of each value's members' similarity to it.")
@click.option("--min-threshold", type=float, default=None,
              help="Floor under the build's outlier threshold and every per-value threshold (default 0.5).")
@click.option("--min-new-size", type=int, default=3, show_default=True, help="Smallest new value offered.")
@click.option("--n-new-values", type=int, default=None,
              help="Clusters for the leftovers (default: by average value size); with --regroup, values formed "
                   "from everything the reviewed values do not take (default: the build's count, clustered "
                   "with the reviewed values' members).")
@click.option("--replace", is_flag=True, help="JUDGMENTS is the whole corpus: drop the old expressions.")
@click.option("--regroup", is_flag=True,
              help="Cluster the values nobody reviewed again, with the new expressions, by the build's settings; "
                   "accepted, rejected and edited values stay as they are.")
@click.option("--earlier-judgments", type=click.Path(exists=True, path_type=Path), default=None,
              help="The judgments the taxonomy already holds, read for their texts only: --regroup needs them for "
                   "a taxonomy built with --embed-text context or sentence.")
@click.option("--spacy-model", default=None, help="spaCy pipeline for extraction (default as for build).")
@engine_options
@seed_option
@skip_invalid_option
@verdict_map_option
@version_options
def update(taxdir, judgments, threshold, percentile, min_threshold, min_new_size, n_new_values, replace, regroup,
           earlier_judgments, spacy_model, seed, skip_invalid, verdict_map, out, in_place, author, reason,
           engine="local", ray_address=None, ray_workers=None):
    """Add the rationales in JUDGMENTS to the taxonomy in TAXDIR, keeping every existing id."""
    from moralgap.datasets import load_judgments
    from moralgap.verdicts import VerdictMap

    from .extract import ValueExtractor
    from .space import EmbeddingSpace
    from .update import MIN_THRESHOLD, TaxonomyUpdater

    target = _target(taxdir, out, in_place)
    manifest = Manifest("taxonomy update", seed=seed, params=dict(
        threshold=threshold, percentile=percentile, min_threshold=min_threshold, min_new_size=min_new_size,
        n_new_values=n_new_values, replace=replace, regroup=regroup, spacy_model=spacy_model, skip_invalid=skip_invalid,
        verdict_map=verdict_map, author=author, reason=reason, in_place=in_place))
    manifest.add_input(Path(taxdir) / TAXONOMY_FILE, "taxonomy")
    manifest.add_input(judgments, "judgments")
    folder = _load(taxdir)

    def read_rationales(path):
        with manifest.timed("read"):
            read = load_judgments(path, verdict_map=VerdictMap.parse_option(verdict_map), require_rationale=True,
                                  skip_invalid=skip_invalid)
        report_read(read, path)
        return read

    read = read_rationales(judgments)
    if not read.records:
        raise InputError(judgments, "no usable judgments with rationales")
    earlier = None
    if earlier_judgments is not None:
        manifest.add_input(earlier_judgments, "earlier_judgments")
        earlier = read_rationales(earlier_judgments).records
    # Scale hook (issue 17): on Ray the same updater gets an extractor and embedder that run there.
    from moralgap.scale import make_engine

    eng = make_engine(engine, address=ray_address, workers=ray_workers)
    with manifest.timed("load_models"):
        extractor = ValueExtractor(spacy_model) if eng.name == "local" else eng.extractor(spacy_model)
        # The taxonomy's own model, made by the engine (on Ray the texts are embedded there).
        embedder = EmbeddingSpace.of(folder, factory=eng.embedder).embedder
    updater = TaxonomyUpdater(threshold=threshold, percentile=percentile,
                              min_threshold=MIN_THRESHOLD if min_threshold is None else min_threshold,
                              min_new_size=min_new_size, n_new_values=n_new_values, replace=replace,
                              regroup=regroup, seed=seed,
                              embedder=embedder, extractor=extractor)
    with manifest.timed("update"):
        result = updater.update(folder, read.records, author=author, reason=reason, source=str(judgments),
                                earlier=earlier)
    manifest.set_engine(eng.describe())
    eng.close()
    manifest.add_model("spacy", extractor.spacy_model)
    manifest.add_model("embedding", folder.taxonomy.embedding_model or "", path=embedder.model_path,
                       fingerprint=embedder.fingerprint)
    manifest.count(judgments=len(read.records), skipped_invalid=len(read.skipped), **result.stats)
    save_version(Path(taxdir), result.folder, target, manifest, in_place=in_place, old_version=folder.taxonomy.version)
    s = result.stats
    click.echo(f"{target}: v{result.folder.taxonomy.version}: {s['n_new_expressions']} new expressions from "
               f"{s['n_new_rationales']} rationales; {s['assigned_to_existing']} joined existing values, "
               f"{s['assigned_to_new']} formed {s['new_values']} new proposed values, {s['unassigned']} unassigned, "
               f"{s['set_apart']} set apart as not values; "
               f"{s['flagged_no_support']} values flagged no_support; embedded {s['embedded']} new texts "
               f"({s['embedding_cache_hits']} from cache)")
    if regroup:
        click.echo(f"  {s['pinned_values']} reviewed value(s) kept, taking {s['claimed_by_reviewed_values']} expressions; "
                   f"regrouped {s['regrouped_expressions']} expressions: "
                   f"{s['values_kept_ids']} earlier values came back under their ids, "
                   f"{s['values_merged']} merged into their successors")
    if s.get("kept_out_by_review"):
        click.echo(f"  {s['kept_out_by_review']} kept out of the value a reviewer moved their form out of "
                   "(`taxonomy edit move`)")
    if s.get("new_values_rule"):
        what = "regrouped" if regroup else "new"
        click.echo(f"  {what} values sized {s['new_values_rule']}; --n-new-values sets their number")
    if s.get("new_values_doubted_as_topics"):
        click.echo(f"  {s['new_values_doubted_as_topics']} new value(s) sent to review: their rationales mostly "
                   "judge one dilemma (see taxonomy show)")


# -- export / import -------------------------------------------------------------------------
@click.command("export")
@click.argument("taxdir", type=TAXONOMY_DIR)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "labelstudio"]), required=True,
              help="csv: one row per value (id, name, definition, parent, status, size, ...); json: {\"values\": [...]}, "
                   "the shape 'taxonomy import' reads back; labelstudio: a labelling config (XML) with the values "
                   "as a Taxonomy control, ids as aliases.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output file.")
@click.option("--all", "include_inactive", is_flag=True, help="Include rejected and merged values (csv, json).")
def export(taxdir, fmt, out, include_inactive):
    """Write the taxonomy in TAXDIR as CSV, JSON, or a Label Studio labelling config (XML)."""
    from moralgap.taxonomy_file import load_taxonomy, taxonomy_path

    from .export_import import export_taxonomy

    manifest = Manifest("taxonomy export", params={"format": fmt, "all": include_inactive})
    manifest.add_input(taxonomy_path(taxdir), "taxonomy")
    tax = load_taxonomy(taxdir)
    export_taxonomy(tax, out, fmt, include_inactive=include_inactive)
    manifest.add_output(out)
    manifest.count(values=len(tax.values if include_inactive else tax.active_values()))
    manifest.write(manifest_path_for(out))
    click.echo(f"{out}: {fmt} export of {tax.name} v{tax.version}")


@click.command("import")
@click.argument("values_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="New taxonomy folder.")
@click.option("--name", default=None, help="Taxonomy name (default: the file's stem; also salts the ids).")
@click.option("--embedding-model", default=None, help="Model for the value centroids (default all-MiniLM-L6-v2).")
@click.option("--author", default=_default_author, show_default="login name", help="Recorded in the lineage.")
@click.option("--reason", default="", help="Recorded in the lineage.")
def import_(values_file, out, name, embedding_model, author, reason):
    """Start a taxonomy from a hand-written YAML/JSON/CSV list of value names (+ definitions, parents)."""
    from moralgap.io import write_folder_atomically
    from .embed import Embedder
    from .export_import import import_taxonomy

    manifest = Manifest("taxonomy import", params={"name": name, "embedding_model": embedding_model, "author": author})
    manifest.add_input(values_file, "values")
    embedder = Embedder(embedding_model)
    folder = import_taxonomy(values_file, embedder=embedder, embedding_model=embedding_model, name=name,
                             author=author, reason=reason)
    manifest.add_model("embedding", embedding_model or DEFAULT_EMBEDDING_MODEL, path=embedder.model_path,
                       fingerprint=embedder.fingerprint)
    manifest.count(values=len(folder.taxonomy.values))

    def write(tmp: Path) -> None:
        folder.save(tmp)
        manifest.add_output(out / TAXONOMY_FILE)
        manifest.write(tmp / "manifest.json")

    write_folder_atomically(out, write)
    click.echo(f"{out}: {len(folder.taxonomy.values)} accepted values imported from {values_file}")


COMMANDS = [edit_group, diff, update, export, import_]
