"""Fixtures shared by every test folder.

Real models only: the embedder fixture loads the real all-MiniLM-L6-v2 from the offline
package, with a per-session cache folder so tests never read a developer's cache.
Third-party data is read from ../shared/data (or MORALGAP_SHARED_DATA) and tests that need it
skip with the reason when it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def shared_data_dir() -> Path:
    return Path(os.environ.get("MORALGAP_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"third-party data folder {d} is absent (set MORALGAP_SHARED_DATA)")
    return d


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    os.environ["MORALGAP_CACHE_DIR"] = str(tmp_path_factory.mktemp("moralgap-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["MORALGAP_PROGRESS"] = "0"
    yield


@pytest.fixture(scope="session")
def embedder():
    from moralgap.taxonomy.embed import Embedder

    return Embedder()
