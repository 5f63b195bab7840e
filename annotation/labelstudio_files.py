"""Label Studio's JSON files, offline: task files to import, and export files to read.

The same parser reads a file a user exported by hand and the snapshot moralgap downloads,
so both paths agree. Fields Label Studio adds in newer versions are ignored; a field we need
that is missing or of the wrong type is an InputError naming the task and the field.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moralgap.errors import InputError
from moralgap.io import read_json, write_json


@dataclass
class ExportAnnotation:
    id: int | None
    annotator: str
    result: list[dict]
    created_at: str | None = None
    updated_at: str | None = None
    lead_time: float | None = None
    was_cancelled: bool = False


@dataclass
class ExportTask:
    id: int | None
    data: dict
    annotations: list[ExportAnnotation] = field(default_factory=list)
    project: int | None = None


def write_tasks_file(path: str | os.PathLike, tasks: list[dict]) -> Path:
    """Write tasks (``{"data": ..., "predictions": [...]}``) for Label Studio's import dialog."""
    write_json(path, tasks)
    return Path(path)


def _annotator(raw: Any, users: dict[int, str]) -> str:
    # exports carry the user as an id, or as an object when the server expands it
    if isinstance(raw, dict):
        return str(raw.get("email") or raw.get("username") or f"user-{raw.get('id')}")
    if isinstance(raw, int):
        return users.get(raw, f"user-{raw}")
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    raise ValueError("missing")


def parse_export(obj: Any, source: str | os.PathLike = "<export>", *, users: dict[int, str] | None = None) -> list[ExportTask]:
    """Validate a Label Studio JSON export (a list of tasks) and keep what moralgap reads."""
    users = users or {}
    if not isinstance(obj, list):
        raise InputError(source, f"a Label Studio JSON export is a list of tasks, got {type(obj).__name__}")
    tasks: list[ExportTask] = []
    for i, raw in enumerate(obj):
        where = f"[{i}]"
        if not isinstance(raw, dict):
            raise InputError(source, "task is not a JSON object", field=where)
        data = raw.get("data")
        if not isinstance(data, dict):
            raise InputError(source, "missing or non-object task data", field=f"{where}.data")
        anns_raw = raw.get("annotations", raw.get("completions", []))
        if not isinstance(anns_raw, list):
            raise InputError(source, "annotations must be a list", field=f"{where}.annotations")
        anns: list[ExportAnnotation] = []
        for j, a in enumerate(anns_raw):
            aw = f"{where}.annotations[{j}]"
            if not isinstance(a, dict):
                raise InputError(source, "annotation is not a JSON object", field=aw)
            result = a.get("result", [])
            if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
                raise InputError(source, "annotation result must be a list of objects", field=f"{aw}.result")
            try:
                who = _annotator(a.get("completed_by"), users)
            except ValueError:
                raise InputError(source, "annotation has no annotator", field=f"{aw}.completed_by") from None
            lead = a.get("lead_time")
            anns.append(ExportAnnotation(
                id=a.get("id") if isinstance(a.get("id"), int) else None, annotator=who, result=result,
                created_at=a.get("created_at"), updated_at=a.get("updated_at"),
                lead_time=float(lead) if isinstance(lead, (int, float)) else None,
                was_cancelled=bool(a.get("was_cancelled", False)),
            ))
        tid = raw.get("id")
        proj = raw.get("project")
        tasks.append(ExportTask(id=tid if isinstance(tid, int) else None, data=data, annotations=anns,
                                project=proj if isinstance(proj, int) else None))
    return tasks


def read_export_file(path: str | os.PathLike, *, users: dict[int, str] | None = None) -> list[ExportTask]:
    return parse_export(read_json(path), path, users=users)


def results_by_control(result: list[dict]) -> dict[str, list[dict]]:
    """Group an annotation's result items by the control tag (``from_name``) that made them."""
    out: dict[str, list[dict]] = {}
    for item in result:
        name = item.get("from_name")
        if isinstance(name, str):
            out.setdefault(name, []).append(item)
    return out


def text_values(items: list[dict]) -> list[str]:
    """The typed texts of TextArea results, stripped, empties dropped."""
    texts: list[str] = []
    for item in items:
        for t in (item.get("value") or {}).get("text", []) or []:
            if isinstance(t, str) and t.strip():
                texts.append(t.strip())
    return texts


def choice_values(items: list[dict]) -> list[str]:
    """Chosen values of Choices results, and the leaves of Taxonomy paths."""
    out: list[str] = []
    for item in items:
        value = item.get("value") or {}
        for c in value.get("choices", []) or []:
            if isinstance(c, str):
                out.append(c)
        for path in value.get("taxonomy", []) or []:
            if isinstance(path, list) and path:
                out.append(str(path[-1]))
    return out
