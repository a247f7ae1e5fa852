"""The OpenAI-compatible provider against a scripted HTTP server on loopback."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm import Message, OpenAICompatibleClient
from tests.fake_openai import FakeOpenAI, Reply, completion, error

SCHEMA = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
MSGS = [Message("system", "be brief"), Message("user", "propose x")]


def test_plain_call_returns_text_usage_latency() -> None:
    with FakeOpenAI(lambda req, h: completion('{"x": 1}', 12, 5)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, api_key="k")
        response = client.complete(MSGS, max_tokens=50, temperature=0.2, seed=7)
    assert response.text == '{"x": 1}'
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (12, 5)
    assert response.latency_s > 0
    request = server.requests[0]
    assert request["model"] == "m"
    assert request["messages"] == [m.to_dict() for m in MSGS]
    assert (request["max_tokens"], request["temperature"], request["seed"]) == (50, 0.2, 7)
    assert "response_format" not in request
    assert server.headers[0]["authorization"] == "Bearer k"


def test_auto_mode_falls_back_from_json_schema_like_llama_cpp_server() -> None:
    # llama-cpp-python's server answers HTTP 500 to response_format json_schema.
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        fmt = req.get("response_format", {})
        if fmt.get("type") == "json_schema":
            return error(500, "response_format type must be text or json_object")
        return completion('{"x": 2}')

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=2)
        first = client.complete(MSGS, schema=SCHEMA)
        second = client.complete(MSGS, schema=SCHEMA)
    assert first.text == second.text == '{"x": 2}'
    assert client.resolved_mode == "json_object_schema"
    assert first.structured == "json_object_schema"
    formats = [r.get("response_format") for r in server.requests]
    # One rejected probe (no SDK retries while probing), then json_object with the schema.
    assert formats[0]["type"] == "json_schema"
    assert formats[0]["json_schema"]["schema"] == SCHEMA
    assert formats[1:] == [{"type": "json_object", "schema": SCHEMA}] * 2


def test_auto_mode_keeps_json_schema_where_accepted() -> None:
    with FakeOpenAI(lambda req, h: completion('{"x": 3}')) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url)
        client.complete(MSGS, schema=SCHEMA)
    assert client.resolved_mode == "json_schema"
    assert len(server.requests) == 1


def test_auto_mode_reaches_no_constraint_when_every_format_is_rejected() -> None:
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        if "response_format" in req:
            return error(400, "unsupported response_format")
        return completion('{"x": 4}')

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url)
        assert client.complete(MSGS, schema=SCHEMA).text == '{"x": 4}'
    assert client.resolved_mode == "none"
    assert len(server.requests) == 4


def test_fixed_mode_is_used_as_configured() -> None:
    with FakeOpenAI(lambda req, h: completion("{}")) as server:
        client = OpenAICompatibleClient(
            model="m", base_url=server.url, structured_output="json_object"
        )
        client.complete(MSGS, schema=SCHEMA)
    assert server.requests[0]["response_format"] == {"type": "json_object"}


def test_rate_limit_is_retried_after_retry_after() -> None:
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return error(429, "slow down", **{"Retry-After": "0.2"})
        return completion("ok")

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=2)
        assert client.complete(MSGS).text == "ok"
    assert calls["n"] == 2


def test_persistent_server_error_becomes_llm_error() -> None:
    with FakeOpenAI(lambda req, h: error(503, "overloaded")) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=1)
        with pytest.raises(LLMError, match="HTTP 503"):
            client.complete(MSGS)
    assert len(server.requests) == 2


def test_rejected_key_is_a_config_error_that_never_shows_the_key() -> None:
    key = "sk-SENTINEL-0123456789"

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return error(401, f"Incorrect API key provided: {headers['authorization'][7:]}")

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, api_key=key)
        with pytest.raises(LLMConfigError) as info:
            client.complete(MSGS)
    assert "401" in str(info.value)
    assert key not in str(info.value)
    assert info.value.__cause__ is None
    assert key not in repr(client)
    assert key not in client.name


def test_server_echoing_the_key_in_other_errors_is_masked() -> None:
    key = "sk-ECHO-42424242"
    with FakeOpenAI(lambda req, h: error(400, f"bad request for key {key}")) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, api_key=key)
        with pytest.raises(LLMError) as info:
            client.complete(MSGS)
    assert key not in str(info.value)
    assert "***" in str(info.value)


def test_unknown_model_is_a_config_error() -> None:
    with FakeOpenAI(lambda req, h: error(404, "model not found")) as server:
        client = OpenAICompatibleClient(model="nope", base_url=server.url)
        with pytest.raises(LLMConfigError, match="'nope'"):
            client.complete(MSGS)


def test_refused_connection_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenAICompatibleClient(
        model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2
    )
    with pytest.raises(LLMError, match="cannot reach"):
        client.complete(MSGS)


def test_hanging_endpoint_times_out() -> None:
    with FakeOpenAI(lambda req, h: Reply(body={}, delay_s=3)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, timeout=0.5, max_retries=0)
        with pytest.raises(LLMError, match="no answer"):
            client.complete(MSGS)


def test_client_pickles_without_its_connection() -> None:
    import pickle

    with FakeOpenAI(lambda req, h: completion("hi")) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url)
        client.complete(MSGS)
        clone = pickle.loads(pickle.dumps(client))
        assert clone.complete(MSGS).text == "hi"
