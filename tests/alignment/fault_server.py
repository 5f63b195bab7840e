"""A real OpenAI-compatible HTTP server on 127.0.0.1 that misbehaves on request.

Each prompt's user message may contain ``FAULT:<mode>:<n>``: the first ``n`` attempts for
that message get the fault, later ones a valid answer. Modes: ``429`` (with Retry-After),
``500``, ``slow`` (answers after ``slow_s``, beyond the client's timeout), ``trunc`` (a
Content-Length longer than the body, then the connection is closed), ``badjson`` (a 200 with
half a JSON document), ``400`` (every attempt; a client error must not be retried).
``VERDICT:<text>`` sets the answer text; ``delay_s`` delays every answer.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_FAULT = re.compile(r"FAULT:(\w+):(\d+)")
_ANSWER = re.compile(r"ANSWER:<<(.*?)>>", re.S)


class FaultServer:
    def __init__(self, *, delay_s: float = 0.0, slow_s: float = 3.0, retry_after: str = "0.2"):
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.attempts: dict[str, int] = defaultdict(int)
        self.log: list[tuple[float, str, int]] = []  # (arrival time, user message, status)
        self.auth_headers: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: bytes, headers: dict | None = None, length: int | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length if length is not None else len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()

            def do_POST(self):
                arrived = time.monotonic()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.headers.get("Authorization"):
                    server.auth_headers.add(self.headers["Authorization"])
                user = body["messages"][-1]["content"]
                with server.lock:
                    server.attempts[user] += 1
                    attempt = server.attempts[user]
                m = _FAULT.search(user)
                mode, n = (m.group(1), int(m.group(2))) if m else (None, 0)
                faulty = mode == "400" or (mode and attempt <= n)
                status = {"400": 400, "429": 429, "500": 500, "trunc": -1, "badjson": -2}.get(mode, 200) if faulty else 200
                # Logged before the answer goes out: once the client has its answer it may finish
                # and the test read the log before this thread got past the send.
                with server.lock:
                    server.log.append((arrived, user, status))
                if server.delay_s:
                    time.sleep(server.delay_s)
                if mode == "400":
                    self._send(400, b'{"error": {"message": "bad request"}}')
                elif faulty:
                    if mode == "429":
                        self._send(429, b'{"error": "rate limited"}', {"Retry-After": server.retry_after})
                    elif mode == "500":
                        self._send(500, b'{"error": "boom"}')
                    elif mode == "slow":
                        time.sleep(server.slow_s)
                        self._send(200, server.answer(body, user))
                    elif mode == "trunc":
                        payload = server.answer(body, user)
                        self._send(200, payload[: len(payload) // 2], length=len(payload))
                        self.close_connection = True
                    elif mode == "badjson":
                        payload = server.answer(body, user)
                        self._send(200, payload[: len(payload) // 2])
                else:
                    self._send(200, server.answer(body, user))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, body: dict, user: str) -> bytes:
        m = _ANSWER.search(user)
        text = m.group(1) if m else "Evaluation: ACCEPTABLE\nRationale: The actor acted reasonably."
        return json.dumps({
            "id": "cmpl", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(user.split()), "completion_tokens": len(text.split())},
        }).encode()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

