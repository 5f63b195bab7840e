"""Taxonomy review in Label Studio: one task per value out, reviewers' decisions back in.

Push builds one task per active value (name, definition, keywords, exemplar expressions
highlighted inside their rationales) with a prediction that pre-fills the current proposal.
Pull reads every reviewer's decision and applies the winners through the recorded taxonomy
edits of :mod:`taxonomy.edits`, so each decision lands in the lineage with who and why.

Disagreement rule: for each value the votes are counted by their full decision (action plus
its argument: the new name, the merge target, the split size, and a changed definition).
The decision with the most votes wins; when two or more share the top count the value is
left as it was and the tie is reported. Apart from the decision, a reviewer may tick members
that do not belong: a form more than half of the votes ticked moves out of the value
(``taxonomy edit move``), and a later update keeps it out. Pull is safe to repeat: every
applied edit records its project and task in the lineage, and tasks already applied are skipped.
"""
from __future__ import annotations

import html
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field

from moralgap.errors import InputError, MoralgapError
from moralgap.records import Expression, Taxonomy, Value
from moralgap.text import one_line

from moralgap import label_config as lc
from .labelstudio_files import ExportTask, choice_values, results_by_control, text_values

log = logging.getLogger(__name__)

N_EXEMPLARS = 10
# Beside the closest members, a reviewer sees this many of the furthest (the members to doubt):
# exemplars alone show a value at its best, and a misfit ("a civic duty" in "Undermining") sits
# at the other end.
N_FURTHEST = 3
# The forms a reviewer may tick as not belonging, furthest first; a value's misfits are among its
# farthest few, and a longer list of check boxes would bury the decision below it.
N_FORMS_TO_TICK = 15
CONTEXT_CHARS = 160


# -- push ------------------------------------------------------------------------------------
def highlight(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """HTML of ``text`` around ``[start, end)`` with that span marked; everything escaped."""
    if not (0 <= start <= end <= len(text)):
        return html.escape(text[:2 * context])
    lo, hi = max(0, start - context), min(len(text), end + context)
    pre = ("…" if lo > 0 else "") + html.escape(text[lo:start])
    post = html.escape(text[end:hi]) + ("…" if hi < len(text) else "")
    return f"{pre}<mark>{html.escape(text[start:end])}</mark>{post}"


def _mention_html(e: Expression, rationales: dict[str, str]) -> str:
    text = rationales.get(e.rationale_id)
    return highlight(text, e.start, e.end) if text else f"<mark>{html.escape(e.text)}</mark>"


def _exemplar_html(value: Value, expressions: list[Expression], rationales: dict[str, str], n: int,
                   n_furthest: int = 0) -> tuple[list[str], list[str]]:
    """The ``n`` mentions closest to the value's centroid, and up to ``n_furthest`` of the rest,
    furthest first, one per form, each with its similarity."""
    mine = sorted((e for e in expressions if e.value_id == value.id),
                  key=lambda e: (-(e.similarity if e.similarity is not None else -1.0), e.id))
    closest = [_mention_html(e, rationales) for e in mine[:n]]
    if not closest:
        closest = [html.escape(x) for x in value.exemplars[:n]]
    shown = {e.norm for e in mine[:n]}
    by_form: dict[str, list[Expression]] = {}
    for e in reversed(mine[n:]):
        if e.norm not in shown and e.similarity is not None:
            by_form.setdefault(e.norm, []).append(e)
    furthest = []
    for norm, es in list(by_form.items())[:n_furthest]:
        # A mention whose rationale is at hand shows the form in its sentence.
        e = next((x for x in es if x.rationale_id in rationales), es[0])
        furthest.append(f"{_mention_html(e, rationales)} <i>(similarity {e.similarity:.2f})</i>")
    return closest, furthest


def review_tasks(taxonomy: Taxonomy, expressions: list[Expression] | None = None,
                 rationales: dict[str, str] | None = None, *, n_exemplars: int = N_EXEMPLARS) -> list[dict]:
    """Label Studio tasks (data + prediction) for every value of ``taxonomy`` a reviewer can still
    decide on: proposed, accepted, and those the build sent to review (``needs_review``), which
    need a reviewer most."""
    from moralgap.taxonomy.edits import ACTIVE
    from moralgap.taxonomy.members import forms_of
    from moralgap.taxonomy.move_members import below_bar, forms_moved_in

    expressions, rationales = expressions or [], rationales or {}
    by_id = taxonomy.by_id()
    tasks = []
    for v in (v for v in taxonomy.values if v.status in ACTIVE):
        examples, furthest = _exemplar_html(v, expressions, rationales, n_exemplars, N_FURTHEST)
        q = v.quality or {}
        # The value a merge would most likely go into, as `taxonomy show` pairs them.
        near = by_id.get(q.get("nearest_value") or "")
        nearest = (f"<p><b>Nearest value:</b> {html.escape(near.name)} ({near.id}, centroid similarity "
                   f"{q['nearest_similarity']:.2f})</p>" if near is not None and q.get("nearest_similarity") is not None
                   else "")
        card = (f"<p><b>Definition:</b> {html.escape(v.definition or '(none)')}</p>"
                + (f"<p><b>Why the build doubts it:</b> {html.escape(v.review_reason)}</p>" if v.review_reason else "")
                + nearest
                + f"<p><b>Keywords:</b> {html.escape(', '.join(v.keywords) or '(none)')}</p>"
                "<p><b>Exemplars</b> (closest to the value first):</p><ol>" + "".join(f"<li>{x}</li>" for x in examples)
                + "</ol>")
        if furthest:
            card += ("<p><b>Furthest from the value</b> (the members to doubt: tick those that do not belong "
                     "below; many make it a split):</p><ul>" + "".join(f"<li>{x}</li>" for x in furthest)
                     + "</ul>")
        summary = (f"id {v.id} · {v.status} · {v.size} expressions · group: {v.parent or lc.UNGROUPED}")
        # The current proposal is pre-filled, except "keep" for a value the build itself doubts.
        prefill = ([] if v.status == "needs_review" else [lc.choices_result(lc.DECISION, lc.REVIEW_TARGET, ["keep"])]) \
            + [lc.textarea_result(lc.NEW_NAME, lc.REVIEW_TARGET, [v.name])]
        if v.definition:
            prefill.append(lc.textarea_result(lc.NEW_DEFINITION, lc.REVIEW_TARGET, [v.definition]))
        # Every form a reviewer may tick out, furthest from the value first (the misfits sit there),
        # those below the build's bar for an outlier to join a value marked as `taxonomy show` marks them.
        held = forms_of(expressions, v.id)
        placed, below = forms_moved_in(taxonomy, v.id), below_bar(taxonomy, v.id, held)
        forms = [{"value": m.norm, "html": f"{html.escape(m.written)} <i>({m.similarity:.2f})</i>"
                  + (" <i>moved here by a reviewer</i>" if m.norm in placed else
                     " <b>! below the build's bar</b>" if m.norm in below else "")}
                 for m in reversed(held) if m.similarity is not None][:N_FORMS_TO_TICK]
        tasks.append({
            "data": {"value_id": v.id, "name": v.name, "definition": v.definition, "summary": summary,
                     "card_html": card, "taxonomy": taxonomy.name, "taxonomy_version": taxonomy.version,
                     lc.MEMBER_FORMS: forms},
            "predictions": [{"model_version": f"{taxonomy.name} v{taxonomy.version}", "score": 1.0,
                             "result": prefill}],
        })
    return tasks


def push_review(client, folder, *, rationales: dict[str, str] | None = None, title: str | None = None,
                n_exemplars: int = N_EXEMPLARS, reviewers: int = 2) -> tuple[int, int]:
    """Create the review project and import its tasks; return (project id, number of tasks)."""
    tax = folder.taxonomy
    tasks = review_tasks(tax, folder.expressions, rationales, n_exemplars=n_exemplars)
    if not tasks:
        raise InputError(None, f"taxonomy {tax.name} v{tax.version} has no active values to review")
    title = title or f"Review {tax.name} v{tax.version}"
    pid = client.create_project(title[:50], lc.review_label_config(tax), maximum_annotations=reviewers,
                                description=f"moralgap taxonomy review of {tax.name} version {tax.version}")
    client.import_tasks(pid, tasks)
    return pid, len(tasks)


# -- pull: votes -------------------------------------------------------------------------------
@dataclass
class Vote:
    value_id: str
    annotator: str
    action: str
    name: str | None = None
    definition: str | None = None  # only when it differs from the current one
    merge_into: str | None = None
    split_k: int | None = None
    note: str = ""
    task_id: int | None = None
    annotation_id: int | None = None
    # Forms ticked as not belonging; counted apart from the decision, form by form.
    members_out: tuple[str, ...] = ()

    def key(self) -> tuple:
        arg = {"rename": self.name, "merge": self.merge_into, "split": self.split_k}.get(self.action)
        return (self.action, arg, self.definition)

    def describe(self) -> str:
        arg = {"rename": f" to {self.name!r}", "merge": f" into {self.merge_into}",
               "split": f" into {self.split_k} parts"}.get(self.action, "")
        extra = " with a new definition" if self.definition else ""
        return f"{self.action}{arg}{extra}"


def _resolve_value_ref(ref: str, by_id: dict[str, Value], names: dict[str, str]) -> str | None:
    if ref in by_id:
        return ref
    low = ref.strip().lower()
    for vid, shown in names.items():
        if shown.lower() == low:
            return vid
    return None


def votes_from_task(task: ExportTask, taxonomy: Taxonomy, problems: list[dict]) -> list[Vote]:
    """Each reviewer's decision on one value task; malformed ones are reported, not guessed."""
    vid = task.data.get("value_id")
    by_id = taxonomy.by_id()
    names = lc.display_names(list(by_id.values()))
    votes = []
    for ann in task.annotations:
        if ann.was_cancelled:
            continue
        ctl = results_by_control(ann.result)
        actions = choice_values(ctl.get(lc.DECISION, []))
        where = {"task": task.id, "value_id": vid, "annotator": ann.annotator}
        if len(actions) != 1 or actions[0] not in lc.REVIEW_ACTIONS:
            problems.append({**where, "problem": f"no single decision among {lc.REVIEW_ACTIONS} (got {actions})"})
            continue
        v = Vote(value_id=str(vid), annotator=ann.annotator, action=actions[0], task_id=task.id, annotation_id=ann.id,
                 note=" ".join(text_values(ctl.get(lc.NOTE, []))),
                 members_out=tuple(sorted(set(choice_values(ctl.get(lc.MEMBERS_OUT, []))))))
        current = by_id.get(str(vid))
        new_def = text_values(ctl.get(lc.NEW_DEFINITION, []))
        if new_def and current is not None and one_line(new_def[-1]) != one_line(current.definition):
            v.definition = new_def[-1]
        if v.action == "rename":
            new_name = text_values(ctl.get(lc.NEW_NAME, []))
            if not new_name or (current is not None and new_name[-1] == current.name):
                problems.append({**where, "problem": "rename without a new name"})
                continue
            v.name = one_line(new_name[-1])
        elif v.action == "merge":
            targets = choice_values(ctl.get(lc.MERGE_INTO, []))
            if len(targets) != 1:
                problems.append({**where, "problem": f"merge needs exactly one target value (got {len(targets)})"})
                continue
            v.merge_into = _resolve_value_ref(targets[0], by_id, names)
            if v.merge_into is None:
                problems.append({**where, "problem": f"merge target {targets[0]!r} is not in the taxonomy"})
                continue
        elif v.action == "split":
            nums = [(item.get("value") or {}).get("number") for item in ctl.get(lc.SPLIT_K, [])]
            k = nums[-1] if nums else 2
            if not isinstance(k, (int, float)) or int(k) < 2:
                problems.append({**where, "problem": f"split needs at least 2 parts (got {k})"})
                continue
            v.split_k = int(k)
        votes.append(v)
    return votes


def members_out(votes: list[Vote]) -> list[str]:
    """The forms more than half of the votes on one value ticked as not belonging."""
    ticked = Counter(f for v in votes for f in v.members_out)
    return sorted(f for f, n in ticked.items() if 2 * n > len(votes))


@dataclass
class Outcome:
    value_id: str
    votes: int
    winner: Vote | None
    tally: dict[str, int]
    annotators: list[str] = field(default_factory=list)


def majority(votes: list[Vote]) -> Outcome:
    """The decision with the most votes, or no winner on a tie (the value stays as it was)."""
    counts = Counter(v.key() for v in votes)
    described = {v.key(): v.describe() for v in votes}
    tally = {described[k]: n for k, n in counts.most_common()}
    top = counts.most_common()
    vid = votes[0].value_id
    if len(top) > 1 and top[0][1] == top[1][1]:
        return Outcome(vid, len(votes), None, tally, sorted({v.annotator for v in votes}))
    win_key = top[0][0]
    winners = [v for v in votes if v.key() == win_key]
    return Outcome(vid, len(votes), winners[0], tally, sorted({v.annotator for v in winners}))


# -- pull: applying ------------------------------------------------------------------------------
@dataclass
class ReviewReport:
    project_id: int
    from_version: int
    to_version: int = 0
    applied: list[dict] = field(default_factory=list)
    ties: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    unreviewed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"v{self.from_version} -> v{self.to_version}: {len(self.applied)} decisions applied, "
                f"{len(self.ties)} ties left as they were, {len(self.conflicts)} conflicts, "
                f"{len(self.skipped)} skipped, {len(self.problems)} unreadable votes, "
                f"{len(self.unreviewed)} values without votes")


def applied_tasks(taxonomy: Taxonomy) -> set[tuple[int, int]]:
    """(project, task) pairs whose decision an earlier pull already put into the lineage."""
    done = set()
    for entry in taxonomy.lineage:
        mark = entry.args.get("review") if isinstance(entry.args, dict) else None
        if isinstance(mark, dict) and "project" in mark and "task" in mark:
            done.add((int(mark["project"]), int(mark["task"])))
    return done


def _edit_steps(outcome: Outcome, value: Value) -> list[tuple[str, dict]]:
    """The edit calls (name, kwargs) one winning decision needs, in order."""
    w = outcome.winner
    steps: list[tuple[str, dict]] = []
    if w.definition and w.action in ("keep", "rename", "split"):
        steps.append(("set_definition", {"definition": w.definition}))
    if w.action == "rename":
        steps.append(("rename", {"name": w.name}))
    if w.action in ("keep", "rename") and value.status != "accepted":
        steps.append(("accept", {}))
    if w.action == "reject":
        steps.append(("reject", {}))
    if w.action == "split":
        steps.append(("split", {"k": w.split_k}))
    if w.action == "merge":
        steps.append(("merge", {"target_id": w.merge_into}))
    return steps


def apply_review(folder, tasks: list[ExportTask], project_id: int, *, embedder=None, seed: int | None = None,
                 texts: dict[str, str] | None = None):
    """Apply the reviewers' decisions to ``folder``; return (new folder, report). Nothing is written.

    ``embedder``, ``seed`` and ``texts`` (rationale texts by id) serve split decisions, which
    re-cluster a value's expressions on their embeddings, and members ticked out, which move
    out of the value (:func:`taxonomy.move_members.move`) before its decision is applied. A form
    goes when more than half of the value's votes ticked it, whatever they decided about the
    value, and even when that decision is tied; not when the value is rejected.
    """
    from moralgap.taxonomy import edits
    from moralgap.taxonomy.move_members import member_ids_of_forms, move

    tax = folder.taxonomy
    report = ReviewReport(project_id=project_id, from_version=tax.version)
    done = applied_tasks(tax)
    outcomes: list[tuple[Outcome, list[str], list[Vote], int | None, int]] = []
    for task in tasks:
        vid = task.data.get("value_id")
        pid = task.project if task.project is not None else project_id
        if not isinstance(vid, str):
            report.problems.append({"task": task.id, "problem": "task has no value_id: not a moralgap review task"})
            continue
        if task.id is not None and (pid, task.id) in done:
            report.skipped.append({"task": task.id, "value_id": vid, "why": "already applied by an earlier pull"})
            continue
        votes = votes_from_task(task, tax, report.problems)
        if not votes:
            report.unreviewed.append(vid)
            continue
        by_id = tax.by_id()
        if vid not in by_id or by_id[vid].status not in edits.ACTIVE:
            state = "not in the taxonomy" if vid not in by_id else f"{by_id[vid].status}"
            report.skipped.append({"task": task.id, "value_id": vid, "why": f"value is {state} any more"})
            continue
        outcome = majority(votes)
        out = members_out(votes)
        if outcome.winner is None:
            report.ties.append({"task": task.id, "value_id": vid, "name": by_id[vid].name, "tally": outcome.tally})
            if not out:
                continue
        outcomes.append((outcome, out, votes, task.id, pid))

    # merges last: a merge target renamed or split in the same review is still the same id
    outcomes.sort(key=lambda ot: ot[0].winner is not None and ot[0].winner.action == "merge")
    current = folder
    for outcome, out, votes, task_id, pid in outcomes:
        w, vid = outcome.winner, outcome.value_id
        steps = _edit_steps(outcome, current.taxonomy.get(vid)) if w is not None else []
        if out and not (w is not None and w.action == "reject"):
            # First, so that a split or a merge no longer carries the members ticked out.
            steps.insert(0, ("move", {"forms": out}))
        decided = "; ".join(filter(None, [w.describe() if w is not None else "",
                                          f"take out {', '.join(repr(f) for f in out)}" if out else ""]))
        trial = current
        try:
            for op, kwargs in steps:
                if op == "move":
                    by = sorted({v.annotator for v in votes if set(kwargs["forms"]) & set(v.members_out)})
                    author = "review: " + ", ".join(by)
                    reason = (f"Label Studio project {pid} task {task_id}: more than half of {len(votes)} votes "
                              "ticked these members as not belonging")
                    ids = member_ids_of_forms(trial, vid, kwargs["forms"])
                    trial = move(trial, vid, ids, embedder=embedder, texts=texts, author=author, reason=reason)
                else:
                    author = "review: " + ", ".join(outcome.annotators)
                    reason = (f"Label Studio project {pid} task {task_id}: {outcome.tally[w.describe()]} of "
                              f"{outcome.votes} votes for {w.describe()}" + (f" ({w.note})" if w.note else ""))
                    fn = getattr(edits, op)
                    if op == "split":
                        kwargs = {**kwargs, "embedder": embedder, "texts": texts,
                                  **({"seed": seed} if seed is not None else {})}
                    trial = fn(trial, vid, **kwargs, author=author, reason=reason)
                trial.taxonomy.lineage[-1].args["review"] = {"project": pid, "task": task_id}
        except MoralgapError as exc:
            report.conflicts.append({"task": task_id, "value_id": vid, "decision": decided,
                                     "why": getattr(exc, "message", str(exc))})
            continue
        if trial is current:  # e.g. "keep" on a value already accepted: nothing to record
            report.applied.append({"task": task_id, "value_id": vid, "decision": decided, "edits": []})
            continue
        n_new = trial.taxonomy.version - current.taxonomy.version
        report.applied.append({"task": task_id, "value_id": vid, "decision": decided,
                               "edits": [e.op for e in trial.taxonomy.lineage[-n_new:]], "by": outcome.annotators})
        current = trial
    report.to_version = current.taxonomy.version
    return current, report

