"""The llama.cpp runtime's prompt reuse (issue 22, item 1).

The unit tests stand a fake ``llama_cpp`` module in for the compiled one; the tests marked
``llamacpp`` run the real runtime on the embedded model's file (``pip install -e
'.[llamacpp]'``, then ``make test-all`` or ``pytest -m llamacpp``).
"""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agenthpo.errors import LLMConfigError
from agenthpo.llm import Message, _llamacpp
from agenthpo.llm._llamacpp import LocalLlamaClient


class _FakeLlama:
    instances: ClassVar[list[_FakeLlama]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.cache: Any = None
        _FakeLlama.instances.append(self)

    def set_cache(self, cache: Any) -> None:
        self.cache = cache

    ctx = "the-context"

    def _init_sampler(self, **kwargs: Any) -> None:  # wrapped by use_lazy_grammar
        return None

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        return {"choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}]}

    def close(self) -> None:
        pass


class _FakeCache:
    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    module = types.ModuleType("llama_cpp")
    module.Llama = _FakeLlama  # type: ignore[attr-defined]
    module.set_threads = []  # type: ignore[attr-defined]
    module.llama_set_n_threads = lambda ctx, n, nb: module.set_threads.append((ctx, n, nb))  # type: ignore[attr-defined]
    cache = types.ModuleType("llama_cpp.llama_cache")
    cache.LlamaRAMCache = _FakeCache  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    monkeypatch.setitem(sys.modules, "llama_cpp.llama_cache", cache)
    monkeypatch.setattr(_llamacpp, "check_llama_build", lambda path: None)
    _FakeLlama.instances.clear()
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    return model


def test_the_state_cache_is_on_by_default_with_its_capacity(fake_llama: Path) -> None:
    client = LocalLlamaClient(model_path=fake_llama, n_threads=1)
    client._load()
    (llama,) = _FakeLlama.instances
    assert isinstance(llama.cache, _FakeCache)
    assert llama.cache.capacity_bytes == 512 * 2**20


def test_the_state_cache_can_be_turned_off(fake_llama: Path) -> None:
    client = LocalLlamaClient(model_path=fake_llama, n_threads=1, prefix_cache_mb=0)
    client._load()
    (llama,) = _FakeLlama.instances
    assert llama.cache is None


def test_a_negative_cache_size_is_a_configuration_error(fake_llama: Path) -> None:
    with pytest.raises(LLMConfigError, match="prefix_cache_mb"):
        LocalLlamaClient(model_path=fake_llama, prefix_cache_mb=-1)


def test_the_speed_section_reports_each_variant_against_cold() -> None:
    from benchmarks.report import _llm_speed_md

    assert "Not run yet" in _llm_speed_md(None)[0]
    data = {
        "meta": {
            "command": "python -m benchmarks llm-speed m.gguf",
            "llm": "llamacpp:m",
            "threads": 1,
            "host": {"loadavg_1min": 0.2},
        },
        "speed": [
            {
                "variant": "cold",
                "proposals": 8,
                "median_s": 20.0,
                "mean_s": 21.0,
                "median_prompt_tokens": 900,
                "ratio_to_cold": 1.0,
                "same_answers_as_cold": True,
            },
            {
                "variant": "state-cache",
                "proposals": 8,
                "median_s": 5.0,
                "mean_s": 6.0,
                "median_prompt_tokens": 900,
                "median_answer_tokens": 80,
                "ratio_to_cold": 0.25,
                "same_answers_as_cold": True,
            },
            {
                "variant": "spare-threads",
                "threads": [2],
                "proposals": 8,
                "median_s": 3.0,
                "mean_s": 3.5,
                "median_prompt_tokens": 900,
                "median_answer_tokens": 80,
                "ratio_to_cold": 0.15,
                "same_answers_as_cold": False,
            },
        ],
    }
    text = "\n".join(_llm_speed_md(data))
    assert "| state-cache | 1 | 8 | 5.0 | 6.0 | 900 | 80 | 0.25 | True |" in text
    assert "| cold | 1 | 8 | 20.0 | 21.0 | 900 | - | 1.00 | True |" in text
    assert "| spare-threads | 2 | 8 | 3.0 | 3.5 | 900 | 80 | 0.15 | False |" in text
    assert "load average at the start: 0.2" in text


# -- the real runtime ----------------------------------------------------------------------


def test_busy_cores_counts_the_cpu_time_spent_in_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agenthpo.llm import _local

    clock = iter([100.0, 100.3])  # 0.3 s of busy CPU time over a 0.2 s window: 1.5 cores
    monkeypatch.setattr(_local, "_cpu_busy_seconds", lambda: next(clock))
    assert _local.busy_cores(0.2) == pytest.approx(1.5, rel=0.2)
    monkeypatch.setattr(_local, "_cpu_busy_seconds", lambda: None)  # not Linux
    assert _local.busy_cores(0.0) is None
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (1.2, 0.0, 0.0))
    assert _local.spare_threads() == 1  # then the load average decides


def test_busy_cores_sees_a_process_that_keeps_a_core_busy() -> None:
    import subprocess

    from agenthpo.llm import _local

    if _local._cpu_busy_seconds() is None:
        pytest.skip("no /proc/stat on this platform")  # measured on Linux only
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = _local.busy_cores(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None
    assert busy >= 0.7


def test_threads_follow_what_the_machine_can_spare_at_each_call(
    fake_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTHPO_LLAMA_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    load = [0.1]
    monkeypatch.setattr("agenthpo.llm._local.busy_cores", lambda: load[0])
    client = LocalLlamaClient(model_path=fake_llama)
    assert client.adaptive_threads
    ask = [Message("user", "lr?")]
    assert client.complete(ask).extra["threads"] == 2  # idle 2-core machine: both cores
    llama = _FakeLlama.instances[-1]
    assert llama.kwargs["n_threads"] == 2
    calls = sys.modules["llama_cpp"].set_threads  # type: ignore[attr-defined]
    assert calls == []  # loaded with 2: nothing to change
    load[0] = 1.2  # a training run keeps one core busy
    assert client.complete(ask).extra["threads"] == 1
    assert calls == [("the-context", 1, 1)]
    assert client.complete(ask).extra["threads"] == 1
    assert len(calls) == 1  # unchanged: not set again
    load[0] = 5.0  # overloaded: still one thread, never zero
    assert client.complete(ask).extra["threads"] == 1


def test_the_speed_benchmarks_adaptive_variant_chooses_its_own_threads(
    fake_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.llm_speed import speed_rows

    # the benchmarks' CLI fixes one thread for every model; the variant that measures the
    # client's own choice must not inherit that, nor leave the setting changed
    monkeypatch.setenv("AGENTHPO_LLAMA_THREADS", "1")
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("agenthpo.llm._local.busy_cores", lambda: 0.0)
    rows = speed_rows(fake_llama, n_trials=2, threads=1, variants=["state-cache", "spare-threads"])
    assert [r["threads"] for r in rows] == [[1], [2]]
    assert os.environ["AGENTHPO_LLAMA_THREADS"] == "1"


def test_threads_the_user_fixed_stay_fixed(
    fake_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("agenthpo.llm._local.busy_cores", lambda: 0.0)
    client = LocalLlamaClient(model_path=fake_llama, n_threads=1)
    assert not client.adaptive_threads
    assert client.complete([Message("user", "lr?")]).extra["threads"] == 1
    monkeypatch.setenv("AGENTHPO_LLAMA_THREADS", "1")
    env_fixed = LocalLlamaClient(model_path=fake_llama)
    assert not env_fixed.adaptive_threads
    assert env_fixed.complete([Message("user", "lr?")]).extra["threads"] == 1
    assert sys.modules["llama_cpp"].set_threads == []  # type: ignore[attr-defined]


def test_the_grammar_is_checked_lazily_unless_turned_off(
    fake_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy: list[Any] = []
    monkeypatch.setattr(_llamacpp, "use_lazy_grammar", lazy.append)
    LocalLlamaClient(model_path=fake_llama)._load()
    LocalLlamaClient(model_path=fake_llama, lazy_grammar=False)._load()
    assert lazy == [_FakeLlama.instances[0]]


@pytest.mark.slow
@pytest.mark.llamacpp
@pytest.mark.integration
def test_the_lazy_grammar_fits_the_installed_runtime() -> None:
    # use_lazy_grammar replaces a private method of llama-cpp-python: pin what it relies on.
    import inspect

    import llama_cpp
    from llama_cpp import _internals

    params = inspect.signature(llama_cpp.Llama._init_sampler).parameters
    assert "grammar" in params
    assert params["grammar"].default is None
    assert hasattr(_internals.LlamaSampler(), "sampler")
    for name in ("llama_get_logits_ith", "llama_sampler_apply", "llama_sampler_accept"):
        assert callable(getattr(llama_cpp, name))


@pytest.mark.slow
@pytest.mark.llamacpp
@pytest.mark.integration
def test_lazily_checked_answers_follow_the_schema() -> None:
    # Hot sampling makes the model draw tokens the grammar refuses: every answer must still
    # be JSON of the schema, the refusals counted, and a seed must give the same answer.
    import json

    from agenthpo.llm import find_embedded_model

    schema = {
        "type": "object",
        "properties": {
            "optimizer": {"type": "string", "enum": ["adam", "sgd"]},
            "lr": {"type": "number"},
            "layers": {"type": "integer"},
        },
        "required": ["optimizer", "lr", "layers"],
        "additionalProperties": False,
    }
    ask = [Message("user", "Propose a learning rate, an optimizer and a depth, as JSON.")]
    client = LocalLlamaClient(model_path=find_embedded_model(), n_threads=1, prefix_cache_mb=0)
    redraws = 0
    for seed in range(4):
        out = client.complete(ask, schema=schema, max_tokens=80, temperature=1.5, seed=seed)
        answer = json.loads(out.text)
        assert set(answer) == {"optimizer", "lr", "layers"}
        assert answer["optimizer"] in ("adam", "sgd")
        assert isinstance(answer["layers"], int)
        sampler = client._load()._agenthpo_lazy_sampler
        assert 0 <= sampler.redraws <= sampler.draws
        redraws += sampler.redraws
    again = client.complete(ask, schema=schema, max_tokens=80, temperature=1.5, seed=3)
    assert again.text == out.text
    assert redraws > 0, "hot sampling drew tokens the grammar refused, and they were redrawn"
    client.close()


@pytest.mark.slow
@pytest.mark.llamacpp
@pytest.mark.integration
def test_the_real_runtime_takes_a_new_thread_count_between_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agenthpo.llm import find_embedded_model

    monkeypatch.delenv("AGENTHPO_LLAMA_THREADS", raising=False)
    load = [0.0]
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("agenthpo.llm._local.busy_cores", lambda: load[0])
    client = LocalLlamaClient(model_path=find_embedded_model(), prefix_cache_mb=0)
    ask = [Message("user", "Name one optimizer.")]
    first = client.complete(ask, max_tokens=6, seed=1, temperature=0.0)
    load[0] = 1.0
    second = client.complete(ask, max_tokens=6, seed=1, temperature=0.0)
    assert (first.extra["threads"], second.extra["threads"]) == (2, 1)
    assert first.text
    assert second.text
    client.close()


@pytest.mark.slow
@pytest.mark.llamacpp
@pytest.mark.integration
def test_the_state_cache_keeps_the_states_of_interleaved_prompts() -> None:
    from agenthpo.llm import find_embedded_model

    path = find_embedded_model()
    prompts = [
        [Message("system", "You tune hyperparameters."), Message("user", f"Trial {i}: lr?")]
        for i in range(3)
    ]
    other = [Message("system", "You analyse runs."), Message("user", "The loss diverged.")]
    client = LocalLlamaClient(model_path=path, n_threads=1, prefix_cache_mb=64)
    for p in prompts:
        assert client.complete(p, max_tokens=12, seed=1).text
        assert client.complete(other, max_tokens=8, seed=2).text  # interleaved, as analyses are
    cache = client._load().cache
    assert cache is not None
    assert cache.cache_size > 0  # states were stored, within the capacity
    assert cache.cache_size <= 64 << 20
    client.close()


@pytest.mark.slow
@pytest.mark.llamacpp
@pytest.mark.integration
def test_the_speed_benchmark_runs_every_variant_on_a_real_model() -> None:
    from agenthpo.llm import find_embedded_model
    from benchmarks.llm_speed import speed_rows

    rows = speed_rows(find_embedded_model(), n_trials=3)
    assert [r["variant"] for r in rows] == [
        "cold",
        "last-prompt",
        "state-cache",
        "lazy-grammar",
        "spare-threads",
    ]
    assert [r["lazy_grammar"] for r in rows] == [False, False, False, True, True]
    assert rows[-1]["threads"]  # the threads its calls chose are recorded
    for r in rows:
        assert r["proposals"] >= 1
        assert r["median_s"] > 0
        assert isinstance(r["same_answers_as_cold"], bool)
