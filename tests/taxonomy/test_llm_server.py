"""The LLM path end to end against the real llama-cpp-python server with SmolLM2-135M-Instruct
(fixture ``llama_server`` in tests/conftest.py). SmolLM2 is far too small to find values well;
these tests check the plumbing: schema-constrained answers, validation and bounded retries,
the cache (no request on a rerun, byte-identical builds), replay without a server, and resume
after a kill. No HTTP is mocked.

The tests use a copy of the shipped templates whose schema asks for exactly one expression:
with the shipped schema (zero to eight) SmolLM2 answers every rationale with an empty list,
which would leave the build nothing to cluster.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from moralgap.datasets import load_judgments
from moralgap.taxonomy.llm_client import (LLMSettings, PromptTemplate, ReplayMissingError, StructuredLLM,
                                          check_schema)
from moralgap.taxonomy.llm_extract import LLMExtractor

pytestmark = [pytest.mark.slow, pytest.mark.llm]

SECRET = "sk-moralgap-test-not-a-real-key-5d1f"
DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens there: replay must not need a server


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    from importlib import resources

    folder = tmp_path_factory.mktemp("prompts")
    shipped = resources.files("moralgap.taxonomy.resources").joinpath("prompts")
    for f in ("extract_values.txt", "name_value.txt", "name_value.schema.json"):
        (folder / f).write_bytes(shipped.joinpath(f).read_bytes())
    schema = json.loads(shipped.joinpath("extract_values.schema.json").read_text())
    # One expression per answer keeps SmolLM2's answers short (the tests run on two shared cores).
    schema["properties"]["expressions"].update(minItems=1, maxItems=1)
    (folder / "extract_values.schema.json").write_text(json.dumps(schema))
    return folder


@pytest.fixture(scope="module")
def rationales(sample_dir):
    return load_judgments(sample_dir / "judgments.jsonl", require_rationale=True).records


def _cache_rows(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]


def _build(args, env=None):
    from moralgap.taxonomy.cli_build import build

    res = CliRunner().invoke(build, [str(a) for a in args], env=env)
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output


def test_build_with_llm_extractor_and_namer_is_cached_replayable_and_byte_identical(
        tmp_path, llama_server, prompts, rationales):
    data = tmp_path / "j.jsonl"
    data.write_text("".join(json.dumps(j.to_json_dict()) + "\n" for j in rationales[3:6]), encoding="utf-8")
    cache = tmp_path / "llm.jsonl"
    common = [data, "--n-values", "1", "--extractor", "llm", "--namer", "llm", "--llm-model", "smollm2",
              "--llm-structured", "json_object", "--llm-max-tokens", "120", "--llm-max-attempts", "2",
              "--llm-prompts", prompts, "--llm-cache", cache, "--llm-concurrency", "2"]
    out1 = _build([*common, "--out", tmp_path / "a", "--llm-base-url", llama_server, "--llm-api-key-env", "MG_KEY"],
                  env={"MG_KEY": SECRET})
    m1 = json.loads((tmp_path / "a" / "manifest.json").read_text())
    c1 = m1["counts"]
    rows = _cache_rows(cache)
    assert c1["llm_requests"] == len(rows) > 0 and c1["llm_cache_hits"] == 0
    assert c1["llm_extract_rationales"] == 3 and c1["llm_name_clusters"] == 1
    # The server's grammar holds the answer to the schema unless max_tokens cut it short.
    templates = {t: PromptTemplate.load(t, prompts) for t in ("extract_values", "name_value")}
    finished = [r for r in rows if r["finish_reason"] == "stop"]
    assert finished
    for r in finished:
        check_schema(json.loads(r["answer"]), templates[r["template"]].schema)
        assert r["request"]["response_format"]["type"] == "json_object" and r["model"] == "smollm2"
    # Every invalid answer was retried or reported, never silently dropped.
    failures = (tmp_path / "a" / "llm_failures.jsonl")
    n_failed = len(failures.read_text().splitlines()) if failures.exists() else 0
    assert n_failed == c1["llm_failed_items"] == c1["llm_extract_failed_rationales"] + c1["llm_name_failed_clusters"]
    assert c1["llm_invalid_answers"] >= 2 * c1["llm_extract_failed_rationales"]
    exprs = [json.loads(l) for l in (tmp_path / "a" / "expressions.jsonl").read_text().splitlines()]
    texts = {j.id: j.rationale for j in rationales}
    for e in exprs:
        assert e["rule"] in ("llm", "llm-paraphrase")
        if e["rule"] == "llm":
            assert texts[e["rationale_id"]][e["start"]:e["end"]] == e["text"]
        else:
            assert (e["start"], e["end"], e["excluded"]) == (-1, -1, "llm_paraphrase")
    tax = json.loads((tmp_path / "a" / "taxonomy.json").read_text())
    assert all(v["name_source"] in ("llm:smollm2", "members (llm failed)") for v in tax["values"])
    llm = m1["models"]["llm"]
    assert llm["base_url"] == llama_server and set(llm["templates"]) == {"extract_values", "name_value"}
    assert llm["templates"]["extract_values"] == templates["extract_values"].sha256
    for f in (cache, tmp_path / "a" / "manifest.json", tmp_path / "a" / "taxonomy.json"):
        assert SECRET not in f.read_text()
    assert SECRET not in out1

    # A rerun asks nothing and writes the same taxonomy, byte for byte.
    out2 = _build([*common, "--out", tmp_path / "b", "--llm-base-url", llama_server])
    c2 = json.loads((tmp_path / "b" / "manifest.json").read_text())["counts"]
    assert c2["llm_requests"] == 0 and c2["llm_cache_hits"] == len(rows) and "0 requests" in out2
    assert _cache_rows(cache) == rows
    for f in ("taxonomy.json", "expressions.jsonl"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()

    # Replay needs no server at all; a changed setting is a clear error, not a silent request.
    _build([*common, "--out", tmp_path / "c", "--llm-base-url", DEAD_URL, "--llm-replay"])
    assert (tmp_path / "a" / "taxonomy.json").read_bytes() == (tmp_path / "c" / "taxonomy.json").read_bytes()
    from moralgap.taxonomy.cli_build import build

    res = CliRunner().invoke(build, [str(a) for a in [*common, "--out", tmp_path / "d", "--llm-replay",
                                                      "--llm-temperature", "0.2"]])
    assert res.exit_code != 0 and isinstance(res.exception, ReplayMissingError)
    assert "not in the LLM cache" in str(res.exception) and not (tmp_path / "d").exists()


def test_invalid_answers_are_retried_a_bounded_number_of_times_then_reported(tmp_path, llama_server, rationales):
    # Four tokens cannot hold an answer: the server really returns cut-off JSON every time.
    settings = LLMSettings(model="smollm2", base_url=llama_server, structured="json_object", max_tokens=4,
                           max_attempts=3, concurrency=2)
    cache = tmp_path / "llm.jsonl"
    ex = LLMExtractor(StructuredLLM(settings, cache))
    assert ex.extract(rationales[:2]) == []
    assert ex.stats["failed_rationales"] == 2 and len(ex.failures) == 2
    for f in ex.failures:
        assert f["attempts"] == 3 and len(f["errors"]) == 3 and "cut off at max_tokens" in f["error"]
    assert ex.client.stats["requests"] == 6 == len(_cache_rows(cache)) and ex.client.stats["invalid_answers"] == 6
    temps = sorted(r["request"]["temperature"] for r in _cache_rows(cache))
    assert temps == [0.0, 0.0, 0.7, 0.7, 0.7, 0.7]  # retries sample, so they can differ
    # The invalid answers are cached too: a rerun asks nothing and fails the same way.
    again = LLMExtractor(StructuredLLM(settings, cache))
    assert again.extract(rationales[:2]) == [] and again.client.stats["requests"] == 0
    assert again.failures == ex.failures


_KILLED_RUN = """
import sys
from moralgap.datasets import load_judgments
from moralgap.taxonomy.llm_client import LLMSettings, StructuredLLM
from moralgap.taxonomy.llm_extract import LLMExtractor
sample, cache, url, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
recs = load_judgments(sample, require_rationale=True).records[:n]
s = LLMSettings(model="smollm2", base_url=url, structured="json_object", max_tokens=48, concurrency=1)
LLMExtractor(StructuredLLM(s, cache)).extract(recs)
"""


def test_resume_after_kill_loses_and_duplicates_no_cache_entry(tmp_path, llama_server, sample_dir, rationales):
    n = 8
    cache = tmp_path / "llm.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(sample_dir / "judgments.jsonl"), str(cache),
                             llama_server, str(n)], env={**os.environ, "MORALGAP_PROGRESS": "0"})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists() and len(cache.read_bytes().splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = _cache_rows_tolerant(cache)
    assert 2 <= len(before) < n
    # What a kill in the middle of a write leaves behind: a torn last line.
    with open(cache, "ab") as fh:
        fh.write(b'{"key": "torn-by-kill", "answ')

    settings = LLMSettings(model="smollm2", base_url=llama_server, structured="json_object", max_tokens=48, concurrency=1)
    ex = LLMExtractor(StructuredLLM(settings, cache))
    got = ex.extract(rationales[:n])
    rows = _cache_rows(cache)
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)), "a cache entry was written twice"
    assert rows[:len(before)] == before, "entries from the killed run were lost or changed"
    assert "torn-by-kill" not in keys
    assert ex.client.stats["requests"] == len(rows) - len(before) and ex.client.stats["cache_hits"] >= len(before)
    assert ex.stats["rationales"] == n
    # The resumed cache answers the whole run again without a server, identically.
    replayed = LLMExtractor(StructuredLLM(settings, cache, replay=True)).extract(rationales[:n])
    assert [e.model_dump() for e in replayed] == [e.model_dump() for e in got]
    with pytest.raises(ReplayMissingError, match="not in the LLM cache"):
        LLMExtractor(StructuredLLM(settings, cache, replay=True)).extract(rationales[:n + 1])


def _cache_rows_tolerant(path: Path) -> list[dict]:
    data = path.read_bytes()
    return [json.loads(l) for l in data[: data.rfind(b"\n") + 1].decode().splitlines()]


def test_a_server_that_refuses_stops_the_run_with_a_clear_error(tmp_path, llama_server, rationales):
    from moralgap.errors import ConfigError

    # A wrong path: the real server answers 404, which no retry and no other rationale gets past.
    wrong = LLMSettings(model="smollm2", base_url=llama_server.replace("/v1", "/nowhere/v1"), structured="json_object")
    with pytest.raises(ConfigError, match="refused the request: HTTP 404"):
        LLMExtractor(StructuredLLM(wrong, tmp_path / "a.jsonl")).extract(rationales[:4])
    # llama-cpp-python's server fails on the OpenAI json_schema form (HTTP 500 for every request):
    # the run stops after the first few failures instead of failing every rationale.
    unsupported = LLMSettings(model="smollm2", base_url=llama_server, structured="json_schema", http_retries=0,
                              concurrency=1)
    ex = LLMExtractor(StructuredLLM(unsupported, tmp_path / "b.jsonl"))
    with pytest.raises(ConfigError, match="first 3 LLM requests all failed.*--llm-structured"):
        ex.extract(rationales[:6])
    assert ex.client.stats["http_failures"] == 3 and not (tmp_path / "b.jsonl").read_text()
