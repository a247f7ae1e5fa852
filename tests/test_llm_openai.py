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


# -- retries while auto still probes for a mode ----------------------------------------------
def _first_fails(reply: Reply) -> Any:
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        return reply if calls["n"] == 1 else completion('{"x": 5}')

    return handler


@pytest.mark.parametrize(
    "reply",
    [
        error(429, "Rate limit reached", **{"Retry-After": "0.2"}),
        error(429, "Rate limit reached"),
        error(500, "internal error"),
        error(503, "overloaded"),
        Reply(body={}, delay_s=1.5),  # a timeout
    ],
    ids=["429-retry-after", "429", "500", "503", "timeout"],
)
def test_auto_mode_retries_transient_errors_before_the_mode_is_known(reply: Reply) -> None:
    with FakeOpenAI(_first_fails(reply)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=2, timeout=1)
        assert client.complete(MSGS, schema=SCHEMA).text == '{"x": 5}'
    assert client.resolved_mode == "json_schema"
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema"] * 2


def test_auto_mode_gives_up_on_a_transient_error_after_the_configured_retries() -> None:
    with FakeOpenAI(lambda req, h: error(429, "Rate limit reached")) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=1)
        with pytest.raises(LLMError, match="HTTP 429"):
            client.complete(MSGS, schema=SCHEMA)
    assert client.resolved_mode is None  # a rate limit says nothing about the mode
    assert len(server.requests) == 2


@pytest.mark.parametrize("schema", [SCHEMA, None])
def test_a_spent_quota_is_not_retried_and_says_so(schema: dict[str, Any] | None) -> None:
    body = {
        "error": {
            "message": "You exceeded your current quota, please check your plan and billing"
            " details.",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    with FakeOpenAI(lambda req, h: Reply(status=429, body=body)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=3)
        with pytest.raises(LLMConfigError, match=r"no quota left .*billing"):
            client.complete(MSGS, schema=schema)
    assert len(server.requests) == 1


# -- the start check -------------------------------------------------------------------------
def test_check_fails_for_a_model_the_endpoint_neither_lists_nor_knows() -> None:
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return error(404, f"The model `{req['model']}` does not exist")

    listed = ["gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-small"]
    with FakeOpenAI(handler, models=listed) as server:
        client = OpenAICompatibleClient(model="gpt-4o-mnii", base_url=server.url, api_key="k")
        with pytest.raises(LLMConfigError) as info:
            client.check()
    message = str(info.value)
    assert "'gpt-4o-mnii'" in message
    assert "4 models" in message
    assert "did you mean 'gpt-4o-mini'" in message
    assert [r["max_tokens"] for r in server.requests] == [1]


def test_a_key_the_endpoint_lists_as_a_model_stays_masked() -> None:
    """The start check quoted the endpoint's model names in its error unmasked: a server
    listing the key showed it on stdout and in the run's last line (review)."""
    key = "sk-secret-abcdef123456"

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return error(404, "no such model")

    with FakeOpenAI(handler, models=[key, "gpt-4o"]) as server:
        client = OpenAICompatibleClient(model="nope", base_url=server.url, api_key=key)
        with pytest.raises(LLMConfigError) as info:
            client.check()
    assert key not in str(info.value)
    assert "2 models" in str(info.value)


@pytest.mark.parametrize("model", ["m", "qwen2.5"])
def test_check_passes_a_listed_model_without_a_completion(model: str) -> None:
    with FakeOpenAI(lambda req, h: completion("x"), models=["m", "qwen2.5:latest"]) as server:
        client = OpenAICompatibleClient(model=model, base_url=server.url)
        assert client.check() >= 0
    assert server.gets == ["/v1/models"]
    assert server.requests == []


def test_check_passes_a_server_that_answers_to_any_model_name() -> None:
    # llama.cpp's llama-server lists its GGUF file and answers to any model name.
    with FakeOpenAI(lambda req, h: completion("x"), models=["model.gguf"]) as server:
        client = OpenAICompatibleClient(model="local", base_url=server.url)
        assert client.check() >= 0
    assert len(server.requests) == 1


def test_check_turns_a_malformed_model_list_into_an_llm_error() -> None:
    key = "sk-ECHO-42424242"
    listing = {"object": "list", "data": 5, "echo": key}
    with FakeOpenAI(lambda req, h: completion("x"), models=listing) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, api_key=key)
        with pytest.raises(LLMError, match="unusable response") as info:
            client.check()
    assert key not in str(info.value)
    assert info.value.__cause__ is None


# -- keys that cannot be sent ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "position"),
    [("sk-PROBESECRET123\u2013", 18), ("sk-PROBESECRET123\n", 18), (" sk-PROBESECRET123", 1)],
)
def test_a_key_that_cannot_be_sent_is_a_clear_config_error(key: str, position: int) -> None:
    with pytest.raises(LLMConfigError, match=rf"\(position {position}:") as info:
        OpenAICompatibleClient(model="m", base_url="http://127.0.0.1:9/v1", api_key=key)
    assert "PROBESECRET" not in str(info.value)


def test_an_answer_cut_at_max_tokens_says_it_is_truncated() -> None:
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        reply = completion('{"config": {"x": 0.')
        assert reply.body is not None
        reply.body["choices"][0]["finish_reason"] = "length"
        return reply

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url)
        assert client.complete(MSGS).truncated
    with FakeOpenAI(lambda req, h: completion('{"x": 1}')) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url)
        assert not client.complete(MSGS).truncated


def test_a_reasoning_model_gets_max_completion_tokens_and_no_temperature() -> None:
    # As OpenAI answers o1, o3-mini, gpt-5 and the like.
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        if "max_tokens" in req:
            message = (
                "Unsupported parameter: 'max_tokens' is not supported with this model."
                " Use 'max_completion_tokens' instead."
            )
            param = "max_tokens"
        elif "temperature" in req and req["temperature"] != 1:
            message = (
                f"Unsupported value: 'temperature' does not support {req['temperature']} with"
                " this model. Only the default (1) value is supported."
            )
            param = "temperature"
        else:
            return completion('{"x": 6}')
        body = {"error": {"message": message, "type": "invalid_request_error", "param": param}}
        return Reply(status=400, body=body)

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="o3-mini", base_url=server.url)
        first = client.complete(MSGS, schema=SCHEMA, max_tokens=300)
        second = client.complete(MSGS, schema=SCHEMA, max_tokens=300)
    assert first.text == second.text == '{"x": 6}'
    assert client.resolved_mode == "json_schema"  # a refused parameter is no refused mode
    sent = [(("max_tokens" in r), r.get("temperature")) for r in server.requests]
    assert sent == [(True, 0.7), (False, 0.7), (False, None), (False, None)]
    assert server.requests[-1]["max_completion_tokens"] == 300
