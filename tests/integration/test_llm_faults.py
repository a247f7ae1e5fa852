"""LLM faults: a fault-injecting proxy on loopback in front of the real llama.cpp server.

On at least 30% of calls it answers 429 with Retry-After, 500, drops the connection, cuts
the body short, answers prose instead of JSON, proposes values out of range, or hangs past
the client's timeout; otherwise it forwards to the real server. The study must still spend
its whole budget, store every trial, and record each fallback with its cause.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.llm import OpenAICompatibleClient
from agenthpo.task import Task, task_with
from agenthpo.tuner import Tuner

pytestmark = pytest.mark.integration

FAULTS = ("429", "500", "drop", "truncate", "prose", "out_of_range", "hang")
HANG_S = 6.0
CLIENT_TIMEOUT_S = 4.0


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
                        request = urllib.request.Request(
                            outer.upstream + self.path.removeprefix("/v1"),
                            data=body,
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


@pytest.fixture
def proxy(llama_server: str) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(llama_server, rate=0.45, seed=3)
    fault_proxy.thread.start()
    try:
        yield fault_proxy
    finally:
        fault_proxy.server.shutdown()
        fault_proxy.server.server_close()


def test_study_survives_injected_llm_faults(
    proxy: FaultProxy, quadratic_task: Task, tmp_path: Path
) -> None:
    llm = OpenAICompatibleClient(
        model="smollm2",
        base_url=proxy.url,
        structured_output="json_object_schema",
        timeout=CLIENT_TIMEOUT_S,
        max_retries=1,
    )
    task = task_with(quadratic_task, n_trials=10)
    storage = f"sqlite:///{tmp_path / 'faults.db'}"
    summary = Tuner(task, llm=llm, storage=storage, seed=0).run()

    assert proxy.calls >= 10
    share = sum(proxy.injected.values()) / proxy.calls
    assert share >= 0.3, (share, proxy.injected, proxy.calls)
    assert len(proxy.injected) >= 4  # several kinds of fault were exercised

    trials = optuna.load_study(study_name="quad", storage=storage).trials
    assert len(trials) == 10
    assert summary.n_complete == 10
    fallbacks = [t for t in trials if t.user_attrs.get(_keys.FALLBACK_REASON)]
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert t.user_attrs[_keys.RATIONALE]
        assert -5.0 <= t.params["x"] <= 5.0
        if t.user_attrs[_keys.PROPOSED_BY] == "backbone":
            cause = t.user_attrs[_keys.FALLBACK_REASON]
            assert cause.split(":")[0] in ("llm_error", "not_json", "invalid", "duplicate")
    assert fallbacks, "with 45% faults some proposal must have fallen back"
    assert summary.fallbacks == len(fallbacks)
    assert sum(summary.fallback_reasons.values()) == summary.fallbacks
