#!/usr/bin/env bash
# Builds llama-cpp-python (with its [server] extra) into a wheel cache once, then installs from it.
# Compiling llama.cpp takes ~7 minutes on 2 idle cores (up to ~30 under load) and needs a C/C++
# compiler; it prints a progress line a minute. Every later run installs the cached wheel in seconds. Used by the alignment tests that need a real OpenAI-compatible server.
#   scripts/llama_server_wheel.sh           build if missing, then install
#   scripts/llama_server_wheel.sh --build   build only
set -euo pipefail
PY="${PYTHON:-python3}"
# Pinned, and compiled for any x86-64 CPU rather than this one (GGML_NATIVE=OFF): built with
# -march=native on the project's machines (AVX-512, AMX), 0.3.36 crashed with a segmentation
# fault on its first chat completion; the portable build serves SmolLM2. LLAMA_CPP_VERSION
# and CMAKE_ARGS override both. Portable wheels live apart from any native one built before.
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
SPEC="llama-cpp-python==$VERSION"
WHEELS="${MORALGAP_WHEELS:-$HOME/.cache/moralgap/wheels-portable}"
mkdir -p "$WHEELS"

if "$PY" -c "import sys, llama_cpp, llama_cpp.server; sys.exit(llama_cpp.__version__ != '$VERSION')" >/dev/null 2>&1; then
    echo "llama-cpp-python server $VERSION already installed"
    exit 0
fi

if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
    # The compile needs a C and a C++ compiler; say so plainly rather than after minutes of cmake.
    if ! { command -v cc || command -v gcc || command -v clang; } >/dev/null 2>&1 \
        || ! { command -v c++ || command -v g++ || command -v clang++; } >/dev/null 2>&1; then
        echo "error: compiling llama-cpp-python needs a C and a C++ compiler (e.g. apt-get install build-essential)" >&2
        exit 2
    fi
    LOG="$WHEELS/build.log"
    echo "== one-time step: compiling llama-cpp-python (the OpenAI-compatible test server) into $WHEELS"
    echo "   about 7 minutes on 2 idle cores, up to 30 on a busy machine; later runs reuse the wheel."
    echo "   full log: $LOG"
    # Only the compiled package goes into the cache; its pure-Python deps come from the index.
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
        "$PY" -m pip wheel -v --no-deps --no-cache-dir --wheel-dir "$WHEELS" "$SPEC" >"$LOG" 2>&1 &
    BUILD=$!
    trap 'kill "$BUILD" 2>/dev/null' INT TERM
    START=$SECONDS
    # A line a minute: elapsed time and how far the compile is (cmake prints "[ NN%] Building ...").
    while kill -0 "$BUILD" 2>/dev/null; do
        sleep 5
        if (( (SECONDS - START) % 60 < 5 )) && (( SECONDS - START >= 60 )); then
            STEP="$(grep -o '\[ *[0-9]*%\]' "$LOG" | tail -n 1 || true)"
            echo "   compiling llama-cpp-python: $(( (SECONDS - START) / 60 )) min elapsed${STEP:+, cmake at $STEP}"
        fi
    done
    if ! wait "$BUILD"; then
        echo "error: the llama-cpp-python build failed; the end of $LOG:" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
    trap - INT TERM
    echo "   llama-cpp-python compiled in $(( (SECONDS - START) / 60 )) min"
fi
[ "${1:-}" = "--build" ] && exit 0

"$PY" -m pip install --quiet --find-links "$WHEELS" "llama-cpp-python[server]==$VERSION"
"$PY" -c "import llama_cpp, llama_cpp.server; print('llama-cpp-python server', llama_cpp.__version__, 'installed')"
