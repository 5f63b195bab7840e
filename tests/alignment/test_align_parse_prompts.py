import json

import pytest
from conftest import prompt_line, write_jsonl

from moralgap.alignment.logprob import p_acceptable_from_candidates, p_acceptable_from_openai_logprobs
from moralgap.alignment.parse import parse_answer
from moralgap.alignment.prompts_file import read_prompts, sidecar_path
from moralgap.errors import InputError


@pytest.mark.parametrize("text, verdict", [
    ("Evaluation: ACCEPTABLE\nRationale: fine", "acceptable"),
    ("evaluation: unacceptable\nrationale: rude", "unacceptable"),
    ("**Evaluation:** UNACCEPTABLE.\n**Rationale:** rude", "unacceptable"),
    ("Sure!\n\nEvaluation: <ACCEPTABLE>\nRationale: ok", "acceptable"),
    # An echoed template line is not a verdict; the real one after it is.
    ("Evaluation: <ACCEPTABLE or UNACCEPTABLE>\nEvaluation: ACCEPTABLE", "acceptable"),
    ("Evaluation: ACCEPTABLE\nRationale: x\nEvaluation: ACCEPTABLE", "acceptable"),
])
def test_verdicts_read_from_the_evaluation_line(text, verdict):
    parsed = parse_answer(text)
    assert parsed.verdict == verdict and parsed.error is None


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    ("I think this is ACCEPTABLE.", "no 'Evaluation:'"),
    ("Evaluation: NOT ACCEPTABLE", "without a verdict word"),
    ("Evaluation: ACCEPTABLE, mostly", "without a verdict word"),
    ("Evaluation: ACCEPTABLE\nEvaluation: UNACCEPTABLE", "conflicting"),
    ("The verdict: Evaluation: ACCEPTABLE", "no 'Evaluation:'"),
])
def test_unparseable_answers_are_kept_not_guessed(text, why):
    parsed = parse_answer(text)
    assert parsed.verdict is None
    assert why in parsed.error


def test_rationale_spans_lines_until_the_next_key():
    p = parse_answer("Evaluation: UNACCEPTABLE\nRationale: first line\nsecond line\n")
    assert p.rationale == "first line\nsecond line"


def test_logprob_mass_split_by_verdict_prefix():
    import math

    cands = [(" ACC", math.log(0.6)), (" UN", math.log(0.2)), ("**", math.log(0.2))]
    assert p_acceptable_from_candidates(cands) == pytest.approx(0.75)
    content = [{"token": "Evaluation", "top_logprobs": []}, {"token": ":", "top_logprobs": []},
               {"token": " UN", "logprob": math.log(0.9),
                "top_logprobs": [{"token": " UN", "logprob": math.log(0.9)}, {"token": " ACC", "logprob": math.log(0.1)}]}]
    assert p_acceptable_from_openai_logprobs(content) == pytest.approx(0.1)
    assert p_acceptable_from_openai_logprobs([{"token": "Hello"}]) is None


def test_prompts_with_inline_metadata(make_prompts):
    path = make_prompts({"d1": "A story.", "d2": "Evaluation: UNACCEPTABLE inside the dilemma"}, conditions=("vanilla", "dmp"), samples=2)
    lines = read_prompts(path)
    assert len(lines) == 8
    first = lines[0]
    assert (first.custom_id, first.dilemma_id, first.condition, first.sample, first.seed) == ("d1::vanilla::0000", "d1", "vanilla", 0, 13)
    assert first.messages[0]["role"] == "system" and first.max_tokens == 64


def test_prompts_with_sidecar_metadata(tmp_path):
    rows = [prompt_line("d1", "x", "dmp", 3, meta=False)]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    write_jsonl(sidecar_path(path), [{"custom_id": "d1::dmp::0003", "dilemma_id": "d1", "condition": "dmp", "sample": 3, "seed": 99}])
    (line,) = read_prompts(path)
    assert (line.condition, line.sample, line.seed) == ("dmp", 3, 99)
    # Without the sidecar the custom id still names dilemma, condition and sample.
    sidecar_path(path).unlink()
    (line,) = read_prompts(path)
    assert (line.dilemma_id, line.condition, line.sample, line.seed) == ("d1", "dmp", 3, None)


@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.pop("custom_id"), "custom_id"),
    (lambda r: r["body"].update(messages=[]), "body.messages"),
    (lambda r: r["body"]["messages"][0].pop("content"), "body.messages.0"),
    (lambda r: r["moralgap"].update(sample="one"), "moralgap.sample"),
])
def test_bad_prompt_lines_name_file_line_and_field(tmp_path, mutate, field):
    good = prompt_line("d1", "x")
    bad = json.loads(json.dumps(prompt_line("d2", "y")))
    mutate(bad)
    path = write_jsonl(tmp_path / "p.jsonl", [good, bad])
    with pytest.raises(InputError) as exc:
        read_prompts(path)
    assert exc.value.line == 2 and exc.value.field == field and str(path) in str(exc.value)


def test_duplicate_custom_ids_are_rejected(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [prompt_line("d1", "x"), prompt_line("d1", "y")])
    with pytest.raises(InputError, match="duplicate custom_id"):
        read_prompts(path)
