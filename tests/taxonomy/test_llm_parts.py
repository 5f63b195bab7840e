"""The LLM path's parts that need no server: templates, schema checks, quote location, answer
rules, the cache's crash recovery and lock, and the CLI's refusals. Server tests are in
test_llm_server.py."""
import json
from importlib import resources

import pytest

from moralgap.errors import ConfigError
from moralgap.taxonomy.llm_client import (InvalidAnswer, LLMCache, LLMSettings, PromptTemplate, StructuredLLM,
                                          check_schema, parse_answer)
from moralgap.taxonomy.llm_extract import LLMExtractor, locate, normal_form
from moralgap.taxonomy.llm_extract import validate_answer as validate_extract
from moralgap.taxonomy.llm_namer import LLMNamer, view_fields
from moralgap.taxonomy.llm_namer import validate_answer as validate_name
from moralgap.taxonomy.naming import ClusterView


def test_shipped_templates_render_and_hash_their_text_and_schema(tmp_path):
    t = PromptTemplate.load("extract_values")
    msgs = t.render({"rationale": "You lied to her about the money."})
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "You lied to her about the money." in msgs[1]["content"] and "$rationale" not in msgs[1]["content"]
    assert "moralgap prompt template" not in msgs[0]["content"] + msgs[1]["content"]  # comments stay out
    n = PromptTemplate.load("name_value")
    assert n.schema["required"] == ["is_value", "name", "definition", "reason"] and n.sha256 != t.sha256
    # A copy hashes the same; one changed schema keyword changes the hash (and so every cache key).
    for f in ("extract_values.txt", "extract_values.schema.json"):
        (tmp_path / f).write_bytes(resources.files("moralgap.taxonomy.resources").joinpath("prompts", f).read_bytes())
    assert PromptTemplate.load("extract_values", tmp_path).sha256 == t.sha256
    schema = json.loads((tmp_path / "extract_values.schema.json").read_text())
    schema["properties"]["expressions"]["maxItems"] = 3
    (tmp_path / "extract_values.schema.json").write_text(json.dumps(schema))
    assert PromptTemplate.load("extract_values", tmp_path).sha256 != t.sha256
    with pytest.raises(ConfigError, match="needs field 'rationale'"):
        t.render({})
    with pytest.raises(ConfigError, match="missing"):
        PromptTemplate.load("no_such_template")


def test_answers_are_checked_against_the_schema():
    schema = PromptTemplate.load("extract_values").schema
    ok = parse_answer('```json\n{"expressions": [{"quote": "lied", "phrase": "Honesty", "polarity": "violated"}]}\n```',
                      "stop", schema)
    assert ok["expressions"][0]["quote"] == "lied"
    bad = {
        '{"expressions": [{"quote": "lied", "phrase": "honesty"}]}': "missing 'polarity'",
        '{"expressions": [{"quote": "lied", "phrase": "honesty", "polarity": "broken"}]}': "not one of",
        '{"expressions": [], "note": 1}': "unexpected",
        '{"expressions": "none"}': "expected array",
        '{"expressions": [{"quote": 3, "phrase": "x", "polarity": "upheld"}]}': "expected string",
        '{"expressions": [{"quo': "cut off at max_tokens",
        "": "empty answer",
    }
    for text, why in bad.items():
        with pytest.raises(InvalidAnswer, match=why):
            parse_answer(text, "length", schema)
    with pytest.raises(InvalidAnswer, match="9 items"):
        check_schema({"expressions": [{"quote": "a", "phrase": "b", "polarity": "upheld"}] * 9}, schema)
    with pytest.raises(InvalidAnswer, match="expected boolean"):
        check_schema({"is_value": 1, "name": "", "definition": "", "reason": ""}, PromptTemplate.load("name_value").schema)


def test_quotes_are_found_exactly_or_loosely_and_never_invented():
    text = "You LIED  to her. And you \u2019d lied to her before:\nlied to her twice."
    first = text.index("lied to her")
    assert locate(text, "lied to her", set()) == (first, first + 11)  # the exact match first
    second = text.index("lied to her", first + 1)
    assert locate(text, "lied to her", {(first, first + 11)}) == (second, second + 11)
    assert locate(text, '"she lied to him"', set()) is None  # not in the text with those words
    assert locate(text, "you LIED to her", set()) == (0, 16)  # case and spacing differ
    assert text[0:16] == "You LIED  to her"
    start = text.index("you \u2019d")
    assert locate(text, "you 'd lied", set()) == (start, start + 11)  # curly versus straight quote
    assert locate(text, "honesty matters", set()) is None
    assert locate(text, "lied to her twice!", set()) == (text.index("lied to her twice"), len(text) - 1)
    assert locate(text, "lied to him.", set()) is None
    assert normal_form("  Respect for  PRIVACY. ") == "respect for privacy"


def _extractor():
    client = StructuredLLM(LLMSettings(model="m"), "/nonexistent/cache.jsonl")
    return LLMExtractor(client)


def test_expressions_carry_real_offsets_and_paraphrases_are_kept_apart():
    text = "YTA. You lied to her, and lying to your wife is a betrayal of trust."
    items = validate_extract({"expressions": [
        {"quote": "a betrayal of trust", "phrase": "Trust", "polarity": "violated"},
        {"quote": "You lied to her", "phrase": "honesty", "polarity": "violated"},
        {"quote": "you were dishonest with her", "phrase": "honesty", "polarity": "violated"},
        {"quote": "YTA", "phrase": "yta", "polarity": "violated"},
    ]}, {"rationale": text})
    ex = _extractor()
    got = ex.expressions_of("r1", text, items)
    assert [e.id for e in got] == ["r1#0", "r1#1", "r1#2", "r1#3"]
    located = [e for e in got if e.rule == "llm"]
    assert [e.text for e in located] == ["YTA", "You lied to her", "a betrayal of trust"]  # in text order
    for e in located:
        assert text[e.start:e.end] == e.text
    assert located[0].excluded == "verdict" and located[1].excluded is None and located[2].norm == "trust"
    para = got[-1]
    assert (para.rule, para.start, para.end, para.excluded) == ("llm-paraphrase", -1, -1, "llm_paraphrase")
    assert para.text == "you were dishonest with her"
    assert ex.stats == {"rationales": 0, "expressions": 4, "paraphrased": 1, "excluded": 2, "failed_rationales": 0}


def test_extraction_answers_that_break_the_rules_are_invalid():
    for item, why in [({"quote": " ", "phrase": "x", "polarity": "upheld"}, "empty quote"),
                      ({"quote": "x", "phrase": "...", "polarity": "upheld"}, "empty phrase"),
                      ({"quote": "x", "phrase": "one two three four five six seven", "polarity": "upheld"}, "7 words"),
                      ({"quote": "a much longer quote than the text", "phrase": "x", "polarity": "upheld"}, "longer")]:
        with pytest.raises(InvalidAnswer, match=why):
            validate_extract({"expressions": [item]}, {"rationale": "short text"})


def test_namer_answers_are_checked_and_fields_show_exemplars_and_contexts():
    assert validate_name({"is_value": True, "name": "respect for privacy", "definition": "People should not pry.",
                          "reason": ""}, {}) == {"is_value": True, "name": "Respect for Privacy",
                                                 "definition": "People should not pry."}
    not_value = validate_name({"is_value": False, "name": "Verdicts", "definition": "", "reason": "Only verdict words."}, {})
    assert not_value == {"is_value": False, "name": "Verdicts", "reason": "Only verdict words."}
    for ans, why in [({"is_value": True, "name": "Being Very Honest Always", "definition": "x.", "reason": ""}, "longer"),
                     ({"is_value": True, "name": "Honesty!", "definition": "x.", "reason": ""}, "letters"),
                     ({"is_value": True, "name": "Honesty", "definition": "", "reason": ""}, "needs a definition"),
                     ({"is_value": True, "name": "Honesty", "definition": "Tell the truth. Always.", "reason": ""}, "one short"),
                     ({"is_value": False, "name": "x", "definition": "", "reason": " "}, "no reason")]:
        with pytest.raises(InvalidAnswer, match=why):
            validate_name(ans, {})
    view = ClusterView(exemplars=["you lied", "dishonest"], forms=["lie", "dishonest"], keywords=["lie"], size=7,
                       n_rationales=5, contexts=["You lied to her   about it."])
    f = view_fields(view)
    assert f["exemplars"] == '- lie  ("you lied")\n- dishonest' and f["contexts"] == "- You lied to her about it."
    assert (f["size"], f["n_rationales"], f["keywords"]) == (7, 5, "lie")
    msgs = PromptTemplate.load("name_value").render(f)
    assert "- lie" in msgs[1]["content"] and "7 expressions from 5 comments" in msgs[1]["content"]


def test_cache_survives_a_torn_line_never_duplicates_and_locks(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = LLMCache(path)
    cache.put({"key": "a", "answer": "1"})
    cache.put({"key": "a", "answer": "different"})  # a key is written once
    with pytest.raises(ConfigError, match="in use by another process"):
        LLMCache(path)
    cache.close()
    with open(path, "a") as fh:
        fh.write('{"key": "b", "ans')  # what a kill in the middle of a write leaves
    replay = LLMCache(path, writable=False)  # reading never repairs the file
    assert set(replay.rows) == {"a"} and path.read_text().endswith('"ans')
    cache = LLMCache(path)
    assert set(cache.rows) == {"a"} and cache.get("a")["answer"] == "1"
    cache.put({"key": "b", "answer": "2"})
    cache.close()
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    assert [r["key"] for r in lines] == ["a", "b"]
    with pytest.raises(ConfigError, match="does not exist"):
        LLMCache(tmp_path / "none.jsonl", writable=False)


def test_settings_and_cli_refuse_what_cannot_work(tmp_path, sample_dir):
    from click.testing import CliRunner

    from moralgap.taxonomy.cli_build import build

    with pytest.raises(ConfigError, match="structured"):
        LLMSettings(model="m", structured="xml")
    with pytest.raises(ConfigError, match="at least 1"):
        LLMSettings(model="m", max_attempts=0)
    runner = CliRunner()
    res = runner.invoke(build, [str(sample_dir / "judgments.jsonl"), "--out", str(tmp_path / "t"), "--namer", "llm"])
    assert res.exit_code != 0 and "--llm-model" in str(res.exception or res.output)
    res = runner.invoke(build, [str(sample_dir / "judgments.jsonl"), "--out", str(tmp_path / "t"), "--llm-replay"])
    assert res.exit_code != 0 and "--llm-replay needs" in str(res.exception or res.output)
    out = tmp_path / "t"
    res = runner.invoke(build, [str(sample_dir / "judgments.jsonl"), "--out", str(out), "--namer", "llm",
                                "--llm-model", "m", "--llm-cache", str(out / "cache.jsonl")])
    # Refused by llm_options, or first by the CLI's output guard (moralgap/outputs.py) once a test
    # in this process has gone through the top-level command, which guards the same object.
    assert res.exit_code != 0 and any(m in str(res.exception) for m in ("lies inside --out", "holds an input"))
    res = runner.invoke(build, [str(sample_dir / "judgments.jsonl"), "--out", str(out), "--namer", "llm",
                                "--llm-model", "m", "--llm-replay"])
    assert res.exit_code != 0 and "t.llm-cache.jsonl does not exist" in str(res.exception)
    assert not out.exists()


def test_namer_and_extractor_name_the_model_and_describe_no_secret(monkeypatch):
    monkeypatch.setenv("MG_TEST_KEY", "sk-unit-secret-77")
    settings = LLMSettings(model="qwen2.5-7b", base_url="http://127.0.0.1:8000/v1", api_key_env="MG_TEST_KEY")
    client = StructuredLLM(settings, "/nonexistent/cache.jsonl")
    assert LLMNamer(client).name == "llm:qwen2.5-7b" and LLMExtractor(client).name == "llm:qwen2.5-7b"
    described = client.describe()
    assert described["model"] == "qwen2.5-7b" and described["base_url"] == "http://127.0.0.1:8000/v1"
    assert "sk-unit-secret-77" not in json.dumps(described)
    assert StructuredLLM(settings, "/nonexistent/cache.jsonl", replay=True).describe()["base_url"] is None
