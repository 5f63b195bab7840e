#!/usr/bin/env bash
# Builds llama-cpp-python (with its [server] extra) into a wheel cache once, then installs from it.
# Compiling llama.cpp takes ~7 minutes on 2 cores; every later run installs the cached wheel in
# seconds. Used by the alignment tests that need a real OpenAI-compatible server.
#   scripts/llama_server_wheel.sh           build if missing, then install
#   scripts/llama_server_wheel.sh --build   build only
set -euo pipefail
PY="${PYTHON:-python3}"
SPEC="${LLAMA_CPP_SPEC:-llama-cpp-python>=0.3}"
WHEELS="${MORALGAP_WHEELS:-$HOME/.cache/moralgap/wheels}"
mkdir -p "$WHEELS"

if "$PY" -c "import llama_cpp.server" >/dev/null 2>&1; then
    echo "llama-cpp-python server already installed"
    exit 0
fi

if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python wheel into $WHEELS (takes several minutes)"
    # Only the compiled package goes into the cache; its pure-Python deps come from the index.
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$PY" -m pip wheel --no-deps --wheel-dir "$WHEELS" "$SPEC"
fi
[ "${1:-}" = "--build" ] && exit 0

"$PY" -m pip install --quiet --find-links "$WHEELS" "llama-cpp-python[server]"
"$PY" -c "import llama_cpp.server; print('llama-cpp-python server installed')"
