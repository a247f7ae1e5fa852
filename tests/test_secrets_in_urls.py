"""Secrets in an LLM endpoint's URL (a userinfo password, a key in the query) never reach
storage, warnings, logs or exception text; the requests still carry them.

End to end on loopback: a study through ``agenthpo.create_study`` whose LLM spec names an
endpoint that refuses connections, or a server that answers errors echoing the credentials
it got, with logging at DEBUG for AgentHPO, the SDKs and the HTTP client.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import traceback
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import optuna
import pytest

import agenthpo
from agenthpo import _keys
from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm import AnthropicClient, Message, OpenAICompatibleClient, parse_llm_spec
from agenthpo.llm._mask import redact_url, url_secrets

PASSWORD = "sk-SECRETKEYURL"
QUERY_KEY = "sk-SECRETKEYQS"
BASIC = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
"""What the HTTP client sends of the userinfo (``Authorization: Basic``), as secret."""
SECRETS = (PASSWORD, QUERY_KEY, BASIC)
SPACE = {"x": {"type": "float", "low": -5.0, "high": 5.0}}
LOGGERS = ("agenthpo", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "anthropic")


def _with_secrets(port: int) -> str:
    return f"http://user:{PASSWORD}@127.0.0.1:{port}/v1?api-key={QUERY_KEY}"


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


class EchoServer:
    """Answers every request with ``status`` and a body echoing its Authorization header
    and query (as a careless proxy or a hostile server would); records paths and headers."""

    def __init__(self, status: int) -> None:
        self.paths: list[str] = []
        self.auth: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                auth = self.headers.get("Authorization", "")
                outer.paths.append(self.path)
                outer.auth.append(auth)
                echo = f"you sent {auth} to {self.path}"
                if status == 200:
                    body: dict[str, Any] = {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": echo,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": echo},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                else:
                    body = {"error": {"message": echo, "type": "test"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of AgentHPO, the SDKs and the HTTP client, at DEBUG."""
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """The records as a handler shows them, tracebacks included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def _run_study(spec: str, db: Path) -> tuple[optuna.Study, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = agenthpo.create_study(
            space=SPACE, llm=spec, strategy="agent", storage=f"sqlite:///{db}", seed=0
        )
        study.optimize(lambda t: (t.suggest_float("x", -5.0, 5.0) - 1.0) ** 2, n_trials=2)
    return study, [str(w.message) for w in caught]


def _assert_nothing_leaks(study: optuna.Study, db: Path, shown: list[str], logs: str) -> None:
    assert len(study.trials) == 2
    for trial in study.trials:
        stored = json.dumps([trial.user_attrs, trial.system_attrs], default=str)
        assert not _leaks(stored), stored
    assert not _leaks(db.read_bytes().decode("latin-1"))
    assert not _leaks(json.dumps(study.user_attrs, default=str))
    assert not [w for w in shown if _leaks(w)]
    assert not _leaks(logs), [line for line in logs.splitlines() if _leaks(line)]


def test_a_dead_endpoint_with_secrets_in_its_url_never_shows_them(
    tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "s.db"
    study, shown = _run_study(f"openai-compatible:{_with_secrets(_dead_port())}#m", db)
    _assert_nothing_leaks(study, db, shown, _logged(debug_logs))
    reason = study.trials[0].user_attrs[_keys.FALLBACK_REASON]
    # Still says where: the host and the parameter's name, with the secrets masked.
    assert "cannot reach http://user:***@127.0.0.1:" in reason
    assert "api-key=***" in reason
    assert any("could not run" in w and "user:***@" in w for w in shown)


@pytest.mark.parametrize("status", [500, 400, 401, 200])
def test_an_endpoint_echoing_the_credentials_never_shows_them(
    status: int, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "s.db"
    with EchoServer(status) as server:
        study, shown = _run_study(f"openai-compatible:{_with_secrets(server.port)}#m", db)
    _assert_nothing_leaks(study, db, shown, _logged(debug_logs))
    # The requests carried the secrets all the same, the query's on the request's own path.
    assert server.auth
    assert all(a == f"Basic {BASIC}" for a in server.auth)
    assert all(p == f"/v1/chat/completions?api-key={QUERY_KEY}" for p in server.paths)
    assert any("HTTP Request: POST http://user:***@" in r.getMessage() for r in debug_logs.records)


@pytest.mark.parametrize("status", [None, 500, 400, 401, 404])
def test_provider_errors_and_their_tracebacks_hold_no_secret(
    status: int | None, debug_logs: pytest.LogCaptureFixture
) -> None:
    def check(port: int) -> None:
        client = parse_llm_spec(f"openai-compatible:{_with_secrets(port)}#m", environ={})
        assert isinstance(client, OpenAICompatibleClient)
        assert not _leaks(repr(client) + client.name)
        for call in (lambda: client.complete([Message("user", "hi")]), client.check):
            try:
                call()
            except (LLMError, LLMConfigError) as exc:
                text = "".join(traceback.format_exception(exc))
                assert not _leaks(text), text
                assert "***" in text or status in (401, 404)

    if status is None:
        check(_dead_port())
    else:
        with EchoServer(status) as server:
            check(server.port)
    assert not _leaks(_logged(debug_logs))


def test_the_key_in_the_header_is_masked_in_echoes_and_logged_tracebacks(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    key = "sk-HEADERKEY-0123456789"
    with EchoServer(400) as server:
        client = OpenAICompatibleClient(
            model="m", base_url=f"http://127.0.0.1:{server.port}/v1", api_key=key, max_retries=0
        )
        with pytest.raises(LLMError) as info:
            client.complete([Message("user", "hi")])
    assert key not in "".join(traceback.format_exception(info.value))
    assert key not in _logged(debug_logs)


def test_anthropic_base_url_secrets_stay_out_of_errors_and_logs(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    url = f"http://user:{PASSWORD}@127.0.0.1:{_dead_port()}?api-key={QUERY_KEY}"
    client = AnthropicClient(model="claude-x", api_key="k", base_url=url, max_retries=0)
    assert not _leaks(repr(client))
    with pytest.raises(LLMError) as info:
        client.complete([Message("user", "hi")])
    assert not _leaks("".join(traceback.format_exception(info.value)))
    assert "user:***@" in str(info.value)
    assert not _leaks(_logged(debug_logs))


@pytest.mark.parametrize(
    "spec",
    [
        f"openai-compatible:http://user:{PASSWORD}@127.0.0.1:9/v1",  # no model
        f"openai-compatible:user:{PASSWORD}@127.0.0.1:9/v1#m",  # no scheme
        f"openai-compatibl:http://user:{PASSWORD}@127.0.0.1:9/v1?api-key={QUERY_KEY}#m",
        f"openai-compatible:user:{PASSWORD}@127.0.0.1:9/v1",  # no scheme, no model
        f"opnai-compatible:user:{PASSWORD}@127.0.0.1:9/v1#m",  # no scheme, a mistyped kind
    ],
)
def test_spec_errors_never_show_the_url_secrets(spec: str) -> None:
    with pytest.raises(LLMConfigError) as info:
        parse_llm_spec(spec, environ={})
    assert not _leaks(str(info.value)), str(info.value)
    assert "***" in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("http://user:pw@h:1/v1", "http://user:***@h:1/v1"),
        ("https://TOKEN@h/v1", "https://***@h/v1"),
        ("http://h/v1?key=a&API_KEY=b&v=2024&flag", "http://h/v1?key=***&API_KEY=***&v=***&***"),
        ("http://u:p%40ss@h/v1?sig=x#frag", "http://u:***@h/v1?sig=***#frag"),
        ("user:pw@h/v1", "user:***@h/v1"),
        ("http://[::1/v1?token=x", "http://[::1/v1?token=***"),  # malformed, still masked
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_url_secrets_include_decoded_forms_and_the_basic_credentials() -> None:
    found = url_secrets("http://u:p%40ss@h/v1?api-key=a%2Bb")
    assert {"p%40ss", "p@ss", "a%2Bb", "a+b"} <= set(found)
    assert base64.b64encode(b"u:p@ss").decode() in found
    assert url_secrets("http://127.0.0.1:8000/v1") == []
    # Values of parameters not named like secrets are shown as *** in URLs, but not masked
    # in every text: a model's answer or a log line may well hold "json_schema".
    assert url_secrets("http://h/v1?format=json_schema&token=tok-12345678") == ["tok-12345678"]


def test_a_query_key_in_an_anthropic_base_url_reaches_the_endpoint() -> None:
    # The SDK appends the request's path to the base URL's text: a query left in it would
    # sit before the path (/v1?api-key=K/v1/messages).
    with EchoServer(500) as server:
        url = f"http://127.0.0.1:{server.port}?api-key={QUERY_KEY}"
        client = AnthropicClient(model="claude-x", api_key="k", base_url=url, max_retries=0)
        with pytest.raises(LLMError):
            client.complete([Message("user", "hi")])
    assert server.paths
    assert all(path == f"/v1/messages?api-key={QUERY_KEY}" for path in server.paths)


def test_the_http_clients_module_loggers_are_guarded(caplog: pytest.LogCaptureFixture) -> None:
    # A logger's filter sees only its own records: httpcore logs on httpcore.http11 etc.
    from agenthpo.llm._mask import GUARDED_LOGGERS, guard_logs

    guard_logs([PASSWORD])
    caplog.set_level(logging.DEBUG)
    for name in ("httpcore2.http11", "httpcore.connection", "httpx"):
        assert name in GUARDED_LOGGERS
        logging.getLogger(name).debug("send_request_headers %s", f"Basic {PASSWORD}")
    assert len(caplog.records) == 3
    assert not _leaks(_logged(caplog))
