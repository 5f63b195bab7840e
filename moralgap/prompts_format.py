"""The ``prompts.jsonl`` format that crosses stages: ``dmp prompts`` writes it, ``judge`` reads it.

This module owns the parts both sides must agree on: the custom id ``<dilemma>::<condition>::<sample>``
and where a plain batch file keeps its metadata (the sidecar ``<stem>.meta.jsonl`` beside
``<stem>.jsonl``). The writer (:func:`moralgap.profiling.batch.write_prompts`) and the reader
(:func:`moralgap.alignment.prompts_file.read_prompts`) both take the names from here.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

SEPARATOR = "::"
SIDECAR_SUFFIX = ".meta.jsonl"


def custom_id(dilemma_id: str, condition: str, sample: int) -> str:
    return f"{dilemma_id}{SEPARATOR}{condition}{SEPARATOR}{sample:04d}"


def split_custom_id(cid: str) -> tuple[str, Optional[str], Optional[int]]:
    """``(dilemma_id, condition, sample)``; a custom id not in the three-part form is all dilemma id."""
    parts = cid.rsplit(SEPARATOR, 2)
    if len(parts) == 3 and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2])
    return cid, None, None


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where the metadata of a plain batch file goes: ``prompts.jsonl`` -> ``prompts.meta.jsonl``."""
    p = Path(path)
    name = p.name[:-len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(name + SIDECAR_SUFFIX)


def legacy_sidecar_path(path: str | os.PathLike) -> Path:
    # moralgap <= 0.1.0 wrote "<out>.meta.jsonl" (prompts.jsonl.meta.jsonl); still read, never written.
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def find_sidecar(path: str | os.PathLike) -> Optional[Path]:
    for candidate in (sidecar_path(path), legacy_sidecar_path(path)):
        if candidate.is_file():
            return candidate
    return None


def split_plain(line: dict) -> tuple[dict, dict]:
    """A batch line without the ``moralgap`` key, and its metadata keyed by ``custom_id``."""
    plain = {k: v for k, v in line.items() if k != "moralgap"}
    return plain, {"custom_id": line["custom_id"], **line["moralgap"]}


def derived_io(command_path: str, params: dict) -> tuple[list[Path], list[Path]]:
    """Inputs and outputs a command uses without naming them as options (for the output guard)."""
    inputs: list[Path] = []
    outputs: list[Path] = []
    if command_path == "judge" and params.get("prompts") and not params.get("meta"):
        inputs += [sidecar_path(params["prompts"]), legacy_sidecar_path(params["prompts"])]
    if command_path == "dmp prompts" and params.get("plain_batch") and params.get("out"):
        outputs.append(sidecar_path(params["out"]))
    return inputs, outputs
