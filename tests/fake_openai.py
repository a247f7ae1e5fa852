"""A tiny OpenAI-compatible HTTP server on loopback whose answers a test scripts.

It speaks just enough of ``POST /v1/chat/completions`` for the ``openai`` SDK: each request
is recorded, and a handler function decides the status, body and delay of the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """The exact body to send instead of ``body`` (a truncated or malformed answer)."""


def completion(text: str, prompt_tokens: int = 11, completion_tokens: int = 7) -> Reply:
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def error(status: int, message: str, **headers: str) -> Reply:
    return Reply(
        status=status, body={"error": {"message": message, "type": "test"}}, headers=headers
    )


class FakeOpenAI:
    """Serves on 127.0.0.1 and a free port; ``handler(request_json, headers) -> Reply``.

    ``GET /v1/models`` lists ``models`` when given (``{"object": "list", "data": [...]}``, as
    OpenAI answers; a mapping is sent as the body as it is), and is answered 404 otherwise
    (a server without a model list).
    """

    def __init__(
        self,
        handler: Callable[[dict[str, Any], dict[str, str]], Reply],
        *,
        models: list[str] | dict[str, Any] | None = None,
    ) -> None:
        self.handler = handler
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.gets: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                """One JSON reply; a client that went away (a timeout test) is no error."""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                outer.gets.append(self.path)
                if isinstance(outer.models, dict):  # a body of any shape
                    body, status = outer.models, 200
                elif outer.models is not None and self.path.rstrip("/") == "/v1/models":
                    body: dict[str, Any] = {
                        "object": "list",
                        "data": [
                            {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                            for m in outer.models
                        ],
                    }
                    status = 200
                else:
                    body, status = {"error": {"message": "not found", "type": "test"}}, 404
                self._send(status, json.dumps(body).encode(), {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append(payload)
                outer.headers.append(headers)
                reply = outer.handler(payload, headers)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body or {}).encode()
                self._send(reply.status, data, reply.headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
