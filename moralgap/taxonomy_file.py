"""Reading and writing ``taxonomy.json``, with a schema-version check.

Every stage that consumes a taxonomy (annotation, profiling, alignment) goes through
:func:`load_taxonomy`, so a file from a newer moralgap or a hand edit that breaks the schema
is refused with the file and field named, before any output is written.
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from .errors import InputError, SchemaVersionError
from .io import read_json, write_json
from .records import Taxonomy

SCHEMA_VERSION = 1
TAXONOMY_FILE = "taxonomy.json"


def taxonomy_path(path: str | os.PathLike) -> Path:
    """Accept a build folder or the file itself."""
    p = Path(path)
    # A folder named taxonomy.json is a broken file, not a build folder: the reader says so.
    return p / TAXONOMY_FILE if p.is_dir() and p.name != TAXONOMY_FILE else p


def load_taxonomy(path: str | os.PathLike) -> Taxonomy:
    p = taxonomy_path(path)
    data = read_json(p)
    if not isinstance(data, dict):
        raise InputError(p, "a taxonomy must be a JSON object")
    schema = data.get("schema_version")
    if not isinstance(schema, int):
        raise InputError(p, "missing or non-integer schema version", field="schema_version")
    if schema > SCHEMA_VERSION:
        raise SchemaVersionError(
            p, f"written with schema {schema}, this moralgap reads up to {SCHEMA_VERSION}: upgrade moralgap",
            field="schema_version",
        )
    try:
        tax = Taxonomy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ()))
        raise InputError(p, err.get("msg", "invalid"), field=loc) from None
    ids = [v.id for v in tax.values]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(p, f"duplicate value id(s): {', '.join(dupes)}", field="values.id")
    known = set(ids)
    for i, v in enumerate(tax.values):
        if v.status == "merged" and v.merged_into not in known:
            raise InputError(p, f"value {v.id} is merged into unknown id {v.merged_into!r}", field=f"values.{i}.merged_into")
    return tax


def save_taxonomy(tax: Taxonomy, path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix != ".json":
        p = p / TAXONOMY_FILE
    tax.schema_version = SCHEMA_VERSION
    write_json(p, tax)
    return p
