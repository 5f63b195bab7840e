"""Runner throughput against a local OpenAI-compatible server that answers after a fixed delay.

    python benchmarks/judge_throughput.py [--requests 3000] [--concurrency 64] [--delay 0.05]

The server (a minimal asyncio HTTP/1.1 keep-alive server, in its own process on 127.0.0.1)
answers every chat completion after ``--delay`` seconds. The client is the real
``JudgeRunner`` with the ``openai`` backend, writing judgments to a temporary JSONL with
resume bookkeeping. Target: >= 500 requests/s at concurrency 64 with a 50 ms server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

from _common import record_table, save_results  # also puts the repo on sys.path

ANSWER = json.dumps({"id": "x", "object": "chat.completion", "model": "bench",
                     "choices": [{"index": 0, "message": {"role": "assistant",
                                                          "content": "Evaluation: ACCEPTABLE\nRationale: Fine."},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 50, "completion_tokens": 8}}).encode()
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(ANSWER)).encode() + b"\r\n\r\n" + ANSWER)


def serve(port_q, delay: float) -> None:
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                await asyncio.sleep(delay)
                writer.write(RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_q.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--delay", type=float, default=0.05)
    a = ap.parse_args()
    from moralgap.alignment.backends.openai_http import OpenAIHTTPBackend
    from moralgap.alignment.prompts_file import PromptLine
    from moralgap.alignment.runner import JudgeRunner

    q = mp.Queue()
    proc = mp.Process(target=serve, args=(q, a.delay), daemon=True)
    proc.start()
    port = q.get(timeout=30)
    prompts = [PromptLine(custom_id=f"d{i:06d}::vanilla::0000", dilemma_id=f"d{i:06d}", condition="vanilla", sample=0,
                          messages=[{"role": "user", "content": f"Evaluation please, dilemma {i}."}],
                          body={"model": "MODEL", "temperature": 0.7, "max_tokens": 64}) for i in range(a.requests)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backend = OpenAIHTTPBackend(f"http://127.0.0.1:{port}/v1", "bench", concurrency=a.concurrency)
            t = time.perf_counter()
            summary = JudgeRunner(backend).run(prompts, Path(tmp) / "j.jsonl")
            elapsed = time.perf_counter() - t
    finally:
        proc.terminate()
    record_table([{"requests": summary.answered, "concurrency": a.concurrency, "server_delay_ms": round(a.delay * 1000),
                   "seconds": round(elapsed, 2), "requests_per_s": round(summary.answered / elapsed),
                   "ideal_per_s": round(a.concurrency / a.delay), "failed": summary.failed}],
                 ["requests", "concurrency", "server_delay_ms", "seconds", "requests_per_s", "ideal_per_s", "failed"],
                 name="throughput")
    print(f"{summary.answered} requests at concurrency {a.concurrency}, server delay {a.delay * 1000:.0f} ms: "
          f"{elapsed:.2f}s, {summary.answered / elapsed:.0f} requests/s (ideal {a.concurrency / a.delay:.0f}/s), "
          f"{summary.failed} failed")
    save_results()


if __name__ == "__main__":
    main()
