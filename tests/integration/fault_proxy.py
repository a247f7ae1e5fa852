"""A fault-injecting proxy on loopback in front of a real OpenAI-compatible server.

On the share ``rate`` of calls it answers 429 with Retry-After, 500, drops the connection,
cuts the body short, answers prose instead of JSON, proposes values out of range, or hangs
past the client's timeout; otherwise it forwards the call with ``max_tokens`` capped.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "drop", "truncate", "prose", "out_of_range", "hang")
HANG_S = 6.0
CLIENT_TIMEOUT_S = 4.0
MAX_TOKENS = 32
"""What a forwarded request may ask of the real server: it ignores response_format, so the
tiny model writes prose up to the limit, at about ten tokens a second on one thread."""


def _completion(text: str) -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "smollm2",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    ).encode()


class FaultProxy:
    def __init__(self, upstream: str, rate: float, seed: int = 0) -> None:
        """Forwards to ``upstream`` (with ``max_tokens`` capped at :data:`MAX_TOKENS`),
        except for the share ``rate`` of calls, which get an injected fault."""
        self.upstream = upstream
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.calls += 1
                    fault = outer.rng.choice(FAULTS) if outer.rng.random() < outer.rate else None
                    if fault:
                        outer.injected[fault] += 1
                try:
                    if fault == "429":
                        self._send(
                            429, b'{"error": {"message": "slow down"}}', **{"Retry-After": "0.1"}
                        )
                    elif fault == "500":
                        self._send(500, b'{"error": {"message": "internal error"}}')
                    elif fault == "drop":
                        self.close_connection = True  # no response at all
                    elif fault == "hang":
                        time.sleep(HANG_S)
                        self._send(200, _completion("{}"))
                    elif fault == "prose":
                        self._send(200, _completion("Sure! I would try a learning rate of 0.1."))
                    elif fault == "out_of_range":
                        answer = {"config": {"x": 500.0, "kind": "zzz"}, "rationale": "go big"}
                        self._send(200, _completion(json.dumps(answer)))
                    else:
                        payload = json.loads(body)
                        payload["max_tokens"] = min(payload.get("max_tokens") or 1, MAX_TOKENS)
                        request = urllib.request.Request(
                            outer.upstream + self.path.removeprefix("/v1"),
                            data=json.dumps(payload).encode(),
                            headers={"Content-Type": "application/json"},
                        )
                        try:
                            with urllib.request.urlopen(request, timeout=120) as response:
                                status, data = response.status, response.read()
                        except urllib.error.HTTPError as exc:
                            status, data = exc.code, exc.read()
                        if fault == "truncate":
                            data = data[: len(data) // 2]
                            status = 200
                        self._send(status, data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"
