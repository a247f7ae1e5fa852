"""The Anthropic provider against a local HTTP server that answers as the Messages API does.

The server (``FakeAnthropic``, below) speaks just enough of ``POST /v1/messages`` for the
official ``anthropic`` SDK: it records every request and its headers, and a handler function
decides the status, body, headers and delay of each answer. Answers and errors have the
shapes Anthropic documents (``{"type": "message", "content": [...], "usage": {...}}``,
``{"type": "error", "error": {"type": ..., "message": ...}}``).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import pickle
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.samplers import TPESampler

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm import AnthropicClient, Message, parse_llm_spec, resolve_llm
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space

SCHEMA = {
    "type": "object",
    "properties": {"x": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["x"],
}
MSGS = [Message("system", "be brief"), Message("user", "propose x")]
NO_OLLAMA = {"OLLAMA_HOST": "127.0.0.1:9"}  # nothing listens on the discard port


# -- the fake Messages API -------------------------------------------------------------------
@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """The exact body to send instead of ``body`` (a gateway's HTML page)."""


def message(
    content: list[dict[str, Any]],
    *,
    input_tokens: int = 21,
    output_tokens: int = 9,
    stop_reason: str = "end_turn",
    model: str = "claude-haiku-4-5-20251001",
) -> Reply:
    """A Messages API answer."""
    return Reply(
        body={
            "id": "msg_01TEST",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
        headers={"request-id": "req_01TEST"},
    )


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use(payload: dict[str, Any], name: str = "answer") -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_01TEST", "name": name, "input": payload}


def api_error(status: int, kind: str, text: str, **headers: str) -> Reply:
    return Reply(
        status=status,
        body={"type": "error", "error": {"type": kind, "message": text}},
        headers=headers,
    )


Handler = Callable[[dict[str, Any], dict[str, str]], Reply]


class FakeAnthropic:
    """Serves ``POST /v1/messages`` on 127.0.0.1 and a free port, and ``GET`` requests
    (``/v1/models/{id}``) through ``get(path, headers)``, which answers 404 by default."""

    def __init__(
        self,
        handler: Handler,
        get: Callable[[str, dict[str, str]], Reply] | None = None,
    ) -> None:
        self.handler = handler
        self.get = get or (lambda path, h: api_error(404, "not_found_error", f"no route {path}"))
        self.gets: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.times: list[float] = []
        outer = self

        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.gets.append(self.path)
                self.answer(outer.get(self.path, {k.lower(): v for k, v in self.headers.items()}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append(payload)
                outer.headers.append(headers)
                outer.paths.append(self.path)
                outer.times.append(time.monotonic())
                if self.path.rstrip("/") != "/v1/messages":
                    reply = api_error(404, "not_found_error", f"no route {self.path}")
                else:
                    reply = outer.handler(payload, headers)
                self.answer(reply)

            def answer(self, reply: Reply) -> None:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body or {}).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The API root, as ``base_url`` (the SDK appends ``/v1/messages``)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeAnthropic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def sent_key(headers: dict[str, str]) -> str:
    """The key a request carried (``x-api-key``, or a bearer token in newer SDKs)."""
    if "x-api-key" in headers:
        return headers["x-api-key"]
    return headers.get("authorization", "").removeprefix("Bearer ")


def assert_temperature(client: AnthropicClient, request: dict[str, Any], value: float) -> None:
    """SDK 2.x sends API version 2026-10-21, which answers HTTP 400 to any ``temperature``;
    older SDKs (API 2023-06-01) send it, clipped to 0..1."""
    sdk_major = int(importlib.metadata.version("anthropic").split(".")[0])
    assert client.sends_temperature == (sdk_major < 2)
    if client.sends_temperature:
        assert request["temperature"] == value
    else:
        assert "temperature" not in request


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real key, profile or base URL from the machine may leak into a test."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_CUSTOM_HEADERS",
        "ANTHROPIC_IDENTITY_TOKEN",
        "ANTHROPIC_IDENTITY_TOKEN_FILE",
        "ANTHROPIC_FEDERATION_RULE_ID",
        "ANTHROPIC_ORGANIZATION_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))


@pytest.fixture
def server_factory() -> Iterator[Callable[[Handler], FakeAnthropic]]:
    servers: list[FakeAnthropic] = []

    def make(handler: Handler) -> FakeAnthropic:
        server = FakeAnthropic(handler).__enter__()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.__exit__()


# -- request and response shapes -------------------------------------------------------------
def test_plain_call_sends_system_apart_and_parses_text_and_usage(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: message([text_block('{"x": 0.5}')], input_tokens=30))
    client = AnthropicClient(model="claude-haiku-4-5", api_key="sk-ant-k", base_url=server.url)
    response = client.complete(MSGS, max_tokens=50, temperature=0.2, seed=7)
    assert response.text == '{"x": 0.5}'
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (30, 9)
    assert response.provider == "anthropic"
    assert response.model == "claude-haiku-4-5-20251001"
    assert response.structured == "none"
    assert response.extra["stop_reason"] == "end_turn"
    assert response.latency_s > 0
    assert server.paths == ["/v1/messages"]
    request = server.requests[0]
    assert request["model"] == "claude-haiku-4-5"
    assert request["system"] == "be brief"
    assert request["messages"] == [{"role": "user", "content": "propose x"}]
    assert request["max_tokens"] == 50
    assert_temperature(client, request, 0.2)
    assert "tools" not in request
    assert "tool_choice" not in request
    assert "seed" not in request  # the Messages API has none
    assert sent_key(server.headers[0]) == "sk-ant-k"
    assert "anthropic-version" in server.headers[0]


def test_schema_becomes_a_forced_tool_call_whose_input_is_the_answer(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(
        lambda req, h: message(
            [text_block("Here is my proposal."), tool_use({"x": 0.25})], stop_reason="tool_use"
        )
    )
    client = AnthropicClient(model="claude-haiku-4-5", api_key="k", base_url=server.url)
    response = client.complete(MSGS, schema=SCHEMA)
    assert json.loads(response.text) == {"x": 0.25}
    assert response.structured == "tool"
    request = server.requests[0]
    assert request["tools"] == [
        {
            "name": "answer",
            "description": "Give your answer as this tool's input.",
            "input_schema": SCHEMA,
        }
    ]
    assert request["tool_choice"] == {"type": "tool", "name": "answer"}


def test_an_answer_without_the_tool_call_falls_back_to_its_text(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: message([text_block('{"x": 0.9}')]))
    client = AnthropicClient(model="m", api_key="k", base_url=server.url)
    response = client.complete(MSGS, schema=SCHEMA)
    assert response.text == '{"x": 0.9}'
    assert response.structured == "none"


def test_cached_prompt_tokens_count_as_prompt_tokens(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    def handler(req: dict[str, Any], h: dict[str, str]) -> Reply:
        reply = message([text_block("ok")], input_tokens=5, output_tokens=2)
        assert reply.body is not None
        reply.body["usage"].update(cache_creation_input_tokens=100, cache_read_input_tokens=40)
        return reply

    client = AnthropicClient(model="m", api_key="k", base_url=server_factory(handler).url)
    assert client.complete(MSGS).usage.prompt_tokens == 145


def test_turns_alternate_and_system_messages_join(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: message([text_block("ok")]))
    client = AnthropicClient(model="m", api_key="k", base_url=server.url)
    client.complete(
        [
            Message("system", "rule one"),
            Message("system", "rule two"),
            Message("user", "propose"),
            Message("assistant", '{"x": 7}'),
            Message("user", "x: 7 is above the maximum 1"),
            Message("user", "answer again"),
        ],
        temperature=1.7,  # an OpenAI-range temperature; API 2023-06-01's maximum is 1
    )
    request = server.requests[0]
    assert request["system"] == "rule one\n\nrule two"
    assert request["messages"] == [
        {"role": "user", "content": "propose"},
        {"role": "assistant", "content": '{"x": 7}'},
        {"role": "user", "content": "x: 7 is above the maximum 1\n\nanswer again"},
    ]
    assert_temperature(client, request, 1.0)


def test_request_clips_temperature_to_the_range_of_apis_that_take_it() -> None:
    client = AnthropicClient(model="m", api_key="k")
    assert client.request(MSGS, temperature=1.7)["temperature"] == 1.0
    assert client.request(MSGS, temperature=-1)["temperature"] == 0.0
    assert "temperature" not in client.request(MSGS)


# -- errors ----------------------------------------------------------------------------------
def test_rejected_key_is_a_config_error_that_never_shows_the_key(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    key = "sk-ant-SENTINEL-0123456789"

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return api_error(401, "authentication_error", f"invalid x-api-key {sent_key(headers)}")

    server = server_factory(handler)
    client = AnthropicClient(model="m", api_key=key, base_url=server.url)
    with pytest.raises(LLMConfigError) as info:
        client.complete(MSGS)
    assert "401" in str(info.value)
    assert "ANTHROPIC_API_KEY" in str(info.value)
    assert key not in str(info.value)
    assert info.value.__cause__ is None
    assert key not in repr(client) + client.name
    assert len(server.requests) == 1  # a refused key is not retried


def test_forbidden_is_a_config_error(server_factory: Callable[[Handler], FakeAnthropic]) -> None:
    server = server_factory(lambda req, h: api_error(403, "permission_error", "no access"))
    client = AnthropicClient(model="m", api_key="k", base_url=server.url)
    with pytest.raises(LLMConfigError, match="403"):
        client.complete(MSGS)


def test_unknown_model_is_a_config_error(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: api_error(404, "not_found_error", "model: nope"))
    client = AnthropicClient(model="nope", api_key="k", base_url=server.url)
    with pytest.raises(LLMConfigError, match="'nope'"):
        client.complete(MSGS)


def test_rate_limit_is_retried_after_retry_after(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return api_error(429, "rate_limit_error", "slow down", **{"retry-after": "0.3"})
        return message([text_block("ok")])

    server = server_factory(handler)
    client = AnthropicClient(model="m", api_key="k", base_url=server.url, max_retries=2)
    assert client.complete(MSGS).text == "ok"
    assert calls["n"] == 2
    assert server.times[1] - server.times[0] >= 0.25  # the SDK waited as told


def test_persistent_overload_529_becomes_llm_error_after_retries(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(
        lambda req, h: api_error(529, "overloaded_error", "Overloaded", **{"retry-after": "0"})
    )
    client = AnthropicClient(model="m", api_key="k", base_url=server.url, max_retries=1)
    with pytest.raises(LLMError, match=r"HTTP 529 \(overloaded_error\)"):
        client.complete(MSGS)
    assert len(server.requests) == 2  # one try and one retry


def test_server_error_500_becomes_llm_error(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: api_error(500, "api_error", "Internal server error"))
    client = AnthropicClient(model="m", api_key="k", base_url=server.url, max_retries=0)
    with pytest.raises(LLMError, match="HTTP 500") as info:
        client.complete(MSGS)
    assert not isinstance(info.value, LLMConfigError)
    assert len(server.requests) == 1


def test_a_500_then_success_is_retried(server_factory: Callable[[Handler], FakeAnthropic]) -> None:
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return api_error(500, "api_error", "boom", **{"retry-after": "0"})
        return message([text_block("fine")])

    client = AnthropicClient(model="m", api_key="k", base_url=server_factory(handler).url)
    assert client.complete(MSGS).text == "fine"


def test_server_echoing_the_key_in_other_errors_is_masked(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    key = "sk-ant-ECHO-42424242"
    server = server_factory(
        lambda req, h: api_error(400, "invalid_request_error", f"bad request for key {key}")
    )
    client = AnthropicClient(model="m", api_key=key, base_url=server.url)
    with pytest.raises(LLMError) as info:
        client.complete(MSGS)
    assert key not in str(info.value)
    assert "***" in str(info.value)
    assert "invalid_request_error" in str(info.value)


def test_refused_connection_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = AnthropicClient(
        model="m", api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=2
    )
    with pytest.raises(LLMError, match="cannot reach") as info:
        client.complete(MSGS)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_hanging_endpoint_times_out(server_factory: Callable[[Handler], FakeAnthropic]) -> None:
    server = server_factory(lambda req, h: Reply(body={}, delay_s=3))
    client = AnthropicClient(
        model="m", api_key="k", base_url=server.url, timeout=0.5, max_retries=0
    )
    with pytest.raises(LLMError, match="no answer"):
        client.complete(MSGS)


@pytest.mark.parametrize("config_dir", [True, False])
def test_no_key_anywhere_is_a_config_error(
    server_factory: Callable[[Handler], FakeAnthropic],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    config_dir: bool,
) -> None:
    # With ANTHROPIC_CONFIG_DIR set, SDK 2.x raises CredentialsError for a missing profile;
    # without it the SDK finds no credentials and refuses to send (TypeError).
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if not config_dir:
        monkeypatch.delenv("ANTHROPIC_CONFIG_DIR")
    server = server_factory(lambda req, h: message([text_block("ok")]))
    client = AnthropicClient(model="m", base_url=server.url)
    with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY"):
        client.complete(MSGS)
    assert server.requests == []


def test_key_from_the_environment_when_none_is_given(
    server_factory: Callable[[Handler], FakeAnthropic], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    server = server_factory(lambda req, h: message([text_block("ok")]))
    AnthropicClient(model="m", base_url=server.url).complete(MSGS)
    assert sent_key(server.headers[0]) == "sk-ant-from-env"


def test_client_pickles_without_its_connection(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: message([text_block("hi")]))
    client = AnthropicClient(model="m", api_key="k", base_url=server.url)
    client.complete(MSGS)
    clone = pickle.loads(pickle.dumps(client))
    assert clone._client is None
    assert clone.complete(MSGS).text == "hi"
    assert len(server.requests) == 2


def test_constructing_a_client_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from agenthpo.llm import AnthropicClient;"
        " AnthropicClient(model='m', api_key='k');"
        " print('anthropic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- specs -----------------------------------------------------------------------------------
def test_anthropic_spec_reads_key_and_base_url_from_the_environment() -> None:
    with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY"):
        parse_llm_spec("anthropic:claude-haiku-4-5", environ={})
    client = parse_llm_spec(
        "anthropic:claude-sonnet-4-5",
        environ={"ANTHROPIC_API_KEY": "sk-ant-secret", "ANTHROPIC_BASE_URL": "http://proxy:1"},
    )
    assert isinstance(client, AnthropicClient)
    assert client.name == "anthropic:claude-sonnet-4-5"
    assert client.base_url == "http://proxy:1"
    assert "sk-ant-secret" not in repr(client) + client.name
    default = parse_llm_spec("anthropic:", environ={"ANTHROPIC_API_KEY": "k"})
    assert default.name == "anthropic:claude-haiku-4-5"


def test_anthropic_spec_takes_timeout_and_retries_from_settings() -> None:
    from agenthpo.llm import LLMSettings

    client = parse_llm_spec(
        "anthropic:m",
        settings=LLMSettings(timeout=9, max_retries=1),
        environ={"ANTHROPIC_API_KEY": "k"},
    )
    assert isinstance(client, AnthropicClient)
    assert (client.timeout, client.max_retries) == (9, 1)


def test_auto_choice_takes_anthropic_after_openai() -> None:
    both = {"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", **NO_OLLAMA}
    client, _ = resolve_llm(None, environ=both)
    assert client.name == "openai:gpt-4o-mini"
    client, note = resolve_llm(None, environ={"ANTHROPIC_API_KEY": "sk-a", **NO_OLLAMA})
    assert client.name == "anthropic:claude-haiku-4-5"
    assert "ANTHROPIC_API_KEY is set" in note
    assert "sk-a" not in note


# -- a whole study ---------------------------------------------------------------------------
def _follow(schema: dict[str, Any], rng: random.Random) -> Any:
    """A random value that follows a JSON schema (the subset AgentHPO sends)."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return {k: _follow(v, rng) for k, v in schema["properties"].items()}
    if kind == "number":
        return rng.uniform(schema["minimum"], schema["maximum"])
    if kind == "integer":
        return rng.randint(schema["minimum"], schema["maximum"])
    if kind == "string":
        return "move towards the better half of the range seen so far"
    raise AssertionError(f"unexpected schema {schema}")


def test_an_agent_sampler_study_runs_through_the_messages_api(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    rng = random.Random(0)
    answers: list[dict[str, Any]] = []

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        answer = _follow(req["tools"][0]["input_schema"], rng)
        answers.append(answer)
        return message([tool_use(answer)], input_tokens=400, output_tokens=40)

    server = server_factory(handler)
    space = Space.from_dict(
        {
            "x": {"type": "float", "low": -5.0, "high": 5.0},
            "n": {"type": "int", "low": 1, "high": 64, "log": True},
            "kind": {"type": "categorical", "choices": ["a", "b"]},
        }
    )
    client = AnthropicClient(model="claude-haiku-4-5", api_key="k", base_url=server.url)
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(seed=0),
        llm=client,
        space=space,
        context=TaskContext(name="quad", metric="loss", direction="minimize"),
        seed=0,
    )
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        n = trial.suggest_int("n", 1, 64, log=True)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        return (x - 2) ** 2 + abs(n - 8) / 8 + (0.0 if kind == "a" else 1.0)

    study.optimize(objective, n_trials=4)

    assert len(server.requests) == 4
    for request, answer, trial in zip(server.requests, answers, study.trials, strict=True):
        assert request["model"] == "claude-haiku-4-5"
        assert request.get("system")
        assert all(m["role"] != "system" for m in request["messages"])
        assert request["tool_choice"] == {"type": "tool", "name": "answer"}
        assert trial.params == answer["config"]
        attrs = trial.user_attrs
        assert attrs[_keys.PROPOSED_BY] == "llm"
        assert attrs[_keys.RATIONALE] == answer["rationale"]
        assert attrs[_keys.LLM_MODEL] == "anthropic:claude-haiku-4-5"
        assert (attrs[_keys.LLM_PROMPT_TOKENS], attrs[_keys.LLM_COMPLETION_TOKENS]) == (400, 40)
        assert attrs[_keys.LLM_COST] == pytest.approx((400 * 1.0 + 40 * 5.0) / 1e6)
    # Later requests show the earlier trials' results to the model.
    assert "#0" in server.requests[-1]["messages"][-1]["content"]


# -- secrets in everything the client says ---------------------------------------------------
ECHOED_KEY = "sk-ant-PROBESECRET-123456"


def _said(info: pytest.ExceptionInfo[LLMError], caplog: pytest.LogCaptureFixture) -> str:
    """Everything the client said: the error's text, its cause, and every log record as a
    handler formats it (its traceback included)."""
    parts = [str(info.value), repr(info.value), str(info.value.__cause__)]
    parts += [logging.Formatter().format(record) for record in caplog.records]
    return "\n".join(parts)


def test_a_key_echoed_in_the_error_type_is_masked(
    server_factory: Callable[[Handler], FakeAnthropic], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return api_error(500, f"bad_key_{sent_key(headers)}", "boom")

    client = AnthropicClient(
        model="m", api_key=ECHOED_KEY, base_url=server_factory(handler).url, max_retries=0
    )
    with pytest.raises(LLMError) as info:
        client.complete(MSGS)
    assert "HTTP 500 (bad_key_***)" in str(info.value)
    assert ECHOED_KEY not in _said(info, caplog)


@pytest.mark.parametrize(
    "field",
    ["usage.input_tokens", "usage.output_tokens", "model", "content", "content.text"],
)
def test_a_key_echoed_in_a_malformed_answer_is_masked(
    server_factory: Callable[[Handler], FakeAnthropic],
    caplog: pytest.LogCaptureFixture,
    field: str,
) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        reply = message([text_block("{}")])
        assert reply.body is not None
        key = sent_key(headers)
        if field.startswith("usage."):
            reply.body["usage"][field.split(".")[1]] = key
        elif field == "model":
            reply.body["model"] = {"echo": key}
        elif field == "content":
            reply.body["content"] = key
        else:
            reply.body["content"] = [{"type": "text", "text": [key]}]
        return reply

    client = AnthropicClient(model="m", api_key=ECHOED_KEY, base_url=server_factory(handler).url)
    if field == "content.text":  # a text block whose text is not text is left out
        assert ECHOED_KEY not in repr(client.complete(MSGS))
        return
    with pytest.raises(LLMError, match="unusable response from") as info:
        client.complete(MSGS)
    assert ECHOED_KEY not in _said(info, caplog)


def test_a_body_that_is_not_json_names_the_provider_and_url(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    server = server_factory(lambda req, h: Reply(raw=b"<html>gateway</html>"))
    client = AnthropicClient(model="m", api_key="k", base_url=server.url)
    with pytest.raises(LLMError) as info:
        client.complete(MSGS)
    assert not isinstance(info.value, LLMConfigError)
    assert str(info.value).startswith(f"anthropic:m: unusable response from {server.url}:")
    assert "JSONDecodeError" in str(info.value)
    assert info.value.__cause__ is None


# -- the start check -------------------------------------------------------------------------
def _model_info(path: str, headers: dict[str, str]) -> Reply:
    model = path.rsplit("/", 1)[-1]
    if not path.startswith("/v1/models/") or model not in ("claude-haiku-4-5", "m"):
        return api_error(404, "not_found_error", f"model: {model}")
    return Reply(
        body={
            "type": "model",
            "id": model,
            "display_name": model,
            "created_at": "2025-10-01T00:00:00Z",
        }
    )


def test_check_passes_a_known_model_without_spending_tokens() -> None:
    with FakeAnthropic(lambda req, h: message([text_block("ok")]), _model_info) as server:
        client = AnthropicClient(model="claude-haiku-4-5", api_key="k", base_url=server.url)
        assert client.check() >= 0
    assert server.gets == ["/v1/models/claude-haiku-4-5"]
    assert server.requests == []


def test_check_finds_an_unknown_model() -> None:
    handler = lambda req, h: api_error(404, "not_found_error", f"model: {req['model']}")  # noqa: E731
    with FakeAnthropic(handler, _model_info) as server:
        client = AnthropicClient(model="claude-haiku-4-55", api_key="k", base_url=server.url)
        with pytest.raises(LLMConfigError, match="'claude-haiku-4-55'"):
            client.check()
    assert len(server.requests) == 1  # the 404 of the model list confirmed


def test_check_passes_a_server_without_a_model_list() -> None:
    with FakeAnthropic(lambda req, h: message([text_block("o")])) as server:  # GET: 404
        client = AnthropicClient(model="any", api_key="k", base_url=server.url)
        assert client.check() >= 0
    assert [r["max_tokens"] for r in server.requests] == [1]


def test_check_finds_a_refused_key_without_retrying() -> None:
    def refuse(path: str, headers: dict[str, str]) -> Reply:
        return api_error(401, "authentication_error", f"invalid x-api-key {sent_key(headers)}")

    with FakeAnthropic(lambda req, h: message([]), refuse) as server:
        client = AnthropicClient(model="m", api_key=ECHOED_KEY, base_url=server.url, max_retries=3)
        with pytest.raises(LLMConfigError, match="401") as info:
            client.check()
    assert ECHOED_KEY not in str(info.value)
    assert len(server.gets) == 1


def test_check_finds_a_dead_endpoint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = AnthropicClient(model="m", api_key="k", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(LLMError, match="cannot reach") as info:
        client.check()
    assert not isinstance(info.value, LLMConfigError)


def test_check_lets_a_busy_server_pass() -> None:
    busy = lambda path, h: api_error(529, "overloaded_error", "Overloaded")  # noqa: E731
    with FakeAnthropic(lambda req, h: message([]), busy) as server:
        client = AnthropicClient(model="m", api_key="k", base_url=server.url)
        assert client.check() >= 0


# -- keys that cannot be sent ----------------------------------------------------------------
@pytest.mark.parametrize("key", ["sk-ant-PROBESECRET123\u2013", "sk-ant-PROBESECRET123\n"])
def test_a_key_that_cannot_be_sent_is_a_clear_config_error(
    server_factory: Callable[[Handler], FakeAnthropic],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    server = server_factory(lambda req, h: message([text_block("ok")]))
    with pytest.raises(LLMConfigError, match=r"ANTHROPIC_API_KEY .*\(position 22") as info:
        parse_llm_spec("anthropic:m", environ={"ANTHROPIC_API_KEY": key})
    assert "PROBESECRET" not in str(info.value)
    # The same key found by the SDK in the environment.
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    client = AnthropicClient(model="m", base_url=server.url)
    for call in (client.check, lambda: client.complete(MSGS)):
        with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY") as info:
            call()
        assert "PROBESECRET" not in str(info.value)
    assert server.requests == []


def test_an_answer_cut_at_max_tokens_says_it_is_truncated(
    server_factory: Callable[[Handler], FakeAnthropic],
) -> None:
    cut = server_factory(lambda req, h: message([text_block('{"x": 0.')], stop_reason="max_tokens"))
    assert AnthropicClient(model="m", api_key="k", base_url=cut.url).complete(MSGS).truncated
    whole = server_factory(lambda req, h: message([text_block('{"x": 0.5}')]))
    assert not AnthropicClient(model="m", api_key="k", base_url=whole.url).complete(MSGS).truncated
