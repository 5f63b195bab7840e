"""Rationale annotation in Label Studio: one task per rationale out, every annotator's values back.

Push shows the dilemma, the rationale with its extracted value expressions highlighted and
a grouped, searchable multi-select of the taxonomy's values; rows of the automatic annotator
(``ValueAnnotation`` JSONL with scores) become predictions. Pull turns every submitted
annotation into one ``ValueAnnotation`` row per (rationale, annotator), with timestamps.
A full export is read each time and written atomically, so a pull can be repeated.
"""
from __future__ import annotations

import html
import logging
from collections import Counter
from dataclasses import dataclass, field

from moralgap.records import Dilemma, Expression, Judgment, Taxonomy, ValueAnnotation

from moralgap import label_config as lc
from .labelstudio_files import ExportTask, choice_values, results_by_control, text_values

log = logging.getLogger(__name__)


def highlight_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """HTML of ``text`` with the given (start, end) spans marked; overlapping spans are joined."""
    merged: list[list[int]] = []
    for s, e in sorted((s, e) for s, e in spans if 0 <= s < e <= len(text)):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br/>")


@dataclass
class PushPlan:
    tasks: list[dict]
    skipped_existing: int = 0
    no_rationale: int = 0
    dropped_prediction_values: Counter = field(default_factory=Counter)


def rationale_tasks(judgments: list[Judgment], taxonomy: Taxonomy, *, dilemmas: dict[str, Dilemma] | None = None,
                    expressions: list[Expression] | None = None,
                    predictions: dict[str, ValueAnnotation] | None = None,
                    skip_ids: set[str] | None = None) -> PushPlan:
    """Tasks for every judgment with a rationale (those in ``skip_ids`` are already on the server)."""
    dilemmas, predictions, skip_ids = dilemmas or {}, predictions or {}, skip_ids or set()
    spans: dict[str, list[tuple[int, int]]] = {}
    for e in expressions or []:
        spans.setdefault(e.rationale_id, []).append((e.start, e.end))
    coded = taxonomy.coded_redirects()
    groups = lc.group_of(taxonomy.active_values())
    plan = PushPlan(tasks=[])
    for j in judgments:
        if not (j.rationale or "").strip():
            plan.no_rationale += 1
            continue
        if j.id in skip_ids:
            plan.skipped_existing += 1
            continue
        d = dilemmas.get(j.dilemma_id)
        dilemma_text = (f"{d.title}\n\n{d.text}" if d.title else d.text) if d else "(dilemma text not given)"
        task = {"data": {
            "rationale_id": j.id, "dilemma_id": j.dilemma_id, "dilemma": dilemma_text,
            "verdict": j.verdict or "?", "judge": j.judge, "rationale": j.rationale,
            "rationale_html": highlight_spans(j.rationale, spans.get(j.id, [])),
            "taxonomy": taxonomy.name, "taxonomy_version": taxonomy.version,
        }}
        pred = predictions.get(j.id)
        if pred is not None:
            ids = []
            for vid in pred.value_ids:
                live = coded.get(vid)
                if live is None:
                    plan.dropped_prediction_values[vid] += 1
                elif live not in ids:
                    ids.append(live)
            if ids:
                scores = [pred.scores[v] for v in pred.value_ids if v in pred.scores]
                task["predictions"] = [{
                    "model_version": pred.source or "auto",
                    "score": round(sum(scores) / len(scores), 4) if scores else None,
                    "result": [lc.taxonomy_result(lc.VALUES, lc.RATIONALE_TARGET, ids, groups)],
                }]
                task["data"]["auto_scores"] = {v: round(pred.scores[v], 4) for v in ids if v in pred.scores}
        plan.tasks.append(task)
    return plan


def push_rationales(client, judgments: list[Judgment], taxonomy: Taxonomy, *, project_id: int | None = None,
                    title: str | None = None, overlap: int = 2, **task_kwargs) -> tuple[int, PushPlan]:
    """Create (or extend) a rationale project; tasks already in an existing project are not re-sent."""
    skip: set[str] = set()
    if project_id is None:
        project_id = client.create_project(
            (title or f"Values in rationales ({taxonomy.name} v{taxonomy.version})")[:50],
            lc.rationale_label_config(taxonomy), maximum_annotations=overlap,
            description=f"moralgap rationale annotation with {taxonomy.name} version {taxonomy.version}")
    else:
        skip = {str(t["data"].get("rationale_id")) for t in client.iter_tasks(project_id)}
    plan = rationale_tasks(judgments, taxonomy, skip_ids=skip, **task_kwargs)
    if plan.tasks:
        client.import_tasks(project_id, plan.tasks)
    return project_id, plan


@dataclass
class PullReport:
    tasks: int = 0
    annotations: int = 0
    rows: int = 0
    cancelled: int = 0
    duplicates_replaced: int = 0
    mapped_merged: Counter = field(default_factory=Counter)
    unknown_values: Counter = field(default_factory=Counter)
    foreign_tasks: int = 0

    def summary(self) -> str:
        parts = [f"{self.tasks} tasks", f"{self.annotations} annotations", f"{self.rows} rows written"]
        if self.cancelled:
            parts.append(f"{self.cancelled} skipped (cancelled)")
        if self.duplicates_replaced:
            parts.append(f"{self.duplicates_replaced} older duplicates replaced by the newest")
        if self.mapped_merged:
            parts.append(f"{sum(self.mapped_merged.values())} merged value ids mapped to their target")
        if self.unknown_values:
            parts.append(f"{sum(self.unknown_values.values())} ids of values no longer in the taxonomy dropped "
                         f"({', '.join(sorted(self.unknown_values))})")
        if self.foreign_tasks:
            parts.append(f"{self.foreign_tasks} tasks without a rationale_id ignored")
        return ", ".join(parts)


def annotations_from_tasks(tasks: list[ExportTask], taxonomy: Taxonomy | None = None) -> tuple[list[ValueAnnotation], PullReport]:
    """One row per (rationale, annotator); with a taxonomy, ids are checked and merged ids followed."""
    report = PullReport(tasks=len(tasks))
    by_id = taxonomy.by_id() if taxonomy is not None else {}
    coded = taxonomy.coded_redirects() if taxonomy is not None else {}
    names = {shown.lower(): vid for vid, shown in lc.display_names(list(by_id.values())).items()}
    rows: dict[tuple[str, str], ValueAnnotation] = {}
    for task in tasks:
        rid = task.data.get("rationale_id")
        if rid is None:
            report.foreign_tasks += 1
            continue
        for ann in task.annotations:
            report.annotations += 1
            if ann.was_cancelled:
                report.cancelled += 1
                continue
            ctl = results_by_control(ann.result)
            ids: list[str] = []
            for leaf in choice_values(ctl.get(lc.VALUES, [])):
                if leaf.startswith("group:"):
                    continue
                vid = leaf
                if taxonomy is not None:
                    vid = leaf if leaf in by_id else names.get(leaf.lower(), leaf)
                    live = coded.get(vid)
                    if live is None:
                        report.unknown_values[vid] += 1
                        continue
                    if live != vid:
                        report.mapped_merged[vid] += 1
                    vid = live
                if vid not in ids:
                    ids.append(vid)
            row = ValueAnnotation(
                rationale_id=str(rid), value_ids=sorted(ids), source="human", annotator=ann.annotator,
                taxonomy_version=task.data.get("taxonomy_version"),
                free_text=[t for t in text_values(ctl.get(lc.OTHER_VALUES, []))],
                task_id=task.id, annotation_id=ann.id, created_at=ann.created_at, updated_at=ann.updated_at,
                lead_time=ann.lead_time,
            )
            key = (row.rationale_id, ann.annotator)
            if key in rows:
                # one annotator may submit twice on a task (e.g. after a reset): keep the newest
                report.duplicates_replaced += 1
                if (rows[key].updated_at or "") > (row.updated_at or ""):
                    continue
            rows[key] = row
    out = sorted(rows.values(), key=lambda r: (r.annotator or "", r.rationale_id))
    report.rows = len(out)
    return out, report

