PYTHON ?= python3
.PHONY: setup sample test test-fast

setup:
	PYTHON=$(PYTHON) bash scripts/setup.sh

# The main job on the bundled sample, offline models only, no server needed.
sample: setup
	moralgap taxonomy build data/sample/judgments.jsonl --out runs/sample
	moralgap taxonomy show runs/sample

# The whole test suite (starts its own Label Studio and LLM servers on 127.0.0.1).
# llama-cpp-python (the OpenAI-compatible test server) compiles once, ~7 min, then is cached.
test: setup
	PYTHON=$(PYTHON) bash scripts/llama_server_wheel.sh
	$(PYTHON) -m pytest -ra

test-fast: 
	$(PYTHON) -m pytest -ra -m "not slow"
