"""A real HTTP server on 127.0.0.1 that behaves like a hostile or careless LLM endpoint.

Modes (``EchoServer(mode)``):
``headers401``  answers 401 with the request's headers in the body (a proxy that echoes them);
``echo``        answers 200 with the prompt's user message as the completion (a model that repeats the prompt);
``echo_unquoted`` the same, with the ``> `` quote marks removed (a model that copies the dilemma back plainly);
``echo_then_answer`` the unquoted echo followed by a genuine ``Evaluation: UNACCEPTABLE`` answer.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoServer:
    def __init__(self, mode: str):
        self.mode = mode
        self.seen_auth: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.seen_auth.append(self.headers.get("Authorization", ""))
                if server.mode == "headers401":
                    echoed = {"error": "unauthorized", "you_sent": self.headers.get("Authorization"),
                              "request_headers": dict(self.headers)}
                    self._send(401, json.dumps(echoed).encode())
                    return
                user = body["messages"][-1]["content"]
                if server.mode != "echo":
                    user = "\n".join(l[2:] if l.startswith("> ") else l for l in user.splitlines())
                if server.mode == "echo_then_answer":
                    user += "\nEvaluation: UNACCEPTABLE\nRationale: Lying to a friend is wrong."
                self._send(200, json.dumps({"choices": [{"index": 0, "finish_reason": "stop",
                                                         "message": {"role": "assistant", "content": user}}],
                                            "usage": {"prompt_tokens": 1, "completion_tokens": 1}}).encode())

            def _send(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
