"""Real models: SmolLM2-135M-Instruct through transformers, and through llama-cpp-python's
OpenAI-compatible server (built once into ~/.cache/moralgap/wheels-portable by
scripts/llama_server_wheel.sh), both on 127.0.0.1 / in process, offline. The server fixture,
``llama_server``, lives in tests/conftest.py (the taxonomy's LLM tests use it too)."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moralgap.alignment.cli import judge_command

REPO = Path(__file__).resolve().parents[2]
TEXTS = {"lend": "The main actor refused to lend money to a friend who had never paid back earlier loans.",
         "wedding": "The main actor skipped their sister's wedding to attend a concert."}


def _judge(prompts, out, *args):
    res = CliRunner().invoke(judge_command, [str(prompts), "--out", str(out), *args])
    assert res.exit_code == 0, (res.output, res.exception)
    return [json.loads(l) for l in out.read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.llm
def test_transformers_backend_runs_smollm2(tmp_path, make_prompts):
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from moralgap.alignment.backends.transformers_local import smollm2_gguf_path

    smollm2_gguf_path()
    prompts = make_prompts(TEXTS, max_tokens=24)
    got = _judge(prompts, tmp_path / "j.jsonl", "--backend", "transformers", "--model-path", "smollm2", "--logprobs")
    assert {g["id"] for g in got} == {"lend::vanilla::0000", "wedding::vanilla::0000"}
    for g in got:
        assert g["backend"] == "transformers" and g["judge"].startswith("SmolLM2")
        assert g["raw"] and 0 < g["completion_tokens"] <= 24 and g["prompt_tokens"] > 50
        assert 0.0 < g["p_acceptable"] < 1.0
        assert (g.get("verdict") is None) == ("parse_error" in g)


@pytest.mark.slow
@pytest.mark.llm
def test_openai_backend_against_llama_cpp_server(tmp_path, make_prompts, llama_server):
    prompts = make_prompts(TEXTS, samples=2, max_tokens=40)
    out = tmp_path / "j.jsonl"
    got = _judge(prompts, out, "--backend", "openai", "--base-url", llama_server, "--model", "smollm2",
                 "--concurrency", "2", "--logprobs")
    assert len(got) == 4 and len({g["id"] for g in got}) == 4
    for g in got:
        assert g["backend"] == "openai" and g["judge"] == "smollm2" and g["raw"]
        assert g["completion_tokens"] > 0 and g["prompt_tokens"] > 50
        assert (g.get("verdict") is None) == ("parse_error" in g)
        assert g.get("p_acceptable") is None or 0.0 <= g["p_acceptable"] <= 1.0
    # Rerunning the finished run asks for nothing and changes nothing.
    before = out.read_text()
    _judge(prompts, out, "--backend", "openai", "--base-url", llama_server, "--model", "smollm2")
    assert out.read_text() == before
