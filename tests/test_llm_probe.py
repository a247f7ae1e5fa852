"""The child-process probe that turns a llama.cpp build crashing on this CPU into an error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agenthpo.errors import LLMConfigError
from agenthpo.llm import _probe
from agenthpo.llm._probe import check_llama_build


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("AGENTHPO_LLAMA_PROBE", raising=False)
    return tmp_path / "agenthpo"


def _child(monkeypatch: pytest.MonkeyPatch, code: str) -> list[int]:
    """Makes the probe run ``code`` instead of llama.cpp; returns a list that counts runs."""
    runs: list[int] = []

    def argv(model_path: Path) -> list[str]:
        runs.append(1)
        return [sys.executable, "-c", code]

    monkeypatch.setattr(_probe, "_child_argv", argv)
    return runs


@pytest.mark.parametrize("sig", ["SIGSEGV", "SIGILL"])
def test_a_crashing_build_is_a_clear_error_with_the_fix(
    cache: Path, monkeypatch: pytest.MonkeyPatch, sig: str
) -> None:
    _child(monkeypatch, f"import os, signal; os.kill(os.getpid(), signal.{sig})")
    with pytest.raises(LLMConfigError) as err:
        check_llama_build("model.gguf")
    message = str(err.value)
    assert f"crashed ({sig})" in message
    assert "-DGGML_NATIVE=OFF" in message
    assert "pip install" in message
    assert not cache.exists() or not list(cache.glob("llama-probe-*"))


def test_a_passing_probe_is_remembered(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _child(monkeypatch, "pass")
    check_llama_build("model.gguf")
    check_llama_build("model.gguf")
    assert len(runs) == 1
    assert len(list(cache.glob("llama-probe-*.ok"))) == 1


def test_an_ordinary_failure_is_left_to_the_real_load(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _child(monkeypatch, "raise SystemExit('bad magic in model file')")
    check_llama_build("model.gguf")  # no error here: the in-process load says what is wrong
    check_llama_build("model.gguf")
    assert len(runs) == 2  # and nothing is remembered
    assert not cache.exists() or not list(cache.glob("llama-probe-*"))


def test_a_hanging_child_times_out(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _child(monkeypatch, "import time; time.sleep(60)")
    monkeypatch.setattr(_probe, "PROBE_TIMEOUT_S", 0.5)
    with pytest.raises(LLMConfigError, match="AGENTHPO_LLAMA_PROBE=0"):
        check_llama_build("model.gguf")


def test_the_probe_can_be_switched_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _child(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    monkeypatch.setenv("AGENTHPO_LLAMA_PROBE", "0")
    check_llama_build("model.gguf")
    assert runs == []


@pytest.mark.slow
@pytest.mark.llamacpp
def test_the_real_embedded_model_passes_the_probe(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenthpo.llm import find_embedded_model

    check_llama_build(find_embedded_model())
    assert len(list(cache.glob("llama-probe-*.ok"))) == 1
