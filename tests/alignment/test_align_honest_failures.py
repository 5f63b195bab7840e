"""What a newcomer sees when things go wrong: the wrong server on the port, answers nobody can parse."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from conftest import write_jsonl

from moralgap.alignment.backends.openai_http import OpenAIHTTPBackend
from moralgap.alignment.cli import align_command, judge_command
from moralgap.alignment.metrics import NoParseableAnswers, gap_analysis
from moralgap.alignment.prompts_file import read_prompts
from moralgap.alignment.runner import JudgeRunner
from moralgap.alignment.votes import votes_from_judgments
from moralgap.records import Judgment

PAGE = b"<!doctype html><html><head><title>Label Studio</title></head><body>" + b"<div>app</div>" * 500 + b"</body></html>"


class _WebApp(BaseHTTPRequestHandler):
    """A web application (as Label Studio is) on the port where a model server was expected."""

    status = 404

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Server", "nginx")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture(params=[404, 200])
def web_app(request):
    handler = type("Handler", (_WebApp,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_web_page_is_named_not_dumped_and_not_retried(tmp_path, make_prompts, web_app):
    path = make_prompts({"d1": "a story"})
    backend = OpenAIHTTPBackend(web_app, "m", max_retries=3, backoff_s=0.01, timeout_s=5)
    summary = JudgeRunner(backend).run(read_prompts(path), tmp_path / "j.jsonl")
    assert summary.failed == 1
    (error,) = summary.errors
    assert "not an OpenAI-compatible API" in error
    assert "'Label Studio'" in error and "moralgap studio start" in error and "--base-url" in error
    assert "<div>" not in error and len(error) < 600
    assert backend.stats["requests"] == 1, "a web page will not turn into an API on retry"


def test_judge_default_url_is_not_the_studio_port():
    option = next(p for p in judge_command.params if p.name in ("base_url", "base_urls"))
    default = option.default[0] if isinstance(option.default, (list, tuple)) else option.default
    assert default == "http://127.0.0.1:8000/v1"
    from moralgap.annotation.studio_server import DEFAULT_PORT

    assert ":%d/" % DEFAULT_PORT not in default


def _judgments(n_dilemmas=4, n=6, parse=lambda d, s: True):
    human, model = [], []
    for d in range(n_dilemmas):
        for i in range(8):
            human.append(Judgment(id=f"h{d}-{i}", dilemma_id=f"d{d}", judge="human",
                                  verdict="acceptable" if i % 3 else "unacceptable"))
        for s in range(n):
            ok = parse(d, s)
            model.append(Judgment(id=f"d{d}::vanilla::{s:04d}", dilemma_id=f"d{d}", judge="m", condition="vanilla",
                                  verdict=("acceptable" if s % 2 else "unacceptable") if ok else None,
                                  **({} if ok else {"parse_error": "no 'Evaluation:' line"})))
    return human, model


def test_unparseable_answers_are_counted_even_where_a_dilemma_has_none_left():
    # Dilemma d0 has no parseable answer at all, so it leaves the comparison; its 6 failures stay counted.
    human, model = _judgments(parse=lambda d, s: d != 0 and s != 0)
    analysis = gap_analysis(votes_from_judgments(human), {"vanilla": votes_from_judgments(model)}, n_resamples=100)
    overall = analysis.summaries["vanilla"]["overall"]
    assert overall["n_dilemmas"] == 3
    assert overall["unparseable"] == 6 + 3 and overall["answers"] == 24


def test_a_condition_without_a_parseable_answer_is_refused_with_what_to_do():
    human, model = _judgments(parse=lambda d, s: False)
    with pytest.raises(NoParseableAnswers) as err:
        gap_analysis(votes_from_judgments(human), {"vanilla": votes_from_judgments(model)}, n_resamples=100)
    msg = str(err.value)
    assert "condition 'vanilla': none of its 24 answers has a verdict" in msg
    assert "--logprobs" in msg and "--condition" in msg


def test_align_exits_2_and_writes_nothing_when_every_answer_failed(tmp_path):
    human, model = _judgments(parse=lambda d, s: False)
    h = write_jsonl(tmp_path / "human.jsonl", [j.model_dump(exclude_none=True) for j in human])
    m = write_jsonl(tmp_path / "model.jsonl", [j.model_dump(exclude_none=True) for j in model])
    out = tmp_path / "report"
    from moralgap.cli import main

    res = CliRunner().invoke(main, ["align", "--human", str(h), "--model", str(m), "--bootstrap", "100", "--out", str(out)],
                             standalone_mode=False)
    assert isinstance(res.exception, NoParseableAnswers)
    assert not out.exists()
    # Through the console entry point the same refusal is one line and exit status 2.
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "moralgap.cli", "align", "--human", str(h), "--model", str(m),
                           "--bootstrap", "100", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: condition 'vanilla': none of its 24 answers") and "nan" not in proc.stderr.lower()
    assert not out.exists()


def test_no_server_at_the_url_says_so(tmp_path, make_prompts):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIHTTPBackend(f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff_s=0.01, timeout_s=2)
    summary = JudgeRunner(backend).run(read_prompts(make_prompts({"d1": "a story"})), tmp_path / "j.jsonl")
    (error,) = summary.errors
    assert "connection error" in error and f"is a model server running at http://127.0.0.1:{port}/v1?" in error
