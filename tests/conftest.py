"""Fixtures shared by every test folder.

Real models only: the embedder fixture loads the real all-MiniLM-L6-v2 from the offline
package, with a per-session cache folder so tests never read a developer's cache.
Third-party data is read from ../shared/data (or MORALGAP_SHARED_DATA) and tests that need it
skip with the reason when it is absent.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
def benchmark_module():
    """Import a script of benchmarks/ by name, for tests of its pure helpers; the folder is on
    the path only while the module loads, as the scripts import each other by plain name."""
    import importlib

    def load(name: str):
        folder = str(REPO / "benchmarks")
        sys.path.insert(0, folder)
        try:
            return importlib.import_module(name)
        finally:
            sys.path.remove(folder)

    return load


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server():
    """llama-cpp-python's OpenAI-compatible server serving the SmolLM2 GGUF on 127.0.0.1, once per
    test session (installs the cached wheel; set MORALGAP_BUILD_LLAMA=0 to skip instead)."""
    from moralgap.alignment.backends.transformers_local import smollm2_gguf_path

    no_build = os.environ.get("MORALGAP_BUILD_LLAMA") == "0"
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        if no_build:
            pytest.skip("llama-cpp-python is not installed and MORALGAP_BUILD_LLAMA=0")
    if not no_build:
        # The script installs the pinned version (another one may crash on its first request)
        # and returns at once when it is there; MORALGAP_BUILD_LLAMA=0 uses what is installed.
        subprocess.run(["bash", str(REPO / "scripts" / "llama_server_wheel.sh")], check=True,
                       env={**os.environ, "PYTHON": sys.executable})
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf_path()),
                             "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                             "--n_threads", "2", "--logits_all", "true"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama-cpp-python server did not start")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=30)
